"""TimescaleDB upkeep of the execution log: compression, retention and the hourly aggregate.

Everything here is driven by settings and is idempotent: `timeseries_policies_apply` makes the
database match EXECUTION_LOG_COMPRESS_AFTER_DAYS, EXECUTION_LOG_RETENTION_DAYS and
EXECUTION_LOG_HOURLY_AGGREGATE (adding, replacing or removing policies), and
`timeseries_policies_remove` undoes all of it. Migration executions 0002 and the
`timeseries_policies` command call them. On plain PostgreSQL and SQLite they log a line and do
nothing: the execution log is a plain table there.

The hourly aggregate is a *real-time* continuous aggregate (`materialized_only = false`): rows
not yet materialized by the refresh policy are aggregated from the log at query time, so
statistics are never stale, and the test server (whose scheduled jobs never run) answers the same
numbers as production.
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connections, router

from executions.histogram import histogram_aggregate_sql
from executions.models import ExecutionLog

log = logging.getLogger(__name__)

TABLE = ExecutionLog._meta.db_table
HOURLY_AGGREGATE = "executionlog_hourly"
COMPRESS_SEGMENT_BY = ("tenant_id", "ruleset_id")
COMPRESS_ORDER_BY = "timestamp DESC"
# The refresh policy materializes hours older than END_OFFSET (the current hour keeps changing)
# and re-reads the last START_OFFSET for late rows; it never reaches back into dropped chunks,
# which would delete their aggregated hours (see _refresh_start_offset).
REFRESH_START_OFFSET = timedelta(days=3)
REFRESH_END_OFFSET = timedelta(hours=1)
REFRESH_SCHEDULE = timedelta(minutes=30)

# One row per hour, tenant, ruleset version and recommendation. Sums and counts, not averages,
# so any multiple of an hour can be re-aggregated exactly, and the fixed log-scale histogram of
# execution times (executions.histogram, TimescaleDB's own `histogram()`: Toolkit's
# percentile_agg is not available everywhere, not in the test server) from which percentiles are
# read. Admin try-it runs never enter statistics. The same columns as the PostgreSQL rollup table
# (executions.models.ExecutionLogRollup).
HISTOGRAM_COLUMN = "execution_ms_histogram"
HOURLY_AGGREGATE_SQL = f"""
CREATE MATERIALIZED VIEW IF NOT EXISTS {HOURLY_AGGREGATE}
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT
    time_bucket(INTERVAL '1 hour', "timestamp") AS bucket,
    tenant_id,
    ruleset_name,
    ruleset_version,
    action_recommendation,
    count(*) AS executions,
    count(*) FILTER (WHERE success) AS successes,
    sum(execution_time_ms) AS execution_ms_sum,
    sum(total_points) AS points_sum,
    count(total_points) AS points_count,
    {histogram_aggregate_sql()} AS {HISTOGRAM_COLUMN}
