"""Execution statistics per time bucket: counts, success rate, timings, points, recommendations.

Admin try-it runs (source "admin") never enter statistics.

Buckets are aligned like TimescaleDB's `time_bucket` (origin Monday 2000-01-03 00:00 UTC, so an
hour starts on the hour and a day at midnight UTC) on every database, and a window is widened to
whole buckets: `since` goes down to its bucket's start and `until` up to the next bucket boundary,
so every bucket is complete and the totals of a window equal the sum of its buckets.

Where the numbers come from, so that a request costs the same at any size of the log: whole
hours are read from an hourly summary, and only what it does not hold from the log itself.

* TimescaleDB, hourly aggregate present (executions.timeseries): the real-time continuous
  aggregate for every whole hour of the window.
* PostgreSQL (and TimescaleDB without the aggregate): the rollup table (executions.rollups) for
  whole hours before its watermark; the hours from the watermark on (the current hour, or all of
  them when `rollup_execution_logs` has never run) from the log.
* Buckets of less than an hour, and the part of a summary's window before its first or after its
  last whole hour, from the log (`time_bucket` on TimescaleDB, `date_bin` with the same origin on
  PostgreSQL): one grouped pass over those rows only.
* SQLite (development): the log's rows in the window, folded in Python.

Percentiles (p50, p95, p99 of execution_time_ms) are read from the fixed log-scale histogram of
executions.histogram on every path: within histogram.RELATIVE_ERROR (4.43%) of PostgreSQL's
`percentile_cont` (linear interpolation) for times from 1 µs to 131 s. Where TimescaleDB's
retention has dropped the log's chunks, the aggregate still answers for their hours.
"""

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connections, router

from executions.histogram import bin_of, bin_sql, histogram_add, percentiles
from executions.models import ExecutionLog, ExecutionSource
from executions.rollups import ROLLUP_TABLE, rollup_watermark
from executions.timeseries import HISTOGRAM_COLUMN, HOURLY_AGGREGATE, hourly_aggregate_exists

BUCKET_ORIGIN = datetime(2000, 1, 3, tzinfo=UTC)
MAX_BUCKETS = 1000
MIN_BUCKET = timedelta(minutes=1)
HOUR = timedelta(hours=1)
LOG_TABLE = ExecutionLog._meta.db_table
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

    def as_dict(self, histogram: dict[int, int] | None) -> dict:
        marks = percentiles(histogram or {}) if self.count else {}
        return {
            "count": self.count,
            "success_count": self.successes,
            "success_rate": self.successes / self.count if self.count else None,
            "avg_execution_ms": self.execution_ms_sum / self.count if self.count else None,
            "p50_execution_ms": marks.get("p50"),
            "p95_execution_ms": marks.get("p95"),
            "p99_execution_ms": marks.get("p99"),
            "avg_points": self.points_sum / self.points_count if self.points_count else None,
            "recommendations": dict(sorted(self.recommendations.items())),
        }


@dataclass
class _Scope:
    tenant_ids: list
    ruleset_name: str | None
    ruleset_version: str | None
    bucket: timedelta | None
    totals: dict = field(default_factory=dict)
    histograms: dict = field(default_factory=dict)

    def conditions(self, time_column: str, start, end) -> tuple[list[str], list]:
        conditions = ["tenant_id = ANY(%s)", f'"{time_column}" >= %s', f'"{time_column}" < %s']
        parameters = [list(self.tenant_ids), start, end]
        if self.ruleset_name:
            conditions.append("ruleset_name = %s")
            parameters.append(self.ruleset_name)
        if self.ruleset_version:
            conditions.append("ruleset_version = %s")
            parameters.append(self.ruleset_version)
        return conditions, parameters

    def add_sums(self, rows) -> None:
        for bucket_start, recommendation, *sums in rows:
            self.totals.setdefault(bucket_start, _Totals()).add(recommendation, *sums)

    def add_bins(self, rows) -> None:
        for bucket_start, index, count in rows:
            histogram_add(self.histograms.setdefault(bucket_start, {}), [(index, count)])


def _connection():
    return connections[router.db_for_read(ExecutionLog)]


def _timescale(connection) -> bool:
    return connection.settings_dict["ENGINE"] == TIMESCALE_ENGINE


def _bucket_sql(connection, scope: _Scope, column: str) -> tuple[str, list]:
    """SQL of a row's bucket start (NULL for a summary) and its parameters."""
    if scope.bucket is None:
        return "NULL::timestamptz", []
    if _timescale(connection):
        return f'time_bucket(%s::interval, "{column}")', [scope.bucket]
    return f'date_bin(%s::interval, "{column}", %s::timestamptz)', [scope.bucket, BUCKET_ORIGIN]


