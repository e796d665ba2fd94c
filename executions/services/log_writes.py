"""Writes to the execution log: bulk inserts, and commits within an evaluate request's budget."""

import time

import psycopg
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connections, router, transaction

from executions.log_writer import CLAIM_FIELDS, IdempotencyClaim, direct_log_writer, log_writer
from executions.models import ExecutionLog, IdempotencyKey
from executions.services.log_rows import execution_log_values


class LogUnavailable(Exception):
    """The log rows could not be committed within the request's budget (database outage)."""


class LogRefused(Exception):
    """The database refused the log rows themselves (a bug, not an outage)."""


class IdempotencyKeyTaken(Exception):
    """The request's Idempotency-Key is already recorded: none of its rows was written."""


def execution_logs_write(rows: list[ExecutionLog]) -> int:
    """Insert log rows with one bulk insert (COPY on PostgreSQL); returns how many."""
    if not rows:
        return 0
    connection = connections[router.db_for_write(ExecutionLog)]
    if connection.vendor != "postgresql":
        ExecutionLog.objects.bulk_create(rows, batch_size=len(rows))
        return len(rows)
    # COPY is several times faster than Django's bulk INSERT here, whose array parameters
    # escape every JSON document again; a replay of a million lines spends its time in the log.
    fields = ExecutionLog._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    table = connection.ops.quote_name(ExecutionLog._meta.db_table)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(
                [
                    field.get_db_prep_save(getattr(row, field.attname), connection)
                    for field in fields
                ]
            )
    return len(rows)


def execution_logs_commit(
    rows: list[ExecutionLog], *, deadline: float | None, claim: IdempotencyClaim | None = None
) -> int:
    """Make `rows` durable, or raise LogUnavailable; returns how many rows were written.

    With a `deadline` (time.monotonic(): an evaluate request's budget) EXECUTION_LOG_WRITER
    chooses how: group, the rows join the process's group commit (threaded workers); direct,
    this thread writes them on the process's log connection (sync workers); inline, they are
    inserted on the request's own Django connection (SQLite, the test server). Without one (the
    command line's replay, the admin's try-it: nobody waits on a budget) they are inserted on the
    caller's own connection. A `claim` (an Idempotency-Key) commits in the same transaction;
    IdempotencyKeyTaken when its key is already recorded, and then nothing is written.
    """
    if not rows:
        return 0
    mode = settings.EXECUTION_LOG_WRITER if deadline is not None else "inline"
    if mode == "direct":
        try:
            committed = direct_log_writer().commit(
                [execution_log_values(row) for row in rows], deadline, claim
            )
        except psycopg.Error as error:
            raise LogRefused(str(error)) from error
        if committed is None:
            raise IdempotencyKeyTaken
        if not committed:
            raise LogUnavailable("the execution log did not commit within the budget")
        return len(rows)
    if mode != "group":
        try:
            if claim is None:
                return execution_logs_write(rows)
            with transaction.atomic(using=router.db_for_write(ExecutionLog)):
                if not _claim_insert(claim):
                    raise IdempotencyKeyTaken
                return execution_logs_write(rows)
        except DatabaseError as error:
            raise LogUnavailable(str(error)) from error
    ticket = log_writer().submit([execution_log_values(row) for row in rows], claim)
    ticket.done.wait(max(0.0, deadline - time.monotonic()))
    if ticket.abandon():
        raise LogUnavailable("the execution log did not commit within the budget")
    # Done (possibly just after the deadline): committed, or refused by the database.
    if ticket.refused:
        raise LogRefused("the database refused the execution log rows")
    if ticket.duplicate:
        raise IdempotencyKeyTaken
    return len(rows)


def _claim_insert(claim: IdempotencyClaim) -> bool:
    """The inline writer's claim (inside the caller's transaction): False if a live key row
    holds the key; an expired one is replaced."""
    values = dict(zip(CLAIM_FIELDS, claim.values, strict=True))
    IdempotencyKey.objects.filter(
        tenant_id=values["tenant_id"],
        caller=values["caller"],
        key=values["key"],
        created_at__lt=claim.expired_before,
    ).delete()
    try:
        with transaction.atomic():
            IdempotencyKey.objects.create(**values)
    except IntegrityError:
        return False
    return True
