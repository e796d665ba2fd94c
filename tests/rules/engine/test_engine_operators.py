"""Every operator against ints, floats, strings, lists, booleans, null and missing values."""

import pytest

from rules.engine import OPERATORS, compile_ruleset

MISSING = object()


def evaluate_condition(operator, constant, value, attribute="x", trace=False):
    """(matched, trace entry) of the one-rule ruleset `attribute operator constant`."""
    rule = {"rule_id": "R1", "attribute": attribute, "condition": operator, "rule_point": 10}
    if constant is not MISSING:
        rule["constant"] = constant
    compiled = compile_ruleset({"ruleset": {"name": "t"}, "rules": [rule]})
    data = {}
    if value is not MISSING:
        if "." in attribute:
            outer, inner = attribute.split(".", 1)
            data = {outer: {inner: value}}
        else:
            data = {attribute: value}
    fast = compiled.evaluate(data)
    traced = compiled.evaluate(data, trace=True)
    assert traced.pattern_result == fast.pattern_result
    assert traced.total_points == fast.total_points
    return fast.pattern_result == "Y", traced.trace[0]


# (operator, constant, value, expected reason); "matched" means the condition holds.
CASES = [
    # equal: same kind and value only
    ("equal", "700", 700, "matched"),
    ("equal", "700", 700.0, "matched"),
    ("equal", "1.5", 1.5, "matched"),
    ("equal", "700", 701, "not_matched"),
    ("equal", "700", "700", "type_mismatch"),
    ("equal", "1", True, "type_mismatch"),
    ("equal", "true", True, "matched"),
    ("equal", "true", 1, "type_mismatch"),
    ("equal", "false", False, "matched"),
    ("equal", "abc", "abc", "matched"),
    ("equal", "'abc'", "abc", "matched"),
    ("equal", '"abc"', "abc", "matched"),
    ("equal", "abc", "abd", "not_matched"),
    ("equal", "null", None, "matched"),
    ("equal", "null", 0, "type_mismatch"),
    ("equal", "700", None, "null"),
    ("equal", "[1, 2]", [1, 2], "matched"),
    ("equal", "[1, 2]", [1, True], "not_matched"),
    ("equal", "700", MISSING, "missing"),
    ("equal", "null", MISSING, "missing"),
    # not_equal: holds whenever equal does not, for present values
    ("not_equal", "700", 701, "matched"),
    ("not_equal", "700", 700.0, "not_matched"),
    ("not_equal", "700", "700", "matched"),
    ("not_equal", "1", True, "matched"),
    ("not_equal", "abc", "abc", "not_matched"),
    ("not_equal", "abc", 5, "matched"),
    ("not_equal", "700", None, "matched"),
    ("not_equal", "null", None, "null"),
    ("not_equal", "null", 0, "matched"),
    ("not_equal", "true", True, "not_matched"),
    ("not_equal", "true", 1, "matched"),
    ("not_equal", "[1, 2]", [1, 3], "matched"),
    ("not_equal", "700", MISSING, "missing"),
    # ordering: two numbers or two strings
    ("greater_than", "700", 701, "matched"),
    ("greater_than", "700", 700, "not_matched"),
    ("greater_than", "700", 700.5, "matched"),
    ("greater_than", "1.5", 2, "matched"),
    ("greater_than", "30", "35", "type_mismatch"),
    ("greater_than", "0", True, "type_mismatch"),
    ("greater_than", "700", None, "null"),
    ("greater_than", "700", [800], "type_mismatch"),
    ("greater_than", "700", MISSING, "missing"),
    ("greater_than", "b", "c", "matched"),
    ("greater_than", "b", 5, "type_mismatch"),
    ("greater_than_or_equal", "700", 700, "matched"),
    ("greater_than_or_equal", "700", 699.9, "not_matched"),
    ("greater_than_or_equal", "b", "b", "matched"),
    ("greater_than_or_equal", "700", False, "type_mismatch"),
    ("greater_than_or_equal", "700", MISSING, "missing"),
    ("less_than", "700", 699, "matched"),
    ("less_than", "700", 700, "not_matched"),
    ("less_than", "700", -1.5, "matched"),
    ("less_than", "b", "a", "matched"),
    ("less_than", "700", "1", "type_mismatch"),
    ("less_than", "700", None, "null"),
    ("less_than_or_equal", "700", 700.0, "matched"),
    ("less_than_or_equal", "700", 701, "not_matched"),
    ("less_than_or_equal", "700", True, "type_mismatch"),
    ("less_than_or_equal", "700", MISSING, "missing"),
    # between: inclusive numeric range
    ("between", "[18, 65]", 18, "matched"),
    ("between", "[18, 65]", 65.0, "matched"),
    ("between", "[18, 65]", 65.5, "not_matched"),
    ("between", "[18, 65]", "30", "type_mismatch"),
    ("between", "[0, 1]", True, "type_mismatch"),
    ("between", "[18, 65]", None, "null"),
    ("between", "[18, 65]", MISSING, "missing"),
    # in / range: same kind and value as an element
    ("in", '["DC", "Marvel"]', "DC", "matched"),
    ("in", "['DC', 'Marvel']", "Marvel", "matched"),
    ("in", '["DC", "Marvel"]', "Image", "not_matched"),
    ("in", "[1, 2]", 2.0, "matched"),
    ("in", "[1, 2]", True, "not_matched"),
    ("in", "[true, 2]", True, "matched"),
    ("in", "[true, 2]", 1, "not_matched"),
    ("in", '["1", 2]', 1, "not_matched"),
    ("in", "[1, null]", None, "matched"),
    ("in", "[1, 2]", None, "null"),
    ("in", "[[1, 2], 3]", [1, 2], "matched"),
    ("in", "[[1, 2], 3]", [1, 2, 3], "not_matched"),
    ("in", "[1, 2]", MISSING, "missing"),
    ("in", "[null]", MISSING, "missing"),
    ("range", "[1, 2, 3]", 3, "matched"),
    ("range", "[1, 2, 3]", 4, "not_matched"),
    ("range", "[1, 2, 3]", "3", "not_matched"),
    ("range", "['a', 'b']", "a", "matched"),
    ("range", "[1, 2, 3]", MISSING, "missing"),
    # not_in: holds whenever in does not, for present values
    ("not_in", "[1, 2]", 3, "matched"),
    ("not_in", "[1, 2]", 1.0, "not_matched"),
    ("not_in", "[1, 2]", True, "matched"),
    ("not_in", "[1, 2]", "1", "matched"),
    ("not_in", "[1, 2]", None, "matched"),
    ("not_in", "[1, null]", None, "null"),
    ("not_in", "['a']", "a", "not_matched"),
    ("not_in", "[1, 2]", [1], "matched"),
    ("not_in", "[1, 2]", MISSING, "missing"),
    # contains: substring of a string, element of a list
    ("contains", "bc", "abcd", "matched"),
    ("contains", "xy", "abcd", "not_matched"),
    ("contains", "5", 12345, "type_mismatch"),
    ("contains", "5", "12345", "type_mismatch"),
    ("contains", "'5'", "12345", "matched"),
    ("contains", "5", [5, 6], "matched"),
    ("contains", "5", [5.0], "matched"),
    ("contains", "5", ["5"], "not_matched"),
    ("contains", "1", [True], "not_matched"),
    ("contains", "DC", ["DC", "Marvel"], "matched"),
    ("contains", "null", [None], "matched"),
    ("contains", "5", "", "type_mismatch"),
    ("contains", "a", None, "null"),
    ("contains", "a", True, "type_mismatch"),
    ("contains", "a", MISSING, "missing"),
    # starts_with / ends_with
    ("starts_with", "ab", "abc", "matched"),
    ("starts_with", "bc", "abc", "not_matched"),
    ("starts_with", "'1'", 123, "type_mismatch"),
    ("starts_with", "12", "123", "matched"),
    ("starts_with", "ab", None, "null"),
    ("starts_with", "ab", MISSING, "missing"),
    ("ends_with", "bc", "abc", "matched"),
    ("ends_with", "ab", "abc", "not_matched"),
    ("ends_with", "c", ["c"], "type_mismatch"),
    ("ends_with", "c", MISSING, "missing"),
    # regex family: strings only; null holds for the negated forms
    ("regex", "b+c", "abbc", "matched"),
    ("regex", "^b", "abc", "not_matched"),
    ("regex", "1", 1, "type_mismatch"),
    ("regex", "1", "x1", "matched"),
    ("regex", "^[0-9]+$", "2024", "matched"),
    ("regex", "a", None, "null"),
    ("regex", "a", MISSING, "missing"),
    ("regex_search", "b+c", "abbc", "matched"),
    ("regex_search", "x", "abc", "not_matched"),
    ("regex_search", "a", None, "null"),
    ("regex_match", "ab", "abc", "matched"),
    ("regex_match", "bc", "abc", "not_matched"),
    ("regex_match", "a", True, "type_mismatch"),
    ("regex_match", "a", MISSING, "missing"),
    ("regex_not_match", "bc", "abc", "matched"),
    ("regex_not_match", "ab", "abc", "not_matched"),
    ("regex_not_match", "ab", None, "matched"),
    ("regex_not_match", "ab", 5, "type_mismatch"),
    ("regex_not_match", "ab", MISSING, "missing"),
    ("regex_not_search", "x", "abc", "matched"),
    ("regex_not_search", "b", "abc", "not_matched"),
    ("regex_not_search", "b", None, "matched"),
    ("regex_not_search", "b", ["b"], "type_mismatch"),
    ("regex_not_search", "b", MISSING, "missing"),
    # exists / not_exists: present and not null
    ("exists", MISSING, 0, "matched"),
    ("exists", MISSING, False, "matched"),
    ("exists", MISSING, "", "matched"),
    ("exists", MISSING, [], "matched"),
    ("exists", MISSING, None, "null"),
    ("exists", MISSING, MISSING, "missing"),
    ("not_exists", MISSING, MISSING, "matched"),
    ("not_exists", MISSING, None, "matched"),
    ("not_exists", "", 0, "not_matched"),
    ("not_exists", MISSING, "x", "not_matched"),
]


