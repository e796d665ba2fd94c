"""Test cases of decision-table rulesets: their expectations checked against a DMN evaluation.

`expected_outputs` ({decision name: result}) compares only the decisions it names, as JSON (dates
as ISO strings); `expected_matched_rules` is the row ids that must match across all decisions
(and no others); `expected_action_recommendation` is the top decision's single result as text,
what the execution log records. Points and patterns do not exist here: expecting them fails.
"""

from rules.engine import dmn
from rules.services.decision_models import decision_top_output_text


def _matched(evaluation: dmn.DmnEvaluation) -> list[str]:
    return [rule_id for ids in evaluation.matched_rules.values() for rule_id in ids]


def _outputs_check(expected, evaluation: dmn.DmnEvaluation):
    outputs = evaluation.as_dict()["outputs"]
    if not isinstance(expected, dict):
        return outputs, False, "outputs: expected a JSON object of decision name → result"
    actual = {name: outputs.get(name) for name in expected}
    parts = []
    for name, value in expected.items():
        if name not in outputs:
            parts.append(f"no decision named {name!r} (decisions: {', '.join(outputs)})")
        elif outputs[name] != value:
            parts.append(f"{name}: expected {value!r}, got {outputs[name]!r}")
    errors = [str(error) for error in evaluation.errors if error.decision_name in expected]
    if parts and errors:
        parts.append("errors: " + "; ".join(errors))
    return actual, not parts, "outputs: " + "; ".join(parts)


def decision_checks(expectations: dict, evaluation: dmn.DmnEvaluation) -> list[dict]:
    """One check per expectation (the fields of test_cases.FieldCheck)."""
    checks = []
    for name, expected in expectations.items():
        if name == "outputs":
            actual, passed, difference = _outputs_check(expected, evaluation)
        elif name == "matched_rules":
            actual = _matched(evaluation)
            missing = [rule for rule in expected if rule not in actual]
            unexpected = [rule for rule in actual if rule not in expected]
            passed = not missing and not unexpected
            parts = []
            if missing:
                parts.append(f"expected but not matched {', '.join(missing)}")
            if unexpected:
                parts.append(f"matched but not expected {', '.join(unexpected)}")
            difference = "matched_rules: " + "; ".join(parts)
        elif name == "action_recommendation":
            actual = decision_top_output_text(evaluation)
            passed = actual == expected
            difference = (
                f"action_recommendation (the top decision {evaluation.top_decision!r}): "
                f"expected {expected!r}, got {actual!r}"
            )
        else:
            actual, passed = None, False
            difference = f"{name}: a decision-table ruleset has no {name}; expect outputs"
        checks.append(
            {
                "field": name,
                "expected": expected,
                "actual": actual,
                "passed": passed,
                "difference": "" if passed else difference,
            }
        )
    return checks


def decision_actuals(expectations: dict, evaluation: dmn.DmnEvaluation) -> dict:
    """What the version produces now for each expected field ("accept the actual"), as
    `expected_<field>` values; fields a decision table cannot produce are left out."""
    outputs = evaluation.as_dict()["outputs"]
    actuals = {}
    for name, expected in expectations.items():
        if name == "outputs":
            names = expected if isinstance(expected, dict) else outputs
            actuals[name] = {key: outputs.get(key) for key in names if key in outputs}
        elif name == "matched_rules":
            actuals[name] = _matched(evaluation)
        elif name == "action_recommendation":
            actuals[name] = decision_top_output_text(evaluation)
    return actuals