@dataclass
class _HourlySource:
    relation: str
    column: str  # the hour
    # FROM ... of (bin, count) pairs of a row's histogram: dense in the aggregate (TimescaleDB's
    # histogram()), the non-empty bins in the rollup table.
    bins_sql: str
    holds_until: datetime | None  # None: everything, the current hour too (real-time)


AGGREGATE_SOURCE = _HourlySource(
    HOURLY_AGGREGATE,
    "bucket",
    f"unnest({HOURLY_AGGREGATE}.{HISTOGRAM_COLUMN}) WITH ORDINALITY AS bins(n, position) "
    "CROSS JOIN LATERAL (SELECT bins.position - 1 AS bin) AS bin_index",
    None,
)
ROLLUP_BINS_SQL = (
    f"unnest({ROLLUP_TABLE}.execution_ms_bins, {ROLLUP_TABLE}.execution_ms_counts) AS bins(bin, n)"
)


def _hourly_source(connection) -> _HourlySource | None:
    if (
        _timescale(connection)
        and settings.EXECUTION_LOG_HOURLY_AGGREGATE
        and hourly_aggregate_exists(connection)
    ):
        return AGGREGATE_SOURCE
    watermark = rollup_watermark(connection=connection)
    return _HourlySource(ROLLUP_TABLE, "hour", ROLLUP_BINS_SQL, watermark) if watermark else None


def _read_hourly(connection, scope: _Scope, source: _HourlySource, start, end) -> None:
    """Sums and histograms of whole hours [start, end) from the aggregate or the rollup."""
    relation, column = source.relation, source.column
    bucket_sql, bucket_parameters = _bucket_sql(connection, scope, column)
    conditions, parameters = scope.conditions(column, start, end)
    where = " AND ".join(conditions)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {bucket_sql}, action_recommendation, sum(executions)::bigint, "
            "sum(successes)::bigint, sum(execution_ms_sum), sum(points_sum), "
            f"sum(points_count)::bigint FROM {relation} WHERE {where} GROUP BY 1, 2",
            bucket_parameters + parameters,
        )
        scope.add_sums(cursor.fetchall())
        cursor.execute(
            f"SELECT {bucket_sql}, bin, sum(n)::bigint FROM {relation} "
            f"CROSS JOIN LATERAL {source.bins_sql} WHERE {where} AND n > 0 GROUP BY 1, 2",
            bucket_parameters + parameters,
        )
        scope.add_bins(cursor.fetchall())


def _read_logs(connection, scope: _Scope, start, end) -> None:
    """Sums and histograms of [start, end) from the log: one grouped pass over those rows."""
    bucket_sql, bucket_parameters = _bucket_sql(connection, scope, "timestamp")
    conditions, parameters = scope.conditions("timestamp", start, end)
    conditions.append("source <> %s")
    parameters.append(ExecutionSource.ADMIN.value)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {bucket_sql}, action_recommendation, {bin_sql()}, count(*), "
            "count(*) FILTER (WHERE success), sum(execution_time_ms), sum(total_points), "
            f"count(total_points) FROM {LOG_TABLE} WHERE {' AND '.join(conditions)} "
            "GROUP BY 1, 2, 3",
            bucket_parameters + parameters,
        )
        rows = cursor.fetchall()
    scope.add_sums((bucket_start, rec, *sums) for bucket_start, rec, _, *sums in rows)
    scope.add_bins((bucket_start, index, count) for bucket_start, _, index, count, *_ in rows)


def _hour_ceil(moment: datetime) -> datetime:
    floor = bucket_floor(moment, HOUR)
    return floor if floor == moment else floor + HOUR


def _log_ranges_merged(ranges: list[tuple]) -> list[tuple]:
    merged: list[tuple] = []
    for start, end in sorted(r for r in ranges if r[0] < r[1]):
        if merged and merged[-1][1] >= start:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _logs(*, tenant_ids, ruleset_name, ruleset_version, since, until):
    logs = ExecutionLog.objects.filter(
        tenant_id__in=tenant_ids, timestamp__gte=since, timestamp__lt=until
    ).exclude(source=ExecutionSource.ADMIN)
    if ruleset_name:
        logs = logs.filter(ruleset_name=ruleset_name)
    if ruleset_version:
        logs = logs.filter(ruleset_version=ruleset_version)
    return logs.order_by()


