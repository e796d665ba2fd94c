"""The evaluation step: check an input, evaluate it, build its log row.

The API (single and batch), the admin's try-it, `manage.py evaluate` and backtests all evaluate
through `evaluation_run`; the rows it builds are written by `log_writes.execution_logs_commit`.
Every evaluation runs under the engine-time budget EVALUATION_BUDGET_MS (per input: a batch item,
a replayed line, a backtest input); one that runs out is a failure with its own error code.
"""

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import orjson
from django.conf import settings

from executions.models import ExecutionLog
from executions.services.decision_evaluation import (
    compiled_evaluate,
    decision_log_row,
    decision_result,
    is_decision_evaluation,
)
from executions.services.input_check import InputRefused, evaluation_input_check
from executions.services.log_rows import execution_log_row
from executions.services.log_writes import execution_logs_commit
from rules.choices import InputValidation
from rules.engine import EvaluationBudgetExceeded
from rules.services.attributes import ruleset_input_validator

LOG_BATCH_SIZE = 1000

# Error codes of a failed outcome: the input was refused before evaluating, or the evaluation ran
# out of its budget (the API answers 400 and 422).
INPUT_INVALID = "invalid"
BUDGET_EXCEEDED = "evaluation_budget_exceeded"


@dataclass(slots=True)
class EvaluationOutcome:
    """One input's evaluation, or why it failed, and its log row (None when not logged).

    A failure has a `problem` (the message, starting with where the input is), its `code`
    (INPUT_INVALID or BUDGET_EXCEEDED) and for a budget failure `details` (budget and use in ms,
    rules run, the rule it stopped before); for an input the attributes catalog refuses
    (input_validation strict) `details` names every bad field. `input_problems` lists the
    attributes that do not fit the catalog ([{"field", "problem"}]), under warn and strict.
    """

    row: ExecutionLog | None
    evaluation: object = None
    elapsed_ms: float = 0.0
    problem: str | None = None
    code: str | None = None
    details: dict | None = None
    input_problems: list | None = None


def evaluation_run(
    *,
    compiled,
    identity: dict,
    tenant_id: int,
    data,
    source: str | None,
    caller: str = "",
    trace: bool = False,
    where: str = "data",
    budget_ms: float | None = None,
    request_id: str = "",
    correlation_id: str = "",
) -> EvaluationOutcome:
    """Check and evaluate one input and build its unsaved log row: the one evaluation step.

    `identity` is the ruleset's, from the ruleset source; `source` the row's (ExecutionSource),
    None to build no row (dry runs, backtests, replays without logging); `where` names the input
    in a refusal; `budget_ms` the engine-time budget (default EVALUATION_BUDGET_MS). A refused
    input is not evaluated; its row records the failure, as does an evaluation stopped by the
    budget (with its input and time). `request_id` and `correlation_id` go on the row.
    """
    ids = {"request_id": request_id, "correlation_id": correlation_id}
    try:
        evaluation_input_check(data, where=where)
    except InputRefused as error:
        problem = str(error)
        row = None
        if source is not None:
            row = execution_log_row(
                tenant_id=tenant_id,
                ruleset=identity,
                error=problem,
                source=source,
                caller=caller,
                **ids,
            )
        return EvaluationOutcome(row=row, problem=problem, code=INPUT_INVALID)
    mode, validator = ruleset_input_validator(
        tenant_id=tenant_id, ruleset_id=identity.get("ruleset_id")
    )
    input_problems = validator.problems(data) if validator is not None else None
    if input_problems and mode == InputValidation.STRICT:
        return _catalog_refusal(
            input_problems,
            tenant_id=tenant_id,
            identity=identity,
            data=data,
            source=source,
            caller=caller,
            where=where,
            ids=ids,
        )
    if budget_ms is None:
        budget_ms = settings.EVALUATION_BUDGET_MS
    started = time.perf_counter()
    try:
        evaluation = compiled_evaluate(compiled, data, trace=trace, budget_seconds=budget_ms / 1000)
    except EvaluationBudgetExceeded as error:
        elapsed_ms = (time.perf_counter() - started) * 1000
        return _budget_failure(
            error,
            elapsed_ms=elapsed_ms,
            tenant_id=tenant_id,
            identity=identity,
            data=data,
            source=source,
            caller=caller,
            where=where,
            ids=ids,
        )
    elapsed_ms = (time.perf_counter() - started) * 1000
    row = None
    if source is not None:
        row_build = decision_log_row if is_decision_evaluation(evaluation) else execution_log_row
        row = row_build(
            tenant_id=tenant_id,
            ruleset=identity,
            data=data,
            evaluation=evaluation,
            elapsed_ms=elapsed_ms,
            source=source,
            caller=caller,
            **ids,
        )
        if input_problems:
            row.output_data["input_problems"] = input_problems
    return EvaluationOutcome(
        row=row,
        evaluation=evaluation,
        elapsed_ms=elapsed_ms,
        input_problems=input_problems or None,
    )


