"""Move the original system's database here: its rule tables, then its execution logs.

The original (khoantd/rule-engine) keeps everything in one PostgreSQL / Tiger Cloud database
whose tables its SQLAlchemy models and Alembic migrations define (common/db_models.py,
migrations/versions/*). The rule tables go through rules.services.original_rulesets; the
execution_logs rows are streamed from a server-side cursor, turned into the values the log writer
copies (log_writer.COLUMNS, JSON as text) and written batch by batch: COPY into a temporary table,
then INSERT ... ON CONFLICT DO NOTHING into the log, one transaction per batch. The original's
execution ids are kept (a stable uuid5 when one is not a UUID), so a row already imported is
never written twice: an interrupted run is resumed by running it again, and a second run creates
nothing.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import orjson
import psycopg
from django.db import DatabaseError, connections, router, transaction
from psycopg.rows import dict_row

from executions.log_writer import COLUMNS
from executions.models import ExecutionLog, ExecutionSource
from rules.services.original_rulesets import (
    TENANT_SLUG,
    ImportedRuleset,
    OriginalRulesReport,
    TableCounts,
    original_rulesets_import,
)
from rules.services.original_tables import OriginalRuleTables

# The original's tables and the columns every version of its schema has (migration 001);
# later migrations add tenant-free columns this import reads when present (consumer_id).
REQUIRED_COLUMNS = {
    "rulesets": {"id", "name", "version", "status", "tenant_id", "is_default"},
    "rules": {"id", "rule_id", "rule_name", "attribute", "condition", "constant", "ruleset_id"},
    "patterns": {"id", "pattern_key", "action_recommendation", "ruleset_id"},
    "execution_logs": {
        "id",
        "execution_id",
        "input_data",
        "output_data",
        "ruleset_id",
        "total_points",
        "pattern_result",
        "execution_time_ms",
        "success",
        "error_message",
        "timestamp",
    },
}
# Added by later migrations (003: attributes); a database without them has none of those rows.
OPTIONAL_TABLES = ("conditions", "actions", "attributes")
# Ids of the original that are not UUIDs become uuid5(namespace, "<row id>:<execution id>").
ORIGINAL_LOG_NAMESPACE = uuid.UUID("5d1c3f0e-8a7b-4f57-9b1e-2f6c0d9a4e21")
STAGING_TABLE = "original_execution_log_staging"
DEFAULT_BATCH_SIZE = 5000
CONNECT_TIMEOUT_SECONDS = 10
# COPY goes through psycopg's own cursor, whose errors Django does not wrap.
WRITE_ERRORS = (DatabaseError, psycopg.Error)


class OriginalDatabaseError(Exception):
    """The original database cannot be read: unreachable, or not the original's schema."""


class _RowRefused(Exception):
    pass


@dataclass
class LogImportOptions:
    batch_size: int = DEFAULT_BATCH_SIZE
    # Only logs at or after this time; only rows with an id above this one (a resume point).
    since: datetime | None = None
    after_id: int = 0
    # Read at most this many rows in this run (the next run continues after them).
    limit: int | None = None


@dataclass
class OriginalDatabaseReport:
    rules: OriginalRulesReport
    logs: TableCounts = field(default_factory=TableCounts)
    logs_seconds: float = 0.0
    last_log_id: int | None = None
    stopped_at_limit: bool = False
    dry_run: bool = False

    @property
    def tables(self) -> dict[str, TableCounts]:
        return {**self.rules.tables, "execution_logs": self.logs}

    @property
    def logs_per_second(self) -> float:
        return self.logs.read / self.logs_seconds if self.logs_seconds else 0.0


