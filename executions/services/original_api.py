"""The original system's answers, built from this product's evaluations and log rows.

Shapes re-typed from the original's `api/models.py` (RuleExecutionResponse, BatchItemResult,
BatchRuleExecutionResponse) and `services/execution_query.py`; the evaluation itself is the one
step of executions.services.evaluation.
"""

from datetime import datetime

from executions.models import ExecutionLog
from executions.services.decision_evaluation import is_decision_evaluation

NO_MATCH = "-"


# The original's DMN execution turned each table row into a scoring rule of 10 points and weight
# 1 whose action result is the row's output (its DMN_RULES_EXECUTION_API_SPEC): every matching
# row, whatever the hit policy, adds 10 points and its output's text to the pattern.
DMN_ROW_POINT = 10.0
DMN_ROW_WEIGHT = 1.0


def _output_text(output) -> str:
    """A row's output as the original concatenated it: the first output column's value, as text."""
    if isinstance(output, dict):
        output = next(iter(output.values()), None)
    if output is None:
        return ""
    if isinstance(output, bool):
        return "true" if output else "false"
    return str(output)


def _dmn_rows(evaluation):
    """(decision name, 1-based row number, row trace) of every row of every decision table, in
    the order the decisions were evaluated; needs the evaluation's trace."""
    for decision_name, decision in (evaluation.trace or {}).items():
        for row in decision.get("rules") or ():
            yield decision_name, row["index"] + 1, row, decision.get("inputs") or ()


def _answer(evaluation) -> tuple:
    """(total_points, pattern_result, action_recommendation, decision_outputs). A decision-table
    ruleset answers with its outputs, and scores as the original's DMN execution did (10 points
    and the output's text per matching row; the rows come from the trace, so 0 and "" without)."""
    if is_decision_evaluation(evaluation):
        outputs = evaluation.as_dict(with_trace=False)["outputs"]
        top = outputs.get(evaluation.top_decision)
        matched = [row for _, _, row, _ in _dmn_rows(evaluation) if row["matched"]]
        points = DMN_ROW_POINT * DMN_ROW_WEIGHT * len(matched)
        pattern = "".join(_output_text(row.get("output")) for row in matched)
        return points, pattern, top if isinstance(top, str) else None, outputs
    return (
        evaluation.total_points,
        evaluation.pattern_result,
        evaluation.action_recommendation,
        None,
    )


def _dmn_condition(cells, inputs) -> str:
    """A row's input entries as the original's condition string: `season == "Fall" and guests
    <= 8` (`-` entries, which match anything, are left out)."""
    parts = []
    for cell, column in zip(cells, inputs, strict=False):
        entry = (cell.get("entry") or "-").strip()
        if entry == "-":
            continue
        expression = column.get("expression") or cell.get("input") or ""
        if entry[:1] in "<>":
            parts.append(f"{expression} {entry}")
        elif entry[:1] in "[](" or ".." in entry or "," in entry or entry.startswith("not("):
            parts.append(f"{expression} in {entry}")
        else:
            parts.append(f"{expression} == {entry}")
    return " and ".join(parts) or "-"  # every entry "-": the row matches anything


def _dmn_rule_evaluations(evaluation) -> list[dict]:
    return [
        {
            "rule_name": f"{decision_name} - Rule {number}",
            "rule_priority": number,
            "condition": _dmn_condition(row.get("cells") or (), inputs),
            "matched": row["matched"],
            "action_result": _output_text(row.get("output")) if row["matched"] else NO_MATCH,
            "rule_point": DMN_ROW_POINT,
            "weight": DMN_ROW_WEIGHT,
            "execution_time_ms": 0.0,
        }
        for decision_name, number, row, inputs in _dmn_rows(evaluation)
    ]


def original_rule_evaluations(evaluation, outlines: dict) -> list[dict]:
    """The original's `rule_evaluations`: one entry per rule that ran, in execution order.

    As in the original, a rule that did not match reports action_result "-" and 0 points and
    weight. Per-rule time is not measured here: `execution_time_ms` is 0.0.
    """
    if is_decision_evaluation(evaluation):
        return _dmn_rule_evaluations(evaluation)
    entries = []
    for step in evaluation.trace or ():
        outline = outlines.get(step["rule_id"])
        matched = step["matched"]
        if outline is None:  # a snapshot: no rule rows to read names and weights from
            name, point, weight, result = step["rule_id"], step["points"], 1.0, "Y"
        else:
            name, point, weight = outline.rule_name, outline.rule_point, outline.weight
            result = outline.action_result
        entries.append(
            {
                "rule_name": name,
                "rule_priority": step["priority"],
                "condition": step["condition"],
                "matched": matched,
                "action_result": result if matched else NO_MATCH,
                "rule_point": float(point) if matched else 0.0,
                "weight": float(weight) if matched else 0.0,
                "execution_time_ms": 0.0,
            }
        )
    return entries


