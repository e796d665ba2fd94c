"""Typing of rule constants: stored as text by the authoring tools, typed once at compile time."""

from __future__ import annotations

import ast
import json
import re

_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?")
_WORDS = {"true": True, "false": False, "null": None}

# JavaScript's Number.MAX_SAFE_INTEGER: the largest integer every JSON reader keeps exact. Inputs
# beyond it are refused by the input check, so a constant beyond it is refused too (compiler).
MAX_EXACT_INTEGER = 2**53 - 1
# Integer literals with more digits are beyond MAX_EXACT_INTEGER whatever the digits; they are
# never converted (Python refuses beyond 4,300 digits, and the conversion is quadratic).
_MAX_INTEGER_DIGITS = len(str(MAX_EXACT_INTEGER)) + 1


class IntegerOutOfRange:
    """An integer literal too long to convert: beyond MAX_EXACT_INTEGER (a compile problem)."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return f"IntegerOutOfRange({self.text[:40]!r})"

    def __eq__(self, other) -> bool:
        return type(other) is IntegerOutOfRange and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def _integer(text: str):
    digits = text.lstrip("+-")
    if len(digits.lstrip("0")) > _MAX_INTEGER_DIGITS:
        return IntegerOutOfRange(text)
    return int(text)


def parse_constant(constant):
    """Type a constant: numbers, list literals, quoted strings, true/false/null, else the text."""
    if not isinstance(constant, str):
        # Already typed, e.g. a JSON number in an imported file: keep it as it is.
        return constant
    text = constant.strip()
    if text in _WORDS:
        return _WORDS[text]
    if _INTEGER.fullmatch(text):
        return _integer(text)
    if _DECIMAL.fullmatch(text):
        return float(text)
    if len(text) >= 2 and text[0] == "[" and text[-1] == "]":
        parsed = _list_literal(text)
        if parsed is not None:
            return parsed
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return _quoted_string(text)
    return constant


def _list_literal(text: str) -> list | None:
    try:
        value = json.loads(text, parse_int=_integer)
    except ValueError:
        try:
            # The original system's files also hold Python-style lists: ['DC', 'Marvel'].
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return None
    if not isinstance(value, list) or not all(_is_json_value(item) for item in value):
        return None
    return _as_json(value)


def _quoted_string(text: str) -> str:
    if text[0] == '"':
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, str):
            return value
    return text[1:-1]


def _is_json_value(value) -> bool:
    if value is None or type(value) in (bool, int, float, str, IntegerOutOfRange):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_json_value(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _is_json_value(item) for key, item in value.items())
    return False


def _as_json(value):
    # Python literals may contain tuples; the engine only knows JSON shapes.
    if isinstance(value, (list, tuple)):
        return [_as_json(item) for item in value]
    if isinstance(value, dict):
        return {key: _as_json(item) for key, item in value.items()}
    return value
