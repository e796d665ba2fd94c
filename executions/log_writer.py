"""Group commit for execution logs: one writer thread per process, one COPY per batch.

A request hands its log row to the writer and waits for the commit of the batch that carried it;
only then does it answer 2xx, so a 2xx always means the row is durable. While the writer commits
one batch, the rows of concurrent requests pile up and go together in the next, so the cost of a
commit (a round trip and a WAL flush) is shared by every request in the batch instead of paid by
each.

Database outages: a failed batch is retried on a fresh connection every RETRY_SECONDS. A request
waits at most its budget (EVALUATE_LOG_BUDGET_SECONDS, minus what it already spent) and then
abandons its row and answers 503; abandoned rows are dropped before the next attempt. A row in a
COPY that was already on its way may still commit after its request gave up: a 503 does not
promise the row is absent, a 2xx promises it is present.

A batch whose commit failed in an unknown state (the connection broke during COMMIT) is retried
with INSERT ... ON CONFLICT DO NOTHING on (execution_id, timestamp), so it is never written twice.

A request sent with an Idempotency-Key brings an IdempotencyClaim: its key row is inserted in the
transaction of its log rows, so the two commit together or not at all. A key that is already taken
(a retry, or a racing duplicate on another node) writes none of that request's rows and marks its
ticket `duplicate`; the request then answers with the stored first answer.
"""

import atexit
import contextlib
import functools
import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime

import psycopg
from django.db import connections, router

from executions.models import ExecutionLog, IdempotencyKey
from ruleengine.database import psycopg_connect_kwargs

log = logging.getLogger(__name__)

MAX_BATCH_ROWS = 2000
# Fail fast on an unreachable server, and give up on a connection whose server vanished without
# closing it (a failover) in seconds instead of the kernel's ~15 minutes.
CONNECT_OPTIONS = {"connect_timeout": 2, "tcp_user_timeout": 10_000}
RETRY_SECONDS = 0.1
COLUMNS = [field.column for field in ExecutionLog._meta.concrete_fields]
# An IdempotencyClaim's values, in order (model attribute names, then their columns).
CLAIM_FIELDS = (
    "tenant_id",
    "caller",
    "key",
    "request_hash",
    "response_status",
    "response_body",
    "execution_id",
    "created_at",
)
CLAIM_COLUMNS = [IdempotencyKey._meta.get_field(name).column for name in CLAIM_FIELDS]


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    """An Idempotency-Key row to insert with a request's log rows, in their transaction.

    `values` are in CLAIM_COLUMNS order; a key row created before `expired_before` is expired
    and is taken over instead of counting as a duplicate.
    """

    values: tuple
    expired_before: datetime


@dataclass(frozen=True, slots=True)
class LogTables:
    """The quoted names of the execution log and the idempotency keys."""

    logs: str
    claims: str

    @classmethod
    def for_connection(cls, connection) -> "LogTables":
        quote = connection.ops.quote_name
        return cls(quote(ExecutionLog._meta.db_table), quote(IdempotencyKey._meta.db_table))


class LogTicket:
    """The rows of one request on their way; `done` is set once their batch committed."""

    __slots__ = ("rows", "claim", "done", "abandoned", "refused", "duplicate", "_lock")

    def __init__(self, rows: list[tuple], claim: IdempotencyClaim | None = None):
        self.rows = rows
        self.claim = claim
        self.done = threading.Event()
        self.abandoned = False
        # The database refused these rows (not an outage): `done` is set, nothing was written.
        self.refused = False
        # The claim's key was already taken: `done` is set, none of these rows was written.
        self.duplicate = False
        self._lock = threading.Lock()

    def abandon(self) -> bool:
        """Give up on the row unless it is already committed; True if it was given up."""
        with self._lock:
            if self.done.is_set():
                return False
            self.abandoned = True
            return True


def _claim_insert(cursor, table: str, claim: IdempotencyClaim) -> bool:
    """Insert the claim's key row; False if a live row holds the key (an expired one is taken
    over). Waits for a concurrent transaction that inserted the same key to end."""
    columns = ", ".join(CLAIM_COLUMNS)
    placeholders = ", ".join(["%s"] * len(CLAIM_COLUMNS))
    updates = ", ".join(f"{column} = EXCLUDED.{column}" for column in CLAIM_COLUMNS[3:])
    cursor.execute(
        f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) "
        f"ON CONFLICT ({', '.join(CLAIM_COLUMNS[:3])}) DO UPDATE SET {updates} "
        f"WHERE {table}.created_at < %s RETURNING 1",
        [*claim.values, claim.expired_before],
    )
    return cursor.fetchone() is not None


