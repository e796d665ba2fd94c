"""The operators a condition can use: the constant each accepts, how it reads, how it evaluates.

Every operator is built twice from the same rules: a fast boolean test used by `evaluate()` and an
`explain` function used by the trace, which also says why a condition did not hold. The tests check
both against a separate reference interpreter.
"""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass
from types import MappingProxyType

import regex

from .values import MISSING, NUMBER, NUMBER_TYPES, STRING, attribute_lookup, kind, same_value

# A pathological pattern or a huge input must not stall a worker: inputs longer than this do not
# match, and a search that runs longer than the timeout does not match either.
REGEX_MAX_INPUT_LENGTH = 10_000
REGEX_TIMEOUT_SECONDS = 0.05

MATCHED = "matched"
NOT_MATCHED = "not_matched"
MISSING_VALUE = "missing"
NULL_VALUE = "null"
TYPE_MISMATCH = "type_mismatch"
REGEX_TIMEOUT = "regex_timeout"
INPUT_TOO_LONG = "input_too_long"


@dataclass(frozen=True)
class OperatorInfo:
    """An operator as the authoring tools show it: name, dropdown label, help for the constant."""

    name: str
    label: str
    constant_help: str


_ORDERING_HELP = (
    "A number, or a string (compared alphabetically). Strings never compare with numbers."
)
_LIST_HELP = 'A list of values, e.g. ["DC", "Marvel"] or [1, 2, 3].'
_REGEX_HELP = (
    "A regular expression (Python syntax). Inputs longer than 10,000 characters never match."
)

OPERATORS = MappingProxyType(
    {
        info.name: info
        for info in (
            OperatorInfo(
                "equal",
                "equals",
                "Any value: a number, a quoted or plain string, true/false, null or a list.",
            ),
            OperatorInfo(
                "not_equal",
                "does not equal",
                "Any value; holds for every present value that differs.",
            ),
            OperatorInfo("greater_than", "is greater than", _ORDERING_HELP),
            OperatorInfo("greater_than_or_equal", "is greater than or equal to", _ORDERING_HELP),
            OperatorInfo("less_than", "is less than", _ORDERING_HELP),
            OperatorInfo("less_than_or_equal", "is less than or equal to", _ORDERING_HELP),
            OperatorInfo(
                "between",
                "is between (inclusive)",
                "Two numbers [low, high]; holds when low <= value <= high.",
            ),
            OperatorInfo("in", "is one of", _LIST_HELP),
            OperatorInfo("range", "is one of (original name)", _LIST_HELP + " Same as 'in'."),
            OperatorInfo("not_in", "is not one of", _LIST_HELP),
            OperatorInfo(
                "contains",
                "contains",
                "A string (substring of a string value) or any value (element of a list value).",
            ),
            OperatorInfo("starts_with", "starts with", "A string."),
            OperatorInfo("ends_with", "ends with", "A string."),
            OperatorInfo("regex", "matches the regular expression (search)", _REGEX_HELP),
            OperatorInfo("regex_match", "matches the regular expression at the start", _REGEX_HELP),
            OperatorInfo("regex_search", "contains a match of the regular expression", _REGEX_HELP),
            OperatorInfo(
                "regex_not_match", "does not match the regular expression at the start", _REGEX_HELP
            ),
            OperatorInfo(
                "regex_not_search", "contains no match of the regular expression", _REGEX_HELP
            ),
            OperatorInfo("exists", "is present (not null)", "No constant needed."),
            OperatorInfo("not_exists", "is absent or null", "No constant needed."),
        )
    }
)

