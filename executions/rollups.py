"""The hourly rollup of the execution log on PostgreSQL, and pruning of old log rows.

`manage.py rollup_execution_logs` (run it every few minutes; cron, a systemd timer or a
Kubernetes CronJob) calls `execution_logs_rollup`: it summarises every finished hour since the
watermark into ExecutionLogRollup, one day of hours per transaction (delete the hours' rows,
insert them again from the log, move the watermark), so it is idempotent, incremental and
resumable: a run that stops keeps the days it committed. It re-reads the LOOKBACK before the
watermark for rows that committed late, and rolls up an hour only SETTLE after it ends. Runs
are serialised by an advisory lock; a run that finds it taken does nothing and says so.

executions.stats reads the rollup for hours before the watermark and the log for the rest (the
current hour, and everything when the command has never run), as TimescaleDB's real-time
aggregates do. On TimescaleDB the continuous aggregate `executionlog_hourly` takes this table's
place (executions.timeseries) and the command does nothing, unless the aggregate is turned off
(EXECUTION_LOG_HOURLY_AGGREGATE=false), where the table works as on PostgreSQL.

`manage.py prune_execution_logs --older-than 90d` calls `execution_logs_prune`: batched deletes
of log rows older than the cut-off, one transaction per batch (resumable: run it again). It never
deletes rows of hours the rollup has not summarised, so statistics keep every pruned hour. On a
TimescaleDB hypertable the retention policy drops whole chunks instead, and it does nothing.
"""

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connections, router, transaction
from django.utils import timezone

from executions.histogram import bin_sql
from executions.models import (
    ExecutionLog,
    ExecutionLogRollup,
    ExecutionLogRollupState,
    ExecutionSource,
)
from executions.timeseries import hourly_aggregate_exists, timescaledb_hypertable

log = logging.getLogger(__name__)

LOG_TABLE = ExecutionLog._meta.db_table
ROLLUP_TABLE = ExecutionLogRollup._meta.db_table
STATE_NAME = "hourly"
HOUR = timedelta(hours=1)
# Rows commit a little after their timestamp (the log writer's retries, up to
# EVALUATE_LOG_BUDGET_SECONDS): an hour is rolled up SETTLE after it ends, and every run
# re-reads the LOOKBACK before the watermark.
SETTLE = timedelta(minutes=5)
LOOKBACK = timedelta(hours=1)
HOURS_PER_TRANSACTION = 24
# pg_try_advisory_lock key: "rollup" in ASCII, arbitrary but fixed.
ADVISORY_LOCK_KEY = 0x726F6C6C7570
PRUNE_BATCH_SIZE = 10_000

# One hour's rows per tenant, ruleset version and recommendation: sums, and the histogram's
# non-empty bins with their counts. Admin try-it runs stay out.
ROLLUP_INSERT_SQL = f"""
INSERT INTO {ROLLUP_TABLE} (
    hour, tenant_id, ruleset_name, ruleset_version, action_recommendation,
    executions, successes, execution_ms_sum, points_sum, points_count,
    execution_ms_bins, execution_ms_counts
)
SELECT hour, tenant_id, ruleset_name, ruleset_version, action_recommendation,
    sum(n), sum(s), sum(ms), sum(p), sum(pc), array_agg(bin ORDER BY bin), array_agg(n ORDER BY bin)
FROM (
    SELECT date_trunc('hour', "timestamp" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour,
        tenant_id, ruleset_name, ruleset_version, action_recommendation,
        {bin_sql()} AS bin,
        count(*) AS n, count(*) FILTER (WHERE success) AS s,
        sum(execution_time_ms) AS ms, sum(total_points) AS p, count(total_points) AS pc
    FROM {LOG_TABLE}
    WHERE "timestamp" >= %s AND "timestamp" < %s AND source <> '{ExecutionSource.ADMIN}'
    GROUP BY 1, 2, 3, 4, 5, 6
) AS binned
GROUP BY 1, 2, 3, 4, 5
"""


class RollupUnavailable(RuntimeError):
    """The database has no rollup to keep (SQLite), or its aggregate keeps itself."""


@dataclass
class RollupReport:
    start: datetime | None = None
    end: datetime | None = None
    hours: int = 0
    rows: int = 0
    skipped: str = ""
    seconds: float = 0.0


@dataclass
class PruneReport:
    cutoff: datetime | None = None
    deleted: int = 0
    batches: int = 0
    skipped: str = ""
    notes: list[str] = field(default_factory=list)


def _connection():
    return connections[router.db_for_write(ExecutionLog)]


def hour_floor(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(minute=0, second=0, microsecond=0)


def rollup_watermark(*, connection=None) -> datetime | None:
    """Every hour before this is in the rollup table; None: the rollup has never run."""
    connection = connection or _connection()
    state = ExecutionLogRollupState.objects.using(connection.alias).filter(name=STATE_NAME).first()
    return state.rolled_until if state else None


def rollup_in_charge(connection) -> bool:
    """True when statistics read the rollup table (PostgreSQL; TimescaleDB without aggregate)."""
    if connection.vendor != "postgresql":
        return False
    return not (
        timescaledb_hypertable(connection)
        and settings.EXECUTION_LOG_HOURLY_AGGREGATE
        and hourly_aggregate_exists(connection)
    )


def _why_not(connection) -> str:
    if connection.vendor != "postgresql":
        return f"no rollup on {connection.vendor}: statistics read the log"
    if not rollup_in_charge(connection):
        return (
            "TimescaleDB: the continuous aggregate executionlog_hourly is refreshed by its "
            "policy (manage.py timeseries_policies --status)"
        )
    return ""


class _AdvisoryLock:
    """A session-level advisory lock; `acquired` is False when another session holds it."""

    def __init__(self, connection):
        self.connection = connection
        self.acquired = False

    def __enter__(self):
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
            self.acquired = cursor.fetchone()[0]
        return self

    def __exit__(self, *exc):
        if self.acquired:
            with self.connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])


