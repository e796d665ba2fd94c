"""compile_ruleset checks everything once and reports every problem with its rule and JSON path."""

import pytest

from rules.engine import Problem, RulesetCompileError, compile_ruleset, ruleset_problems


def spec(rules, **extra):
    return {"ruleset": {"name": "credit"}, "rules": rules, **extra}


def rule(rule_id, attribute="age", condition="greater_than", constant="18", **fields):
    return {
        "rule_id": rule_id,
        "attribute": attribute,
        "condition": condition,
        "constant": constant,
        **fields,
    }


def paths(problems):
    return [problem.path for problem in problems]


def test_compile_error_lists_every_problem_not_only_the_first():
    broken = spec(
        [
            rule("R1", condition="greter_than"),
            rule("R2", condition="between", constant="[1]"),
            rule("R3", condition="regex", constant="(unclosed"),
            rule("R3"),
            {"rule_id": "R5", "conditions": {"mode": "all", "items": ["C404"]}},
            rule("R6", weight="heavy", priority=1.5, action_result="YES"),
        ]
    )
    with pytest.raises(RulesetCompileError) as raised:
        compile_ruleset(broken)
    problems = raised.value.problems
    assert paths(problems) == [
        "rules[0].condition",
        "rules[1].constant",
        "rules[2].constant",
        "rules[3].rule_id",
        "rules[4].conditions.items[0]",
        "rules[5].weight",
        "rules[5].priority",
        "rules[5].action_result",
    ]
    assert [problem.rule_id for problem in problems] == [
        "R1",
        "R2",
        "R3",
        "R3",
        "R5",
        "R6",
        "R6",
        "R6",
    ]
    assert problems == ruleset_problems(broken)
    text = str(raised.value)
    assert text.startswith("8 problems:")
    assert all(problem.message in text for problem in problems)


def test_unknown_operator_names_close_matches():
    (problem,) = ruleset_problems(spec([rule("R1", condition="greter_than")]))
    assert "unknown operator 'greter_than'" in problem.message
    assert "'greater_than'" in problem.message


def test_regex_that_does_not_compile_carries_the_regex_error():
    (problem,) = ruleset_problems(spec([rule("R1", condition="regex", constant="a(b")]))
    assert problem.message.startswith('regular expression "a(b" does not compile:')
    assert "missing )" in problem.message


@pytest.mark.parametrize(
    ("condition", "constant", "message"),
    [
        ("between", "[1]", "'between' needs a list of two numbers"),
        ("between", "['a', 'b']", "'between' needs a list of two numbers"),
        ("between", "[5, 1]", "'between' needs low <= high"),
        ("between", "[true, 2]", "'between' needs a list of two numbers"),
        ("in", "5", "'in' needs a list of values"),
        ("not_in", "abc", "'not_in' needs a list of values"),
        ("range", "null", "'range' needs a list of values"),
        ("greater_than", "[1, 2]", "'greater_than' needs a number or a string"),
        ("less_than", "true", "'less_than' needs a number or a string"),
        ("less_than_or_equal", "null", "'less_than_or_equal' needs a number or a string"),
        ("regex_match", ["a"], "'regex_match' needs a regular expression string"),
        ("starts_with", 5, "'starts_with' needs a string"),
    ],
)
def test_constant_unusable_with_its_operator_is_a_problem(condition, constant, message):
    (problem,) = ruleset_problems(spec([rule("R1", condition=condition, constant=constant)]))
    assert problem == Problem("R1", problem.message, "rules[0].constant")
    assert problem.message.startswith(message)


def test_missing_constant_is_a_problem_except_for_exists():
    rules = [
        {"rule_id": "R1", "attribute": "a", "condition": "equal"},
        {"rule_id": "R2", "attribute": "a", "condition": "exists"},
        {"rule_id": "R3", "attribute": "a", "condition": "not_exists"},
        {"rule_id": "R4", "attribute": "a", "condition": "equal", "constant": None},
    ]
    assert ruleset_problems(spec(rules)) == [
        Problem("R1", "'constant' is required for operator 'equal'", "rules[0].constant")
    ]


