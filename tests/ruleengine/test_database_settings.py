"""Database selection precedence (pure function, no database needed)."""

import os
import subprocess
import sys
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
        PGHOST="pg.internal",
        PGPORT="6543",
        PGUSER="rules",
        PGPASSWORD="pw",
        PGDATABASE="rulesdb",
        PGSSLMODE="verify-full",
    )
    assert source == "PG* variables"
    assert config["ENGINE"] == POSTGRES_ENGINE
    assert (config["HOST"], config["PORT"], config["USER"], config["NAME"]) == (
        "pg.internal",
        "6543",
        "rules",
        "rulesdb",
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


def _settings_value(expression: str, env: dict) -> subprocess.CompletedProcess:
    code = f"import django; django.setup(); from django.conf import settings; print({expression})"
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "ENV_FILE")}
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**base, "DJANGO_SETTINGS_MODULE": "ruleengine.settings", **env},
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )


def test_env_file_is_read_and_the_environment_wins(tmp_path):
    env_file = tmp_path / "prod.env"
    env_file.write_text(
        f"DATABASE_URL=sqlite:///{tmp_path}/from-file.sqlite3\nRULESET_FOUR_EYES=true\n"
        "SECRET_KEY=from-the-file-0123456789-0123456789-0123456789\n"
    )
    result = _settings_value(
        "settings.DATABASES['default']['NAME'], settings.RULESET_FOUR_EYES",
        {"ENV_FILE": str(env_file), "RULESET_FOUR_EYES": "false"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{tmp_path}/from-file.sqlite3 False"


def test_a_named_env_file_that_does_not_exist_is_an_error(tmp_path):
    result = _settings_value("1", {"ENV_FILE": str(tmp_path / "missing.env")})
    assert result.returncode != 0
    assert "missing.env does not exist" in result.stderr


def test_production_settings_refuse_to_start_without_a_secret_key():
    result = _settings_value("1", {"SECRET_KEY": "", "DEBUG": "false"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