FROM {TABLE}
WHERE source <> 'admin'
GROUP BY bucket, tenant_id, ruleset_name, ruleset_version, action_recommendation
WITH NO DATA
"""


@dataclass
class PoliciesReport:
    """What a call did (`actions`) or, for status, what exists; `skipped` says why nothing ran."""

    actions: list[str] = field(default_factory=list)
    skipped: str = ""


def _connection(connection=None):
    return connection or connections[router.db_for_write(ExecutionLog)]


def timescaledb_hypertable(connection=None) -> bool:
    """True when the execution log is a TimescaleDB hypertable on this connection."""
    connection = _connection(connection)
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
        if cursor.fetchone() is None:
            return False
        cursor.execute(
            "SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_name = %s",
            [TABLE],
        )
        return cursor.fetchone() is not None


def hourly_aggregate_exists(connection=None) -> bool:
    connection = _connection(connection)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM timescaledb_information.continuous_aggregates WHERE view_name = %s",
            [HOURLY_AGGREGATE],
        )
        return cursor.fetchone() is not None


def _hourly_aggregate_has_histogram(cursor) -> bool:
    cursor.execute(
        "SELECT 1 FROM information_schema.columns WHERE table_name = %s AND column_name = %s",
        [HOURLY_AGGREGATE, HISTOGRAM_COLUMN],
    )
    return cursor.fetchone() is not None


def hourly_aggregate_upgrade(*, connection=None) -> PoliciesReport:
    """Give an aggregate made before the histogram (migration 0005) its histogram column.

    A continuous aggregate's query cannot be altered: the old one is renamed to
    `<name>_before_0005` with its refresh policy removed (it keeps hours whose log chunks
    retention has already dropped; drop it when they are no longer wanted), and a new one is
    made and materialized from the log as `timeseries_policies_apply` does.
    """
    connection = _connection(connection)
    report = PoliciesReport(skipped=_skip_reason(connection))
    if report.skipped or not hourly_aggregate_exists(connection):
        return report
    with connection.cursor() as cursor:
        if _hourly_aggregate_has_histogram(cursor):
            return report
        old = f"{HOURLY_AGGREGATE}_before_0005"
        cursor.execute(
            "SELECT remove_continuous_aggregate_policy(%s, if_exists => true)", [HOURLY_AGGREGATE]
        )
        cursor.execute(f"ALTER MATERIALIZED VIEW {HOURLY_AGGREGATE} RENAME TO {old}")
        report.actions.append(f"renamed the aggregate without a histogram to {old}")
        log.info("time-series policies: %s", report.actions[-1])
    report.actions += timeseries_policies_apply(connection=connection).actions
    return report


def _skip_reason(connection) -> str:
    if timescaledb_hypertable(connection):
        return ""
    reason = f"the execution log is not a TimescaleDB hypertable ({connection.vendor})"
    log.info("time-series policies skipped: %s", reason)
    return reason


def _policy_interval(cursor, proc_name: str, hypertable: str, key: str) -> timedelta | None:
    """The interval setting of a policy job, or None when the policy does not exist."""
    cursor.execute(
        f"SELECT (config->>'{key}')::interval FROM timescaledb_information.jobs "
        "WHERE proc_name = %s AND hypertable_name = %s",
        [proc_name, hypertable],
    )
    row = cursor.fetchone()
    return row[0] if row else None


def _compression_enabled(cursor) -> bool:
    cursor.execute(
        "SELECT compression_enabled FROM timescaledb_information.hypertables "
        "WHERE hypertable_name = %s",
        [TABLE],
    )
    row = cursor.fetchone()
    return bool(row and row[0])


def _apply_compression(cursor, days: int, report: PoliciesReport) -> None:
    current = _policy_interval(cursor, "policy_compression", TABLE, "compress_after")
    if days <= 0:
        if current is not None:
            cursor.execute("SELECT remove_compression_policy(%s, if_exists => true)", [TABLE])
            report.actions.append("removed the compression policy (compression off)")
        return
    if not _compression_enabled(cursor):
        # Segments per tenant and ruleset: the API's and the dashboard's queries filter on them,
        # so a compressed chunk is read segment by segment, newest first.
        cursor.execute(
            f"ALTER TABLE {TABLE} SET (timescaledb.compress, "
            f"timescaledb.compress_segmentby = '{', '.join(COMPRESS_SEGMENT_BY)}', "
            f"timescaledb.compress_orderby = '{COMPRESS_ORDER_BY}')"
        )
        report.actions.append(
            f"enabled compression (segment by {', '.join(COMPRESS_SEGMENT_BY)}; "
            f"order by {COMPRESS_ORDER_BY})"
        )
    wanted = timedelta(days=days)
    if current == wanted:
        return
    if current is not None:
        cursor.execute("SELECT remove_compression_policy(%s, if_exists => true)", [TABLE])
    cursor.execute(
        "SELECT add_compression_policy(%s, %s::interval, if_not_exists => true)", [TABLE, wanted]
    )
    report.actions.append(f"compression policy: chunks older than {days} days")


def _apply_retention(cursor, days: int, report: PoliciesReport) -> None:
    current = _policy_interval(cursor, "policy_retention", TABLE, "drop_after")
    wanted = timedelta(days=days) if days > 0 else None
    if current == wanted:
        return
    if current is not None:
        cursor.execute("SELECT remove_retention_policy(%s, if_exists => true)", [TABLE])
        if wanted is None:
            report.actions.append("removed the retention policy (logs kept forever)")
    if wanted is not None:
        cursor.execute(
            "SELECT add_retention_policy(%s, %s::interval, if_not_exists => true)", [TABLE, wanted]
        )
        report.actions.append(f"retention policy: chunks older than {days} days are dropped")


def _refresh_start_offset(retention_days: int) -> timedelta:
    if retention_days > 0:
        return min(REFRESH_START_OFFSET, timedelta(days=retention_days))
    return REFRESH_START_OFFSET


def _apply_hourly_aggregate(
    connection, cursor, enabled: bool, retention_days: int, report: PoliciesReport
) -> None:
    exists = hourly_aggregate_exists(connection)
    if not enabled:
        if exists:
            _drop_hourly_aggregate(cursor, report)
        return
    if not exists:
        cursor.execute(HOURLY_AGGREGATE_SQL)
        report.actions.append(f"created the hourly continuous aggregate {HOURLY_AGGREGATE}")
        if connection.in_atomic_block:
            # refresh_continuous_aggregate() refuses to run in a transaction; real-time
            # aggregation answers from the log until the refresh policy catches up.
            log.info("%s: first refresh left to its policy (in a transaction)", HOURLY_AGGREGATE)
        else:
            # The policy only looks back REFRESH_START_OFFSET: materialize older history now.
            cursor.execute("CALL refresh_continuous_aggregate(%s, NULL, NULL)", [HOURLY_AGGREGATE])
            report.actions.append(f"materialized {HOURLY_AGGREGATE} over the existing log")
    start_offset = _refresh_start_offset(retention_days)
    current = _policy_interval(
        cursor, "policy_refresh_continuous_aggregate", HOURLY_AGGREGATE, "start_offset"
    )
    if current == start_offset:
        return
    if current is not None:
        cursor.execute(
            "SELECT remove_continuous_aggregate_policy(%s, if_exists => true)", [HOURLY_AGGREGATE]
        )
    cursor.execute(
        "SELECT add_continuous_aggregate_policy(%s, start_offset => %s::interval, "
        "end_offset => %s::interval, schedule_interval => %s::interval, if_not_exists => true)",
        [HOURLY_AGGREGATE, start_offset, REFRESH_END_OFFSET, REFRESH_SCHEDULE],
    )
    report.actions.append(
        f"refresh policy on {HOURLY_AGGREGATE}: every {_text(REFRESH_SCHEDULE)}, "
        f"from {_text(start_offset)} to {_text(REFRESH_END_OFFSET)} ago"
    )


def _drop_hourly_aggregate(cursor, report: PoliciesReport) -> None:
    # Dropping the view drops its refresh policy too.
    cursor.execute(f"DROP MATERIALIZED VIEW IF EXISTS {HOURLY_AGGREGATE}")
    report.actions.append(f"dropped the hourly continuous aggregate {HOURLY_AGGREGATE}")


def _text(interval: timedelta) -> str:
    for unit, size in (("day", timedelta(days=1)), ("hour", timedelta(hours=1))):
        if interval % size == timedelta(0):
            count = interval // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{interval // timedelta(minutes=1)} minutes"


def timeseries_policies_apply(*, connection=None) -> PoliciesReport:
    """Make compression, retention and the hourly aggregate match the settings."""
    connection = _connection(connection)
    report = PoliciesReport(skipped=_skip_reason(connection))
    if report.skipped:
        return report
    retention_days = settings.EXECUTION_LOG_RETENTION_DAYS
    with connection.cursor() as cursor:
        _apply_compression(cursor, settings.EXECUTION_LOG_COMPRESS_AFTER_DAYS, report)
        _apply_retention(cursor, retention_days, report)
        _apply_hourly_aggregate(
            connection, cursor, settings.EXECUTION_LOG_HOURLY_AGGREGATE, retention_days, report
        )
    for action in report.actions:
        log.info("time-series policies: %s", action)
    return report


def timeseries_policies_remove(*, connection=None) -> PoliciesReport:
    """Remove the policies and the aggregate, decompress every chunk and turn compression off."""
    connection = _connection(connection)
    report = PoliciesReport(skipped=_skip_reason(connection))
    if report.skipped:
        return report
    with connection.cursor() as cursor:
        if hourly_aggregate_exists(connection):
            _drop_hourly_aggregate(cursor, report)
        if _policy_interval(cursor, "policy_retention", TABLE, "drop_after") is not None:
            cursor.execute("SELECT remove_retention_policy(%s, if_exists => true)", [TABLE])
            report.actions.append("removed the retention policy")
        if _policy_interval(cursor, "policy_compression", TABLE, "compress_after") is not None:
            cursor.execute("SELECT remove_compression_policy(%s, if_exists => true)", [TABLE])
            report.actions.append("removed the compression policy")
        if _compression_enabled(cursor):
            # Compression cannot be turned off while compressed chunks exist.
            cursor.execute(
                "SELECT count(decompress_chunk(chunk, if_compressed => true)) "
                "FROM show_chunks(%s) AS chunk",
                [TABLE],
            )
            (decompressed,) = cursor.fetchone()
            cursor.execute(f"ALTER TABLE {TABLE} SET (timescaledb.compress = false)")
            report.actions.append(f"disabled compression ({decompressed} chunks decompressed)")
    for action in report.actions:
        log.info("time-series policies: %s", action)
    return report


def timeseries_policies_status(*, connection=None) -> PoliciesReport:
    """What exists now: compression, policy jobs and continuous aggregates, one line each."""
    connection = _connection(connection)
    report = PoliciesReport(skipped=_skip_reason(connection))
    if report.skipped:
        return report
    lines = report.actions
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE is_compressed) "
            "FROM timescaledb_information.chunks WHERE hypertable_name = %s",
            [TABLE],
        )
        chunks, compressed = cursor.fetchone()
        lines.append(f"hypertable {TABLE}: {chunks} chunks, {compressed} compressed")
        if _compression_enabled(cursor):
            cursor.execute(
                "SELECT attname, segmentby_column_index, orderby_column_index, orderby_asc "
                "FROM timescaledb_information.compression_settings WHERE hypertable_name = %s",
                [TABLE],
            )
            rows = cursor.fetchall()
            segment_by = [r[0] for r in sorted(rows, key=lambda r: r[1] or 0) if r[1]]
            order_by = [
                f"{r[0]} {'ASC' if r[3] else 'DESC'}"
                for r in sorted(rows, key=lambda r: r[2] or 0)
                if r[2]
            ]
            lines.append(
                f"compression: on (segment by {', '.join(segment_by)}; "
                f"order by {', '.join(order_by)})"
            )
        else:
            lines.append("compression: off")
        cursor.execute(
            "SELECT job_id, proc_name, hypertable_name, schedule_interval, config::text "
            "FROM timescaledb_information.jobs WHERE hypertable_name IN (%s, %s) ORDER BY job_id",
            [TABLE, HOURLY_AGGREGATE],
        )
        jobs = cursor.fetchall()
        for job_id, proc_name, hypertable, schedule, config in jobs:
            lines.append(
                f"job {job_id}: {proc_name} on {hypertable} every {_text(schedule)} {config}"
            )
        if not jobs:
            lines.append("jobs: none")
        cursor.execute(
            "SELECT view_name, materialized_only "
            "FROM timescaledb_information.continuous_aggregates "
            "WHERE hypertable_name = %s ORDER BY view_name",
            [TABLE],
        )
        aggregates = cursor.fetchall()
        for view_name, materialized_only in aggregates:
            mode = "materialized only" if materialized_only else "real-time"
            lines.append(f"continuous aggregate {view_name} ({mode})")
        if not aggregates:
            lines.append("continuous aggregates: none")
    return report


def hourly_aggregate_refresh(*, start=None, end=None, connection=None) -> None:
    """Materialize the hourly aggregate for [start, end) (None: unbounded); not in a transaction.

    The refresh policy does this on schedule; tests and operators call it explicitly.
    """
    connection = _connection(connection)
    with connection.cursor() as cursor:
        cursor.execute(
            "CALL refresh_continuous_aggregate(%s, %s::timestamptz, %s::timestamptz)",
            [HOURLY_AGGREGATE, start, end],
        )