def test_rule_needs_exactly_one_form():
    rules = [
        {"rule_id": "R1"},
        {**rule("R2"), "conditions": {"mode": "all", "items": ["C1"]}},
        {"rule_id": "R3", "condition": "equal", "constant": 1},
        {"rule_id": "R4", "conditions": {"mode": "both", "items": []}},
    ]
    conditions = [{"condition_id": "C1", "attribute": "a", "operator": "exists"}]
    problems = ruleset_problems(spec(rules, conditions=conditions))
    assert paths(problems) == [
        "rules[0]",
        "rules[1]",
        "rules[2].attribute",
        "rules[3].conditions.mode",
        "rules[3].conditions.items",
    ]


def test_catalog_problems_duplicates_and_inactive_references():
    conditions = [
        {"condition_id": "C1", "attribute": "age", "operator": "greater_than", "value": "18"},
        {"condition_id": "C1", "attribute": "age", "operator": "less_than", "value": "65"},
        {"condition_id": "C2", "attribute": "age", "operator": "bogus", "value": "1"},
        {"condition_id": "C3", "attribute": "x", "operator": "exists", "status": "inactive"},
    ]
    rules = [
        {"rule_id": "R1", "conditions": {"mode": "any", "items": ["C1", "C2", "C3", "C9", 7]}},
    ]
    problems = ruleset_problems(spec(rules, conditions=conditions))
    assert paths(problems) == [
        "conditions[1].condition_id",
        "conditions[2].operator",
        "rules[0].conditions.items[2]",
        "rules[0].conditions.items[3]",
        "rules[0].conditions.items[4]",
    ]
    assert "duplicate condition id 'C1'" in problems[0].message
    assert "is not active" in problems[2].message
    assert "unknown condition 'C9'" in problems[3].message


def test_pattern_problems_length_duplicates_and_unknown_action():
    patterns = [
        {"pattern_key": "Y-", "action_recommendation": "A", "action": "A_APPROVE"},
        {"pattern_key": "YYY", "action_recommendation": "B"},
        {"pattern_key": "Y-", "action_recommendation": "C"},
        {"pattern_key": "--", "action_recommendation": "D", "action": "A_NOPE"},
        {"pattern_key": "-Y"},
    ]
    actions = [{"action_id": "A_APPROVE"}, {"action_id": "A_APPROVE"}]
    problems = ruleset_problems(
        spec(
            [rule("R1"), rule("R2"), rule("R3", status="inactive")],
            patterns=patterns,
            actions=actions,
        )
    )
    assert paths(problems) == [
        "actions[1].action_id",
        "patterns[1].pattern_key",
        "patterns[2].pattern_key",
        "patterns[3].action",
        "patterns[4].action_recommendation",
    ]
    assert problems[1].message == (
        "pattern key 'YYY' has length 3 but the ruleset produces patterns of length 2"
    )


def test_wrong_types_are_problems_and_extra_keys_are_tolerated():
    broken = {
        "format": "ruleengine.ruleset",
        "format_version": 1,
        "future_key": {"anything": True},
        "ruleset": {"name": 5, "version": 2, "tags": "a", "unknown": 1},
        "rules": [rule("R1", rule_point="10", status=1, tags={}, metadata=[], extra=1)],
        "patterns": {"Y": "x"},
    }
    assert paths(ruleset_problems(broken)) == [
        "ruleset.name",
        "ruleset.version",
        "ruleset.tags",
        "rules[0].rule_point",
        "rules[0].status",
        "rules[0].tags",
        "rules[0].metadata",
        "patterns",
    ]


def test_spec_must_be_an_object_with_a_named_ruleset():
    assert paths(ruleset_problems([])) == [""]
    assert paths(ruleset_problems({"rules": []})) == ["ruleset"]
    assert paths(ruleset_problems({"ruleset": {}, "rules": "x"})) == ["ruleset.name", "rules"]
    assert paths(
        ruleset_problems({"ruleset": {"name": "a"}, "format": "other", "format_version": 9})
    ) == [
        "format",
        "format_version",
    ]


def test_action_result_must_be_one_character():
    problems = ruleset_problems(spec([rule("R1", action_result=""), rule("R2", action_result="N")]))
    assert paths(problems) == ["rules[0].action_result"]


def test_inactive_rules_are_still_checked():
    problems = ruleset_problems(spec([rule("R1", condition="nope", status="draft")]))
    assert paths(problems) == ["rules[0].condition"]
