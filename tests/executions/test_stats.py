"""executions.stats on a known data set: the same numbers on every database and every path."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from executions.histogram import RELATIVE_ERROR
from executions.models import ExecutionLog
from executions.stats import (
    MAX_BUCKETS,
    StatsRequestInvalid,
    bucket_parse,
    execution_stats,
    execution_stats_summary,
    execution_stats_with_summary,
    stats_window,
)
from executions.timeseries import HOURLY_AGGREGATE

pytestmark = pytest.mark.django_db
HOUR = timedelta(hours=1)

# Hour 0: 10 runs of 1..10 ms, 8 successes; hour 1: 4 runs of 2, 4, 6, 8 ms (stats_logs).
# Percentiles are percentile_cont's, which the histogram's answers must match within its bound.
HOUR0 = {
    "count": 10,
    "success_count": 8,
    "success_rate": 0.8,
    "avg_execution_ms": 5.5,
    "p50_execution_ms": 5.5,
    "p95_execution_ms": 9.55,  # percentile_cont(0.95) of 1..10
    "p99_execution_ms": 9.91,
    "avg_points": 10.0,
    "recommendations": {"APPROVE": 5, "REVIEW": 3},
}
HOUR1 = {
    "count": 4,
    "success_count": 4,
    "success_rate": 1.0,
    "avg_execution_ms": 5.0,
    "p50_execution_ms": 5.0,
    "p95_execution_ms": 7.7,
    "p99_execution_ms": 7.94,
    "avg_points": 20.0,
    "recommendations": {"DECLINE": 4},
}
BOTH_HOURS = {
    "count": 14,
    "success_count": 12,
    "success_rate": 12 / 14,
    "avg_execution_ms": 75 / 14,
    "p50_execution_ms": 5.5,
    "p95_execution_ms": 9.35,
    "p99_execution_ms": 9.87,
    "avg_points": 160 / 12,
    "recommendations": {"APPROVE": 5, "DECLINE": 4, "REVIEW": 3},
}
EMPTY = {
    "count": 0,
    "success_count": 0,
    "success_rate": None,
    "avg_execution_ms": None,
    "p50_execution_ms": None,
    "p95_execution_ms": None,
    "p99_execution_ms": None,
    "avg_points": None,
    "recommendations": {},
}
CREDIT = {"ruleset_name": "credit", "ruleset_version": "1.0"}


PERCENTILE_KEYS = {"p50_execution_ms", "p95_execution_ms", "p99_execution_ms"}


def approx(expected: dict) -> dict:
    """Exact counts and sums; percentiles within the histogram's documented bound."""
    return {
        key: (
            pytest.approx(value, rel=RELATIVE_ERROR if key in PERCENTILE_KEYS else 1e-6)
            if isinstance(value, float)
            else value
        )
        for key, value in expected.items()
    }


def without_start(bucket: dict) -> dict:
    return {key: value for key, value in bucket.items() if key != "bucket_start"}


def check_hourly_numbers(tenant, stats_base):
    buckets = execution_stats(
        tenant_ids=[tenant.pk], **CREDIT, bucket=HOUR, since=stats_base, until=stats_base + 3 * HOUR
    )
    assert [b["bucket_start"] for b in buckets] == [stats_base + n * HOUR for n in range(3)]
    assert without_start(buckets[0]) == approx(HOUR0)
    assert without_start(buckets[1]) == approx(HOUR1)
    assert without_start(buckets[2]) == EMPTY


def check_whole_window_numbers(tenant, stats_base, bucket):
    start, end = stats_window(bucket=bucket, since=stats_base, until=stats_base + 2 * HOUR)
    buckets = execution_stats(
        tenant_ids=[tenant.pk], **CREDIT, bucket=bucket, since=stats_base, until=end
    )
    assert len(buckets) == 1 and buckets[0]["bucket_start"] == start
    assert without_start(buckets[0]) == approx(BOTH_HOURS)


@pytest.mark.smoke
def test_stats_per_hour_are_exact_on_a_known_data_set(tenant, stats_logs, stats_base):
    check_hourly_numbers(tenant, stats_base)


@pytest.mark.smoke
def test_larger_buckets_add_up_hours_with_the_p95_of_all_their_rows(tenant, stats_logs, stats_base):
    check_whole_window_numbers(tenant, stats_base, timedelta(hours=2))
    check_whole_window_numbers(tenant, stats_base, timedelta(days=1))


@pytest.mark.smoke
def test_summary_totals_the_window(tenant, stats_logs, stats_base):
    summary = execution_stats_summary(
        tenant_ids=[tenant.pk], **CREDIT, since=stats_base, until=stats_base + 2 * HOUR
    )
    assert summary == approx(BOTH_HOURS)


def test_minute_buckets_follow_the_bucket_grid(tenant, stats_logs, stats_base):
    buckets = execution_stats(
        tenant_ids=[tenant.pk],
        **CREDIT,
        bucket=bucket_parse("5m"),
        since=stats_base,
        until=stats_base + HOUR,
    )
    assert len(buckets) == 12
    assert [b["count"] for b in buckets[:3]] == [5, 5, 0]
    assert buckets[0]["p95_execution_ms"] == pytest.approx(4.8, rel=RELATIVE_ERROR)  # of 1..5