def url_redacted(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def original_connect(url: str) -> psycopg.Connection:
    """A read connection to the original database (TIMESCALE_SERVICE_URL form, postgres://)."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "timescale"):
        raise OriginalDatabaseError(
            f"{url_redacted(url)} is not a PostgreSQL URL; the original's database is named "
            "postgres://user:password@host:port/dbname?sslmode=require"
        )
    if parts.scheme == "timescale":
        url = urlunsplit(parts._replace(scheme="postgres"))
    try:
        connection = psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_SECONDS)
    except psycopg.Error as error:
        raise OriginalDatabaseError(
            f"cannot connect to the original database {url_redacted(url)}: "
            f"{str(error).strip() or type(error).__name__}"
        ) from error
    connection.read_only = True
    return connection


def original_schema(connection: psycopg.Connection) -> dict[str, set[str]]:
    """The original's tables and their columns; raises naming what is missing."""
    rows = connection.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = ANY(current_schemas(false)) AND table_name = ANY(%s)",
        [[*REQUIRED_COLUMNS, *OPTIONAL_TABLES]],
    ).fetchall()
    schema: dict[str, set[str]] = {}
    for table, column in rows:
        schema.setdefault(table, set()).add(column)
    missing = [table for table in REQUIRED_COLUMNS if table not in schema]
    if missing:
        raise OriginalDatabaseError(
            f"not the original system's database: no table {', '.join(missing)} (its Alembic "
            "migrations create rulesets, rules, conditions, actions, patterns, attributes and "
            "execution_logs; run `alembic upgrade head` there, or check the database name)"
        )
    problems = [
        f"{table} has no column {', '.join(sorted(columns - schema[table]))}"
        for table, columns in REQUIRED_COLUMNS.items()
        if columns - schema[table]
    ]
    if problems:
        raise OriginalDatabaseError(
            "not the original system's schema: " + "; ".join(problems) + " (migration 001)"
        )
    return schema


def original_rule_tables(connection: psycopg.Connection, schema) -> OriginalRuleTables:
    """Every row of the original's rule tables (small next to its logs)."""
    tables = {}
    with connection.cursor(row_factory=dict_row) as cursor:
        for table in ("rulesets", "rules", "patterns", *OPTIONAL_TABLES):
            if table in schema:
                cursor.execute(f"SELECT * FROM {table} ORDER BY id")  # noqa: S608 (fixed names)
                tables[table] = cursor.fetchall()
            else:
                tables[table] = []
    return OriginalRuleTables(**tables)


def original_database_import(
    url: str,
    *,
    default_tenant: str,
    tenant_ids: list[str] | None = None,
    dry_run: bool = False,
    logs: bool = True,
    options: LogImportOptions | None = None,
    progress: Callable[[OriginalDatabaseReport], None] | None = None,
) -> OriginalDatabaseReport:
    """Import the original database at `url`: rule tables, then (unless `logs` is False) logs.

    A dry run reads and checks everything and writes nothing. Raises OriginalDatabaseError when
    the database cannot be read; rows that cannot be imported are in the report, by table and id.
    """
    options = options or LogImportOptions()
    if not TENANT_SLUG.match(default_tenant) or len(default_tenant) > 63:
        raise OriginalDatabaseError(
            f"the default tenant {default_tenant!r} is not a tenant slug: letters, digits, '-' "
            "and '_', at most 63"
        )
    with original_connect(url) as connection:
        schema = original_schema(connection)
        tables = original_rule_tables(connection, schema)
        connection.commit()
        rules_report = original_rulesets_import(
            tables=tables, default_tenant=default_tenant, tenant_ids=tenant_ids, dry_run=dry_run
        )
        report = OriginalDatabaseReport(rules=rules_report, dry_run=dry_run)
        if logs:
            if connections[router.db_for_write(ExecutionLog)].vendor != "postgresql":
                raise OriginalDatabaseError(
                    "execution logs are imported with COPY: the database here must be "
                    "PostgreSQL or TimescaleDB (give --no-logs to import the rule tables only)"
                )
            ruleset_ids = {row["id"] for row in tables.rulesets}
            _logs_import(connection, schema, report, ruleset_ids, tenant_ids, options, progress)
    return report


def _logs_import(connection, schema, report, ruleset_ids, tenant_ids, options, progress) -> None:
    consumer = ", consumer_id" if "consumer_id" in schema["execution_logs"] else ", NULL"
    conditions, parameters = ["id > %s"], [options.after_id]
    if options.since is not None:
        conditions.append('"timestamp" >= %s')
        parameters.append(options.since.astimezone(UTC).replace(tzinfo=None))
    query = (
        "SELECT id, execution_id, input_data::text, output_data::text, ruleset_id, total_points, "
        'pattern_result, execution_time_ms, success, error_message, "timestamp"'
        f"{consumer} FROM execution_logs WHERE {' AND '.join(conditions)} ORDER BY id"
    )
    default_tenant_id = report.rules.tenants.get(report.rules.default_tenant)
    writer = _LogBatchWriter(dry_run=report.dry_run)
    started = time.monotonic()
    with _BatchReader(connection, query, parameters, options) as reader:
        for rows in reader:
            report.logs.read += len(rows)
            # Rows already imported are recognised by their id before anything else is done
            # with them, so a resumed or repeated run costs a read and an index lookup per row.
            execution_ids = [execution_id_for(row[0], row[1]) for row in rows]
            present = writer.present(execution_ids)
            batch = []
            for row, execution_id in zip(rows, execution_ids, strict=True):
                if execution_id in present:
                    report.logs.present += 1
                    continue
                try:
                    batch.append(
                        _log_row(
                            row,
                            execution_id,
                            report.rules,
                            ruleset_ids,
                            tenant_ids,
                            default_tenant_id,
                        )
                    )
                except _RowRefused as refusal:
                    refused, reason = refusal.args
                    report.logs.skip(row[0], reason, refused=refused)
            writer.write(batch, report.logs)
            report.last_log_id = rows[-1][0]
            report.logs_seconds = time.monotonic() - started
            if progress is not None:
                progress(report)
        report.stopped_at_limit = reader.stopped_at_limit
    report.logs_seconds = time.monotonic() - started
    connection.commit()


