"""The evaluation step's decision-table side: evaluate a compiled DMN model, build its log row
and its answer (evaluation.py hands these over when the ruleset is a decision-table ruleset).

The log row keeps the same columns as a scoring row: `output_data` holds the evaluation's
`as_dict()` (outputs, matched rules per decision, success, errors; no trace), and
`action_recommendation` the top decision's result as text when it is a single value, so the
stats and the dashboard count decision tables as they count recommendations.
"""

from django.utils import timezone

from executions.models import ExecutionLog
from executions.services.log_rows import execution_id_new, log_row
from rules.engine import dmn
from rules.services.decision_models import decision_top_output_text


def is_decision_model(compiled) -> bool:
    return isinstance(compiled, dmn.CompiledDefinitions)


def is_decision_evaluation(evaluation) -> bool:
    return isinstance(evaluation, dmn.DmnEvaluation)


def compiled_evaluate(compiled, data, *, trace: bool, budget_seconds: float):
    """Evaluate with a scoring ruleset's engine or a DMN model's.

    DMN models take no time budget: a table's cost is bounded by its rows (no loops, no
    recursion), and imports bound the rows (IMPORT_MAX_RULES).
    """
    if is_decision_model(compiled):
        return compiled.evaluate(data, trace=trace)
    return compiled.evaluate(data, trace=trace, budget_seconds=budget_seconds)


def decision_output(evaluation: dmn.DmnEvaluation) -> dict:
    """What the log row stores in `output_data` (the evaluation as JSON, without the trace)."""
    output = evaluation.as_dict(with_trace=False)
    output["top_decision"] = evaluation.top_decision
    return output


def decision_log_row(
    *,
    tenant_id: int,
    ruleset: dict,
    data: dict,
    evaluation: dmn.DmnEvaluation,
    elapsed_ms: float,
    source: str,
    caller: str = "",
    request_id: str = "",
    correlation_id: str = "",
) -> ExecutionLog:
    """An unsaved log row for a decision-table evaluation; a DecisionError (UNIQUE with two
    matches, ANY with different outputs…) makes it a failure with the errors' messages."""
    return log_row(
        execution_id=execution_id_new(),
        timestamp=timezone.now(),
        tenant_id=tenant_id,
        ruleset_id=ruleset.get("ruleset_id"),
        ruleset_name=ruleset.get("name", ""),
        ruleset_version=ruleset.get("version", ""),
        input_data=data,
        output_data=decision_output(evaluation),
        total_points=None,
        pattern_result="",
        action_recommendation=decision_top_output_text(evaluation),
        execution_time_ms=elapsed_ms,
        success=evaluation.success,
        error_message="; ".join(str(error) for error in evaluation.errors),
        source=source,
        caller=caller,
        request_id=request_id,
        correlation_id=correlation_id,
    )


def decision_result(evaluation: dmn.DmnEvaluation, *, with_trace: bool) -> dict:
    """The answer's decision fields: outputs, matched rules, the top decision, success and
    errors, and the trace when asked for (API, manage.py evaluate, try-it)."""
    answer = evaluation.as_dict()
    result = {
        "outputs": answer["outputs"],
        "matched_rules": answer["matched_rules"],
        "top_decision": evaluation.top_decision,
        "success": answer["success"],
        "errors": answer["errors"],
    }
    if with_trace:
        result["trace"] = answer.get("trace")
    return result