_SYMBOLS = {
    "equal": "==",
    "not_equal": "!=",
    "greater_than": ">",
    "greater_than_or_equal": ">=",
    "less_than": "<",
    "less_than_or_equal": "<=",
    "in": "in",
    "range": "in",
    "not_in": "not in",
    "contains": "contains",
    "starts_with": "starts with",
    "ends_with": "ends with",
    "regex": "matches",
    "regex_search": "matches",
    "regex_match": "matches at start",
    "regex_not_match": "does not match at start",
    "regex_not_search": "does not match",
}
_ORDERING = {
    "greater_than": lambda value, constant: value > constant,
    "greater_than_or_equal": lambda value, constant: value >= constant,
    "less_than": lambda value, constant: value < constant,
    "less_than_or_equal": lambda value, constant: value <= constant,
}
_MEMBERSHIP = ("in", "range", "not_in")
_REGEX = ("regex", "regex_match", "regex_search", "regex_not_match", "regex_not_search")
_NO_CONSTANT = ("exists", "not_exists")


def operator_suggestions(name) -> str:
    """A hint naming the operators closest to an unknown one."""
    close = difflib.get_close_matches(str(name), list(OPERATORS), n=3, cutoff=0.5)
    if close:
        return "did you mean " + ", ".join(f"'{candidate}'" for candidate in close) + "?"
    return "known operators: " + ", ".join(OPERATORS)


def constant_needed(operator: str) -> bool:
    """Whether the operator uses a constant at all."""
    return operator not in _NO_CONSTANT


def text_only(operator: str) -> bool:
    """Whether the operator's constant is always text (regular expressions, prefixes, suffixes)."""
    return operator in _REGEX or operator in ("starts_with", "ends_with")


def prepare_constant(operator: str, constant):
    """(prepared constant, problem message or None) for a typed constant and a known operator."""
    constant_kind = kind(constant)
    if operator in _ORDERING:
        if constant_kind not in (NUMBER, STRING):
            return None, f"'{operator}' needs a number or a string, not {_described(constant)}"
        return constant, None
    if operator == "between":
        if (
            not isinstance(constant, list)
            or len(constant) != 2
            or not all(type(bound) in NUMBER_TYPES for bound in constant)
        ):
            return (
                None,
                f"'between' needs a list of two numbers [low, high], not {_described(constant)}",
            )
        if constant[0] > constant[1]:
            return None, f"'between' needs low <= high, got {_json(constant)}"
        return (constant[0], constant[1]), None
    if operator in _MEMBERSHIP:
        if not isinstance(constant, list):
            return (
                None,
                f'\'{operator}\' needs a list of values, e.g. ["a", "b"], '
                f"not {_described(constant)}",
            )
        return _Members(constant), None
    if operator in ("starts_with", "ends_with"):
        if constant_kind != STRING:
            return None, f"'{operator}' needs a string, not {_described(constant)}"
        return constant, None
    if operator in _REGEX:
        if constant_kind != STRING:
            return (
                None,
                f"'{operator}' needs a regular expression string, not {_described(constant)}",
            )
        try:
            return regex.compile(constant), None
        except (regex.error, OverflowError, RecursionError) as error:
            return None, f"regular expression {_json(constant)} does not compile: {error}"
    return constant, None


def condition_text(attribute: str, operator: str, constant) -> str:
    """The condition as a person reads it, e.g. `credit_score > 700`."""
    if operator == "exists":
        return f"{attribute} exists"
    if operator == "not_exists":
        return f"{attribute} does not exist"
    if operator == "between" and isinstance(constant, list) and len(constant) == 2:
        return f"{attribute} between {_json(constant[0])} and {_json(constant[1])}"
    return f"{attribute} {_SYMBOLS.get(operator, operator)} {_json(constant)}"


def _json(value) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _described(value) -> str:
    return f"{kind(value)} {_json(value)}"


class _Members:
    """The elements of an `in` list, indexed by kind so that a lookup is one hash probe."""

    __slots__ = ("strings", "numbers", "booleans", "has_null", "others")

    def __init__(self, elements: list):
        self.strings = frozenset(element for element in elements if type(element) is str)
        self.numbers = frozenset(element for element in elements if type(element) in NUMBER_TYPES)
        self.booleans = frozenset(element for element in elements if type(element) is bool)
        self.has_null = any(element is None for element in elements)
        self.others = tuple(
            element
            for element in elements
            if element is not None and type(element) not in (str, int, float, bool)
        )

    def holds(self, value) -> bool:
        value_type = type(value)
        if value_type is str:
            return value in self.strings
        if value_type is int or value_type is float:
            return value in self.numbers
        if value_type is bool:
            return value in self.booleans
        if value is None:
            return self.has_null
        if value is MISSING:
            return False
        return any(same_value(value, element) for element in self.others)