def _first_hour(connection) -> datetime | None:
    with connection.cursor() as cursor:
        # The time index's first entry: no scan.
        cursor.execute(f'SELECT min("timestamp") FROM {LOG_TABLE}')
        (first,) = cursor.fetchone()
    return hour_floor(first) if first else None


def execution_logs_rollup(
    *, since: datetime | None = None, now: datetime | None = None, progress=None
) -> RollupReport:
    """Summarise the finished hours since the watermark (or since `since`, re-rolling them)."""
    connection = _connection()
    report = RollupReport(skipped=_why_not(connection))
    if report.skipped:
        return report
    began = time.monotonic()
    now = now or timezone.now()
    end = hour_floor(now - SETTLE)
    with _AdvisoryLock(connection) as lock:
        if not lock.acquired:
            report.skipped = "another rollup_execution_logs holds the lock; nothing done"
            return report
        watermark = rollup_watermark(connection=connection)
        start = watermark - LOOKBACK if watermark else (_first_hour(connection) or end)
        if since is not None:
            # Re-roll from `since`; never leave a hole between it and the watermark.
            start = min(start, hour_floor(since))
        start = min(start, end)
        report.start, report.end = start, end
        chunk_start = start
        while chunk_start < end:
            chunk_end = min(chunk_start + HOURS_PER_TRANSACTION * HOUR, end)
            report.rows += _rollup_hours(connection, chunk_start, chunk_end)
            report.hours += (chunk_end - chunk_start) // HOUR
            if progress:
                progress(chunk_start, chunk_end, report)
            chunk_start = chunk_end
        if start == end and (watermark is None or watermark < end):
            _watermark_set(connection, end)
    report.seconds = time.monotonic() - began
    return report


def _rollup_hours(connection, start: datetime, end: datetime) -> int:
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {ROLLUP_TABLE} WHERE hour >= %s AND hour < %s", [start, end])
        cursor.execute(ROLLUP_INSERT_SQL, [start, end])
        rows = cursor.rowcount
        watermark = rollup_watermark(connection=connection)
        if watermark is None or watermark < end:
            _watermark_set(connection, end)
    return rows


def _watermark_set(connection, end: datetime) -> None:
    ExecutionLogRollupState.objects.using(connection.alias).update_or_create(
        name=STATE_NAME, defaults={"rolled_until": end, "updated_at": timezone.now()}
    )


def duration_parse(text: str) -> timedelta:
    """`90d`, `36h`, `2w` as a timedelta (days, hours, weeks)."""
    units = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
    text = text.strip()
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit() or int(text[:-1]) < 1:
        raise ValueError(f"{text!r} is not a duration such as 90d, 36h or 2w")
    return int(text[:-1]) * units[text[-1]]


def execution_logs_prune(
    *,
    older_than: timedelta,
    batch_size: int = PRUNE_BATCH_SIZE,
    max_batches: int | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
) -> PruneReport:
    """Delete log rows older than `older_than`, `batch_size` rows per transaction."""
    connection = _connection()
    report = PruneReport()
    if connection.vendor != "postgresql":
        report.skipped = f"not supported on {connection.vendor}"
        return report
    if timescaledb_hypertable(connection):
        days = settings.EXECUTION_LOG_RETENTION_DAYS
        policy = f"older than {days} days" if days > 0 else "never (retention is off)"
        report.skipped = (
            "TimescaleDB: the retention policy drops whole chunks "
            f"(EXECUTION_LOG_RETENTION_DAYS: {policy}); nothing done"
        )
        return report
    report.cutoff = (now or timezone.now()) - older_than
    watermark = rollup_watermark(connection=connection)
    # Keep what the rollup has not summarised (and its look-back): statistics keep every hour.
    safe = watermark - LOOKBACK if watermark else None
    if safe is None or safe < report.cutoff:
        report.notes.append(
            "the rollup has not run yet: nothing is deleted until rollup_execution_logs has "
            "summarised the hours"
            if safe is None
            else f"rows from {safe.isoformat()} on are kept until rollup_execution_logs has "
            "summarised them"
        )
        if safe is None:
            report.cutoff = None
            return report
        report.cutoff = safe
    if dry_run:
        with connection.cursor() as cursor:
            cursor.execute(
                f'SELECT count(*) FROM {LOG_TABLE} WHERE "timestamp" < %s', [report.cutoff]
            )
            report.deleted = cursor.fetchone()[0]
        return report
    while max_batches is None or report.batches < max_batches:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            # Oldest first through the time index; ctid is the row's place in this statement.
            cursor.execute(
                f"DELETE FROM {LOG_TABLE} WHERE ctid = ANY(ARRAY("
                f'SELECT ctid FROM {LOG_TABLE} WHERE "timestamp" < %s '
                'ORDER BY "timestamp" LIMIT %s))',
                [report.cutoff, batch_size],
            )
            deleted = cursor.rowcount
        if deleted == 0:
            break
        report.deleted += deleted
        report.batches += 1
    return report
