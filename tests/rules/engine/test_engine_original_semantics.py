"""`original` semantics: the answers of the original system's default path, and `strict` unchanged.

The differential test compares the engine with tests/support/original_reference.py, a re-typing
of the original's evaluation code (not of this engine), on generated rules and inputs.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.engine import compile_ruleset, ruleset_problems
from rules.engine.original import action_template_expand
from tests.support import original_reference


def spec(rules, patterns=(), conditions=(), semantics="original"):
    return {
        "ruleset": {"name": "legacy", "semantics": semantics},
        "rules": list(rules),
        "conditions": list(conditions),
        "patterns": [{"pattern_key": k, "action_recommendation": v} for k, v in patterns],
    }


def inline(rule_id, attribute, operator, constant, **fields):
    return {
        "rule_id": rule_id,
        "attribute": attribute,
        "condition": operator,
        "constant": constant,
        **fields,
    }


RULES = [
    inline("A", "age", "greater_than", 18, rule_point=10, weight=1, action_result="Y"),
    inline("B", "country", "in", ["US", "CA"], rule_point=5, weight=2, action_result="C"),
]


def test_rules_on_absent_attributes_are_left_out_of_the_pattern():
    compiled = compile_ruleset(spec(RULES, [("Y", "ADULT"), ("YC", "BOTH")]))
    only_age = compiled.evaluate({"age": 30})
    assert (only_age.pattern_result, only_age.action_recommendation) == ("Y", "ADULT")
    both = compiled.evaluate({"age": 30, "country": "US"})
    assert (both.pattern_result, both.total_points, both.action_recommendation) == (
        "YC",
        20.0,
        "BOTH",
    )


def test_strict_marks_the_same_rules_not_matched_instead():
    compiled = compile_ruleset(spec(RULES, semantics="strict"))
    assert compiled.evaluate({"age": 30}).pattern_result == "Y-"


def test_a_null_value_counts_as_present():
    compiled = compile_ruleset(spec(RULES))
    assert compiled.evaluate({"age": 30, "country": None}).pattern_result == "Y-"


def test_an_empty_input_runs_every_rule_and_each_yields_a_dash():
    evaluation = compile_ruleset(spec(RULES, [("--", "NOTHING")])).evaluate({})
    assert (evaluation.pattern_result, evaluation.action_recommendation) == ("--", "NOTHING")


def test_no_rule_left_answers_zero_and_an_empty_pattern_without_lookup():
    evaluation = compile_ruleset(spec(RULES)).evaluate({"unrelated": 1}, trace=True)
    assert evaluation.as_dict() == {
        "total_points": 0.0,
        "pattern_result": "",
        "action_recommendation": None,
        "action": None,
        "matched_rules": [],
        "trace": [],
    }


def test_an_error_in_an_evaluated_clause_makes_an_any_rule_a_dash():
    conditions = [
        {"condition_id": "C1", "attribute": "score", "operator": "greater_than", "value": 5},
        {"condition_id": "C2", "attribute": "tier", "operator": "equal", "value": "gold"},
    ]
    rule = {"rule_id": "R", "conditions": {"mode": "any", "items": ["C1", "C2"]}}
    original = compile_ruleset(spec([rule], conditions=conditions))
    strict = compile_ruleset(spec([rule], conditions=conditions, semantics="strict"))
    data = {"score": "high", "tier": "gold"}  # a string ordered against a number raises
    assert original.evaluate(data).pattern_result == "-"
    assert strict.evaluate(data).pattern_result == "Y"
    trace = original.evaluate(data, trace=True).trace[0]
    assert trace["reason"] == "type_mismatch" and not trace["matched"]
    assert [c["reason"] for c in trace["conditions"]] == ["type_mismatch", "matched"]
    # Short-circuit: once the first clause holds, the second is never evaluated.
    assert original.evaluate({"score": 9, "tier": 3}).pattern_result == "Y"


def test_membership_is_python_containment_and_ordering_a_boolean_is_a_mismatch():
    rules = [
        inline("IN", "flag", "in", [0, 1, 2], action_result="I"),
        inline("GT", "flag", "greater_than", 0, action_result="G"),
        inline("EQ", "flag", "equal", 1, action_result="E"),
    ]
    assert compile_ruleset(spec(rules)).evaluate({"flag": True}).pattern_result == "I--"
    assert (
        compile_ruleset(spec(rules, semantics="strict")).evaluate({"flag": True}).pattern_result
        == "---"
    )


def test_action_results_of_any_length_with_templates():
    rules = [
        inline("A", "can", "exists", None, action_result="{can}"),
        inline("B", "chi", "exists", None, action_result='string join({can}, "-", {chi})'),
        inline("C", "can", "exists", None, action_result="  plain  "),
    ]
    result = compile_ruleset(spec(rules)).evaluate({"can": "wood", "chi": "water"})
    assert result.pattern_result == "woodwood-waterplain"
    problems = ruleset_problems(spec(rules, semantics="strict"))
    assert any("exactly one character" in problem.message for problem in problems)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("{can}", "wood"),
        ("{ can }-{missing}-{none}", "wood--"),
        ('string join({can}, "-", {chi})', "wood-water"),
        ('string join({a}, " ", {b}, " ", {c})', "1 True"),  # {c} is absent: left out
        ("prefix string join({can}, '+', {chi}) suffix", "wood+water"),
        ('string join({can}, ", and ")', "wood, and "),  # two arguments, a long second one
        ('string join({can}, "-")', "wood"),
        ("string join(chi)", "water"),
        ("{flag}", "False"),
        ("{ratio}", "1.5"),
        ("no template {", "no template {"),
    ],
)
def test_templates_expand_as_the_original_does(expression, expected):
    data = {"can": "wood", "chi": "water", "a": 1, "b": True, "none": None, "flag": False}
    data["ratio"] = 1.5
    assert action_template_expand(expression, data) == expected
    assert original_reference.feel_expression(expression, data) == expected


def test_pattern_keys_of_any_length_are_allowed_only_in_original():
    patterns = [("Y", "ONE"), ("YC", "TWO")]
    assert ruleset_problems(spec(RULES, patterns)) == []
    problems = ruleset_problems(spec(RULES, patterns, semantics="strict"))
    assert [problem.path for problem in problems] == ["patterns[0].pattern_key"]


def test_an_unknown_semantics_is_a_problem():
    problems = ruleset_problems(spec(RULES, semantics="loose"))
    assert [problem.path for problem in problems] == ["ruleset.semantics"]


# ---- differential test against the reference ------------------------------------------------

ATTRIBUTES = ("a", "b", "c")
WORDS = st.sampled_from(["x", "y", "xy", "z"])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.5, 1.0, 2.5]),
    WORDS,
)
VALUES = st.one_of(SCALARS, st.lists(st.one_of(st.integers(-2, 2), WORDS), max_size=3))


@st.composite
def clauses(draw):
    attribute = draw(st.sampled_from(ATTRIBUTES))
    operator = draw(
        st.sampled_from(
            [
                "equal",
                "not_equal",
                "greater_than",
                "greater_than_or_equal",
                "less_than",
                "less_than_or_equal",
                "in",
                "range",
                "not_in",
                "contains",
            ]
        )
    )
    if operator in ("equal", "not_equal"):
        constant = draw(SCALARS)
    elif operator in ("in", "range", "not_in"):
        constant = draw(st.lists(SCALARS, min_size=1, max_size=4))
    elif operator == "contains":
        constant = draw(st.one_of(WORDS, st.integers(-2, 2)))
    else:
        constant = draw(st.one_of(st.integers(-3, 3), WORDS))
    return attribute, operator, constant


RESULTS = st.sampled_from(["Y", "N", "AB", "{a}", 'string join({a}, "-", {b})', " Z "])


@st.composite
def rulesets(draw):
    rules = []
    for number in range(draw(st.integers(1, 4))):
        rule_clauses = draw(st.lists(clauses(), min_size=1, max_size=3))
        mode = draw(st.sampled_from(["and", "or"])) if len(rule_clauses) > 1 else None
        rules.append(
            {
                "rule_id": f"R{number}",
                "priority": draw(st.integers(0, 2)),
                "clauses": rule_clauses,
                "mode": mode,
                "rule_point": draw(st.integers(0, 5)),
                "weight": draw(st.integers(0, 3)),
                "action_result": draw(RESULTS),
            }
        )
    return rules


def engine_spec(rules, patterns):
    spec_rules, conditions = [], []
    for rule in rules:
        fields = {
            "rule_id": rule["rule_id"],
            "priority": rule["priority"],
            "rule_point": rule["rule_point"],
            "weight": rule["weight"],
            "action_result": rule["action_result"],
        }
        if rule["mode"] is None:
            attribute, operator, constant = rule["clauses"][0]
            spec_rules.append(
                inline(attribute=attribute, operator=operator, constant=constant, **fields)
            )
            continue
        items = []
        for position, (attribute, operator, constant) in enumerate(rule["clauses"]):
            condition_id = f"{rule['rule_id']}.{position}"
            conditions.append(
                {
                    "condition_id": condition_id,
                    "attribute": attribute,
                    "operator": operator,
                    "value": constant,
                }
            )
            items.append(condition_id)
        mode = "all" if rule["mode"] == "and" else "any"
        spec_rules.append({**fields, "conditions": {"mode": mode, "items": items}})
    return spec(spec_rules, sorted(patterns.items()), conditions, SEMANTICS_UNDER_TEST)


SEMANTICS_UNDER_TEST = "original"
INPUTS = st.dictionaries(st.sampled_from(ATTRIBUTES), VALUES, max_size=3)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rules=rulesets(),
    inputs=st.lists(INPUTS, min_size=1, max_size=5),
    keys=st.lists(st.sampled_from(["", "Y", "-", "YN", "Y-", "--", "AB-", "N"]), max_size=4),
)
def test_original_semantics_agree_with_the_reference(rules, inputs, keys):
    patterns = {key: f"P{index}" for index, key in enumerate(keys) if key}
    compiled = compile_ruleset(engine_spec(rules, patterns))
    for data in inputs:
        expected = original_reference.rules_exec(rules, patterns, data)
        # No budget: these compare answers, and a loaded CI machine must not stop a run.
        evaluation = compiled.evaluate(data, budget_seconds=None)
        traced = compiled.evaluate(data, trace=True, budget_seconds=None)
        for answer in (evaluation, traced):
            assert answer.pattern_result == expected["pattern_result"], data
            assert answer.total_points == pytest.approx(expected["total_points"]), data
            assert answer.action_recommendation == expected["action_recommendation"], data
            if "matched_rules" in expected:
                assert answer.matched_rules == expected["matched_rules"], data
