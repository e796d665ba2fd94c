"""Writes to the execution log, and the evaluation of a stream of inputs (the CLI's replay)."""

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import orjson
from django.db import connections, router
from django.utils import timezone

from executions.models import ExecutionLog

LOG_BATCH_SIZE = 1000


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
        execution_id=uuid.uuid4(),
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