def _fold_in_python(logs, bucket: timedelta | None) -> tuple[dict, dict]:
    """SQLite: (totals by bucket start, histogram by bucket start) from the rows themselves."""
    totals: dict = {}
    histograms: dict = {}
    rows = logs.values_list(
        "timestamp", "success", "execution_time_ms", "total_points", "action_recommendation"
    )
    for timestamp, success, execution_ms, points, recommendation in rows.iterator():
        key = bucket_floor(timestamp, bucket) if bucket else None
        totals.setdefault(key, _Totals()).add(
            recommendation, 1, int(bool(success)), execution_ms, points, int(points is not None)
        )
        histogram_add(histograms.setdefault(key, {}), [(bin_of(execution_ms or 0.0), 1)])
    return totals, histograms


def _collect(*, tenant_ids, ruleset_name, ruleset_version, bucket, since, until):
    """(totals by bucket start, histogram by bucket start); bucket None: one entry, key None."""
    if not tenant_ids:
        return {}, {}
    connection = _connection()
    if connection.vendor != "postgresql":
        logs = _logs(
            tenant_ids=tenant_ids,
            ruleset_name=ruleset_name,
            ruleset_version=ruleset_version,
            since=since,
            until=until,
        )
        return _fold_in_python(logs, bucket)
    scope = _Scope(list(tenant_ids), ruleset_name, ruleset_version, bucket)
    first_hour, last_hour = _hour_ceil(since), bucket_floor(until, HOUR)
    source = _hourly_source(connection)
    whole_hours = bucket is None or bucket % HOUR == timedelta(0)
    if not whole_hours or source is None or first_hour >= last_hour:
        log_ranges = [(since, until)]
    else:
        holds_until = source.holds_until
        hourly_end = last_hour if holds_until is None else min(last_hour, holds_until)
        if first_hour < hourly_end:
            _read_hourly(connection, scope, source, first_hour, hourly_end)
        else:
            hourly_end = first_hour
        log_ranges = [(since, first_hour), (hourly_end, until)]
    for start, end in _log_ranges_merged(log_ranges):
        _read_logs(connection, scope, start, end)
    return scope.totals, scope.histograms


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
    p50_execution_ms, p95_execution_ms, p99_execution_ms, avg_points, recommendations
    ({recommendation: count}). Raises StatsRequestInvalid for a bad bucket or window (more than
    MAX_BUCKETS buckets).
    """
    since, until = stats_window(bucket=bucket, since=since, until=until)
    totals, histograms = _collect(
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
            {"bucket_start": start, **totals.get(start, _Totals()).as_dict(histograms.get(start))}
        )
        start += bucket
    return buckets


def execution_stats_with_summary(
    *,
    tenant_ids,
    ruleset_name: str | None = None,
    ruleset_version: str | None = None,
    bucket: timedelta,
    since: datetime,
    until: datetime,
) -> tuple[dict, list[dict]]:
    """(summary of the widened window, its buckets) from one read: what `execution_stats_summary`
    and `execution_stats` answer for the same window, at the cost of one."""
    since, until = stats_window(bucket=bucket, since=since, until=until)
    totals, histograms = _collect(
        tenant_ids=tenant_ids,
        ruleset_name=ruleset_name,
        ruleset_version=ruleset_version,
        bucket=bucket,
        since=since,
        until=until,
    )
    whole, histogram = _Totals(), {}
    buckets = []
    start = since
    while start < until:
        part = totals.get(start, _Totals())
        whole.count += part.count
        whole.successes += part.successes
        whole.execution_ms_sum += part.execution_ms_sum
        whole.points_sum += part.points_sum
        whole.points_count += part.points_count
        whole.recommendations.update(part.recommendations)
        histogram_add(histogram, (histograms.get(start) or {}).items())
        buckets.append({"bucket_start": start, **part.as_dict(histograms.get(start))})
        start += bucket
    return whole.as_dict(histogram), buckets


def execution_stats_summary(
    *,
    tenant_ids,
    ruleset_name: str | None = None,
    ruleset_version: str | None = None,
    since: datetime,
    until: datetime,
) -> dict:
    """Totals of [since, until) in the shape of one bucket of `execution_stats` (no bucket_start).

    Counts and sums are exact on every path, percentiles within the histogram's bound; whole
    hours come from the hourly aggregate or rollup, the edges of the window from the log.
    """
    if since >= until:
        raise StatsRequestInvalid("since must be before until")
    totals, histograms = _collect(
        tenant_ids=tenant_ids,
        ruleset_name=ruleset_name,
        ruleset_version=ruleset_version,
        bucket=None,
        since=since,
        until=until,
    )
    return totals.get(None, _Totals()).as_dict(histograms.get(None))
