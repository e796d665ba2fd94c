"""Each supported FEEL construct, and DMN's null and type-mismatch semantics, cell by cell."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from rules.engine.dmn import FeelSyntaxError, parse_expression, parse_unary_tests
from tests.rules.engine.dmn.tables import matches, one_column


@pytest.mark.parametrize(
    ("entry", "value", "expected"),
    [
        ("-", 5, True),
        ("-", None, True),
        ("", "anything", True),
        ("< 700", 650, True),
        ("< 700", 700, False),
        ("<= 700", 700, True),
        ("> 18", 18, False),
        (">= 18", 18, True),
        ("= 5", 5, True),
        ("!= 5", 6, True),
        ("!= 5", 5, False),
        ("5", 5.0, True),
        ("-3.5", -3.5, True),
        ("[600..700)", 600, True),
        ("[600..700)", 700, False),
        ("(600..700]", 600, False),
        ("(600..700]", 700, True),
        ("]1..5]", 1, False),
        ("]1..5]", 5, True),
        ("]1..5[", 5, False),
        ("]1..5[", 3, True),
        ("[1..5[", 1, True),
        ("(1..5)", 3, True),
        ('"gold"', "gold", True),
        ('"gold"', "Gold", False),
        ('"gold","platinum"', "platinum", True),
        ('"gold","platinum","silver"', "silver", True),
        ('"gold","platinum","silver"', "bronze", False),
        ("< 10, > 20", 25, True),
        ("< 10, > 20", 15, False),
        ('not("gold")', "silver", True),
        ('not("gold")', "gold", False),
        ('not("gold","platinum")', "platinum", False),
        ("not(< 10, > 20)", 15, True),
        ("not([1..5])", 6, True),
        ("true", True, True),
        ("false", True, False),
        ("true", 1, False),
        ('"a\\"b"', 'a"b', True),
        ("2 * 3 + 1", 7, True),
        ("(1 + 2) * 3", 9, True),
        ("10 / 4", 2.5, True),
    ],
)
def test_unary_test_matches_as_feel_says(entry, value, expected):
    assert matches(entry, value) is expected


@pytest.mark.parametrize(
    ("entry", "value", "expected"),
    [
        ('date("2024-01-01")', date(2024, 1, 1), True),
        ('< date("2024-01-01")', date(2023, 12, 31), True),
        ('[date("2024-01-01")..date("2024-12-31")]', date(2024, 6, 1), True),
        ('>= date and time("2024-01-01T10:00:00")', datetime(2024, 1, 1, 10), True),
        ('< date and time("2024-01-01T10:00:00Z")', datetime(2024, 1, 1, 10), False),
        ('> duration("P1D")', timedelta(days=2), True),
        ('<= duration("PT36H")', timedelta(days=1), True),
    ],
)
def test_temporal_literals_compare_with_values_of_their_type(entry, value, expected):
    assert matches(entry, value) is expected


def test_temporal_input_reads_iso_strings_of_its_type():
    assert matches('< date("2024-01-01")', "2023-05-01", type_ref="date")
    assert matches('> duration("P1D")', "P2D", type_ref="duration")
    assert matches(
        '>= date and time("2024-01-01T00:00:00")', "2024-03-01T12:00:00", type_ref="dateTime"
    )
    # An untyped input keeps the string: comparing it with a date is a mismatch, not a match.
    assert not matches('< date("2024-01-01")', "2023-05-01")
    assert not matches('< date("2024-01-01")', "not a date", type_ref="date")


@pytest.mark.parametrize(
    ("entry", "value"),
    [
        ("< 700", ...),  # missing input is null
        ("< 700", None),
        ("[1..5]", None),
        ('"gold"', None),
        ("5", None),
        ("not(< 10)", None),  # not(null) is null: no match
        ("< 700", "600"),  # a string is not a number: mismatch, no match
        ("5", "5"),
        ("5", True),  # booleans are not numbers
        ('"5"', 5),
        ('not("gold")', 5),  # 5 = "gold" is null, so not(...) is null
        ("not(< 10)", "abc"),
        ("< 10", [1]),
        ('"a","b","c"', ["a"]),
        ("true", "true"),
        ('< date("2024-01-01")', datetime(2023, 1, 1)),  # a date and time is not a date
    ],
)
def test_null_and_type_mismatch_never_match_and_never_raise(entry, value):
    assert matches(entry, value) is False


def test_null_entry_and_not_of_equality_treat_null_as_a_value():
    assert matches("null", None)
    assert matches("null", ...)
    assert not matches("null", 0)
    assert matches("not(null)", 0)
    assert matches('not("gold")', None)  # null = "gold" is false, so not(...) is true


def test_dotted_path_reads_nested_inputs_and_a_missing_step_is_null():
    compiled = one_column(">= 18", expression="applicant.age")
    assert compiled.evaluate({"applicant": {"age": 30}}).outputs["T"] == "hit"
    assert compiled.evaluate({"applicant": {}}).outputs["T"] is None
    assert compiled.evaluate({"applicant": "not a mapping"}).outputs["T"] is None
    assert compiled.evaluate({}).outputs["T"] is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("string join(a, b)", "function"),
        ("{a: 1}", "contexts are not supported"),
        ("'gold'", "double quotes"),
        ("[1, 2]", "list literals"),
        ("x in [1..2]", "not supported"),
        ("if x then 1 else 2", "not supported"),
        ('date("2024-13-01")', "date()"),
        ('duration("P1Y")', "years-and-months"),
        ("< ", "expected a value"),
        ("[1..", "expected a value"),
        ("2 ** 3", "exponentiation"),
        ('"unterminated', "unsupported character"),
        ("(" * 500 + "1" + ")" * 500, "too complex"),
        ("x" + " + x" * 500, "too complex"),
        ('"' + "a" * 20_000 + '"', "longer than"),
    ],
)
def test_unsupported_constructs_are_syntax_errors_saying_why(text, message):
    with pytest.raises(FeelSyntaxError, match=message):
        parse_unary_tests(text)


def test_expressions_parse_arithmetic_with_precedence():
    tree = parse_expression("a + b * (c - 1)")
    assert type(tree).__name__ == "Arithmetic" and tree.operator == "+"
    assert tree.right.operator == "*"
