"""The supported FEEL subset: a tokenizer and a recursive-descent parser into a small syntax tree.

Only what decision-table cells need (see the package docstring for the exact list). Anything else
raises `FeelSyntaxError` with the position and what was found, so that compiling can name the cell
instead of silently never matching.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from .values import value_kind


class FeelSyntaxError(ValueError):
    """The text is not in the supported FEEL subset; the message says where and why."""


# ---- syntax tree -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    value: object


@dataclass(frozen=True)
class Name:
    parts: tuple[str, ...]

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Negate:
    operand: object


@dataclass(frozen=True)
class Arithmetic:
    operator: str  # + - * /
    left: object
    right: object


@dataclass(frozen=True)
class Comparison:
    """A unary test `< e`, `<= e`, `> e`, `>= e`, `= e`, `!= e` (a bare `e` is `= e`)."""

    operator: str
    endpoint: object


@dataclass(frozen=True)
class Interval:
    low_closed: bool
    low: object
    high: object
    high_closed: bool


@dataclass(frozen=True)
class UnaryTests:
    """A whole input entry: `-` (any), a disjunction of tests, or `not(...)` of one."""

    tests: tuple  # of Comparison | Interval; empty when `any`
    negated: bool = False
    any: bool = False


ANY = UnaryTests(tests=(), any=True)

# ---- literals of the temporal types ------------------------------------------------------------

_DURATION = re.compile(
    r"(?P<sign>-)?P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> timedelta:
    """An ISO 8601 days-and-time duration (`P1DT2H`, `PT90M`, `-P3D`) as a timedelta."""
    match = _DURATION.match(text)
    if match is None or text in ("P", "-P") or text.endswith("T"):
        raise ValueError(f"'{text}' is not an ISO 8601 duration such as P1D or PT2H")
    if match["years"] or match["months"]:
        raise ValueError(f"'{text}': years-and-months durations are not supported")
    value = timedelta(
        weeks=int(match["weeks"] or 0),
        days=int(match["days"] or 0),
        hours=int(match["hours"] or 0),
        minutes=int(match["minutes"] or 0),
        seconds=float(match["seconds"] or 0),
    )
    return -value if match["sign"] else value


def parse_date(text: str) -> date:
    """A FEEL date literal `YYYY-MM-DD`."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError(f"'{text}' is not a date such as 2024-01-31")
    return date.fromisoformat(text)