def rows_write(
    connection,
    tables: LogTables,
    groups: list[tuple[list[tuple], IdempotencyClaim | None]],
    *,
    idempotent: bool,
) -> list[bool]:
    """Insert the (rows, claim) groups in one transaction: COPY, or INSERT ... ON CONFLICT DO
    NOTHING when a previous attempt may have committed them already. A group whose claim's key
    is taken is left out; returns, per group, whether it was written.

    The connection is in autocommit mode. A single row without a claim (most evaluate requests)
    is one INSERT, committed by the server as it runs: one round trip, against four for BEGIN,
    COPY, its end and COMMIT, and psycopg prepares the statement after a few uses."""
    if len(groups) == 1 and groups[0][1] is None and len(groups[0][0]) == 1:
        connection.execute(_insert_statement(tables.logs, idempotent=idempotent), groups[0][0][0])
        return [True]
    with connection.transaction(), connection.cursor() as cursor:
        written = [
            claim is None or _claim_insert(cursor, tables.claims, claim) for _, claim in groups
        ]
        rows = [
            row for (group, _), kept in zip(groups, written, strict=True) if kept for row in group
        ]
        if idempotent:
            if rows:
                cursor.executemany(_insert_statement(tables.logs, idempotent=True), rows)
        elif rows:
            with cursor.copy(f"COPY {tables.logs} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
    return written


@functools.cache
def _insert_statement(table: str, *, idempotent: bool) -> str:
    placeholders = ", ".join(["%s"] * len(COLUMNS))
    statement = f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({placeholders})"
    if idempotent:
        statement += " ON CONFLICT (execution_id, timestamp) DO NOTHING"
    return statement


class DirectLogWriter:
    """The request's own thread commits its rows on the process's log connection.

    For single-threaded (sync) workers: one request at a time per process, so there is nothing
    to group, and handing the rows to a thread only adds two context switches. Outages are
    handled as by the group writer: retry on a fresh connection until the request's deadline.
    """

    def __init__(self, connect_kwargs: dict, tables: LogTables):
        self.connect_kwargs = connect_kwargs
        self.tables = tables
        self.connection: psycopg.Connection | None = None
        self.lock = threading.Lock()
        self.failures = 0

    def commit(
        self, rows: list[tuple], deadline: float, claim: IdempotencyClaim | None = None
    ) -> bool | None:
        """True once committed; False if the deadline passed first; None if the claim's key was
        taken (nothing written). Raises psycopg.Error when the database refuses the rows."""
        ambiguous = False
        with self.lock:
            while True:
                try:
                    if self.connection is None or self.connection.closed:
                        self.connection = psycopg.connect(
                            **self.connect_kwargs, autocommit=True, **CONNECT_OPTIONS
                        )
                    [written] = rows_write(
                        self.connection, self.tables, [(rows, claim)], idempotent=ambiguous
                    )
                    if self.failures:
                        log.info("execution log writes recovered after %d failures", self.failures)
                        self.failures = 0
                    return True if written else None
                except psycopg.OperationalError as error:
                    ambiguous = True  # the COMMIT may have reached the server
                    self.failures += 1
                    if self.failures == 1 or self.failures % 50 == 0:
                        log.warning("execution log write failed, retrying: %s", error)
                    with contextlib.suppress(Exception):
                        self.connection.close()
                    self.connection = None
                    if time.monotonic() + RETRY_SECONDS >= deadline:
                        return False
                    time.sleep(RETRY_SECONDS)


class GroupCommitLogWriter(threading.Thread):
    def __init__(self, connect_kwargs: dict, tables: LogTables):
        super().__init__(name="execution-log-writer", daemon=True)
        self.connect_kwargs = connect_kwargs
        self.tables = tables
        self.pending: deque[LogTicket] = deque()
        self.wakeup = threading.Condition()
        self.stopping = False
        self.connection: psycopg.Connection | None = None
        self.batches = 0
        self.rows = 0
        self.failures = 0

    def submit(self, rows: list[tuple], claim: IdempotencyClaim | None = None) -> LogTicket:
        ticket = LogTicket(rows, claim)
        with self.wakeup:
            self.pending.append(ticket)
            self.wakeup.notify()
        return ticket

    def run(self):
        while True:
            with self.wakeup:
                while not self.pending and not self.stopping:
                    self.wakeup.wait()
                if not self.pending and self.stopping:
                    break
                batch, rows = [], 0
                while self.pending and rows < MAX_BATCH_ROWS:
                    batch.append(self.pending.popleft())
                    rows += len(batch[-1].rows)
            self._commit(batch)
        self._close()

    def _commit(self, batch: list[LogTicket]) -> None:
        ambiguous = False
        while True:
            batch = [ticket for ticket in batch if not ticket.abandoned]
            if not batch:
                return
            try:
                if self.connection is None or self.connection.closed:
                    self.connection = psycopg.connect(
                        **self.connect_kwargs, autocommit=True, **CONNECT_OPTIONS
                    )
                written = self._write(batch, idempotent=ambiguous)
            except psycopg.OperationalError as error:
                # The connection broke: the outcome of a COMMIT in flight is unknown.
                self.failures += 1
                ambiguous = True
                if self.failures == 1 or self.failures % 50 == 0:
                    log.warning("execution log write failed, retrying: %s", error)
                self._close()
                time.sleep(RETRY_SECONDS)
                continue
            except psycopg.Error:
                # Not an outage: a row the database refuses. Write rows one by one so that
                # only the bad row's request fails.
                log.exception("execution log batch refused; writing its rows one by one")
                try:
                    self._write_one_by_one(batch)
                except psycopg.OperationalError:
                    # The connection broke meanwhile: what is not done yet goes round again.
                    ambiguous = True
                    self._close()
                    batch = [ticket for ticket in batch if not ticket.done.is_set()]
                    time.sleep(RETRY_SECONDS)
                    continue
                return
            for ticket, kept in zip(batch, written, strict=True):
                with ticket._lock:
                    ticket.duplicate = not kept
                    ticket.done.set()
            self.batches += 1
            self.rows += sum(len(ticket.rows) for ticket in batch)
            if self.failures:
                log.info("execution log writes recovered after %d failed attempts", self.failures)
                self.failures = 0
            return

    def _write(self, batch: list[LogTicket], *, idempotent: bool) -> list[bool]:
        return rows_write(
            self.connection,
            self.tables,
            [(ticket.rows, ticket.claim) for ticket in batch],
            idempotent=idempotent,
        )

    def _write_one_by_one(self, batch: list[LogTicket]) -> None:
        for ticket in batch:
            try:
                [kept] = self._write([ticket], idempotent=True)
            except psycopg.OperationalError:
                raise  # an outage, not a refusal: the caller retries
            except psycopg.Error as error:
                log.error("execution log rows %s refused: %s", ticket.rows[0][0], error)
                with ticket._lock:
                    ticket.refused = True
                    ticket.done.set()
                continue
            with ticket._lock:
                ticket.duplicate = not kept
                ticket.done.set()

    def _close(self):
        connection, self.connection = self.connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()

    def stop(self, timeout: float) -> bool:
        """Write what is pending, then stop; False if rows were still pending after `timeout`."""
        with self.wakeup:
            self.stopping = True
            self.wakeup.notify()
        self.join(timeout)
        return not self.is_alive()


_writer: GroupCommitLogWriter | None = None
_writer_pid: int | None = None
_writer_lock = threading.Lock()


def log_writer() -> GroupCommitLogWriter:
    """This process's writer, started on first use (after a fork, each worker starts its own)."""
    global _writer, _writer_pid
    writer = _writer
    if writer is not None and _writer_pid == os.getpid() and writer.is_alive():
        return writer
    with _writer_lock:
        if _writer is None or _writer_pid != os.getpid() or not _writer.is_alive():
            alias = router.db_for_write(ExecutionLog)
            connection = connections[alias]
            _writer = GroupCommitLogWriter(
                psycopg_connect_kwargs(connection.settings_dict),
                LogTables.for_connection(connection),
            )
            _writer.start()
            _writer_pid = os.getpid()
        return _writer


_direct: DirectLogWriter | None = None
_direct_pid: int | None = None


def direct_log_writer() -> DirectLogWriter:
    """This process's direct writer (EXECUTION_LOG_WRITER=direct)."""
    global _direct, _direct_pid
    if _direct is None or _direct_pid != os.getpid():
        alias = router.db_for_write(ExecutionLog)
        connection = connections[alias]
        _direct = DirectLogWriter(
            psycopg_connect_kwargs(connection.settings_dict), LogTables.for_connection(connection)
        )
        _direct_pid = os.getpid()
    return _direct


def log_writer_stop(timeout: float = 10.0) -> bool:
    """Flush and stop this process's writer (graceful shutdown; tests)."""
    global _writer
    writer, _writer = _writer, None
    if writer is None or _writer_pid != os.getpid():
        return True
    flushed = writer.stop(timeout)
    if not flushed:
        log.error("execution log writer stopped with %d rows unwritten", len(writer.pending))
    return flushed


atexit.register(log_writer_stop)
