"""The ruleset cost estimate and its warnings, which block nothing (issue 19, point 2)."""

from rules.engine import (
    COST_WARNING_UNITS,
    LIST_WARNING_ELEMENTS,
    WARNING,
    compile_ruleset,
    ruleset_problems,
)


def rule(number, operator, constant, status="active"):
    return {
        "rule_id": f"R{number:03d}",
        "attribute": "s",
        "condition": operator,
        "constant": constant,
        "status": status,
    }


def spec(rules, conditions=()):
    return {"ruleset": {"name": "cost"}, "rules": rules, "conditions": list(conditions)}


def test_a_ruleset_far_above_normal_gets_a_warning_that_blocks_nothing():
    rules = [rule(n, "regex", f"^code{n}$") for n in range(150)]
    heavy = spec(rules)
    assert ruleset_problems(heavy) == []
    (warning,) = ruleset_problems(heavy, warnings=True)
    assert (warning.severity, warning.rule_id, warning.path) == (WARNING, None, "rules")
    assert warning.message.startswith(
        "the cost estimate is 3,000 units, far above normal (a 50-rule ruleset of comparisons "
        f"costs 50; warned above {COST_WARNING_UNITS:,}): 150 regex conditions"
    )
    assert "may use up to 150 MiB per process" in warning.message
    assert str(warning).startswith("warning: rules: the cost estimate")
    compiled = compile_ruleset(heavy)
    assert compiled.cost.as_dict() == {
        "rules": 150,
        "conditions": 150,
        "regex_conditions": 150,
        "list_elements": 0,
        "units": 3000,
    }
    assert compiled.warnings == [warning]


def test_a_normal_ruleset_gets_no_warning():
    rules = [rule(n, "greater_than", str(n)) for n in range(50)]
    rules += [rule(50 + n, "regex", "^a") for n in range(10)]
    assert ruleset_problems(spec(rules), warnings=True) == []
    assert compile_ruleset(spec(rules)).cost.units == 50 + 10 * 20


def test_inactive_rules_do_not_count_and_catalog_conditions_count_per_use():
    catalog = [{"condition_id": "C1", "attribute": "s", "operator": "regex", "value": "^a"}]
    rules = [
        {"rule_id": f"R{n}", "conditions": {"mode": "all", "items": ["C1", "C1"]}} for n in range(3)
    ]
    rules.append(rule(9, "regex", "b", status="inactive"))
    cost = compile_ruleset(spec(rules, catalog)).cost
    assert (cost.rules, cost.conditions, cost.regex_conditions, cost.units) == (3, 6, 6, 120)


def test_huge_lists_get_a_warning():
    rules = [rule(1, "in", list(range(LIST_WARNING_ELEMENTS + 1)))]
    (warning,) = ruleset_problems(spec(rules), warnings=True)
    assert warning.severity == WARNING
    assert warning.message.startswith(
        f"the list constants hold {LIST_WARNING_ELEMENTS + 1:,} elements in all"
    )


def test_warnings_come_after_the_errors():
    rules = [rule(n, "regex", "^a") for n in range(101)] + [rule(999, "regex", "(?=a)")]
    problems = ruleset_problems(spec(rules), warnings=True)
    assert [problem.severity for problem in problems] == ["error", "warning"]
