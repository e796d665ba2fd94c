"""Property-based comparison of the compiled evaluator with a straightforward reference interpreter.

The reference is written from the documented semantics only; it shares no code with the engine.
"""

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.engine import compile_ruleset

ABSENT = object()

# ---- the reference interpreter -------------------------------------------------------------------


def reference_kind(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "other"


def reference_same(left, right):
    if reference_kind(left) != reference_kind(right):
        return False
    if isinstance(left, list):
        return len(left) == len(right) and all(
            reference_same(a, b) for a, b in zip(left, right, strict=True)
        )
    if isinstance(left, dict):
        return set(left) == set(right) and all(reference_same(left[k], right[k]) for k in left)
    return left == right


def reference_lookup(data, attribute):
    if attribute in data:
        return data[attribute]
    if "." not in attribute:
        return ABSENT
    current = data
    for part in attribute.split("."):
        if not isinstance(current, dict) or part not in current:
            return ABSENT
        current = current[part]
    return current


def reference_holds(operator, constant, value):
    if operator == "not_exists":
        return value is ABSENT or value is None
    if value is ABSENT:
        return False
    if operator == "exists":
        return value is not None
    if operator == "equal":
        return reference_same(value, constant)
    if operator == "not_equal":
        return not reference_same(value, constant)
    if operator in ("in", "range"):
        return any(reference_same(value, element) for element in constant)
    if operator == "not_in":
        return not any(reference_same(value, element) for element in constant)
    value_kind = reference_kind(value)
    if operator in ("greater_than", "greater_than_or_equal", "less_than", "less_than_or_equal"):
        if value_kind != reference_kind(constant) or value_kind not in ("number", "string"):
            return False
        return {
            "greater_than": value > constant,
            "greater_than_or_equal": value >= constant,
            "less_than": value < constant,
            "less_than_or_equal": value <= constant,
        }[operator]
    if operator == "between":
        return value_kind == "number" and constant[0] <= value <= constant[1]
    if operator == "contains":
        if value_kind == "string":
            return isinstance(constant, str) and constant in value
        if value_kind == "list":
            return any(reference_same(element, constant) for element in value)
        return False
    if operator in ("starts_with", "ends_with"):
        return value_kind == "string" and (
            value.startswith(constant) if operator == "starts_with" else value.endswith(constant)
        )
    import re

    if value is None:
        return operator in ("regex_not_match", "regex_not_search")
    if value_kind != "string":
        return False
    found = {
        "regex": re.search,
        "regex_search": re.search,
        "regex_match": re.match,
        "regex_not_match": re.match,
        "regex_not_search": re.search,
    }[operator](constant, value)
    return (found is None) if "not" in operator else (found is not None)


def reference_evaluate(spec, data):
    catalog = {condition["condition_id"]: condition for condition in spec["conditions"]}
    active = [rule for rule in spec["rules"] if rule.get("status", "active") == "active"]
    ordered = sorted(active, key=lambda rule: rule.get("priority", 0))
    pattern, total, matched = "", 0.0, []
    for rule in ordered:
        if "conditions" in rule:
            results = [
                reference_holds(
                    catalog[item]["operator"],
                    catalog[item].get("value"),
                    reference_lookup(data, catalog[item]["attribute"]),
                )
                for item in rule["conditions"]["items"]
            ]
            holds = all(results) if rule["conditions"]["mode"] == "all" else any(results)
        else:
            holds = reference_holds(
                rule["condition"], rule.get("constant"), reference_lookup(data, rule["attribute"])
            )
        if holds:
            pattern += rule["action_result"]
            total += rule["rule_point"] * rule["weight"]
            matched.append(rule["rule_id"])
        else:
            pattern += "-"
    recommendation = next(
        (
            entry["action_recommendation"]
            for entry in spec["patterns"]
            if entry["pattern_key"] == pattern
        ),
        None,
    )
    return pattern, total, matched, recommendation


# ---- random rulesets and inputs ------------------------------------------------------------------

# Letters only, so that a generated string constant is not re-typed as a number or keyword.
TEXT = st.text(alphabet="ab", max_size=3)
NUMBERS = st.one_of(
    st.integers(-3, 3), st.floats(-3, 3, allow_nan=False).map(lambda x: round(x, 1))
)
SCALARS = st.one_of(NUMBERS, TEXT, st.booleans(), st.none())
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3))
ATTRIBUTES = st.sampled_from(["a", "b", "c.d", "e"])
REGEXES = st.sampled_from(["a", "^a", "b$", "a.b", "ab|ba", "^$", "b+"])
CONSTANTS = {
    "equal": VALUES,
    "not_equal": VALUES,
    "greater_than": st.one_of(NUMBERS, TEXT),
    "greater_than_or_equal": st.one_of(NUMBERS, TEXT),
    "less_than": st.one_of(NUMBERS, TEXT),
    "less_than_or_equal": st.one_of(NUMBERS, TEXT),
    "between": st.tuples(NUMBERS, NUMBERS).map(lambda pair: sorted(pair)),
    "in": st.lists(SCALARS, max_size=4),
    "range": st.lists(SCALARS, max_size=4),
    "not_in": st.lists(SCALARS, max_size=4),
    "contains": SCALARS,
    "starts_with": TEXT,
    "ends_with": TEXT,
    "regex": REGEXES,
    "regex_match": REGEXES,
    "regex_search": REGEXES,
    "regex_not_match": REGEXES,
    "regex_not_search": REGEXES,
    "exists": st.none(),
    "not_exists": st.none(),
}


