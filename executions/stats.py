"""Execution statistics per time bucket: counts, success rate, timings, points, recommendations.

Admin try-it runs (source "admin") never enter statistics.

Buckets are aligned like TimescaleDB's `time_bucket` (origin Monday 2000-01-03 00:00 UTC, so an
hour starts on the hour and a day at midnight UTC) on every database, and a window is widened to
whole buckets: `since` goes down to its bucket's start and `until` up to the next bucket boundary,
so every bucket is complete and the totals of a window equal the sum of its buckets.

Where the numbers come from:

* TimescaleDB, hourly aggregate present (executions.timeseries) and a bucket that is a multiple
  of an hour: count, successes, time and points sums and recommendations come from the
  aggregate, re-bucketed with `time_bucket`. The aggregate holds sums, not percentiles
  (TimescaleDB Toolkit's `percentile_agg` is not available everywhere, and not in the test
  server), so the p95 is computed exactly from the log for the same window: one more grouped
  query that reads only `timestamp` and `execution_time_ms`. Where the log's chunks have been
  dropped by retention but the aggregate still has the hours, p95 is None.
* TimescaleDB otherwise, and PostgreSQL: the log, grouped by `time_bucket` (TimescaleDB) or
  `date_bin` with the same origin (PostgreSQL; Django's Trunc functions only know calendar units,
  and buckets such as 5m or 6h must match TimescaleDB's), p95 with `percentile_cont`.
* SQLite (development): the log's rows in the window, folded in Python.

p95 is the continuous 95th percentile (PostgreSQL's `percentile_cont(0.95)`, linear
interpolation) on every path.
"""

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connections, router
from django.db.models import (
    Aggregate,
    Count,
    DateTimeField,
    DurationField,
    FloatField,
    Func,
    Q,
    Sum,
    Value,
)
from timescale.db.models.expressions import TimeBucket

from executions.models import ExecutionLog, ExecutionSource
from executions.timeseries import HOURLY_AGGREGATE, hourly_aggregate_exists

BUCKET_ORIGIN = datetime(2000, 1, 3, tzinfo=UTC)
MAX_BUCKETS = 1000
MIN_BUCKET = timedelta(minutes=1)
PERCENTILE = 0.95
TIMESCALE_ENGINE = "timescale.db.backends.postgresql"
BUCKET_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
BUCKET_PATTERN = re.compile(r"^([1-9][0-9]{0,4})([mhd])$")


class StatsRequestInvalid(ValueError):
    """A bucket, a window or their combination that statistics cannot answer."""


def bucket_parse(text: str) -> timedelta:
    """`5m`, `1h`, `1d` (minutes, hours, days) as a timedelta."""
    match = BUCKET_PATTERN.match(text.strip())
    if match is None:
        raise StatsRequestInvalid(
            f"bucket {text!r} is not a whole number of minutes, hours or days such as 5m, 1h, 1d"
        )
    return int(match[1]) * BUCKET_UNITS[match[2]]


