"""The attributes catalog's types and the check of input values against them (pure)."""

import pytest

from rules.engine.attribute_types import AttributeCheck, InputValidator, type_problem, value_problem


@pytest.mark.parametrize(
    ("data_type", "fits", "does_not_fit"),
    [
        ("string", ["DE", ""], [1, True, None, ["DE"]]),
        ("number", [1, 2.5, -3], ["1", True, None]),
        ("integer", [1, 5.0, -7], [2.5, "1", False]),
        ("boolean", [True, False], [1, 0, "true"]),
        ("date", ["2026-01-31", "2026-01-31T09:30:00Z"], ["2026-02-30", "31.01.2026", 20260131]),
        ("list", [[], ["A", 1]], ["A", {"a": 1}]),
    ],
)
def test_each_type_takes_its_values_and_names_what_it_got(data_type, fits, does_not_fit):
    for value in fits:
        assert type_problem(data_type, value) == "", value
    for value in does_not_fit:
        assert type_problem(data_type, value).startswith("expected"), value


def test_allowed_values_compare_by_kind_and_list_members_one_by_one():
    assert value_problem("string", ["DE", "FR"], "DE") == ""
    assert value_problem("string", ["DE", "FR"], "XX") == (
        "'XX' is not one of the allowed values ['DE', 'FR']"
    )
    assert value_problem("number", [1, 2], 1.0) == ""
    assert value_problem("list", ["A", "B"], ["A", "C"]).startswith("'C' is not one of")
    assert value_problem("integer", [True], 1).startswith("1 is not one of")


def test_validator_lists_every_bad_field_and_ignores_missing_and_null():
    validator = InputValidator(
        [
            AttributeCheck("credit_score", "integer", ()),
            AttributeCheck("applicant.country", "string", ("DE", "FR")),
            AttributeCheck("vip", "boolean", ()),
        ]
    )

    problems = validator.problems(
        {"credit_score": "high", "applicant": {"country": "XX"}, "vip": None}
    )

    assert problems == [
        {"field": "credit_score", "problem": "expected an integer, got string 'high'"},
        {
            "field": "applicant.country",
            "problem": "'XX' is not one of the allowed values ['DE', 'FR']",
        },
    ]
    assert validator.problems({}) == []
    assert validator.problems({"credit_score": 700, "applicant": {"country": "DE"}}) == []
