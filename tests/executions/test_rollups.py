"""executions.rollups: the PostgreSQL rollup behind /stats and the dashboard, and pruning."""

import io
from datetime import timedelta

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from executions.histogram import bin_of, bin_sql
from executions.models import ExecutionLog, ExecutionLogRollup
from executions.rollups import (
    ADVISORY_LOCK_KEY,
    LOOKBACK,
    SETTLE,
    duration_parse,
    execution_logs_prune,
    execution_logs_rollup,
    hour_floor,
    rollup_watermark,
)
from executions.stats import execution_stats, execution_stats_summary
from tests.executions.conftest import log_row

pytestmark = pytest.mark.django_db
HOUR = timedelta(hours=1)
LOG = ExecutionLog._meta.db_table
ROLLUP = ExecutionLogRollup._meta.db_table


def stats(tenant, since, until, bucket=HOUR):
    scope = {"tenant_ids": [tenant.pk], "since": since, "until": until}
    return execution_stats(**scope, bucket=bucket), execution_stats_summary(**scope)


def read_sql(function) -> str:
    with CaptureQueriesContext(connection) as queries:
        function()
    return "\n".join(query["sql"] for query in queries)


def test_the_rollup_answers_what_the_log_answered(tenant, stats_logs, stats_base):
    window = (stats_base - HOUR, stats_base + 3 * HOUR)
    from_log = stats(tenant, *window)
    report = execution_logs_rollup()
    assert report.end == hour_floor(timezone.now() - SETTLE) == rollup_watermark()
    assert report.rows == ExecutionLogRollup.objects.count() > 0
    assert stats(tenant, *window) == from_log
    assert stats(tenant, *window, bucket=timedelta(days=1)) == stats(
        tenant, *window, bucket=timedelta(days=1)
    )
    sql = read_sql(lambda: stats(tenant, *window))
    assert f"FROM {ROLLUP}" in sql
    assert f"FROM {LOG} " not in sql  # whole hours before the watermark: no raw rows


def test_admin_runs_stay_out_of_the_rollup(tenant, stats_logs):
    execution_logs_rollup()
    assert sum(ExecutionLogRollup.objects.values_list("executions", flat=True)) == 22  # of 25


def test_rows_from_the_watermark_on_come_from_the_log(tenant):
    now = timezone.now()
    ExecutionLog.objects.bulk_create([log_row(tenant, timestamp=now - timedelta(hours=5))])
    execution_logs_rollup()
    ExecutionLog.objects.bulk_create(
        [log_row(tenant, timestamp=now), log_row(tenant, timestamp=now - timedelta(seconds=1))]
    )
    summary = execution_stats_summary(
        tenant_ids=[tenant.pk], since=now - timedelta(days=1), until=now + HOUR
    )
    assert summary["count"] == 3
    buckets, _ = stats(tenant, now - timedelta(days=1), now + HOUR)
    assert sum(bucket["count"] for bucket in buckets) == 3


def test_a_second_run_re_reads_only_the_look_back(tenant, stats_logs, stats_base):
    execution_logs_rollup()
    rows = sorted(ExecutionLogRollup.objects.values_list("hour", "executions", "ruleset_name"))
    # A row committed late into the last rolled-up hour is picked up by the next run.
    late = rollup_watermark() - timedelta(minutes=1)
    ExecutionLog.objects.bulk_create([log_row(tenant, timestamp=late)])
    report = execution_logs_rollup()
    assert report.hours <= LOOKBACK // HOUR + 1
    assert ExecutionLogRollup.objects.filter(hour=hour_floor(late)).get().executions == 1
    again = sorted(
        ExecutionLogRollup.objects.exclude(hour=hour_floor(late)).values_list(
            "hour", "executions", "ruleset_name"
        )
    )
    assert again == rows


def test_since_re_rolls_older_hours(tenant, stats_logs, stats_base):
    execution_logs_rollup()
    ExecutionLog.objects.bulk_create([log_row(tenant, timestamp=stats_base + 2 * HOUR)])
    window = (stats_base, stats_base + 3 * HOUR)
    assert stats(tenant, *window)[1]["count"] == 17  # rolled-up hours are not re-read
    execution_logs_rollup(since=stats_base)
    assert stats(tenant, *window)[1]["count"] == 18


