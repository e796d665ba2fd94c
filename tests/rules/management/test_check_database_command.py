"""manage.py check_database: reports on the configured database, fails clearly otherwise."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.support.s3_server import free_port

ROOT = Path(__file__).resolve().parents[3]


def test_check_database_reports_the_test_database(db):
    out = StringIO()
    call_command("check_database", stdout=out)
    report = out.getvalue()
    assert "Server: " in report and "Migrations: all applied" in report
    assert report.rstrip().endswith("OK")


def test_an_unreachable_host_fails_quickly_with_a_clear_message(db, tmp_path):
    env_file = tmp_path / "unreachable.env"
    env_file.write_text(f"DATABASE_URL=postgres://postgres@127.0.0.1:{free_port()}/postgres\n")
    with pytest.raises(CommandError, match="cannot connect to postgres@127.0.0.1:"):
        call_command("check_database", "--env-file", str(env_file), stdout=StringIO())


@pytest.mark.postgres
def test_bad_credentials_exit_non_zero(db, tmp_path, settings):
    default = settings.DATABASES["default"]
    env_file = tmp_path / "bad.env"
    env_file.write_text(
        "PGHOST={}\nPGPORT={}\nPGUSER=no_such_role_here\nPGPASSWORD=wrong\nPGDATABASE=postgres\n".format(
            default.get("HOST") or "127.0.0.1", default.get("PORT") or 5432
        )
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check_database", "--env-file", str(env_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DEBUG": "true"},
    )
    assert result.returncode != 0
    assert "cannot connect to no_such_role_here@" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_env_file_is_a_clear_error(db):
    with pytest.raises(CommandError, match="/nowhere.env: no such env file"):
        call_command("check_database", "--env-file", "/nowhere.env", stdout=StringIO())


@pytest.mark.timescaledb
def test_timescaledb_report_lists_the_execution_log_hypertable(db):
    # pglite serves one session at a time, so the queries run on the test's own connection
    # rather than the second connection database_check would open.
    from django.db import connection

    from rules.services.database_check import DatabaseReport, _server

    config = connection.settings_dict
    report = DatabaseReport(source="test", engine=config["ENGINE"], target="test")
    _server(connection, config, report)
    assert report.problems == []
    assert report.server_version.startswith("PostgreSQL 17")
    assert report.timescaledb_version.startswith("2.")
    [log_table] = [h for h in report.hypertables if h["name"].endswith(".executions_executionlog")]
    assert log_table["compression_enabled"] is True  # executions 0002, compress after 7 days
    assert log_table["chunks"] >= 0
