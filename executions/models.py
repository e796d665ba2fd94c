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
    tenant = models.ForeignKey(
        Tenant, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
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