def test_a_run_refuses_while_another_holds_the_lock(tenant, stats_logs):
    settings = connection.settings_dict
    other = psycopg.connect(
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
        autocommit=True,
    )
    try:
        other.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
        report = execution_logs_rollup()
        assert "holds the lock" in report.skipped
        assert rollup_watermark() is None and not ExecutionLogRollup.objects.exists()
    finally:
        other.close()
    assert not execution_logs_rollup().skipped


def test_the_sql_bins_are_the_python_bins():
    values = [0.0, 1e-5, 2**-10, 0.0123, 0.5, 1.0, 1.0905, 3.14159, 250.0, 2.0**17, 1e7]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {bin_sql('v')} FROM unnest(%s::float8[]) WITH ORDINALITY AS t(v, i) "
            "ORDER BY i",
            [values],
        )
        assert [row[0] for row in cursor.fetchall()] == [bin_of(v) for v in values]


def test_the_command_reports_what_it_did(tenant, stats_logs):
    out = io.StringIO()
    call_command("rollup_execution_logs", stdout=out)
    assert "rolled up" in out.getvalue() and "rollup rows" in out.getvalue()
    with pytest.raises(CommandError, match="time zone"):
        call_command("rollup_execution_logs", "--since", "2026-01-01T00:00")


# Pruning --------------------------------------------------------------------------------------


@pytest.fixture
def aged_logs(tenant):
    now = timezone.now()
    old = [log_row(tenant, timestamp=now - timedelta(days=100, minutes=i)) for i in range(3)]
    ExecutionLog.objects.bulk_create(old + [log_row(tenant, timestamp=now - timedelta(days=10))])
    return now


def test_prune_waits_for_the_rollup(aged_logs):
    report = execution_logs_prune(older_than=timedelta(days=90))
    assert report.deleted == 0 and "has not run" in report.notes[0]
    assert ExecutionLog.objects.count() == 4


def test_prune_deletes_in_batches_and_statistics_keep_the_hours(tenant, aged_logs):
    execution_logs_rollup()
    window = {"since": aged_logs - timedelta(days=101), "until": aged_logs - timedelta(days=99)}
    before = execution_stats_summary(tenant_ids=[tenant.pk], **window)
    assert execution_logs_prune(older_than=timedelta(days=90), dry_run=True).deleted == 3
    report = execution_logs_prune(older_than=timedelta(days=90), batch_size=2)
    assert (report.deleted, report.batches) == (3, 2)
    assert ExecutionLog.objects.count() == 1
    after = execution_stats_summary(tenant_ids=[tenant.pk], **window)
    # The whole hours come from the rollup; rows in the window's partial first and last hours
    # were read from the log, and those are gone.
    assert before["count"] == 3 and after["count"] in (1, 2, 3)
    assert execution_logs_prune(older_than=timedelta(days=90)).deleted == 0  # resumable


def test_prune_keeps_what_the_rollup_has_not_summarised(tenant):
    now = timezone.now()
    ExecutionLog.objects.bulk_create([log_row(tenant, timestamp=now - timedelta(days=3))])
    execution_logs_rollup(now=now - timedelta(days=5))  # a rollup five days behind
    report = execution_logs_prune(older_than=timedelta(days=1))
    assert report.deleted == 0 and "kept until" in report.notes[0]


def test_the_prune_command(aged_logs):
    call_command("rollup_execution_logs", stdout=io.StringIO())
    out = io.StringIO()
    call_command("prune_execution_logs", "--older-than", "90d", "--batch-size", "2", stdout=out)
    assert "deleted 3 log rows older than" in out.getvalue() and "in 2 batches" in out.getvalue()
    with pytest.raises(CommandError, match="duration"):
        call_command("prune_execution_logs", "--older-than", "90x")


@pytest.mark.parametrize("text,days", [("90d", 90), ("2w", 14), ("36h", 1.5)])
def test_durations(text, days):
    assert duration_parse(text) == timedelta(days=days)


@pytest.mark.timescaledb
def test_on_timescaledb_retention_and_the_aggregate_do_the_work(tenant):
    prune = io.StringIO()
    call_command("prune_execution_logs", "--older-than", "90d", stdout=prune)
    assert "retention policy" in prune.getvalue()
    rollup = io.StringIO()
    call_command("rollup_execution_logs", stdout=rollup)
    assert "continuous aggregate" in rollup.getvalue()
