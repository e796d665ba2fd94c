"""Writes to the execution log, and the evaluation of a stream of inputs (the CLI's replay)."""

import random
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import orjson
from django.conf import settings
from django.db import connections, router
from django.utils import timezone

from executions.models import ExecutionLog

LOG_BATCH_SIZE = 1000


def execution_id_new() -> uuid.UUID:
    """A time-ordered UUID (version 7 layout: 48-bit milliseconds, then random bits).

    New rows land at the right edge of the (execution_id, timestamp) index instead of at random
    places in it, and `random` (reseeded in every forked worker) is much cheaper than uuid4's
    os.urandom on the evaluate path. Ids need to be unique, not secret.
    """
    milliseconds = time.time_ns() // 1_000_000
    value = (milliseconds & 0xFFFF_FFFF_FFFF) << 80 | random.getrandbits(80)
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return uuid.UUID(int=value)


def execution_log_row(
    *,
    tenant_id: int,
    ruleset: dict,
    data: dict,
    evaluation,
    elapsed_ms: float,
    source: str,
    caller: str = "",
) -> ExecutionLog:
    """An unsaved log row for one evaluation; `ruleset` is the identity from the ruleset source."""
    output = {
        "total_points": evaluation.total_points,
        "pattern_result": evaluation.pattern_result,
        "action_recommendation": evaluation.action_recommendation,
        "matched_rules": list(evaluation.matched_rules),
    }
    return ExecutionLog(
        execution_id=execution_id_new(),
        timestamp=timezone.now(),
        tenant_id=tenant_id,
        ruleset_id=ruleset.get("ruleset_id"),
        ruleset_name=ruleset.get("name", ""),
        ruleset_version=ruleset.get("version", ""),
        input_data=data,
        output_data=output,
        total_points=evaluation.total_points,
        pattern_result=evaluation.pattern_result,
        action_recommendation=evaluation.action_recommendation,
        execution_time_ms=elapsed_ms,
        source=source,
        caller=caller,
    )


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


@dataclass
class StreamReport:
    evaluated: int = 0
    errors: int = 0
    logged: int = 0
    seconds: float = 0.0


def evaluations_stream(
    *,
    compiled,
    ruleset: dict,
    tenant_id: int,
    lines: Iterable[bytes],
    write: Callable[[str], None],
    trace: bool = False,
    log_source: str | None = None,
    caller: str = "",
    batch_size: int = LOG_BATCH_SIZE,
) -> StreamReport:
    """Evaluate one JSON object per line and write one JSON result per line.

    A bad line yields `{"line": n, "error": ...}` and the stream goes on. With `log_source`,
    good lines are logged in bulk inserts of `batch_size` rows; without it nothing is written
    to the database.
    """
    report = StreamReport()
    started = time.perf_counter()
    output: list[bytes] = []
    rows: list[ExecutionLog] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = orjson.loads(line)
            if not isinstance(data, dict):
                raise ValueError(f"expected a JSON object, not {type(data).__name__}")
            evaluation_started = time.perf_counter()
            evaluation = compiled.evaluate(data, trace=trace)
            elapsed_ms = (time.perf_counter() - evaluation_started) * 1000
        except Exception as error:  # noqa: BLE001 - one bad input must not stop a replay
            report.errors += 1
            output.append(orjson.dumps({"line": number, "error": str(error)}))
            continue
        result = {
            "total_points": evaluation.total_points,
            "pattern_result": evaluation.pattern_result,
            "action_recommendation": evaluation.action_recommendation,
        }
        if trace:
            result["trace"] = evaluation.trace
        output.append(orjson.dumps(result))
        report.evaluated += 1
        if log_source:
            rows.append(
                execution_log_row(
                    tenant_id=tenant_id,
                    ruleset=ruleset,
                    data=data,
                    evaluation=evaluation,
                    elapsed_ms=elapsed_ms,
                    source=log_source,
                    caller=caller,
                )
            )
            if len(rows) >= batch_size:
                report.logged += execution_logs_write(rows)
                rows = []
        if len(output) >= batch_size:
            write(b"\n".join(output).decode() + "\n")
            output = []
    if output:
        write(b"\n".join(output).decode() + "\n")
    report.logged += execution_logs_write(rows)
    report.seconds = time.perf_counter() - started
    return report


# --- The evaluate path of the API ------------------------------------------------------------

# Longest string accepted anywhere in evaluate input; longer ones are refused, not truncated.
MAX_INPUT_STRING_LENGTH = 10_000


class InputRefused(ValueError):
    """Evaluate input the service will not take; `str()` names the problem and where it is."""


class LogUnavailable(Exception):
    """The log rows could not be committed within the request's budget (database outage)."""


class LogRefused(Exception):
    """The database refused the log rows themselves (a bug, not an outage)."""