def _checked_input_failure_row(problem, *, tenant_id, identity, data, source, caller, ids):
    """The failure row of an input that passed the input check (so it can be stored: kept, to
    see what was sent and reproduce it); None when nothing is logged."""
    if source is None:
        return None
    row = execution_log_row(
        tenant_id=tenant_id, ruleset=identity, error=problem, source=source, caller=caller, **ids
    )
    row.input_data = data
    return row


def _catalog_refusal(
    input_problems, *, tenant_id, identity, data, source, caller, where, ids
) -> EvaluationOutcome:
    """An input refused by the ruleset's strict input validation, with every bad field."""
    listed = "; ".join(f"{p['field']}: {p['problem']}" for p in input_problems)
    problem = f"{where}: does not fit the attributes catalog ({listed})"
    row = _checked_input_failure_row(
        problem, tenant_id=tenant_id, identity=identity, data=data, source=source,
        caller=caller, ids=ids,
    )  # fmt: skip
    if row is not None:
        row.output_data = {"input_problems": input_problems}
    details = {f"{where}.{p['field']}": [p["problem"]] for p in input_problems}
    return EvaluationOutcome(
        row=row,
        problem=problem,
        code=INPUT_INVALID,
        details=details,
        input_problems=input_problems,
    )


def _budget_failure(
    error: EvaluationBudgetExceeded,
    *,
    elapsed_ms,
    tenant_id,
    identity,
    data,
    source,
    caller,
    where,
    ids,
) -> EvaluationOutcome:
    problem = f"{where}: {error} (EVALUATION_BUDGET_MS)"
    row = _checked_input_failure_row(
        problem, tenant_id=tenant_id, identity=identity, data=data, source=source,
        caller=caller, ids=ids,
    )  # fmt: skip
    if row is not None:
        row.execution_time_ms = elapsed_ms
    details = {
        "budget_ms": error.budget_ms,
        "used_ms": round(error.used_ms, 3),
        "rules_run": error.rules_run,
        "rule_count": error.rule_count,
        "next_rule_id": error.next_rule_id,
    }
    return EvaluationOutcome(
        row=row, elapsed_ms=elapsed_ms, problem=problem, code=BUDGET_EXCEEDED, details=details
    )


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
    evaluations (refused inputs as failures) are logged in bulk inserts of `batch_size` rows;
    without it nothing is written to the database.
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
            outcome = evaluation_run(
                compiled=compiled,
                identity=ruleset,
                tenant_id=tenant_id,
                data=data,
                source=log_source,
                caller=caller,
                trace=trace,
            )
        except Exception as error:  # noqa: BLE001 - one bad input must not stop a replay
            report.errors += 1
            output.append(orjson.dumps({"line": number, "error": str(error)}))
            continue
        if outcome.row is not None:
            rows.append(outcome.row)
        if outcome.problem is not None:
            report.errors += 1
            output.append(orjson.dumps({"line": number, "error": outcome.problem}))
        else:
            evaluation = outcome.evaluation
            if is_decision_evaluation(evaluation):
                result = decision_result(evaluation, with_trace=trace)
            else:
                result = {
                    "total_points": evaluation.total_points,
                    "pattern_result": evaluation.pattern_result,
                    "action_recommendation": evaluation.action_recommendation,
                }
                if trace:
                    result["trace"] = evaluation.trace
            if outcome.input_problems:
                result["input_problems"] = outcome.input_problems
            output.append(orjson.dumps(result))
            report.evaluated += 1
        if len(rows) >= batch_size:
            report.logged += execution_logs_commit(rows, deadline=None)
            rows = []
        if len(output) >= batch_size:
            write(b"\n".join(output).decode() + "\n")
            output = []
    if output:
        write(b"\n".join(output).decode() + "\n")
    report.logged += execution_logs_commit(rows, deadline=None)
    report.seconds = time.perf_counter() - started
    return report
