"""Compression, retention and the hourly aggregate of the execution log (executions.timeseries).

The TimescaleDB test server runs no scheduled jobs: these tests check that the policies exist
(timescaledb_information.jobs) and run the refresh procedure themselves.
"""

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from executions.histogram import RELATIVE_ERROR
from executions.models import ExecutionLog
from executions.stats import execution_stats
from executions.timeseries import (
    HISTOGRAM_COLUMN,
    HOURLY_AGGREGATE,
    TABLE,
    hourly_aggregate_refresh,
    hourly_aggregate_upgrade,
    timeseries_policies_apply,
    timeseries_policies_remove,
)
from tests.conftest import is_timescaledb
from tests.executions.conftest import log_row
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


def command(*args) -> str:
    out = io.StringIO()
    call_command("timeseries_policies", *args, stdout=out)
    return out.getvalue()


def policy_jobs() -> dict:
    """{proc_name: config} of the policy jobs on the log and on its aggregate."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT proc_name, config FROM timescaledb_information.jobs "
            "WHERE hypertable_name IN (%s, %s)",
            [TABLE, HOURLY_AGGREGATE],
        )
        # Django's psycopg setup hands jsonb over as text.
        return {proc: json.loads(config) for proc, config in cursor.fetchall()}


def aggregates() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT view_name, materialized_only FROM timescaledb_information.continuous_aggregates"
        )
        return cursor.fetchall()


def compression_settings() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, segmentby_column_index, orderby_column_index, orderby_asc "
            "FROM timescaledb_information.compression_settings WHERE hypertable_name = %s "
            "ORDER BY attname",
            [TABLE],
        )
        return cursor.fetchall()


def expected_jobs(compress_days=7, retention_days=90) -> dict:
    return {
        "policy_compression": f"{compress_days} days",
        "policy_retention": f"{retention_days} days",
        "policy_refresh_continuous_aggregate": "3 days",
    }


def job_intervals() -> dict:
    keys = {
        "policy_compression": "compress_after",
        "policy_retention": "drop_after",
        "policy_refresh_continuous_aggregate": "start_offset",
    }
    return {proc: config[keys[proc]] for proc, config in policy_jobs().items()}


@pytest.mark.smoke
def test_policies_are_skipped_without_timescaledb(caplog):
    if is_timescaledb():
        pytest.skip("the other databases only")
    caplog.set_level("INFO", logger="executions.timeseries")
    assert timeseries_policies_apply().skipped
    assert timeseries_policies_remove().actions == []
    assert "skipped: the execution log is not a TimescaleDB hypertable" in command()
    assert "skipped" in command("--status")
    assert "time-series policies skipped" in caplog.text


@pytest.mark.timescaledb
class TestOnTimescaleDB:
    def test_migrate_created_the_policies_and_the_real_time_aggregate(self):
        assert job_intervals() == expected_jobs()
        assert aggregates() == [(HOURLY_AGGREGATE, False)]
        assert compression_settings() == [
            ("ruleset_id", 2, None, None),
            ("tenant_id", 1, None, None),
            ("timestamp", None, 1, False),
        ]

    def test_command_is_idempotent_and_reports_what_exists(self):
        first = command()
        assert "nothing to change" in first
        assert f"continuous aggregate {HOURLY_AGGREGATE} (real-time)" in first
        assert (
            "compression: on (segment by tenant_id, ruleset_id; order by timestamp DESC)" in first
        )
        assert command() == first
        assert job_intervals() == expected_jobs()
        status = command("--status")
        assert "policy_retention on executions_executionlog" in status
        assert "nothing to change" not in status

    def test_remove_takes_everything_away_and_apply_restores_it(self):
        output = command("--remove")
        assert f"dropped the hourly continuous aggregate {HOURLY_AGGREGATE}" in output
        assert "jobs: none" in output and "compression: off" in output
        assert policy_jobs() == {} and aggregates() == []
        assert "nothing to change" in command("--remove")

        output = command()
        assert "enabled compression" in output
        assert job_intervals() == expected_jobs()
        assert aggregates() == [(HOURLY_AGGREGATE, False)]

    def test_apply_follows_changed_settings(self, settings):
        settings.EXECUTION_LOG_COMPRESS_AFTER_DAYS = 14
        settings.EXECUTION_LOG_RETENTION_DAYS = 2
        report = timeseries_policies_apply()
        assert len(report.actions) == 3, report.actions
        # The refresh window never reaches into dropped chunks.
        assert job_intervals() == {
            **expected_jobs(14, 2),
            "policy_refresh_continuous_aggregate": "2 days",
        }

        settings.EXECUTION_LOG_COMPRESS_AFTER_DAYS = 0
        settings.EXECUTION_LOG_RETENTION_DAYS = 0
        settings.EXECUTION_LOG_HOURLY_AGGREGATE = False
        report = timeseries_policies_apply()
        assert policy_jobs() == {} and aggregates() == []
        assert timeseries_policies_apply().actions == []

    def test_the_migration_is_reversible(self):
        migration = MigrationLoader(connection).get_migration(
            "executions", "0003_timeseries_policies"
        )
        # The first refresh of the aggregate cannot run in a transaction.
        assert migration.atomic is False
        (operation,) = migration.operations
        assert operation.reversible
        operation.reverse_code(None, connection.schema_editor())
        assert policy_jobs() == {} and aggregates() == []
        operation.code(None, connection.schema_editor())
        assert job_intervals() == expected_jobs()

    def test_compressed_chunks_keep_the_unique_key_and_answer_lookups(self):
        tenant = TenantFactory()
        old = datetime.now(UTC) - timedelta(days=30)
        rows = [log_row(tenant, timestamp=old + timedelta(minutes=n)) for n in range(20)]
        ExecutionLog.objects.bulk_create(rows)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(compress_chunk(chunk, if_not_compressed => true)) "
                "FROM show_chunks(%s, older_than => INTERVAL '7 days') AS chunk",
                [TABLE],
            )
            assert cursor.fetchone()[0] >= 1
        found = ExecutionLog.objects.get(execution_id=rows[5].execution_id)
        assert found.timestamp == rows[5].timestamp
        assert "disabled compression (" in command("--remove")
        assert ExecutionLog.objects.filter(tenant=tenant).count() == 20


@pytest.mark.timescaledb
@pytest.mark.django_db(transaction=True)
def test_refreshed_aggregate_serves_the_same_numbers():
    """Committed rows, materialized by an explicit refresh (outside any transaction)."""
    tenant = TenantFactory()
    # Long ago: the refresh moves the aggregate's watermark, and rows of other tests (recent)
    # must stay above it, where real-time aggregation sees them without a refresh.
    hour = datetime(2020, 1, 6, 10, tzinfo=UTC)
    rows = [
        log_row(tenant, timestamp=hour + timedelta(minutes=n), execution_time_ms=float(n + 1))
        for n in range(10)
    ]
    ExecutionLog.objects.bulk_create(rows)
    window = {"start": hour, "end": hour + timedelta(days=1)}
    try:
        hourly_aggregate_refresh(**window)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT materialization_hypertable_schema, materialization_hypertable_name "
                "FROM timescaledb_information.continuous_aggregates WHERE view_name = %s",
                [HOURLY_AGGREGATE],
            )
            schema, table = cursor.fetchone()
            cursor.execute(f'SELECT sum(executions) FROM "{schema}"."{table}"')
            assert cursor.fetchone()[0] == 10
        (bucket,) = execution_stats(
            tenant_ids=[tenant.pk],
            bucket=timedelta(hours=1),
            since=hour,
            until=hour + timedelta(hours=1),
        )
        assert bucket["count"] == 10 and bucket["success_count"] == 10
        assert bucket["avg_execution_ms"] == pytest.approx(5.5)
        assert bucket["p95_execution_ms"] == pytest.approx(9.55, rel=RELATIVE_ERROR)
    finally:
        ExecutionLog.objects.filter(tenant=tenant).delete()
        hourly_aggregate_refresh(**window)


@pytest.mark.timescaledb
@pytest.mark.django_db(transaction=True)
def test_an_aggregate_without_the_histogram_is_kept_aside_and_rebuilt():
    """Migration 0005 on a database whose aggregate predates the histogram."""
    old = f"{HOURLY_AGGREGATE}_before_0005"
    before = HOURLY_AGGREGATE_SQL_WITHOUT_HISTOGRAM
    with connection.cursor() as cursor:
        cursor.execute(f"DROP MATERIALIZED VIEW IF EXISTS {HOURLY_AGGREGATE}")
        cursor.execute(before)
    try:
        report = hourly_aggregate_upgrade()
        assert f"renamed the aggregate without a histogram to {old}" in report.actions
        assert sorted(aggregates()) == sorted([(HOURLY_AGGREGATE, False), (old, False)])
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM information_schema.columns WHERE table_name = %s "
                "AND column_name = %s",
                [HOURLY_AGGREGATE, HISTOGRAM_COLUMN],
            )
            assert cursor.fetchone() is not None
        assert hourly_aggregate_upgrade().actions == []  # once only
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP MATERIALIZED VIEW IF EXISTS {old}")
        timeseries_policies_apply()


HOURLY_AGGREGATE_SQL_WITHOUT_HISTOGRAM = f"""
CREATE MATERIALIZED VIEW {HOURLY_AGGREGATE}
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 hour', "timestamp") AS bucket, tenant_id, ruleset_name,
    ruleset_version, action_recommendation, count(*) AS executions
FROM {TABLE} WHERE source <> 'admin'
GROUP BY bucket, tenant_id, ruleset_name, ruleset_version, action_recommendation
WITH NO DATA
"""