def case_id(case):
    operator, constant, value, _ = case
    shown = "MISSING" if value is MISSING else repr(value)
    return f"{operator}-{constant if constant is not MISSING else ''}-{shown}"


@pytest.mark.parametrize("case", CASES, ids=[case_id(case) for case in CASES])
def test_operator_holds_only_for_values_of_the_right_kind(case):
    operator, constant, value, reason = case
    matched, entry = evaluate_condition(operator, constant, value)
    assert (entry["reason"], entry["matched"], matched) == (
        reason,
        reason == "matched",
        reason == "matched",
    )


@pytest.mark.parametrize("case", CASES, ids=[case_id(case) for case in CASES])
def test_operator_gives_the_same_answer_on_a_dotted_path(case):
    operator, constant, value, reason = case
    matched, entry = evaluate_condition(operator, constant, value, attribute="applicant.x")
    assert (entry["reason"], matched) == (reason, reason == "matched")


def test_every_operator_is_covered_by_the_table():
    assert {case[0] for case in CASES} == set(OPERATORS)


def test_every_operator_has_a_label_and_constant_help():
    for name, info in OPERATORS.items():
        assert info.name == name and info.label and info.constant_help


def test_a_constant_that_is_already_a_json_number_is_that_number():
    assert evaluate_condition("equal", 700, 700)[0]
    assert evaluate_condition("greater_than", 1.5, 2)[0]
    assert evaluate_condition("in", ["a", 1], 1)[0]
    assert evaluate_condition("equal", "700", "700")[0] is False


def test_a_string_is_never_coerced_to_a_number():
    assert evaluate_condition("greater_than", "30", "35")[0] is False
    assert evaluate_condition("equal", "'35'", "35")[0] is True