def original_execution_result(
    evaluation,
    *,
    dry_run: bool,
    outlines: dict,
    execution_time_ms: float,
    correlation_id: str,
    execution_id,
) -> dict:
    """The original's RuleExecutionResponse, plus `execution_id` (this product's log row)."""
    total_points, pattern_result, recommendation, decision_outputs = _answer(evaluation)
    rule_evaluations = would_match = would_not_match = None
    if dry_run:
        rule_evaluations = original_rule_evaluations(evaluation, outlines)
        would_match = [entry for entry in rule_evaluations if entry["matched"]]
        would_not_match = [entry for entry in rule_evaluations if not entry["matched"]]
    return {
        "total_points": total_points,
        "pattern_result": pattern_result,
        "action_recommendation": recommendation,
        "decision_outputs": decision_outputs,
        "rule_evaluations": rule_evaluations,
        "would_match": would_match,
        "would_not_match": would_not_match,
        "dry_run": dry_run,
        "execution_time_ms": round(execution_time_ms, 4),
        "correlation_id": correlation_id,
        "execution_id": execution_id,
    }


def original_batch_item(index: int, correlation_id: str, outcome, execution_id) -> dict:
    """One BatchItemResult: `status` success or failed, the error's text and type."""
    item = {
        "item_index": index,
        "correlation_id": correlation_id,
        "status": "success",
        "total_points": None,
        "pattern_result": None,
        "action_recommendation": None,
        "error": None,
        "error_type": None,
        "execution_id": execution_id,
    }
    if outcome.problem is not None:
        item["status"] = "failed"
        item["error"] = outcome.problem
        item["error_type"] = "DataValidationError" if outcome.code == "invalid" else "TimeoutError"
    else:
        points, pattern, recommendation, _ = _answer(outcome.evaluation)
        item["total_points"] = points
        item["pattern_result"] = pattern
        item["action_recommendation"] = recommendation
    return item


def original_batch_summary(items: list[dict], total_execution_time_ms: float) -> dict:
    """The original's batch `summary`: counts, times and the success rate in percent."""
    count = len(items)
    successful = sum(1 for item in items if item["status"] == "success")
    return {
        "total_executions": count,
        "successful_executions": successful,
        "failed_executions": count - successful,
        "total_execution_time_ms": round(total_execution_time_ms, 4),
        "avg_execution_time_ms": round(total_execution_time_ms / count, 4) if count else 0.0,
        "success_rate": successful / count * 100 if count else 0.0,
    }


def original_executions_page(
    logs,
    *,
    consumer_id: str | None = None,
    ruleset_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    correlation_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
    include_payload: bool = False,
) -> tuple[list[dict], int]:
    """(rows in the original's ExecutionLogSummaryResponse shape, total matching) of `logs`,
    a queryset already scoped to the caller's tenants; newest first.

    `consumer_id` is the log's caller; `since` is inclusive and `until` exclusive, as in the
    original. `total` is a COUNT over the filters: narrow it with `from`/`to` on a large log.
    """
    if consumer_id is not None:
        logs = logs.filter(caller=consumer_id)
    if ruleset_id is not None:
        logs = logs.filter(ruleset_id=ruleset_id)
    if since is not None:
        logs = logs.filter(timestamp__gte=since)
    if until is not None:
        logs = logs.filter(timestamp__lt=until)
    if correlation_id is not None:
        logs = logs.filter(correlation_id=correlation_id)
    total = logs.count()
    fields = [
        "execution_id",
        "correlation_id",
        "ruleset_id",
        "caller",
        "total_points",
        "pattern_result",
        "execution_time_ms",
        "success",
        "error_message",
        "timestamp",
    ]
    if include_payload:
        fields += ["input_data", "output_data"]
    page = logs.order_by("-timestamp").values(*fields)[offset : offset + limit]
    rows = []
    for log in page:
        row = {
            # The original's id is its table's integer key; here the log row's key is its uuid.
            "id": str(log["execution_id"]),
            "execution_id": str(log["execution_id"]),
            "correlation_id": log["correlation_id"] or None,
            "ruleset_id": log["ruleset_id"],
            "consumer_id": log["caller"] or None,
            "total_points": log["total_points"],
            "pattern_result": log["pattern_result"],
            "execution_time_ms": log["execution_time_ms"],
            "success": log["success"],
            "error_message": log["error_message"] or None,
            "timestamp": log["timestamp"].isoformat(),
        }
        if include_payload:
            row["input_data"] = log["input_data"]
            row["output_data"] = log["output_data"]
        rows.append(row)
    return rows, total


def api_client_record(row: ExecutionLog | None, api_client: str) -> None:
    """Keep the API client on a row whose caller is the request's `consumer_id`."""
    if row is not None:
        row.output_data = {**row.output_data, "api_client": api_client}