def test_admin_runs_other_tenants_and_other_rulesets_stay_out(
    tenant, other_tenant, stats_logs, stats_base
):
    window = {"since": stats_base, "until": stats_base + 2 * HOUR}
    every_ruleset = execution_stats_summary(tenant_ids=[tenant.pk], **window)
    # credit 1.0 (14) + fraud (2) + credit 2.0 (1); never the 3 admin runs
    assert every_ruleset["count"] == 17
    credit = execution_stats_summary(tenant_ids=[tenant.pk], ruleset_name="credit", **window)
    assert credit["count"] == 15
    assert execution_stats_summary(tenant_ids=[other_tenant.pk], **window)["count"] == 5
    assert execution_stats_summary(tenant_ids=[], **window) == EMPTY


def test_the_window_widens_to_whole_buckets(tenant, stats_logs, stats_base):
    buckets = execution_stats(
        tenant_ids=[tenant.pk],
        **CREDIT,
        bucket=HOUR,
        since=stats_base + timedelta(minutes=30),
        until=stats_base + timedelta(minutes=90),
    )
    assert [b["bucket_start"] for b in buckets] == [stats_base, stats_base + HOUR]
    assert [b["count"] for b in buckets] == [10, 4]


@pytest.mark.parametrize("text", ["", "1", "h", "0h", "1.5h", "-1h", "1s", "1w", "1 h", "100000m"])
def test_bucket_parse_refuses_what_is_not_minutes_hours_or_days(text):
    with pytest.raises(StatsRequestInvalid):
        bucket_parse(text)


def test_bucket_parse_reads_minutes_hours_and_days():
    assert bucket_parse("5m") == timedelta(minutes=5)
    assert bucket_parse("1h") == HOUR
    assert bucket_parse("7d") == timedelta(days=7)


def test_a_window_of_too_many_buckets_is_refused(stats_base):
    since = stats_base
    with pytest.raises(StatsRequestInvalid, match=f"at most {MAX_BUCKETS}"):
        stats_window(bucket=timedelta(minutes=1), since=since, until=since + timedelta(days=1))
    assert stats_window(bucket=HOUR, since=since, until=since + MAX_BUCKETS * HOUR) == (
        since,
        since + MAX_BUCKETS * HOUR,
    )


@pytest.mark.timescaledb
class TestOnTimescaleDB:
    def test_hourly_buckets_come_from_the_continuous_aggregate(
        self, tenant, stats_logs, stats_base
    ):
        with CaptureQueriesContext(connection) as queries:
            check_hourly_numbers(tenant, stats_base)
        sql = [query["sql"] for query in queries]
        assert any(f"FROM {HOURLY_AGGREGATE}" in statement for statement in sql), sql
        # Percentiles come from the aggregate's histogram too: whole hours never read the log.
        assert any(f"unnest({HOURLY_AGGREGATE}." in statement for statement in sql), sql
        assert not any(f"FROM {ExecutionLog._meta.db_table} " in st for st in sql), sql

    def test_day_buckets_and_the_summary_come_from_the_aggregate(
        self, tenant, stats_logs, stats_base
    ):
        with CaptureQueriesContext(connection) as queries:
            check_whole_window_numbers(tenant, stats_base, timedelta(days=1))
            summary = execution_stats_summary(
                tenant_ids=[tenant.pk], **CREDIT, since=stats_base, until=stats_base + 2 * HOUR
            )
        assert summary == approx(BOTH_HOURS)
        # Sums and histogram, for the buckets and for the summary.
        assert sum(f"FROM {HOURLY_AGGREGATE}" in query["sql"] for query in queries) == 4

    def test_minute_buckets_use_time_bucket_on_the_log(self, tenant, stats_logs, stats_base):
        with CaptureQueriesContext(connection) as queries:
            test_minute_buckets_follow_the_bucket_grid(tenant, stats_logs, stats_base)
        sql = " ".join(query["sql"] for query in queries)
        assert HOURLY_AGGREGATE not in sql.replace(f"view_name = '{HOURLY_AGGREGATE}'", "")
        assert "time_bucket(" in sql

    def test_without_the_aggregate_the_log_answers_the_same(
        self, tenant, stats_logs, stats_base, settings
    ):
        settings.EXECUTION_LOG_HOURLY_AGGREGATE = False
        with CaptureQueriesContext(connection) as queries:
            check_hourly_numbers(tenant, stats_base)
            check_whole_window_numbers(tenant, stats_base, timedelta(days=1))
        assert not any(HOURLY_AGGREGATE in query["sql"] for query in queries)


def test_stats_with_summary_answer_both_in_one_read(tenant, stats_logs, stats_base):
    scope = {
        "tenant_ids": [tenant.pk],
        **CREDIT,
        "since": stats_base,
        "until": stats_base + 3 * HOUR,
    }
    summary, buckets = execution_stats_with_summary(**scope, bucket=HOUR)
    assert buckets == execution_stats(**scope, bucket=HOUR)
    assert summary == execution_stats_summary(**scope)
    assert without_start(buckets[0]) == approx(HOUR0)