def explainer(operator: str, prepared):
    """A function value -> reason (`matched` when the condition holds), for the trace."""
    if operator == "equal":

        def explain(value):
            if value is MISSING:
                return MISSING_VALUE
            if same_value(value, prepared):
                return MATCHED
            if value is None:
                return NULL_VALUE
            return NOT_MATCHED if kind(value) == kind(prepared) else TYPE_MISMATCH

        return explain
    if operator == "not_equal":

        def explain(value):
            if value is MISSING:
                return MISSING_VALUE
            if same_value(value, prepared):
                return NULL_VALUE if value is None else NOT_MATCHED
            return MATCHED

        return explain
    if operator in _ORDERING:
        compare = _ORDERING[operator]
        constant_kind = kind(prepared)

        def explain(value):
            if value is MISSING:
                return MISSING_VALUE
            if value is None:
                return NULL_VALUE
            if kind(value) != constant_kind:
                return TYPE_MISMATCH
            return MATCHED if compare(value, prepared) else NOT_MATCHED

        return explain
    if operator == "between":
        low, high = prepared

        def explain(value):
            if value is MISSING:
                return MISSING_VALUE
            if value is None:
                return NULL_VALUE
            if type(value) not in NUMBER_TYPES:
                return TYPE_MISMATCH
            return MATCHED if low <= value <= high else NOT_MATCHED

        return explain
    if operator in ("in", "range"):

        def explain(value):
            if value is MISSING:
                return MISSING_VALUE
            if prepared.holds(value):
                return MATCHED
            return NULL_VALUE if value is None else NOT_MATCHED

        return explain
    if operator == "not_in":

        def explain(value):
            if value is MISSING:
                return MISSING_VALUE
            if prepared.holds(value):
                return NULL_VALUE if value is None else NOT_MATCHED
            return MATCHED

        return explain
    if operator == "contains":

        def explain(value):
            if value is MISSING:
                return MISSING_VALUE
            if value is None:
                return NULL_VALUE
            value_type = type(value)
            if value_type is str:
                if type(prepared) is not str:
                    return TYPE_MISMATCH
                return MATCHED if prepared in value else NOT_MATCHED
            if value_type is list or value_type is tuple:
                return (
                    MATCHED
                    if any(same_value(element, prepared) for element in value)
                    else NOT_MATCHED
                )
            return TYPE_MISMATCH

        return explain
    if operator in ("starts_with", "ends_with"):
        starts = operator == "starts_with"

        def explain(value):
            if value is MISSING:
                return MISSING_VALUE
            if value is None:
                return NULL_VALUE
            if type(value) is not str:
                return TYPE_MISMATCH
            holds = value.startswith(prepared) if starts else value.endswith(prepared)
            return MATCHED if holds else NOT_MATCHED

        return explain
    if operator in _REGEX:
        return _regex_explainer(operator, prepared)
    if operator == "exists":

        def explain(value):
            if value is MISSING:
                return MISSING_VALUE
            return NULL_VALUE if value is None else MATCHED

        return explain
    if operator == "not_exists":

        def explain(value):
            return MATCHED if value is MISSING or value is None else NOT_MATCHED

        return explain
    raise ValueError(f"unknown operator {operator!r}")


def _regex_explainer(operator: str, pattern):
    negated = operator in ("regex_not_match", "regex_not_search")
    find = pattern.match if operator in ("regex_match", "regex_not_match") else pattern.search

    def explain(value):
        if value is MISSING:
            return MISSING_VALUE
        if value is None:
            # The original system lets a null value "not match" any pattern.
            return MATCHED if negated else NULL_VALUE
        if type(value) is not str:
            return TYPE_MISMATCH
        if len(value) > REGEX_MAX_INPUT_LENGTH:
            return INPUT_TOO_LONG
        try:
            found = find(value, timeout=REGEX_TIMEOUT_SECONDS) is not None
        except TimeoutError:
            return REGEX_TIMEOUT
        return MATCHED if found is not negated else NOT_MATCHED

    return explain


