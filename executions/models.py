"""The execution log: one row per evaluation, a TimescaleDB hypertable where available.

On TimescaleDB the migration turns the table into a hypertable partitioned by `timestamp` with
1-day chunks (django-timescaledb). TimescaleDB requires every unique key to include the partition
column, and django-timescaledb drops the primary key, so uniqueness is (execution_id, timestamp);
on PostgreSQL and SQLite the same migration makes a plain table.
"""

import uuid

from django.db import models
from django.utils import timezone
from timescale.db.models.fields import TimescaleDateTimeField

from rules.models import Tenant, TenantQuerySet


class ExecutionSource(models.TextChoices):
    API = "api", "API"
    BATCH = "batch", "Batch API"
    CLI = "cli", "Command line"
    ADMIN = "admin", "Admin try-it"


class ExecutionLog(models.Model):
    execution_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    timestamp = TimescaleDateTimeField(interval="1 day", default=timezone.now)
    # No database constraint: the log is append-only history and must not block tenant changes.
    # No index of its own either: executionlog_tenant_time starts with the tenant.
    tenant = models.ForeignKey(
        Tenant, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    # The ruleset is stored by value, so logs survive the ruleset's deletion.
    ruleset_id = models.BigIntegerField(null=True, blank=True)
    ruleset_name = models.CharField(max_length=100, blank=True)
    ruleset_version = models.CharField(max_length=20, blank=True)
    input_data = models.JSONField(default=dict)
    output_data = models.JSONField(default=dict, blank=True)
    total_points = models.FloatField(null=True, blank=True)
    # One character per rule: a ruleset of thousands of rules makes a pattern that long.
    pattern_result = models.TextField(blank=True)
    action_recommendation = models.CharField(max_length=200, null=True, blank=True)
    execution_time_ms = models.FloatField(default=0)
    success = models.BooleanField(default=True)
    error_message = models.TextField(blank=True)
    source = models.CharField(max_length=10, choices=ExecutionSource.choices)
    caller = models.CharField(max_length=200, blank=True)
    # The request's X-Request-ID (given or generated) and the caller's correlation id: a way back
    # from a client's own logs to this row. A database default, so adding them to a compressed
    # hypertable needs no rewrite of old chunks.
    request_id = models.CharField(max_length=128, blank=True, default="", db_default="")
    correlation_id = models.CharField(max_length=200, blank=True, default="", db_default="")

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-timestamp"]
        get_latest_by = "timestamp"
        constraints = [
            models.UniqueConstraint(
                fields=["execution_id", "timestamp"], name="executionlog_id_time_unique"
            )
        ]
        indexes = [
            # Newest first over every tenant: the superuser's admin list, the rollup's reads of
            # whole hours and the prune command. On TimescaleDB it is the hypertable's default
            # time index, renamed by migration 0005.
            models.Index(fields=["-timestamp"], name="executionlog_time"),
            models.Index(fields=["tenant", "-timestamp"], name="executionlog_tenant_time"),
            models.Index(fields=["ruleset_id", "-timestamp"], name="executionlog_ruleset_time"),
            # Most rows carry no correlation id: index only those that do.
            models.Index(
                fields=["correlation_id", "-timestamp"],
                name="executionlog_correlation_time",
                condition=~models.Q(correlation_id=""),
            ),
        ]

    def __str__(self):
        return f"{self.execution_id} {self.ruleset_name} {self.ruleset_version}"


class IdempotencyKey(models.Model):
    """The first answer to an evaluate or batch request sent with an `Idempotency-Key` header.

    Written in the same transaction as the request's log rows (executions.log_writer), so a key
    exists exactly when its evaluation is logged: a retry finds it and gets the stored answer
    instead of a second evaluation, on any node, also after a 503 whose rows committed late.
    Keys are per tenant and caller, and expire after IDEMPOTENCY_KEY_TTL_HOURS (an expired key
    may be used again; `manage.py purge_idempotency_keys` deletes them).
    """

    tenant = models.ForeignKey(
        Tenant, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    caller = models.CharField(max_length=200)
    key = models.CharField(max_length=255)
    # SHA-256 of the method, path and canonical JSON body: a different body under a used key is
    # refused rather than answered with another request's result.
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    # The JSON answer as sent, replayed byte for byte.
    response_body = models.TextField()
    execution_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "caller", "key"], name="idempotencykey_tenant_caller_key"
            )
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotencykey_created")]

    def __str__(self):
        return f"{self.caller} {self.key}"


class IntegerArrayField(models.Field):
    """An `integer[]` on PostgreSQL (text elsewhere, where nothing writes it); read and written
    with SQL by executions.rollups and executions.stats, never through the ORM."""

    def db_type(self, connection):
        return "integer[]" if connection.vendor == "postgresql" else "text"


class ExecutionLogRollup(models.Model):
    """One hour of the log per tenant, ruleset version and recommendation (PostgreSQL).

    Kept by `manage.py rollup_execution_logs` (executions.rollups); hours from the watermark in
    ExecutionLogRollupState on are read from the log itself. The same columns as the TimescaleDB
    continuous aggregate `executionlog_hourly`, which replaces this table there. Admin try-it
    runs are left out. `execution_ms_bins` and `execution_ms_counts` are executions.histogram's
    fixed log-scale histogram without its empty bins (the aggregate stores all BINS counts), from
    which p50/p95/p99 are read.
    """

    hour = models.DateTimeField()
    tenant = models.ForeignKey(
        Tenant, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    ruleset_name = models.CharField(max_length=100, blank=True)
    ruleset_version = models.CharField(max_length=20, blank=True)
    action_recommendation = models.CharField(max_length=200, null=True, blank=True)
    executions = models.BigIntegerField()
    successes = models.BigIntegerField()
    execution_ms_sum = models.FloatField()
    points_sum = models.FloatField(null=True)
    points_count = models.BigIntegerField()
    # The histogram's bins that are not empty, ascending, and their counts: a few dozen of the
    # 218, which keeps a 90-day read of the rollup to a few hundred thousand numbers.
    execution_ms_bins = IntegerArrayField()
    execution_ms_counts = IntegerArrayField()

    class Meta:
        indexes = [models.Index(fields=["tenant", "hour"], name="executionlogrollup_tenant")]

    def __str__(self):
        return f"{self.hour} {self.ruleset_name} {self.ruleset_version}"


class ExecutionLogRollupState(models.Model):
    """How far the rollup has gone: every hour before `rolled_until` is in ExecutionLogRollup."""

    name = models.CharField(max_length=50, primary_key=True)
    rolled_until = models.DateTimeField()
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.name} until {self.rolled_until}"