def bucket_floor(moment: datetime, bucket: timedelta) -> datetime:
    return BUCKET_ORIGIN + ((moment - BUCKET_ORIGIN) // bucket) * bucket


def stats_window(
    *, bucket: timedelta, since: datetime, until: datetime
) -> tuple[datetime, datetime]:
    """The window widened to whole buckets; raises StatsRequestInvalid when it cannot be served."""
    if bucket < MIN_BUCKET or bucket % MIN_BUCKET:
        raise StatsRequestInvalid("the bucket must be a whole number of minutes")
    if since.tzinfo is None or until.tzinfo is None:
        raise StatsRequestInvalid("since and until need a time zone")
    if since >= until:
        raise StatsRequestInvalid("since must be before until")
    start = bucket_floor(since, bucket)
    end = bucket_floor(until, bucket)
    if end < until:
        end += bucket
    buckets = (end - start) // bucket
    if buckets > MAX_BUCKETS:
        raise StatsRequestInvalid(
            f"the window holds {buckets} buckets; at most {MAX_BUCKETS}: "
            "choose a larger bucket or a shorter window"
        )
    return start, end


@dataclass
class _Totals:
    count: int = 0
    successes: int = 0
    execution_ms_sum: float = 0.0
    points_sum: float = 0.0
    points_count: int = 0
    recommendations: Counter = field(default_factory=Counter)

    def add(self, recommendation, count, successes, execution_ms_sum, points_sum, points_count):
        self.count += count
        self.successes += successes
        self.execution_ms_sum += execution_ms_sum or 0.0
        self.points_sum += points_sum or 0.0
        self.points_count += points_count
        # Failed evaluations have no recommendation; they count, but in no recommendation.
        if recommendation is not None:
            self.recommendations[recommendation] += count

    def as_dict(self, p95: float | None) -> dict:
        return {
            "count": self.count,
            "success_count": self.successes,
            "success_rate": self.successes / self.count if self.count else None,
            "avg_execution_ms": self.execution_ms_sum / self.count if self.count else None,
            "p95_execution_ms": p95 if self.count else None,
            "avg_points": self.points_sum / self.points_count if self.points_count else None,
            "recommendations": dict(sorted(self.recommendations.items())),
        }


class _PercentileCont(Aggregate):
    function = "percentile_cont"
    template = f"%(function)s({PERCENTILE}) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


class _DateBin(Func):
    """PostgreSQL 14+ `date_bin(stride, source, origin)`."""

    function = "date_bin"
    output_field = DateTimeField()

    def __init__(self, stride: timedelta, expression, origin: datetime):
        super().__init__(
            Value(stride, output_field=DurationField()),
            expression,
            Value(origin, output_field=DateTimeField()),
        )


def _percentile_cont(values: list[float]) -> float | None:
    if not values:
        return None
    values.sort()
    position = PERCENTILE * (len(values) - 1)
    low, high = math.floor(position), math.ceil(position)
    return values[low] + (values[high] - values[low]) * (position - low)


def _connection():
    return connections[router.db_for_read(ExecutionLog)]


def _logs(*, tenant_ids, ruleset_name, ruleset_version, since, until):
    logs = ExecutionLog.objects.filter(
        tenant_id__in=tenant_ids, timestamp__gte=since, timestamp__lt=until
    ).exclude(source=ExecutionSource.ADMIN)
    if ruleset_name:
        logs = logs.filter(ruleset_name=ruleset_name)
    if ruleset_version:
        logs = logs.filter(ruleset_version=ruleset_version)
    return logs.order_by()


def _use_hourly_aggregate(connection, bucket: timedelta | None, since, until) -> bool:
    hour = timedelta(hours=1)
    aligned = bucket_floor(since, hour) == since and bucket_floor(until, hour) == until
    return (
        connection.settings_dict["ENGINE"] == TIMESCALE_ENGINE
        and settings.EXECUTION_LOG_HOURLY_AGGREGATE
        and aligned
        and (bucket is None or bucket % hour == timedelta(0))
        and hourly_aggregate_exists(connection)
    )


def _bucket_expression(connection, bucket: timedelta):
    if connection.settings_dict["ENGINE"] == TIMESCALE_ENGINE:
        return TimeBucket("timestamp", bucket)
    return _DateBin(bucket, "timestamp", BUCKET_ORIGIN)


def _partials_from_aggregate(
    connection, *, tenant_ids, ruleset_name, ruleset_version, bucket, since, until
):
    """(bucket_start, recommendation, count, successes, ms sum, points sum, points count) rows."""
    bucket_sql = "time_bucket(%s::interval, bucket)" if bucket else "NULL::timestamptz"
    conditions = ["tenant_id = ANY(%s)", "bucket >= %s", "bucket < %s"]
    parameters = [list(tenant_ids), since, until]
    if ruleset_name:
        conditions.append("ruleset_name = %s")
        parameters.append(ruleset_name)
    if ruleset_version:
        conditions.append("ruleset_version = %s")
        parameters.append(ruleset_version)
    sql = (
        f"SELECT {bucket_sql} AS bucket_start, action_recommendation, "
        "sum(executions)::bigint, sum(successes)::bigint, sum(execution_ms_sum), "
        "sum(points_sum), sum(points_count)::bigint "
        f"FROM {HOURLY_AGGREGATE} WHERE {' AND '.join(conditions)} GROUP BY 1, 2"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, ([bucket] if bucket else []) + parameters)
        return cursor.fetchall()


def _partials_from_logs(logs, bucket_expression):
    rows = logs.annotate(bucket_start=bucket_expression) if bucket_expression else logs
    group = ["bucket_start"] if bucket_expression else []
    return [
        (
            row.get("bucket_start"),
            row["action_recommendation"],
            row["count"],
            row["successes"],
            row["execution_ms_sum"],
            row["points_sum"],
            row["points_count"],
        )
        for row in rows.values(*group, "action_recommendation").annotate(
            count=Count("*"),
            successes=Count("execution_id", filter=Q(success=True)),
            execution_ms_sum=Sum("execution_time_ms"),
            points_sum=Sum("total_points"),
            points_count=Count("total_points"),
        )
    ]


def _p95_from_logs(logs, bucket_expression) -> dict:
    """{bucket_start (None for the whole window): p95 of execution_time_ms}."""
    if bucket_expression is None:
        result = logs.aggregate(p95=_PercentileCont("execution_time_ms"))
        return {None: result["p95"]}
    rows = (
        logs.annotate(bucket_start=bucket_expression)
        .values("bucket_start")
        .annotate(p95=_PercentileCont("execution_time_ms"))
    )
    return {row["bucket_start"]: row["p95"] for row in rows}


def _fold_in_python(logs, bucket: timedelta | None) -> tuple[dict, dict]:
    """SQLite: (totals by bucket start, p95 by bucket start) from the rows themselves."""
    totals: dict = {}
    timings: dict = {}
    rows = logs.values_list(
        "timestamp", "success", "execution_time_ms", "total_points", "action_recommendation"
    )
    for timestamp, success, execution_ms, points, recommendation in rows.iterator():
        key = bucket_floor(timestamp, bucket) if bucket else None
        totals.setdefault(key, _Totals()).add(
            recommendation, 1, int(bool(success)), execution_ms, points, int(points is not None)
        )
        timings.setdefault(key, []).append(execution_ms)
    return totals, {key: _percentile_cont(values) for key, values in timings.items()}


def _collect(*, tenant_ids, ruleset_name, ruleset_version, bucket, since, until):
    """(totals by bucket start, p95 by bucket start); bucket None: one entry, key None."""
    if not tenant_ids:
        return {}, {}
    connection = _connection()
    logs = _logs(
        tenant_ids=tenant_ids,
        ruleset_name=ruleset_name,
        ruleset_version=ruleset_version,
        since=since,
        until=until,
    )
    if connection.vendor != "postgresql":
        return _fold_in_python(logs, bucket)
    bucket_expression = _bucket_expression(connection, bucket) if bucket else None
    if _use_hourly_aggregate(connection, bucket, since, until):
        partials = _partials_from_aggregate(
            connection,
            tenant_ids=tenant_ids,
            ruleset_name=ruleset_name,
            ruleset_version=ruleset_version,
            bucket=bucket,
            since=since,
            until=until,
        )
    else:
        partials = _partials_from_logs(logs, bucket_expression)
    totals: dict = {}
    for bucket_start, recommendation, *sums in partials:
        totals.setdefault(bucket_start, _Totals()).add(recommendation, *sums)
    return totals, _p95_from_logs(logs, bucket_expression)


def execution_stats(
    *,
    tenant_ids,
    ruleset_name: str | None = None,
    ruleset_version: str | None = None,
    bucket: timedelta,
    since: datetime,
    until: datetime,
) -> list[dict]:
    """Statistics per bucket over the window widened to whole buckets, oldest first.

    Every bucket of the window is present (count 0 when nothing ran; its rates and averages are
    None): bucket_start, count, success_count, success_rate (0..1), avg_execution_ms,
    p95_execution_ms, avg_points, recommendations ({recommendation: count}). Raises
    StatsRequestInvalid for a bad bucket or window (more than MAX_BUCKETS buckets).
    """
    since, until = stats_window(bucket=bucket, since=since, until=until)
    totals, p95 = _collect(
        tenant_ids=tenant_ids,
        ruleset_name=ruleset_name,
        ruleset_version=ruleset_version,
        bucket=bucket,
        since=since,
        until=until,
    )
    buckets = []
    start = since
    while start < until:
        buckets.append(
            {"bucket_start": start, **totals.get(start, _Totals()).as_dict(p95.get(start))}
        )
        start += bucket
    return buckets


def execution_stats_summary(
    *,
    tenant_ids,
    ruleset_name: str | None = None,
    ruleset_version: str | None = None,
    since: datetime,
    until: datetime,
) -> dict:
    """Totals of [since, until) in the shape of one bucket of `execution_stats` (no bucket_start).

    Exact on every path; from the hourly aggregate when both ends fall on the hour.
    """
    if since >= until:
        raise StatsRequestInvalid("since must be before until")
    totals, p95 = _collect(
        tenant_ids=tenant_ids,
        ruleset_name=ruleset_name,
        ruleset_version=ruleset_version,
        bucket=None,
        since=since,
        until=until,
    )
    return totals.get(None, _Totals()).as_dict(p95.get(None))
