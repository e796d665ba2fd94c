"""The operators a condition can use: the constant each accepts, how it reads, how it evaluates.

Each operator is one `Operator` record in `OPERATORS`, so adding an operator touches one place. It
evaluates twice from the same rules: as an inline expression in the generated evaluation code
(`evaluate()`), and through an `explain` function used by the trace, which also says why a
condition did not hold. The tests check both against a separate reference interpreter.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from operator import ge, gt, le, lt
from types import MappingProxyType

from .regexes import (
    REGEX_MAX_INPUT_LENGTH,
    REGEX_MAX_PATTERN_LENGTH,
    RegexRefused,
    regex_compile,
)
from .values import MISSING, NUMBER, NUMBER_TYPES, STRING, attribute_lookup, kind, same_value

MATCHED = "matched"
NOT_MATCHED = "not_matched"
MISSING_VALUE = "missing"
NULL_VALUE = "null"
TYPE_MISMATCH = "type_mismatch"
INPUT_TOO_LONG = "input_too_long"


def _explained_test(lookup, prepared, explain):
    def test(data, lookup=lookup, explain=explain, matched=MATCHED):
        return explain(lookup(data)) == matched

    return test


@dataclass(frozen=True)
class Operator:
    """One operator: how the authoring tools show it, its constant, its text, code and explanation.

    The callables run when a ruleset compiles. What they build runs per evaluation: the source from
    `inline_expression` inside the generated code, and the functions from `explainer` and
    `data_test`.
    """

    name: str
    label: str  # the authoring tools' dropdown label
    constant_help: str
    _: KW_ONLY
    # (attribute, constant) -> the condition as a person reads it, e.g. `credit_score > 700`.
    condition_text: Callable[[str, object], str] = field(repr=False)
    # (operator name, constant) -> (prepared constant, problem message or None).
    prepare: Callable[[str, object], tuple[object, str | None]] = field(repr=False)
    # prepared constant -> a function value -> reason (`matched` when the condition holds).
    explainer: Callable[[object], Callable[[object], str]] = field(repr=False)
    # (attribute, prepared, bind, local_for) -> source of a boolean expression on a plain key, or
    # None where only the explain function will do; see fast_expression().
    inline_expression: Callable[..., str | None] | None = field(default=None, repr=False)
    # (lookup, prepared, explain) -> a function data -> bool, for a condition not written inline.
    data_test: Callable[..., Callable[[dict], bool]] = field(default=_explained_test, repr=False)
    takes_constant: bool = True
    # A constant such as "123" stays the string "123" instead of becoming a number.
    constant_is_text: bool = False
    # Its time grows with the length of the input value (a regex, a substring or list search),
    # so the evaluation budget is checked before it; every other operator's time is bounded by
    # its constant's size.
    scans_input: bool = False
    # Relative cost in the ruleset cost estimate (compiler.ruleset_cost): a comparison is 1.
    cost: int = 1


# The name the authoring tools knew this record by, when it only had name, label and help.
OperatorInfo = Operator


def operator_suggestions(name) -> str:
    """A hint naming the operators closest to an unknown one."""
    close = difflib.get_close_matches(str(name), list(OPERATORS), n=3, cutoff=0.5)
    if close:
        return "did you mean " + ", ".join(f"'{candidate}'" for candidate in close) + "?"
    return "known operators: " + ", ".join(OPERATORS)


def fast_expression(attribute: str, operator: Operator, prepared, explain, bind, local_for) -> str:
    """Python source of a boolean expression for one condition, for the generated evaluation code.

    `bind(value)` puts a value in the generated code's namespace and returns its name;
    `local_for(key)` returns the names of the locals holding the key's value (MISSING when absent)
    and its type. Common operators on plain keys become inline expressions; the rest call a
    closure, by default one built on `explain`.
    """
    if "." not in attribute and operator.inline_expression is not None:
        expression = operator.inline_expression(attribute, prepared, bind, local_for)
        if expression is not None:
            return expression
    lookup = attribute_lookup(attribute)
    return f"{bind(operator.data_test(lookup, prepared, explain))}(data)"


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


# ---- condition texts -----------------------------------------------------------------------------


def _infix(symbol: str):
    def condition_text(attribute, constant):
        return f"{attribute} {symbol} {_json(constant)}"

    return condition_text


def _postfix(words: str):
    def condition_text(attribute, constant):
        return f"{attribute} {words}"

    return condition_text


def _between_text(attribute, constant):
    if isinstance(constant, list) and len(constant) == 2:
        return f"{attribute} between {_json(constant[0])} and {_json(constant[1])}"
    return f"{attribute} between {_json(constant)}"


# ---- constant preparation ------------------------------------------------------------------------


def _any_constant(name, constant):
    return constant, None


def _number_or_string(name, constant):
    if kind(constant) not in (NUMBER, STRING):
        return None, f"'{name}' needs a number or a string, not {_described(constant)}"
    return constant, None


def _number_bounds(name, constant):
    if (
        not isinstance(constant, list)
        or len(constant) != 2
        or not all(type(bound) in NUMBER_TYPES for bound in constant)
    ):
        return None, f"'{name}' needs a list of two numbers [low, high], not {_described(constant)}"
    if constant[0] > constant[1]:
        return None, f"'{name}' needs low <= high, got {_json(constant)}"
    return (constant[0], constant[1]), None


def _value_list(name, constant):
    if not isinstance(constant, list):
        return (
            None,
            f'\'{name}\' needs a list of values, e.g. ["a", "b"], not {_described(constant)}',
        )
    return _Members(constant), None


def _string(name, constant):
    if kind(constant) != STRING:
        return None, f"'{name}' needs a string, not {_described(constant)}"
    return constant, None


def _pattern(name, constant):
    if kind(constant) != STRING:
        return None, f"'{name}' needs a regular expression string, not {_described(constant)}"
    try:
        return regex_compile(constant), None
    except RegexRefused as refusal:
        shown = constant if len(constant) <= 80 else constant[:60] + "…"
        return None, f"regular expression {_json(shown)} {refusal}"


# ---- explanations (the trace) --------------------------------------------------------------------


def _equal_explainer(constant):
    def explain(value):
        if value is MISSING:
            return MISSING_VALUE
        if same_value(value, constant):
            return MATCHED
        if value is None:
            return NULL_VALUE
        return NOT_MATCHED if kind(value) == kind(constant) else TYPE_MISMATCH

    return explain


def _not_equal_explainer(constant):
    def explain(value):
        if value is MISSING:
            return MISSING_VALUE
        if same_value(value, constant):
            return NULL_VALUE if value is None else NOT_MATCHED
        return MATCHED

    return explain


def _ordering_explainer(compare):
    def explainer(constant):
        constant_kind = kind(constant)

        def explain(value):
            if value is MISSING:
                return MISSING_VALUE
            if value is None:
                return NULL_VALUE
            if kind(value) != constant_kind:
                return TYPE_MISMATCH
            return MATCHED if compare(value, constant) else NOT_MATCHED

        return explain

    return explainer


def _between_explainer(bounds):
    low, high = bounds

    def explain(value):
        if value is MISSING:
            return MISSING_VALUE
        if value is None:
            return NULL_VALUE
        if type(value) not in NUMBER_TYPES:
            return TYPE_MISMATCH
        return MATCHED if low <= value <= high else NOT_MATCHED

    return explain


def _member_explainer(members):
    def explain(value):
        if value is MISSING:
            return MISSING_VALUE
        if members.holds(value):
            return MATCHED
        return NULL_VALUE if value is None else NOT_MATCHED

    return explain


def _not_member_explainer(members):
    def explain(value):
        if value is MISSING:
            return MISSING_VALUE
        if members.holds(value):
            return NULL_VALUE if value is None else NOT_MATCHED
        return MATCHED

    return explain


def _contains_explainer(constant):
    def explain(value):
        if value is MISSING:
            return MISSING_VALUE
        if value is None:
            return NULL_VALUE
        value_type = type(value)
        if value_type is str:
            if type(constant) is not str:
                return TYPE_MISMATCH
            return MATCHED if constant in value else NOT_MATCHED
        if value_type is list or value_type is tuple:
            return (
                MATCHED if any(same_value(element, constant) for element in value) else NOT_MATCHED
            )
        return TYPE_MISMATCH

    return explain


def _affix_explainer(has_affix):
    """`has_affix` is str.startswith or str.endswith."""

    def explainer(affix):
        def explain(value):
            if value is MISSING:
                return MISSING_VALUE
            if value is None:
                return NULL_VALUE
            if type(value) is not str:
                return TYPE_MISMATCH
            return MATCHED if has_affix(value, affix) else NOT_MATCHED

        return explain

    return explainer


def _regex_explainer(*, at_start: bool, negated: bool):
    def explainer(pattern):
        find = pattern.match if at_start else pattern.search

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
            return MATCHED if find(value) is not negated else NOT_MATCHED

        return explain

    return explainer


def _exists_explainer(constant):
    def explain(value):
        if value is MISSING:
            return MISSING_VALUE
        return NULL_VALUE if value is None else MATCHED

    return explain


def _not_exists_explainer(constant):
    def explain(value):
        return MATCHED if value is MISSING or value is None else NOT_MATCHED

    return explain


# ---- inline expressions (the generated evaluation code) ------------------------------------------
# Every constant goes through _literal() and attribute names only through local_for(), so nothing
# in the spec can inject code: strings only ever appear as Python string literals. An expression
# that returns None must do so before calling local_for(), which makes the code read the key.


def _literal(value, bind) -> str:
    value_type = type(value)
    if value_type is str or value is None or value_type is bool:
        return repr(value)
    if value_type is int and -(10**18) < value < 10**18:
        return repr(value)
    if value_type is float and math.isfinite(value):
        return repr(value)
    return bind(value)


def _inlines_equality(constant) -> bool:
    # Lists and objects compare element by element: their explain function does that.
    return (
        kind(constant) in (STRING, NUMBER)
        or constant is None
        or constant is True
        or constant is False
    )


def _equal_expression(attribute, constant, bind, local_for):
    if not _inlines_equality(constant):
        return None
    value, value_type = local_for(attribute)
    literal = _literal(constant, bind)
    constant_kind = kind(constant)
    if constant_kind == STRING:
        return f"{value} == {literal}"
    if constant_kind == NUMBER:
        return f"({value_type} in NUMBERS and {value} == {literal})"
    return f"{value} is {literal}"


def _not_equal_expression(attribute, constant, bind, local_for):
    if not _inlines_equality(constant):
        return None
    value, value_type = local_for(attribute)
    literal = _literal(constant, bind)
    constant_kind = kind(constant)
    if constant_kind == STRING:
        return f"({value} is not MISSING and {value} != {literal})"
    if constant_kind == NUMBER:
        differs = f"({value_type} not in NUMBERS or {value} != {literal})"
        return f"({value} is not MISSING and {differs})"
    return f"({value} is not MISSING and {value} is not {literal})"


def _ordering_expression(symbol: str):
    def expression(attribute, constant, bind, local_for):
        value, value_type = local_for(attribute)
        kinds = "in NUMBERS" if kind(constant) == NUMBER else "is str"
        return f"({value_type} {kinds} and {value} {symbol} {_literal(constant, bind)})"

    return expression


def _between_expression(attribute, bounds, bind, local_for):
    value, value_type = local_for(attribute)
    low, high = (_literal(bound, bind) for bound in bounds)
    return f"({value_type} in NUMBERS and {low} <= {value} <= {high})"


def _member_expression(attribute, members, bind, local_for):
    value, _ = local_for(attribute)
    return f"{bind(members.holds)}({value})"


def _not_member_expression(attribute, members, bind, local_for):
    value, _ = local_for(attribute)
    return f"({value} is not MISSING and not {bind(members.holds)}({value}))"


# ---- data tests (dotted paths) -------------------------------------------------------------------
# Membership skips the explain function's reasons: one call fewer on every evaluation.


def _member_test(lookup, members, explain):
    def test(data, lookup=lookup, members=members.holds):
        return members(lookup(data))

    return test


def _not_member_test(lookup, members, explain):
    def test(data, lookup=lookup, members=members.holds, missing=MISSING):
        value = lookup(data)
        return value is not missing and not members(value)

    return test


# ---- the operators -------------------------------------------------------------------------------

_ORDERING_HELP = (
    "A number, or a string (compared alphabetically). Strings never compare with numbers."
)
_LIST_HELP = 'A list of values, e.g. ["DC", "Marvel"] or [1, 2, 3].'
_REGEX_HELP = (
    f"A regular expression in RE2 syntax (Python's, without backreferences, lookaround or "
    f"possessive quantifiers; \\d, \\w, \\s, \\b are ASCII, \\pL is any letter), at most "
    f"{REGEX_MAX_PATTERN_LENGTH:,} characters. Inputs longer than {REGEX_MAX_INPUT_LENGTH:,} "
    "characters never match."
)
_NO_CONSTANT_HELP = "No constant needed."


def _ordering(name: str, label: str, symbol: str, compare) -> Operator:
    return Operator(
        name,
        label,
        _ORDERING_HELP,
        condition_text=_infix(symbol),
        prepare=_number_or_string,
        explainer=_ordering_explainer(compare),
        inline_expression=_ordering_expression(symbol),
    )


def _membership(name: str, label: str, constant_help: str) -> Operator:
    return Operator(
        name,
        label,
        constant_help,
        condition_text=_infix("in"),
        prepare=_value_list,
        explainer=_member_explainer,
        inline_expression=_member_expression,
        data_test=_member_test,
    )


def _regex(name: str, label: str, symbol: str, *, at_start: bool, negated: bool) -> Operator:
    return Operator(
        name,
        label,
        _REGEX_HELP,
        condition_text=_infix(symbol),
        prepare=_pattern,
        explainer=_regex_explainer(at_start=at_start, negated=negated),
        constant_is_text=True,
        scans_input=True,
        # Measured: a test of a short string costs about 20 comparisons.
        cost=20,
    )


# In the authoring tools' order.
OPERATORS: MappingProxyType[str, Operator] = MappingProxyType(
    {
        operator.name: operator
        for operator in (
            Operator(
                "equal",
                "equals",
                "Any value: a number, a quoted or plain string, true/false, null or a list.",
                condition_text=_infix("=="),
                prepare=_any_constant,
                explainer=_equal_explainer,
                inline_expression=_equal_expression,
            ),
            Operator(
                "not_equal",
                "does not equal",
                "Any value; holds for every present value that differs.",
                condition_text=_infix("!="),
                prepare=_any_constant,
                explainer=_not_equal_explainer,
                inline_expression=_not_equal_expression,
            ),
            _ordering("greater_than", "is greater than", ">", gt),
            _ordering("greater_than_or_equal", "is greater than or equal to", ">=", ge),
            _ordering("less_than", "is less than", "<", lt),
            _ordering("less_than_or_equal", "is less than or equal to", "<=", le),
            Operator(
                "between",
                "is between (inclusive)",
                "Two numbers [low, high]; holds when low <= value <= high.",
                condition_text=_between_text,
                prepare=_number_bounds,
                explainer=_between_explainer,
                inline_expression=_between_expression,
            ),
            _membership("in", "is one of", _LIST_HELP),
            _membership("range", "is one of (original name)", _LIST_HELP + " Same as 'in'."),
            Operator(
                "not_in",
                "is not one of",
                _LIST_HELP,
                condition_text=_infix("not in"),
                prepare=_value_list,
                explainer=_not_member_explainer,
                inline_expression=_not_member_expression,
                data_test=_not_member_test,
            ),
            Operator(
                "contains",
                "contains",
                "A string (substring of a string value) or any value (element of a list value).",
                condition_text=_infix("contains"),
                prepare=_any_constant,
                explainer=_contains_explainer,
                scans_input=True,
                cost=5,
            ),
            Operator(
                "starts_with",
                "starts with",
                "A string.",
                condition_text=_infix("starts with"),
                prepare=_string,
                explainer=_affix_explainer(str.startswith),
                constant_is_text=True,
            ),
            Operator(
                "ends_with",
                "ends with",
                "A string.",
                condition_text=_infix("ends with"),
                prepare=_string,
                explainer=_affix_explainer(str.endswith),
                constant_is_text=True,
            ),
            _regex(
                "regex",
                "matches the regular expression (search)",
                "matches",
                at_start=False,
                negated=False,
            ),
            _regex(
                "regex_match",
                "matches the regular expression at the start",
                "matches at start",
                at_start=True,
                negated=False,
            ),
            _regex(
                "regex_search",
                "contains a match of the regular expression",
                "matches",
                at_start=False,
                negated=False,
            ),
            _regex(
                "regex_not_match",
                "does not match the regular expression at the start",
                "does not match at start",
                at_start=True,
                negated=True,
            ),
            _regex(
                "regex_not_search",
                "contains no match of the regular expression",
                "does not match",
                at_start=False,
                negated=True,
            ),
            Operator(
                "exists",
                "is present (not null)",
                _NO_CONSTANT_HELP,
                condition_text=_postfix("exists"),
                prepare=_any_constant,
                explainer=_exists_explainer,
                takes_constant=False,
            ),
            Operator(
                "not_exists",
                "is absent or null",
                _NO_CONSTANT_HELP,
                condition_text=_postfix("does not exist"),
                prepare=_any_constant,
                explainer=_not_exists_explainer,
                takes_constant=False,
            ),
        )
    }
)
