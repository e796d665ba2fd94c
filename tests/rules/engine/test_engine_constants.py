"""Constants are stored as text and typed once at compile time."""

import pytest

from rules.engine import parse_constant


@pytest.mark.parametrize(
    ("text", "typed"),
    [
        ("700", 700),
        ("-3", -3),
        ("+4", 4),
        ("1.5", 1.5),
        (".5", 0.5),
        ("1e3", 1000.0),
        (" 42 ", 42),
        ('["DC","Marvel"]', ["DC", "Marvel"]),
        ("['DC','Marvel']", ["DC", "Marvel"]),
        ("[1, 2.5, 'a', true, null]", "[1, 2.5, 'a', true, null]"),
        ("[1, 2.5, 'a', True, None]", [1, 2.5, "a", True, None]),
        ('[1, 2.5, "a", true, null]', [1, 2.5, "a", True, None]),
        ("[]", []),
        ("[[1, 2], [3]]", [[1, 2], [3]]),
        ('"quoted"', "quoted"),
        ("'quoted'", "quoted"),
        ('"700"', "700"),
        ("'true'", "true"),
        ('"say \\"hi\\""', 'say "hi"'),
        ("true", True),
        ("false", False),
        ("null", None),
        ("True", "True"),
        ("plain text", "plain text"),
        ("", ""),
        ("[1, 2", "[1, 2"),
        ("inf", "inf"),
        ("nan", "nan"),
        ("'", "'"),
    ],
)
def test_text_constants_are_typed(text, typed):
    result = parse_constant(text)
    assert result == typed and type(result) is type(typed)


@pytest.mark.parametrize("value", [700, 1.5, True, None, ["a", 1], {"k": 1}])
def test_json_values_are_kept_as_they_are(value):
    assert parse_constant(value) == value