class _BatchReader:
    """Batches of original log rows, fetched by a thread one batch ahead of their writing.

    The original is usually another server (Tiger Cloud): fetching the next batch while this one
    is converted and written keeps both databases busy instead of taking turns.
    """

    def __init__(self, connection, query, parameters, options: LogImportOptions):
        self.connection, self.query, self.parameters = connection, query, parameters
        self.options = options
        self.batches: queue.Queue = queue.Queue(maxsize=2)
        self.stop = threading.Event()
        self.stopped_at_limit = False
        self.thread = threading.Thread(target=self._read, name="original-logs", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stop.set()
        while self.thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self.batches.get(timeout=0.1)  # unblock a reader waiting to put
        return False

    def __iter__(self):
        while True:
            item = self.batches.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def _put(self, item) -> bool:
        while not self.stop.is_set():
            try:
                self.batches.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _read(self) -> None:
        limit, read = self.options.limit, 0
        try:
            with self.connection.cursor(name="original_execution_logs") as cursor:
                cursor.itersize = self.options.batch_size
                cursor.execute(self.query, self.parameters)
                while not self.stop.is_set():
                    size = self.options.batch_size
                    if limit is not None:
                        size = min(size, limit - read)
                        if size <= 0:
                            self.stopped_at_limit = cursor.fetchone() is not None
                            break
                    rows = cursor.fetchmany(size)
                    if not rows:
                        break
                    read += len(rows)
                    if not self._put(rows):
                        return
        except BaseException as error:  # handed to the importing thread, which raises it
            self._put(error)
            return
        self._put(None)


def execution_id_for(original_id: int, execution_id: str | None) -> uuid.UUID:
    """The original's execution id as a UUID: itself, or a stable uuid5 of the row."""
    try:
        return uuid.UUID(execution_id)
    except (TypeError, ValueError, AttributeError):
        return uuid.uuid5(ORIGINAL_LOG_NAMESPACE, f"{original_id}:{execution_id}")


def _text(value, limit: int) -> str:
    return "" if value is None else str(value)[:limit]


def _json_text(text, column) -> str:
    if text is None:
        return "{}"
    if "\\u0000" in text:
        raise _RowRefused(
            True, f"{column} holds a NUL character (\\u0000), which jsonb cannot store"
        )
    return text


def _json(text, column):
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise _RowRefused(True, f"{column} is not JSON this log can store: {error}") from error


def _log_row(
    row, execution_id, rules: OriginalRulesReport, ruleset_ids, tenant_ids, default_tenant_id
):
    """(original id, COPY values in COLUMNS order) of one original execution_logs row, or
    _RowRefused(refused, reason).

    The values are what log_rows.execution_log_values makes of an ExecutionLog, built without
    the model (its __init__ costs more than the rest of a row) and with the original's JSON
    text passed through: PostgreSQL parses it into jsonb.
    """
    (
        row_id,
        _,
        input_text,
        output_text,
        ruleset_id,
        total_points,
        pattern_result,
        execution_time_ms,
        success,
        error_message,
        timestamp,
        consumer_id,
    ) = row
    target: ImportedRuleset | None = rules.rulesets.get(ruleset_id)
    if target is None and ruleset_id in ruleset_ids:
        raise _RowRefused(False, f"ruleset {ruleset_id} is not imported (its tenant not selected)")
    if target is None:
        if tenant_ids is not None and "" not in tenant_ids:
            raise _RowRefused(
                False, "no ruleset, so the default tenant's, which --tenant does not select"
            )
        tenant_id = default_tenant_id
    else:
        tenant_id = target.tenant_id
    if timestamp is None:
        raise _RowRefused(True, "no timestamp (the log is partitioned by time)")
    if timestamp.tzinfo is None:
        # The original writes datetime.utcnow() into a column without time zone.
        timestamp = timestamp.replace(tzinfo=UTC)
    input_text = _json_text(input_text, "input_data")
    output_text = _json_text(output_text, "output_data")
    output = _json(output_text, "output_data")
    output = output if isinstance(output, dict) else {}
    recommendation = output.get("action_recommendation")
    correlation_id = output.get("correlation_id")
    values = {
        "execution_id": execution_id,
        "timestamp": timestamp,
        "tenant_id": tenant_id,
        "ruleset_id": target.ruleset_id if target else None,
        "ruleset_name": _text(target.name if target else "", 100),
        "ruleset_version": _text(target.version if target else "", 20),
        "input_data": input_text,
        "output_data": output_text,
        "total_points": total_points,
        "pattern_result": pattern_result or "",
        "action_recommendation": recommendation[:200] if isinstance(recommendation, str) else None,
        "execution_time_ms": execution_time_ms or 0.0,
        "success": bool(success),
        "error_message": error_message or "",
        # The original's executions all came through its API.
        "source": ExecutionSource.API.value,
        "caller": _text(consumer_id, 200),
        "request_id": "",
        "correlation_id": correlation_id[:200] if isinstance(correlation_id, str) else "",
    }
    return row_id, tuple(values[column] for column in COLUMNS)


def _error_text(error: Exception) -> str:
    """The error's message and detail on one line (its CONTEXT repeats the whole row)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return "; ".join(line for line in lines if not line.startswith("CONTEXT"))[:500]


class _LogBatchWriter:
    """Writes batches of log rows, each committed on its own; rows already present are skipped.

    Rows whose execution id is not in the log yet are copied straight into it. Should that fail
    (a concurrent import of the same rows, an id twice in one batch, a value the database
    refuses), the batch goes through a temporary table with INSERT ... ON CONFLICT DO NOTHING,
    and if that fails too, row by row, so a bad row is reported by its id and the others go in.
    """

    def __init__(self, *, dry_run: bool):
        self.dry_run = dry_run
        self.connection = connections[router.db_for_write(ExecutionLog)]
        quote = self.connection.ops.quote_name
        self.table = quote(ExecutionLog._meta.db_table)
        self.columns = ", ".join(quote(column) for column in COLUMNS)
        self.staged = False

    def write(self, new: list[tuple[int, tuple]], counts: TableCounts) -> None:
        """Write (original id, values) rows not present before; count them as created, present
        (imported meanwhile) or refused. A dry run only counts them."""
        if self.dry_run or not new:
            counts.created += len(new)
            return
        try:
            with transaction.atomic(using=self.connection.alias):
                self._copy(self.table, [one for _, one in new])
            counts.created += len(new)
            return
        except WRITE_ERRORS:
            pass
        self._staging_create()
        try:
            with transaction.atomic(using=self.connection.alias):
                created = self._insert([one for _, one in new])
        except WRITE_ERRORS:
            created, refused = 0, 0
            for original_id, one in new:
                try:
                    with transaction.atomic(using=self.connection.alias):
                        created += self._insert([one])
                except WRITE_ERRORS as error:
                    refused += 1
                    counts.skip(original_id, f"the database refused it: {_error_text(error)}")
            counts.created += created
            counts.present += len(new) - created - refused
            return
        counts.created += created
        counts.present += len(new) - created

    def _staging_create(self) -> None:
        if self.staged:
            return
        with transaction.atomic(using=self.connection.alias), self.connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGING_TABLE} "
                f"(LIKE {self.table} INCLUDING DEFAULTS)"
            )
        self.staged = True

    def _copy(self, table: str, values: list[tuple]) -> None:
        with (
            self.connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} ({self.columns}) FROM STDIN") as copy,
        ):
            for row in values:
                copy.write_row(row)

    def _insert(self, values: list[tuple]) -> int:
        with self.connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {STAGING_TABLE}")
        self._copy(STAGING_TABLE, values)
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {self.table} ({self.columns}) SELECT {self.columns} "
                f"FROM {STAGING_TABLE} ON CONFLICT DO NOTHING"
            )
            return cursor.rowcount

    def present(self, execution_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        """Those of `execution_ids` that are in the log."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"SELECT execution_id FROM {self.table} WHERE execution_id = ANY(%s)",
                [execution_ids],
            )
            return {row[0] for row in cursor.fetchall()}
