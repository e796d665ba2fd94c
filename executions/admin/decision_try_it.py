"""Try-it's view of a decision-table evaluation: each decision's result, and each row of each
table cell by cell (which rows matched, and per cell why)."""

import json

from rules.engine import dmn


def _shown(value) -> str:
    return json.dumps(value, ensure_ascii=False) if value is not None else "null"


def decision_try_it_result(evaluation: dmn.DmnEvaluation) -> dict:
    """Plain data for templates/executions/try_it_decisions*.html."""
    answer = evaluation.as_dict()
    trace = answer.get("trace") or {}
    errors = {error["decision_name"]: error["message"] for error in answer["errors"]}
    decisions = []
    for name, result in answer["outputs"].items():
        decision_trace = trace.get(name) or {}
        decisions.append(
            {
                "name": name,
                "result": _shown(result),
                "matched_rules": answer["matched_rules"].get(name, []),
                "error": errors.get(name, ""),
                "hit_policy": decision_trace.get("hit_policy", ""),
                "inputs": [
                    {**entry, "shown_value": _shown(entry.get("value"))}
                    for entry in decision_trace.get("inputs", ())
                ],
                "rows": [
                    {**row, "shown_output": _shown(row["output"]) if "output" in row else ""}
                    for row in decision_trace.get("rules", ())
                ],
            }
        )
    return {
        "top_decision": evaluation.top_decision,
        "success": evaluation.success,
        "decisions": decisions,
    }
