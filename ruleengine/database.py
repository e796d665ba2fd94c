"""Choose the database from the environment: the one place that knows the precedence.

1. DATABASE_URL (postgres://, postgresql://, timescale://, sqlite:///)
2. TIMESCALE_SERVICE_URL (the original system's variable: a postgres:// URL of a TimescaleDB server)
3. libpq variables PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE
4. an embedded SQLite file, so a newcomer runs with no setup
"""

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ

TIMESCALE_ENGINE = "timescale.db.backends.postgresql"
POSTGRES_ENGINE = "django.db.backends.postgresql"
SUPPORTED_SCHEMES = {"postgres", "postgresql", "pgsql", "psql", "timescale", "sqlite"}
LIBPQ_VARIABLES = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSSLMODE")


class DatabaseConfigError(ValueError):
    """The environment names a database in a way we cannot use."""


def database_from_environment(env: Mapping[str, str], *, sqlite_path: Path) -> tuple[dict, str]:
    """Return (Django DATABASES['default'] dict, a short description of where it came from)."""
    if env.get("DATABASE_URL"):
        return _from_url(env["DATABASE_URL"], "DATABASE_URL"), "DATABASE_URL"
    if env.get("TIMESCALE_SERVICE_URL"):
        config = _from_url(env["TIMESCALE_SERVICE_URL"], "TIMESCALE_SERVICE_URL")
        if config["ENGINE"] != POSTGRES_ENGINE and config["ENGINE"] != TIMESCALE_ENGINE:
            raise DatabaseConfigError("TIMESCALE_SERVICE_URL must be a postgres:// URL")
        config["ENGINE"] = TIMESCALE_ENGINE
        return config, "TIMESCALE_SERVICE_URL"
    if any(env.get(name) for name in LIBPQ_VARIABLES):
        return _from_libpq(env), "PG* variables"
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(sqlite_path)}, "embedded SQLite"


def _from_url(url: str, variable: str) -> dict:
    scheme = urlsplit(url).scheme
    if scheme not in SUPPORTED_SCHEMES:
        known = "postgres://, postgresql://, timescale://, sqlite:///"
        raise DatabaseConfigError(
            f"{variable} has an unknown scheme {scheme!r}; use one of {known}"
        )
    if scheme == "timescale":
        # django-environ maps timescale:// to ENGINE "timescale", which is not importable.
        url = urlunsplit(("postgres",) + tuple(urlsplit(url))[1:])
        config = environ.Env.db_url_config(url)
        config["ENGINE"] = TIMESCALE_ENGINE
        return config
    return environ.Env.db_url_config(url)


def _from_libpq(env: Mapping[str, str]) -> dict:
    use_timescaledb = env.get("PGTIMESCALEDB", "false").lower() in ("1", "true", "yes", "on")
    config = {
        "ENGINE": TIMESCALE_ENGINE if use_timescaledb else POSTGRES_ENGINE,
        "NAME": env.get("PGDATABASE") or "postgres",
        "USER": env.get("PGUSER", ""),
        "PASSWORD": env.get("PGPASSWORD", ""),
        "HOST": env.get("PGHOST", ""),
        "PORT": env.get("PGPORT", ""),
        "OPTIONS": {},
    }
    if env.get("PGSSLMODE"):
        config["OPTIONS"]["sslmode"] = env["PGSSLMODE"]
    return config


def is_timescaledb(config: dict) -> bool:
    return config.get("ENGINE") == TIMESCALE_ENGINE


def is_postgresql(config: dict) -> bool:
    return config.get("ENGINE") in (POSTGRES_ENGINE, TIMESCALE_ENGINE)


# Django-only OPTIONS that libpq does not understand.
_DJANGO_ONLY_OPTIONS = {"pool", "server_side_binding", "isolation_level", "assume_role"}


def psycopg_connect_kwargs(config: Mapping) -> dict:
    """Keyword arguments for psycopg.connect() to the database of a Django DATABASES entry.

    For the threads that keep their own connection (the execution log writer, the change
    listener): they must not share a request's connection.
    """
    kwargs = {
        "dbname": config.get("NAME") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "host": config.get("HOST") or None,
        "port": str(config["PORT"]) if config.get("PORT") else None,
    }
    kwargs.update(
        {k: v for k, v in (config.get("OPTIONS") or {}).items() if k not in _DJANGO_ONLY_OPTIONS}
    )
    return {k: v for k, v in kwargs.items() if v is not None}