def fast_expression(attribute: str, operator: str, prepared, explain, bind, local_for) -> str:
    """Python source of a boolean expression for one condition, for the generated evaluation code.

    `bind(value)` puts a value in the generated code's namespace and returns its name;
    `local_for(key)` returns the names of the locals holding the key's value (MISSING when absent)
    and its type. Common operators on plain keys become inline expressions; the rest call a
    closure built on `explain`.
    """
    if "." not in attribute:
        expression = _inline_expression(attribute, operator, prepared, bind, local_for)
        if expression is not None:
            return expression
    return f"{bind(_data_test(attribute, operator, prepared, explain))}(data)"


def _data_test(attribute: str, operator: str, prepared, explain):
    lookup = attribute_lookup(attribute)
    if operator in ("in", "range"):
        members = prepared.holds

        def test(data, lookup=lookup, members=members):
            return members(lookup(data))

        return test
    if operator == "not_in":
        members = prepared.holds

        def test(data, lookup=lookup, members=members, missing=MISSING):
            value = lookup(data)
            return value is not missing and not members(value)

        return test

    def test(data, lookup=lookup, explain=explain, matched=MATCHED):
        return explain(lookup(data)) == matched

    return test


_COMPARISON_SYMBOLS = {
    "greater_than": ">",
    "greater_than_or_equal": ">=",
    "less_than": "<",
    "less_than_or_equal": "<=",
}


def _inline_expression(attribute: str, operator: str, prepared, bind, local_for) -> str | None:
    # Every constant goes through _literal() and attribute names only through local_for(), so
    # nothing in the spec can inject code: strings only ever appear as Python string literals.
    constant_kind = kind(prepared)
    is_singleton = prepared is None or prepared is True or prepared is False
    if operator in ("equal", "not_equal"):
        if constant_kind not in (STRING, NUMBER) and not is_singleton:
            return None
        value, value_type = local_for(attribute)
        constant = _literal(prepared, bind)
        if operator == "equal":
            if constant_kind == STRING:
                return f"{value} == {constant}"
            if constant_kind == NUMBER:
                return f"({value_type} in NUMBERS and {value} == {constant})"
            return f"{value} is {constant}"
        if constant_kind == STRING:
            return f"({value} is not MISSING and {value} != {constant})"
        if constant_kind == NUMBER:
            differs = f"({value_type} not in NUMBERS or {value} != {constant})"
            return f"({value} is not MISSING and {differs})"
        return f"({value} is not MISSING and {value} is not {constant})"
    if operator in _COMPARISON_SYMBOLS:
        value, value_type = local_for(attribute)
        kinds = "in NUMBERS" if constant_kind == NUMBER else "is str"
        symbol = _COMPARISON_SYMBOLS[operator]
        return f"({value_type} {kinds} and {value} {symbol} {_literal(prepared, bind)})"
    if operator == "between":
        value, value_type = local_for(attribute)
        low, high = (_literal(bound, bind) for bound in prepared)
        return f"({value_type} in NUMBERS and {low} <= {value} <= {high})"
    if operator in ("in", "range"):
        value, _ = local_for(attribute)
        return f"{bind(prepared.holds)}({value})"
    if operator == "not_in":
        value, _ = local_for(attribute)
        return f"({value} is not MISSING and not {bind(prepared.holds)}({value}))"
    return None


def _literal(value, bind) -> str:
    value_type = type(value)
    if value_type is str or value is None or value_type is bool:
        return repr(value)
    if value_type is int and -(10**18) < value < 10**18:
        return repr(value)
    if value_type is float and math.isfinite(value):
        return repr(value)
    return bind(value)
