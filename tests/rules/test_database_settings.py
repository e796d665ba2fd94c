"""Database selection precedence (pure function, no database needed)."""

from pathlib import Path

import pytest

from ruleengine.database import (
    POSTGRES_ENGINE,
    TIMESCALE_ENGINE,
    DatabaseConfigError,
    database_from_environment,
)

SQLITE = Path("/tmp/embedded.sqlite3")

pytestmark = pytest.mark.smoke


def choose(**env):
    return database_from_environment(env, sqlite_path=SQLITE)


def test_database_url_wins_over_everything():
    config, source = choose(
        DATABASE_URL="postgres://app:secret@db.internal:5433/rules?sslmode=require",
        TIMESCALE_SERVICE_URL="postgres://other@ts/tsdb",
        PGHOST="libpq-host",
    )
    assert source == "DATABASE_URL"
    assert config["ENGINE"] == POSTGRES_ENGINE
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db.internal", 5433, "rules")
    assert config["OPTIONS"]["sslmode"] == "require"


def test_timescale_url_scheme_maps_to_the_importable_backend():
    config, _ = choose(DATABASE_URL="timescale://u:p@tsdb:5432/tsdb?sslmode=require")
    assert config["ENGINE"] == TIMESCALE_ENGINE
    assert config["OPTIONS"] == {"sslmode": "require"}
    assert config["USER"] == "u"


def test_postgresql_scheme_is_plain_postgres():
    config, _ = choose(DATABASE_URL="postgresql://u@h/db")
    assert config["ENGINE"] == POSTGRES_ENGINE


def test_sqlite_url():
    config, _ = choose(DATABASE_URL="sqlite:////var/data/rules.sqlite3")
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == "/var/data/rules.sqlite3"


def test_timescale_service_url_means_timescaledb_backend():
    config, source = choose(
        TIMESCALE_SERVICE_URL="postgres://tsdbadmin:pw@x.tsdb.cloud:38622/tsdb?sslmode=require",
        PGHOST="ignored",
    )
    assert source == "TIMESCALE_SERVICE_URL"
    assert config["ENGINE"] == TIMESCALE_ENGINE
    assert config["PORT"] == 38622
    assert config["OPTIONS"]["sslmode"] == "require"


def test_libpq_variables_are_used_when_no_url_is_set():
    config, source = choose(
        PGHOST="pg.internal", PGPORT="6543", PGUSER="rules", PGPASSWORD="pw",
        PGDATABASE="rulesdb", PGSSLMODE="verify-full",
    )
    assert source == "PG* variables"
    assert config["ENGINE"] == POSTGRES_ENGINE
    assert (config["HOST"], config["PORT"], config["USER"], config["NAME"]) == (
        "pg.internal", "6543", "rules", "rulesdb",
    )
    assert config["OPTIONS"] == {"sslmode": "verify-full"}


def test_libpq_variables_with_timescaledb_flag():
    config, _ = choose(PGHOST="h", PGTIMESCALEDB="true")
    assert config["ENGINE"] == TIMESCALE_ENGINE


def test_embedded_sqlite_when_nothing_is_configured():
    config, source = choose()
    assert source == "embedded SQLite"
    assert config == {"ENGINE": "django.db.backends.sqlite3", "NAME": str(SQLITE)}


def test_unknown_scheme_is_a_clear_error():
    with pytest.raises(DatabaseConfigError, match="DATABASE_URL has an unknown scheme 'mysql'"):
        choose(DATABASE_URL="mysql://u@h/db")