@st.composite
def conditions(draw):
    operator = draw(st.sampled_from(sorted(CONSTANTS)))
    return draw(ATTRIBUTES), operator, draw(CONSTANTS[operator])


@st.composite
def rulesets(draw):
    catalog = [
        {
            "condition_id": f"C{number}",
            "attribute": attribute,
            "operator": operator,
            "value": constant,
        }
        for number, (attribute, operator, constant) in enumerate(
            draw(st.lists(conditions(), min_size=1, max_size=4))
        )
    ]
    rules = []
    for number in range(draw(st.integers(0, 7))):
        rule = {
            "rule_id": f"R{number}",
            "priority": draw(st.integers(0, 3)),
            "action_result": draw(st.sampled_from("YNZ")),
            "rule_point": draw(st.integers(0, 50)),
            "weight": draw(st.sampled_from([0.5, 1.0, 2, 1.5])),
            "status": draw(st.sampled_from(["active", "active", "active", "inactive"])),
        }
        if draw(st.booleans()):
            attribute, operator, constant = draw(conditions())
            rule.update(attribute=attribute, condition=operator, constant=constant)
        else:
            items = draw(
                st.lists(
                    st.sampled_from([c["condition_id"] for c in catalog]), min_size=1, max_size=3
                )
            )
            rule["conditions"] = {"mode": draw(st.sampled_from(["all", "any"])), "items": items}
        rules.append(rule)
    length = sum(1 for rule in rules if rule["status"] == "active")
    keys = draw(
        st.lists(
            st.text(alphabet="YNZ-", min_size=length, max_size=length), max_size=4, unique=True
        )
    )
    patterns = [
        {"pattern_key": key, "action_recommendation": f"P{index}"} for index, key in enumerate(keys)
    ]
    return {
        "ruleset": {"name": "random"},
        "rules": rules,
        "conditions": catalog,
        "patterns": patterns,
    }


INPUT_VALUES = st.one_of(VALUES, st.just(ABSENT))


@st.composite
def inputs(draw):
    data = {}
    for key in ("a", "b", "e", "c.d"):
        value = draw(INPUT_VALUES)
        if value is not ABSENT:
            data[key] = value
    nested = draw(
        st.one_of(st.just(ABSENT), VALUES, st.fixed_dictionaries({}, optional={"d": VALUES}))
    )
    if nested is not ABSENT:
        data["c"] = nested
    return data


def add_pattern_for(spec, data):
    """Make sure some generated patterns are hit: add the reference's own pattern as an entry."""
    pattern = reference_evaluate(spec, data)[0]
    if all(entry["pattern_key"] != pattern for entry in spec["patterns"]):
        spec["patterns"].append({"pattern_key": pattern, "action_recommendation": "HIT"})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=rulesets(), samples=st.lists(inputs(), min_size=1, max_size=5), hit=st.booleans())
def test_compiled_evaluator_agrees_with_the_reference_interpreter(spec, samples, hit):
    if hit:
        add_pattern_for(spec, samples[0])
    compiled = compile_ruleset(spec)
    for data in samples:
        pattern, total, matched, recommendation = reference_evaluate(spec, data)
        # No budget: these compare answers, and a loaded CI machine must not stop a run.
        runs = (
            compiled.evaluate(data, budget_seconds=None),
            compiled.evaluate(data, trace=True, budget_seconds=None),
        )
        for evaluation in runs:
            assert evaluation.pattern_result == pattern
            assert math.isclose(evaluation.total_points, total, abs_tol=1e-9)
            assert evaluation.matched_rules == matched
            assert evaluation.action_recommendation == recommendation


@settings(max_examples=300, deadline=None)
@given(condition=conditions(), data=inputs())
def test_trace_reason_is_matched_exactly_when_the_reference_holds(condition, data):
    attribute, operator, constant = condition
    spec = {
        "ruleset": {"name": "one"},
        "rules": [
            {"rule_id": "R", "attribute": attribute, "condition": operator, "constant": constant}
        ],
    }
    (entry,) = compile_ruleset(spec).evaluate(data, trace=True, budget_seconds=None).trace
    expected = reference_holds(operator, constant, reference_lookup(data, attribute))
    assert entry["matched"] is expected
    assert (entry["reason"] == "matched") is expected
