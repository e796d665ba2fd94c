"""Totals checked finite at compile time, and numeric constants no input can be compared with.

Issue 19, point 6: two matching rules with rule_point 1e308 made total_points infinite (null in
the API, NaN in backtests); a rule_point × weight that overflows raised OverflowError at
activation; a constant of 5,000 nines raised ValueError.
"""

import pytest

from rules.engine import (
    MAX_EXACT_INTEGER,
    MAX_TOTAL_POINTS,
    RulesetCompileError,
    compile_ruleset,
    ruleset_problems,
)


def rule(rule_id, operator="exists", constant=None, **fields):
    return {
        "rule_id": rule_id,
        "attribute": "n",
        "condition": operator,
        "constant": constant,
        **fields,
    }


def spec(*rules):
    return {"ruleset": {"name": "totals"}, "rules": list(rules)}


def test_two_rules_of_1e308_points_are_compile_problems_naming_them():
    broken = spec(rule("R1", rule_point=1e308), rule("R2", rule_point=1e308))
    with pytest.raises(RulesetCompileError) as refused:
        compile_ruleset(broken)
    problems = refused.value.problems
    assert [(p.rule_id, p.path) for p in problems] == [
        ("R1", "rules[0].rule_point"),
        ("R2", "rules[1].rule_point"),
    ]
    assert problems[0].message == (
        f"rule_point × weight (1e+308 × 1.0) is beyond ±{MAX_TOTAL_POINTS:,}, the limit of a "
        "total; use smaller points or a smaller weight"
    )


def test_points_that_add_up_beyond_the_limit_name_the_rule_that_crosses_it():
    half = MAX_TOTAL_POINTS / 2 + 1
    (problem,) = ruleset_problems(
        spec(
            rule("R1", rule_point=half, priority=2),
            rule("R2", rule_point=-5, priority=1),
            rule("R3", rule_point=half, priority=3),
            rule("R4", rule_point=half, priority=4, status="inactive"),
        )
    )
    assert (problem.rule_id, problem.path) == ("R3", "rules")
    assert problem.message.startswith(
        "when every rule with positive points up to this one matches, the total reaches 9.0072e+15"
    )


def test_negative_totals_are_bounded_too():
    (problem,) = ruleset_problems(
        spec(rule("R1", rule_point=-MAX_TOTAL_POINTS), rule("R2", rule_point=-1))
    )
    assert problem.rule_id == "R2" and "negative points" in problem.message


def test_totals_up_to_the_limit_compile_and_stay_finite():
    compiled = compile_ruleset(
        spec(rule("R1", rule_point=MAX_TOTAL_POINTS - 1), rule("R2", rule_point=1))
    )
    assert compiled.evaluate({"n": 1}).total_points == float(MAX_TOTAL_POINTS)


@pytest.mark.parametrize(
    ("rule_point", "weight", "shown"),
    [
        (10**400, 1.0, "an integer of about 401 digits × 1.0"),
        (1e300, 1e300, "1e+300 × 1e+300"),
        (2**1100, 2, "an integer of about 332 digits × 2"),
    ],
)
def test_overflowing_rule_point_times_weight_is_a_problem_not_an_overflow_error(
    rule_point, weight, shown
):
    (problem,) = ruleset_problems(spec(rule("R1", rule_point=rule_point, weight=weight)))
    assert problem.path == "rules[0].rule_point"
    assert shown in problem.message


def test_not_a_number_points_are_a_problem():
    (problem,) = ruleset_problems(spec(rule("R1", rule_point=float("nan"))))
    assert "(nan × 1.0) is not a number" in problem.message


def test_a_constant_of_5000_nines_is_a_problem_not_a_value_error():
    (problem,) = ruleset_problems(spec(rule("R1", "greater_than", "9" * 5000)))
    assert problem.path == "rules[0].constant"
    assert problem.message == (
        f"the integer {'9' * 20}… (5,000 digits) is beyond ±{MAX_EXACT_INTEGER:,} (2^53 − 1), "
        "the largest that every JSON reader keeps exact, so inputs never hold it; to compare "
        "text, quote it ('…')"
    )


@pytest.mark.parametrize(
    ("operator", "constant"),
    [
        ("equal", str(MAX_EXACT_INTEGER + 1)),
        ("less_than", str(-MAX_EXACT_INTEGER - 1)),
        ("not_equal", MAX_EXACT_INTEGER + 1),
        ("in", f"[1, {2**64}]"),
        ("not_in", [1, [2, 10**30]]),
        ("between", f"[0, {2**53}]"),
        ("contains", "9" * 40),
        ("equal", {"k": 2**60}),
    ],
)
def test_integer_constants_beyond_2_53_are_refused_on_numeric_operators(operator, constant):
    (problem,) = ruleset_problems(spec(rule("R1", operator, constant)))
    assert problem.path == "rules[0].constant"
    assert "beyond ±9,007,199,254,740,991 (2^53 − 1)" in problem.message


@pytest.mark.parametrize(
    ("operator", "constant"),
    [
        ("less_than", "1e400"),
        ("greater_than", "-1e400"),
        ("equal", float("inf")),
        ("in", [1, float("nan")]),
    ],
)
def test_constants_that_are_not_finite_numbers_are_refused(operator, constant):
    (problem,) = ruleset_problems(spec(rule("R1", operator, constant)))
    assert problem.path == "rules[0].constant"
    assert "is not a finite number" in problem.message


def test_the_largest_exact_integer_and_quoted_big_numbers_are_kept():
    compiled = compile_ruleset(
        spec(
            rule("R1", "equal", str(MAX_EXACT_INTEGER)),
            rule("R2", "equal", "'12345678901234567890'", attribute="id"),
            rule("R3", "regex", "9" * 30, attribute="id"),
            rule("R4", "starts_with", "9" * 5000, attribute="id"),
        )
    )
    evaluation = compiled.evaluate({"n": MAX_EXACT_INTEGER, "id": "12345678901234567890"})
    assert evaluation.pattern_result == "YY--"
