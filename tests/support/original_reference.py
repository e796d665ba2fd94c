"""A reference of the original system's default evaluation path, re-typed from its code.

khoantd/rule-engine: services/ruleengine_exec.py (rules_exec), common/rule_engine_util.py
(rule_prepare, format_rule_engine_condition_clause, rule_run, _evaluate_feel_expression,
find_action_recommendation), common/conditions_enum.py, and the input-key filter of
filter_prepared_rules_by_input_data_keys (tests/unit there). The clauses are evaluated as
rule_engine.Rule evaluates the strings the original builds (`attr > 30`, `attr in [..]`,
`"x" in attr`, `a and b`): comparisons of different kinds raise, `==` of different kinds is
false, `in` is Python's containment. Nothing here uses the product's engine.

The rules are the prepared rules: dicts with rule_id, priority, clauses (a list of
(attribute, operator, typed constant)), mode ("and" / "or", None for one clause), rule_point,
weight and action_result.
"""

import re


class ClauseRaised(Exception):
    """rule_engine raised (SymbolResolutionError, EvaluationError, TypeError)."""


def _kind(value):
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return type(value).__name__


def _clause(data, attribute, operator, constant) -> bool:
    if attribute not in data:
        raise ClauseRaised("SymbolResolutionError")
    value = data[attribute]
    if operator in ("equal", "not_equal"):
        # rule_engine's == is false across kinds (1 == true is false; 1 == 1.0 is true).
        same = _kind(value) == _kind(constant) and value == constant
        return same if operator == "equal" else not same
    if operator in ("greater_than", "greater_than_or_equal", "less_than", "less_than_or_equal"):
        if (
            value is None
            or _kind(value) != _kind(constant)
            or _kind(value)
            not in (
                "number",
                "str",
            )
        ):
            raise ClauseRaised("EvaluationError")
        return {
            "greater_than": value > constant,
            "greater_than_or_equal": value >= constant,
            "less_than": value < constant,
            "less_than_or_equal": value <= constant,
        }[operator]
    if operator in ("in", "range"):
        return value in constant
    if operator == "not_in":
        return value not in constant
    if operator == "contains":
        # `"needle" in attribute`
        if isinstance(value, str):
            if not isinstance(constant, str):
                raise ClauseRaised("EvaluationError")
            return constant in value
        if isinstance(value, list):
            return any(
                _kind(element) == _kind(constant) and element == constant for element in value
            )
        raise ClauseRaised("TypeError")
    raise AssertionError(f"the reference does not model {operator}")


def referenced_attributes(rule) -> list:
    return [attribute for attribute, _, _ in rule["clauses"]]


def filter_by_input_keys(rules, data):
    """filter_prepared_rules_by_input_data_keys: an empty input is not filtered."""
    if not data:
        return list(rules)
    return [rule for rule in rules if all(a in data for a in referenced_attributes(rule))]


def rule_matches(rule, data) -> bool:
    """rule_engine.Rule(' and '.join(clauses)).matches(data): left to right, short-circuit."""
    if rule["mode"] == "or":
        return any(_clause(data, *clause) for clause in rule["clauses"])
    return all(_clause(data, *clause) for clause in rule["clauses"])


def feel_expression(expression, data) -> str:
    if not expression or not isinstance(expression, str):
        return str(expression) if expression else ""
    expression = expression.strip()
    if "{" not in expression and "string join" not in expression.lower():
        return expression
    match = re.search(r"string\s+join\s*\(([^)]+)\)", expression, re.IGNORECASE)
    if match:
        args_str = match.group(1)
        args = []
        current_arg = ""
        in_quotes = False
        quote_char = None
        for char in args_str:
            if char in ('"', "'") and (not in_quotes or char == quote_char):
                if in_quotes and char == quote_char:
                    in_quotes = False
                    quote_char = None
                else:
                    in_quotes = True
                    quote_char = char
                current_arg += char
            elif char == "," and not in_quotes:
                args.append(current_arg.strip())
                current_arg = ""
            else:
                current_arg += char
        if current_arg.strip():
            args.append(current_arg.strip())
        evaluated_args = []
        for arg in args:
            arg = arg.strip()
            if (arg.startswith('"') and arg.endswith('"')) or (
                arg.startswith("'") and arg.endswith("'")
            ):
                evaluated_args.append(arg[1:-1])
            elif arg.startswith("{") and arg.endswith("}"):
                value = data.get(arg[1:-1].strip(), "")
                evaluated_args.append(str(value) if value is not None else "")
            else:
                value = data.get(arg, arg)
                evaluated_args.append(str(value) if value is not None else "")
        if len(evaluated_args) >= 3:
            separator = evaluated_args[1]
            values_to_join = [str(evaluated_args[i]) for i in range(0, len(evaluated_args), 2)]
            return separator.join(v for v in values_to_join if v)
        if len(evaluated_args) == 2:
            if len(str(evaluated_args[1])) <= 5:
                return str(evaluated_args[0])
            return "".join(str(v) for v in evaluated_args if v)
        return "".join(str(v) for v in evaluated_args if v)

    def replace_var(match_obj):
        value = data.get(match_obj.group(1).strip(), "")
        return str(value) if value is not None else ""

    return re.sub(r"\{([^}]+)\}", replace_var, expression)


def rule_run(rule, data) -> dict:
    try:
        matched = rule_matches(rule, data)
    except ClauseRaised:
        return {"action_result": "-", "rule_point": 0.0, "weight": 0.0, "matched": False}
    if not matched:
        return {"action_result": "-", "rule_point": 0.0, "weight": 0.0, "matched": False}
    raw = rule["action_result"]
    action = feel_expression(raw, data) if raw and isinstance(raw, str) else str(raw)
    return {
        "action_result": action,
        "rule_point": float(rule["rule_point"]),
        "weight": float(rule["weight"]),
        "matched": True,
    }


def rules_exec(rules, patterns: dict, data: dict) -> dict:
    """The answer of rules_exec for `data`: total_points, pattern_result, action_recommendation."""
    rules_list = filter_by_input_keys(sorted(rules, key=lambda rule: rule["priority"]), data)
    if not rules_list:
        return {"total_points": 0.0, "pattern_result": "", "action_recommendation": None}
    results, total, matched = [], 0.0, []
    for rule in rules_list:
        result = rule_run(rule, data)
        total += result["rule_point"] * result["weight"]
        results.append(result["action_result"])
        if result["matched"]:
            matched.append(rule["rule_id"])
    pattern = "".join(results)
    recommendation = None
    if patterns:
        for key, value in patterns.items():
            if key == pattern:
                recommendation = value
                break
    return {
        "total_points": total,
        "pattern_result": pattern,
        "action_recommendation": recommendation,
        "matched_rules": matched,
    }