def evaluation_input_check(data, where: str = "data") -> None:
    """Refuse input PostgreSQL cannot store (NUL characters) or that is abusively long.

    The API's parser already refuses NUL for every endpoint; the admin's try-it relies on this.
    """
    stack = [(data, where)]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if len(value) > MAX_INPUT_STRING_LENGTH:
                raise InputRefused(
                    f"{path}: string of {len(value)} characters; the limit is "
                    f"{MAX_INPUT_STRING_LENGTH}"
                )
            if "\x00" in value:
                raise InputRefused(f"{path}: strings may not contain NUL characters")
        elif isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key or len(key) > MAX_INPUT_STRING_LENGTH:
                    raise InputRefused(f"{path}: a key is too long or contains NUL characters")
                stack.append((item, f"{path}.{key}"))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{index}]") for index, item in enumerate(value))


@dataclass
class EvaluationOutcome:
    """One input's evaluation, or why it was refused, and the log row either way."""

    row: ExecutionLog
    evaluation: object = None
    elapsed_ms: float = 0.0
    problem: str | None = None


def evaluation_run(
    *,
    compiled,
    identity: dict,
    tenant_id: int,
    data,
    source: str,
    caller: str,
    trace: bool,
    where: str = "data",
) -> EvaluationOutcome:
    """Check and evaluate one input, building its (unsaved) log row: the API's evaluate step.

    A refused input gets a failure row without the input itself: it may be what the database
    cannot store.
    """
    problem = None
    if not isinstance(data, dict):
        problem = f"{where}: must be a JSON object"
    else:
        try:
            evaluation_input_check(data, where=where)
        except InputRefused as error:
            problem = str(error)
    if problem is not None:
        row = execution_log_failure_row(
            tenant_id=tenant_id,
            ruleset=identity,
            data={},
            error=problem,
            source=source,
            caller=caller,
        )
        return EvaluationOutcome(row=row, problem=problem)
    started = time.perf_counter()
    evaluation = compiled.evaluate(data, trace=trace)
    elapsed_ms = (time.perf_counter() - started) * 1000
    row = execution_log_row(
        tenant_id=tenant_id,
        ruleset=identity,
        data=data,
        evaluation=evaluation,
        elapsed_ms=elapsed_ms,
        source=source,
        caller=caller,
    )
    return EvaluationOutcome(row=row, evaluation=evaluation, elapsed_ms=elapsed_ms)


def execution_log_failure_row(
    *, tenant_id: int, ruleset: dict, data, error: str, source: str, caller: str
) -> ExecutionLog:
    """An unsaved log row for an evaluation that failed (its input was refused)."""
    return ExecutionLog(
        execution_id=execution_id_new(),
        timestamp=timezone.now(),
        tenant_id=tenant_id,
        ruleset_id=ruleset.get("ruleset_id"),
        ruleset_name=ruleset.get("name", ""),
        ruleset_version=ruleset.get("version", ""),
        input_data=data,
        output_data={},
        success=False,
        error_message=error,
        source=source,
        caller=caller,
    )


_JSON_COLUMNS = {"input_data", "output_data"}


def execution_log_values(row: ExecutionLog) -> tuple:
    """The row as COPY values in table column order (JSON already serialised)."""
    values = []
    for field in ExecutionLog._meta.concrete_fields:
        value = getattr(row, field.attname)
        if field.attname in _JSON_COLUMNS:
            value = orjson.dumps(value).decode()
        values.append(value)
    return tuple(values)


def execution_logs_commit(rows: list[ExecutionLog], *, deadline: float) -> None:
    """Make `rows` durable before `deadline` (time.monotonic()), or raise LogUnavailable.

    EXECUTION_LOG_WRITER=group: the rows join the process's group commit (threaded workers);
    direct: this thread writes them on the process's log connection (sync workers); inline:
    they are inserted on the request's own Django connection (SQLite, the test server).
    """
    import psycopg
    from django.db import DatabaseError

    from executions.log_writer import direct_log_writer, log_writer

    if not rows:
        return
    mode = settings.EXECUTION_LOG_WRITER
    if mode == "direct":
        try:
            committed = direct_log_writer().commit(
                [execution_log_values(row) for row in rows], deadline
            )
        except psycopg.Error as error:
            raise LogRefused(str(error)) from error
        if not committed:
            raise LogUnavailable("the execution log did not commit within the budget")
        return
    if mode != "group":
        try:
            execution_logs_write(rows)
        except DatabaseError as error:
            raise LogUnavailable(str(error)) from error
        return
    ticket = log_writer().submit([execution_log_values(row) for row in rows])
    ticket.done.wait(max(0.0, deadline - time.monotonic()))
    if ticket.abandon():
        raise LogUnavailable("the execution log did not commit within the budget")
    # Done (possibly just after the deadline): committed, or refused by the database.
    if ticket.refused:
        raise LogRefused("the database refused the execution log rows")