def parse_date_time(text: str) -> datetime:
    """A FEEL date-and-time literal `YYYY-MM-DDThh:mm:ss` with an optional offset or `Z`."""
    if not re.fullmatch(
        r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:\d{2})?", text
    ):
        raise ValueError(f"'{text}' is not a date and time such as 2024-01-31T09:30:00")
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def parse_time(text: str) -> time:
    """A FEEL time literal `hh:mm:ss` with an optional offset."""
    if not re.fullmatch(r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?", text):
        raise ValueError(f"'{text}' is not a time such as 09:30:00")
    return time.fromisoformat(text.replace("Z", "+00:00"))


_CONSTRUCTORS = {
    "date": parse_date,
    "date and time": parse_date_time,
    "time": parse_time,
    "duration": parse_duration,
}

# ---- tokens ------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d+)?|\.\d+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<function>date\s+and\s+time(?=\s*\())
  | (?P<name>[^\W\d][\w]*)
  | (?P<operator>\.\.|<=|>=|!=|\*\*|[<>=(),\[\]+\-*/.])
    """,
    re.VERBOSE,
)
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "'": "'"}
_KEYWORDS = {"true": True, "false": False, "null": None}


@dataclass(frozen=True)
class _Token:
    kind: str  # number, string, name, function, operator, end
    text: str
    position: int


def _string_value(token_text: str, position: int) -> str:
    body = token_text[1:-1]
    out = []
    index = 0
    while index < len(body):
        char = body[index]
        if char != "\\":
            out.append(char)
            index += 1
            continue
        escape = body[index + 1]
        if escape == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[index + 2 : index + 6]):
            out.append(chr(int(body[index + 2 : index + 6], 16)))
            index += 6
        elif escape in _ESCAPES:
            out.append(_ESCAPES[escape])
            index += 2
        else:
            raise FeelSyntaxError(
                f"unknown escape '\\{escape}' in the string at column {position + 1}"
            )
    return "".join(out)


def _tokens(text: str) -> list[_Token]:
    tokens = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            char = text[position]
            hint = {
                "{": " (contexts are not supported)",
                "'": " (strings take double quotes)",
                "?": " (the `?` cell input is not supported)",
            }.get(char, "")
            raise FeelSyntaxError(f"unsupported character '{char}' at column {position + 1}{hint}")
        kind = match.lastgroup
        if kind != "space":
            tokens.append(_Token(kind, match.group(), position))
        position = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


# ---- parser ------------------------------------------------------------------------------------


# Limits on one cell: the parser recurses and the generated code nests one call per operator, so
# an uploaded cell of thousands of nested operators must be refused, not crash the compiler.
MAX_CELL_LENGTH = 10_000
MAX_OPERATORS = 64
MAX_PARENTHESES = 32


class _Parser:
    def __init__(self, text: str):
        if len(text) > MAX_CELL_LENGTH:
            raise FeelSyntaxError(f"the cell is longer than {MAX_CELL_LENGTH:,} characters")
        self.text = text
        self.tokens = _tokens(text)
        self.index = 0
        operators = sum(t.kind == "operator" and t.text in "+-*/" for t in self.tokens)
        parentheses = sum(t.kind == "operator" and t.text == "(" for t in self.tokens)
        if operators > MAX_OPERATORS or parentheses > MAX_PARENTHESES:
            raise FeelSyntaxError(
                f"the cell is too complex (at most {MAX_OPERATORS} arithmetic operators and "
                f"{MAX_PARENTHESES} parentheses)"
            )

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def peek(self, offset: int = 1) -> _Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at(self, *texts: str) -> bool:
        return self.token.kind == "operator" and self.token.text in texts

    def expect(self, text: str) -> None:
        if not self.at(text):
            self.fail(f"expected '{text}'")
        self.take()

    def fail(self, message: str):
        token = self.token
        found = "the end" if token.kind == "end" else f"'{token.text}'"
        raise FeelSyntaxError(f"{message} at column {token.position + 1}, found {found}")

    def end(self) -> None:
        if self.token.kind != "end":
            if (
                self.token.kind == "name"
                and self.index > 0
                and self.tokens[self.index - 1].kind == "name"
            ):
                self.fail(
                    "unsupported FEEL construct (names with spaces and keywords are not supported)"
                )
            self.fail("unexpected text")

    # unary tests ---------------------------------------------------------------------------
    def unary_tests(self) -> UnaryTests:
        if self.token.kind == "end":
            return ANY
        if self.at("-") and self.peek().kind == "end":
            self.take()
            return ANY
        if self.token.kind == "name" and self.token.text == "not" and self.peek().text == "(":
            self.take()
            self.take()
            tests = self.positive_tests()
            self.expect(")")
            self.end()
            return UnaryTests(tests=tests, negated=True)
        tests = self.positive_tests()
        self.end()
        return UnaryTests(tests=tests)

    def positive_tests(self) -> tuple:
        tests = [self.positive_test()]
        while self.at(","):
            self.take()
            tests.append(self.positive_test())
        return tuple(tests)

    def positive_test(self):
        if self.at("<", "<=", ">", ">=", "=", "!="):
            operator = self.take().text
            return Comparison(operator, self.endpoint())
        if self.at("[", "]"):
            return self.interval()
        if self.at("("):
            start = self.index
            self.take()
            self.expression()
            if self.at(".."):
                self.index = start
                return self.interval()
            self.index = start
        return Comparison("=", self.expression())

    def interval(self) -> Interval:
        opening = self.take().text
        low = self.endpoint()
        if self.at(",") and opening == "[":
            self.fail("list literals are not supported (write the tests separated by commas)")
        self.expect("..")
        high = self.endpoint()
        if not self.at("]", ")", "["):
            self.fail("expected ']' or ')' to close the interval")
        closing = self.take().text
        return Interval(opening == "[", low, high, closing == "]")

    def endpoint(self):
        # An endpoint is a simple value: a literal, a name, or arithmetic of them (DMN 1.3 §10.3.1).
        return self.expression()

    # expressions ---------------------------------------------------------------------------
    def expression(self):
        left = self.term()
        while self.at("+", "-"):
            operator = self.take().text
            left = Arithmetic(operator, left, self.term())
        return left

    def term(self):
        left = self.factor()
        while self.at("*", "/"):
            operator = self.take().text
            left = Arithmetic(operator, left, self.factor())
        if self.at("**"):
            self.fail("exponentiation is not supported")
        return left

    def factor(self):
        if self.at("-"):
            self.take()
            operand = self.factor()
            if isinstance(operand, Literal) and value_kind(operand.value) == "number":
                return Literal(-operand.value)
            return Negate(operand)
        if self.at("**"):
            self.fail("exponentiation is not supported")
        return self.primary()

    def primary(self):
        token = self.token
        if token.kind == "number":
            self.take()
            return Literal(float(token.text) if "." in token.text else int(token.text))
        if token.kind == "string":
            self.take()
            return Literal(_string_value(token.text, token.position))
        if token.kind == "function" or (token.kind == "name" and self.peek().text == "("):
            return self.constructor()
        if token.kind == "name":
            if token.text in _KEYWORDS:
                self.take()
                return Literal(_KEYWORDS[token.text])
            if token.text in ("not", "and", "or", "if", "for", "some", "every", "in", "instance"):
                self.fail(f"'{token.text}' is not supported here")
            parts = [self.take().text]
            while self.at(".") and self.peek().kind == "name":
                self.take()
                parts.append(self.take().text)
            if self.token.kind == "name" and self.peek().text == "(":
                self.fail(f"function '{' '.join(parts)} {self.token.text}' is not supported")
            return Name(tuple(parts))
        if self.at("("):
            self.take()
            inner = self.expression()
            self.expect(")")
            return inner
        if self.at("["):
            self.fail("list literals are not supported (write the tests separated by commas)")
        self.fail("expected a value")

    def constructor(self):
        token = self.take()
        name = re.sub(r"\s+", " ", token.text)
        parse = _CONSTRUCTORS.get(name)
        if parse is None:
            self.index -= 1
            self.fail(
                f"function '{name}' is not supported (only date, date and time, time and duration)"
            )
        self.expect("(")
        argument = self.token
        if argument.kind != "string":
            self.fail(f"{name}() takes one string literal")
        self.take()
        self.expect(")")
        try:
            return Literal(parse(_string_value(argument.text, argument.position)))
        except ValueError as error:
            raise FeelSyntaxError(f"{name}(): {error}") from None


def parse_unary_tests(text: str) -> UnaryTests:
    """An input entry (or allowed values) as unary tests; raises FeelSyntaxError."""
    return _Parser(text.strip()).unary_tests()


def parse_expression(text: str):
    """An output entry, literal expression or input expression; raises FeelSyntaxError."""
    parser = _Parser(text.strip())
    if parser.token.kind == "end":
        raise FeelSyntaxError("the expression is empty")
    expression = parser.expression()
    parser.end()
    return expression


def literal_values(tests: UnaryTests) -> list | None:
    """The values of tests that are all plain literals (`"a","b"`), in order; else None."""
    if tests.any or tests.negated:
        return None
    values = []
    for test in tests.tests:
        if not (
            isinstance(test, Comparison)
            and test.operator == "="
            and isinstance(test.endpoint, Literal)
        ):
            return None
        values.append(test.endpoint.value)
    return values


def literal_text(value) -> str:
    """A value as the FEEL literal that reads back as the same value."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    kind = value_kind(value)
    if kind == "string":
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if kind == "number":
        return repr(value)
    if kind == "date":
        return f'date("{value.isoformat()}")'
    if kind == "dateTime":
        return f'date and time("{value.isoformat()}")'
    if kind == "time":
        return f'time("{value.isoformat()}")'
    if kind == "duration":
        return f'duration("{duration_text(value)}")'
    raise ValueError(f"no FEEL literal for {type(value).__name__}")


def duration_text(value: timedelta) -> str:
    """A timedelta as an ISO 8601 duration (`P1DT2H`)."""
    sign = "-" if value < timedelta(0) else ""
    value = abs(value)
    seconds = value.seconds + value.microseconds / 1e6
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    clock = ""
    if hours:
        clock += f"{int(hours)}H"
    if minutes:
        clock += f"{int(minutes)}M"
    if seconds:
        clock += f"{seconds:g}S"
    text = f"{sign}P" + (f"{value.days}D" if value.days or not clock else "")
    return text + (f"T{clock}" if clock else "")


__all__ = [
    "ANY",
    "Arithmetic",
    "Comparison",
    "FeelSyntaxError",
    "Interval",
    "Literal",
    "Name",
    "Negate",
    "UnaryTests",
    "literal_text",
    "literal_values",
    "parse_expression",
    "parse_unary_tests",
]
