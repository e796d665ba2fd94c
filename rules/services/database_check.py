"""`check_database`: can we reach the configured database, and is it what the product expects?

Replaces the original system's `db_connection.py --env-file` test and `alembic current`.
"""

from dataclasses import dataclass, field
from pathlib import Path

import environ
from django.conf import settings
from django.db import DatabaseError
from django.db.migrations.executor import MigrationExecutor
from django.db.utils import ConnectionHandler

from ruleengine.database import (
    DatabaseConfigError,
    database_from_environment,
    is_postgresql,
    is_timescaledb,
)
from rules.errors import ServiceError

# Seconds: an unreachable host must fail the check quickly, not hang an operator's terminal.
CONNECT_TIMEOUT = 5


@dataclass
class DatabaseReport:
    source: str
    engine: str
    target: str
    server_version: str = ""
    timescaledb_version: str = ""
    hypertables: list[dict] = field(default_factory=list)
    unapplied_migrations: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class _FileEnvironment(environ.Env):
    """django-environ's .env parser, reading into a dict instead of os.environ."""

    ENVIRON: dict = {}


def database_config_from_env_file(path: Path) -> tuple[dict, str]:
    """(DATABASES entry, source) from an env file, chosen exactly as settings choose it."""
    if not Path(path).is_file():
        raise ServiceError(f"{path}: no such env file")
    _FileEnvironment.ENVIRON = {}
    _FileEnvironment.read_env(str(path))
    values = dict(_FileEnvironment.ENVIRON)
    sqlite_path = Path(values.get("SQLITE_PATH", settings.BASE_DIR / "db.sqlite3"))
    try:
        config, source = database_from_environment(values, sqlite_path=sqlite_path)
    except DatabaseConfigError as error:
        raise ServiceError(f"{path}: {error}") from error
    return config, f"{source} from {path}"


def _target(config: dict) -> str:
    if not is_postgresql(config):
        return str(config.get("NAME"))
    user = config.get("USER") or "(default user)"
    host = config.get("HOST") or "localhost"
    port = config.get("PORT") or 5432
    return f"{user}@{host}:{port}/{config.get('NAME')}"


def database_check(*, config: dict | None = None, source: str = "") -> DatabaseReport:
    """Connect and report server, TimescaleDB, hypertables and unapplied migrations.

    Without `config`, checks the configured default database.
    """
    if config is None:
        config, source = dict(settings.DATABASES["default"]), settings.DATABASE_SOURCE
    config = {**config, "OPTIONS": dict(config.get("OPTIONS") or {})}
    if is_postgresql(config):
        config["OPTIONS"].setdefault("connect_timeout", CONNECT_TIMEOUT)
    report = DatabaseReport(source=source, engine=config["ENGINE"], target=_target(config))
    handler = ConnectionHandler({"default": config})
    connection = handler["default"]
    try:
        try:
            connection.ensure_connection()
        except DatabaseError as error:
            cause = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            report.problems.append(f"cannot connect to {report.target}: {cause}")
            return report
        _server(connection, config, report)
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        report.unapplied_migrations = [f"{m.app_label}.{m.name}" for m, _ in plan]
        if report.unapplied_migrations:
            report.problems.append(
                f"{len(report.unapplied_migrations)} migrations are not applied; run "
                "`python manage.py migrate`"
            )
    except DatabaseError as error:
        report.problems.append(f"{report.target}: {str(error).strip() or repr(error)}")
    finally:
        connection.close()
    return report


def _server(connection, config: dict, report: DatabaseReport) -> None:
    with connection.cursor() as cursor:
        if not is_postgresql(config):
            cursor.execute("select sqlite_version()")
            report.server_version = f"SQLite {cursor.fetchone()[0]}"
            return
        cursor.execute("show server_version")
        report.server_version = f"PostgreSQL {cursor.fetchone()[0]}"
        cursor.execute("select extversion from pg_extension where extname = 'timescaledb'")
        row = cursor.fetchone()
        report.timescaledb_version = row[0] if row else ""
        if not row:
            if is_timescaledb(config):
                report.problems.append(
                    "the TimescaleDB backend is configured but the timescaledb extension is "
                    "not installed in this database"
                )
            return
        cursor.execute(
            """
            select h.hypertable_schema, h.hypertable_name, h.num_chunks, h.compression_enabled,
                   hypertable_size(format('%I.%I', h.hypertable_schema, h.hypertable_name)),
                   (select count(*) from timescaledb_information.chunks c
                     where c.hypertable_schema = h.hypertable_schema
                       and c.hypertable_name = h.hypertable_name and c.is_compressed)
              from timescaledb_information.hypertables h
             order by 1, 2
            """
        )
        report.hypertables = [
            {
                "name": f"{schema}.{name}",
                "chunks": chunks,
                "compression_enabled": bool(compression),
                "size_bytes": size or 0,
                "compressed_chunks": compressed,
            }
            for schema, name, chunks, compression, size, compressed in cursor.fetchall()
        ]
