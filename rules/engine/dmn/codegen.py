"""FEEL syntax trees → Python source text, with the constants the source refers to.

Only identifiers of our own making (`x0`, `K3`, helper names) and `repr()` of parsed values ever
reach the source, never cell text, so an uploaded model cannot inject code.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from . import values
from .feel import Arithmetic, Comparison, Interval, Literal, Name, Negate, UnaryTests
from .values import BOOLEAN, DATE, DATE_TIME, DURATION, NUMBER, STRING, TIME, value_kind


class CellProblem(ValueError):
    """A parsed cell that still cannot compile (an unknown name, a test of the wrong shape)."""


HELPERS = {
    "_date": date,
    "_datetime": datetime,
    "_time": time,
    "_timedelta": timedelta,
    "_NUM": values.NUMBER_TYPES,
    "_path": values.path_lookup,
    "_add": values.feel_add,
    "_subtract": values.feel_subtract,
    "_multiply": values.feel_multiply,
    "_divide": values.feel_divide,
    "_negate": values.feel_negate,
    "_eq": values.feel_equal,
    "_ne": values.feel_not_equal,
    "_lt": values.feel_less,
    "_le": values.feel_less_equal,
    "_gt": values.feel_greater,
    "_ge": values.feel_greater_equal,
}
_ARITHMETIC_HELPERS = {"+": "_add", "-": "_subtract", "*": "_multiply", "/": "_divide"}
_COMPARISON_HELPERS = {"=": "_eq", "!=": "_ne", "<": "_lt", "<=": "_le", ">": "_gt", ">=": "_ge"}
_ORDERED = {NUMBER, STRING, DATE, DATE_TIME, TIME, DURATION}


class Scope:
    """How names resolve for one table: column expressions → `x{i}`, known names → context."""

    def __init__(
        self, columns: dict[str, int], known: set[str] | None, bare_words_are_strings: bool
    ):
        self.columns = columns
        self.known = known  # None: any name (literal expressions without declared inputs)
        self.bare_words_are_strings = bare_words_are_strings

    def resolve(self, name: Name):
        """`("column", i)`, `("context", parts)` or `("literal", text)`; raises CellProblem."""
        if name.text in self.columns:
            return ("column", self.columns[name.text])
        if self.known is None or name.parts[0] in self.known:
            return ("context", name.parts)
        if self.bare_words_are_strings and len(name.parts) == 1:
            # The original system's reading of an unquoted word: a string (`metal` is "metal").
            return ("literal", name.text)
        raise CellProblem(
            f"unknown name '{name.text}' (a string needs double quotes: \"{name.text}\")"
        )


class Emitter:
    """Collects constants for one generated module and writes expression and test code."""

    def __init__(self):
        self.namespace: dict = dict(HELPERS)
        self._constant_names: dict = {}

    def constant(self, value) -> str:
        if value is None or type(value) in (bool, int, str):
            return repr(value)
        key = (type(value), value) if not isinstance(value, frozenset) else (frozenset, value)
        name = self._constant_names.get(key)
        if name is None:
            name = f"K{len(self._constant_names)}"
            self._constant_names[key] = name
            self.namespace[name] = value
        return name

    # ---- expressions ------------------------------------------------------------------------
    def fold(self, node, scope: Scope):
        """The node with names resolved; Literal when it has no names (computed at compile time)."""
        if isinstance(node, Literal):
            return node
        if isinstance(node, Name):
            where, detail = scope.resolve(node)
            return Literal(detail) if where == "literal" else node
        if isinstance(node, Negate):
            operand = self.fold(node.operand, scope)
            if isinstance(operand, Literal):
                return Literal(values.feel_negate(operand.value))
            return Negate(operand)
        if isinstance(node, Arithmetic):
            left, right = self.fold(node.left, scope), self.fold(node.right, scope)
            if isinstance(left, Literal) and isinstance(right, Literal):
                return Literal(values.ARITHMETIC[node.operator](left.value, right.value))
            return Arithmetic(node.operator, left, right)
        raise CellProblem(f"unsupported expression {type(node).__name__}")

    def expression(self, node, scope: Scope) -> str:
        node = self.fold(node, scope)
        return self._expression(node, scope)

    def _expression(self, node, scope: Scope) -> str:
        if isinstance(node, Literal):
            return self.constant(node.value)
        if isinstance(node, Name):
            where, detail = scope.resolve(node)
            if where == "column":
                return f"x{detail}"
            if len(detail) == 1:
                return f"ctx.get({detail[0]!r})"
            return f"_path(ctx, {self.constant(tuple(detail))})"
        if isinstance(node, Negate):
            return f"_negate({self._expression(node.operand, scope)})"
        if isinstance(node, Arithmetic):
            helper = _ARITHMETIC_HELPERS[node.operator]
            left = self._expression(node.left, scope)
            right = self._expression(node.right, scope)
            return f"{helper}({left}, {right})"
        raise CellProblem(f"unsupported expression {type(node).__name__}")

    # ---- unary tests ------------------------------------------------------------------------
    def _guard(self, var: str, value) -> str:
        kind = value_kind(value)
        if kind == NUMBER:
            return f"type({var}) in _NUM"
        if kind == STRING:
            return f"type({var}) is str"
        if kind == BOOLEAN:
            return f"type({var}) is bool"
        if kind == DATE:
            return f"type({var}) is _date"
        if kind in (DATE_TIME, TIME):
            helper = "_datetime" if kind == DATE_TIME else "_time"
            naive = value.tzinfo is None
            return f"type({var}) is {helper} and ({var}.tzinfo is None) is {naive}"
        if kind == DURATION:
            return f"type({var}) is _timedelta"
        raise CellProblem(f"a test cannot compare with {type(value).__name__}")

    def _comparison(self, test: Comparison, var: str, scope: Scope) -> tuple[str, str, set]:
        endpoint = self.fold(test.endpoint, scope)
        operator = test.operator
        if not isinstance(endpoint, Literal):
            call = f"{_COMPARISON_HELPERS[operator]}({var}, {self._expression(endpoint, scope)})"
            return f"{call} is True", f"{call} is False", set()
        value = endpoint.value
        if value is None:
            if operator not in ("=", "!="):
                raise CellProblem(f"'{operator} null' is never true; test for null with 'null'")
            positive, negative = f"{var} is None", f"{var} is not None"
            return (positive, negative, set()) if operator == "=" else (negative, positive, set())
        kind = value_kind(value)
        guard = self._guard(var, value)
        constant = self.constant(value)
        if operator in ("=", "!="):
            equal = f"{var} == {constant}" if kind == STRING else f"{guard} and {var} == {constant}"
            unequal = f"{var} is None or ({guard} and {var} != {constant})"
            return (equal, unequal, {kind}) if operator == "=" else (unequal, equal, {kind})
        if kind not in _ORDERED:
            raise CellProblem(f"'{operator}' does not apply to a {kind}")
        return (
            f"{guard} and {var} {operator} {constant}",
            f"{guard} and not {var} {operator} {constant}",
            {kind},
        )

    def _interval(self, test: Interval, var: str, scope: Scope) -> tuple[str, str, set]:
        low, high = self.fold(test.low, scope), self.fold(test.high, scope)
        low_operator = "<=" if test.low_closed else "<"
        high_operator = "<=" if test.high_closed else "<"
        if isinstance(low, Literal) and isinstance(high, Literal):
            low_kind, high_kind = value_kind(low.value), value_kind(high.value)
            if low.value is None or high.value is None:
                raise CellProblem("an interval cannot end in null")
            if low_kind != high_kind:
                raise CellProblem(f"the interval runs from a {low_kind} to a {high_kind}")
            if low_kind not in _ORDERED:
                raise CellProblem(f"an interval of {low_kind} values is not ordered")
            guard = self._guard(var, low.value)
            holds = (
                f"{self.constant(low.value)} {low_operator} {var} "
                f"{high_operator} {self.constant(high.value)}"
            )
            return f"{guard} and {holds}", f"{guard} and not ({holds})", {low_kind}
        low_helper = "_le" if test.low_closed else "_lt"
        high_helper = "_le" if test.high_closed else "_lt"
        low_code, high_code = self._expression(low, scope), self._expression(high, scope)
        low_call = f"{low_helper}({low_code}, {var})"
        high_call = f"{high_helper}({var}, {high_code})"
        return (
            f"({low_call} is True and {high_call} is True)",
            f"({low_call} is False or {high_call} is False)",
            set(),
        )

    def unary_tests(self, tests: UnaryTests, var: str, scope: Scope) -> tuple[str | None, set]:
        """(code true exactly when the entry matches, kinds it tests); None code for `-`."""
        if tests.any:
            return None, set()
        parts = []
        kinds: set = set()
        for test in tests.tests:
            if isinstance(test, Comparison):
                positive, negative, test_kinds = self._comparison(test, var, scope)
            else:
                positive, negative, test_kinds = self._interval(test, var, scope)
            kinds |= test_kinds
            parts.append(negative if tests.negated else positive)
        if not tests.negated:
            members = self._equality_set(tests, scope)
            if members is not None:
                return f"(type({var}) is str and {var} in {self.constant(members)})", kinds
            return " or ".join(f"({part})" for part in parts), kinds
        return " and ".join(f"({part})" for part in parts), kinds

    def _equality_set(self, tests: UnaryTests, scope: Scope) -> frozenset | None:
        if len(tests.tests) < 3:
            return None
        found = []
        for test in tests.tests:
            if not (isinstance(test, Comparison) and test.operator == "="):
                return None
            endpoint = self.fold(test.endpoint, scope)
            if not (isinstance(endpoint, Literal) and type(endpoint.value) is str):
                return None
            found.append(endpoint.value)
        return frozenset(found)


def literal_value(node, scope: Scope):
    """(True, value) when the expression is a constant for this scope, else (False, None)."""
    emitter = Emitter()
    folded = emitter.fold(node, scope)
    if isinstance(folded, Literal):
        return True, folded.value
    return False, None
