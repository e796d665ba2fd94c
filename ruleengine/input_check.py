"""The input check: the JSON values every entry point refuses before it evaluates or stores them.

Pure Python with no Django, so the evaluation step (executions: the API, try-it, `manage.py
evaluate`, backtests), test cases and imports (rules) share one check with one set of messages.
It refuses, each with its JSON path:

- numbers JSON cannot hold: NaN, Infinity, and literals such as 1e400 that overflow a double;
- integers beyond ±(2^53 − 1): readers that hold JSON numbers as doubles (JavaScript, most log
  and dashboard tools, orjson for integers beyond 64 bits) round them silently, so they are
  refused rather than stored as a different number; identifiers that large belong in strings;
- in evaluate inputs, floats beyond the same bound, because orjson reads an integer literal
  beyond 64 bits as a float: after parsing, `18446744073709551617` and `1.8446744073709552e19`
  are the same value, and only refusing both keeps the rounding from being silent;
- nesting deeper than a limit, strings or keys longer than a limit, a total size above a limit;
- NUL characters (PostgreSQL stores none) and lone surrogates (not Unicode text; neither
  PostgreSQL nor UTF-8 can store them).

`json_text_load` reads JSON text with the json module (whose error messages name line and column)
without failing on what this check refuses: such numbers come back as `UnreadableNumber`
markers that the check then reports at their path.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterator

MAX_INPUT_DEPTH = 64
# Longest string accepted anywhere in evaluate input; longer ones are refused, not truncated.
MAX_INPUT_STRING_LENGTH = 10_000
# JavaScript's Number.MAX_SAFE_INTEGER: the largest integer every JSON reader keeps exact.
MAX_EXACT_INTEGER = 2**53 - 1
# Integer literals longer than this are beyond MAX_EXACT_INTEGER whatever their digits; they are
# never converted (Python refuses to convert more than 4,300 digits, and converting is quadratic).
_MAX_INTEGER_LITERAL = len(str(MAX_EXACT_INTEGER)) + 1
_SURROGATE = re.compile("[\ud800-\udfff]")
_SCALARS = frozenset({bool, type(None)})


class InputRefused(ValueError):
    """A JSON value the product will not take; `str()` names the problem and where it is."""

    def __init__(self, path: str, message: str):
        self.path, self.message = path, message
        super().__init__(f"{path}: {message}" if path else message)


class UnreadableNumber:
    """A number literal of JSON text that no double holds exactly: NaN, Infinity, 1e400, or an
    integer of more digits than MAX_EXACT_INTEGER. `text` is the literal as written."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return f"UnreadableNumber({self.text[:40]!r})"

    def description(self) -> str:
        text = self.text
        digits = len(text.lstrip("-"))
        if text.lstrip("-").isdigit():
            return _integer_beyond(text if digits <= 40 else f"of {digits:,} digits")
        return f"{text} is not a number JSON can hold (NaN and Infinity are not)"


def _integer_beyond(shown: str) -> str:
    return (
        f"the integer {shown} is beyond ±{MAX_EXACT_INTEGER:,} (2^53 − 1), the largest that every "
        "JSON reader keeps exact; send it as a string"
    )


def _integer_text(value: int) -> str:
    # str() refuses integers of more than 4,300 digits; the size is what matters then.
    if value.bit_length() <= 133:
        return str(value)
    return f"of about {int(value.bit_length() * math.log10(2)) + 1:,} digits"


def _parse_int(text: str):
    return UnreadableNumber(text) if len(text) > _MAX_INTEGER_LITERAL else int(text)


def _parse_float(text: str):
    value = float(text)
    return value if math.isfinite(value) else UnreadableNumber(text)


def json_text_load(text: str | bytes):
    """JSON text read with the json module, numbers no double holds marked as UnreadableNumber.

    Raises json.JSONDecodeError for malformed text (with its line and column), UnicodeDecodeError
    for bytes that are not UTF-8, and InputRefused for nesting too deep for the reader.
    """
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8-sig")
    try:
        return json.loads(
            text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=UnreadableNumber
        )
    except RecursionError as error:
        # The reader recurses per level; only the limit, not the place, can be told.
        raise InputRefused(
            "",
            f"nested deeper than {sys.getrecursionlimit():,} levels; the limit is "
            f"{MAX_INPUT_DEPTH}",
        ) from error


def input_check(
    data,
    *,
    where: str = "data",
    max_bytes: int | None,
    max_depth: int = MAX_INPUT_DEPTH,
    max_string_length: int | None = MAX_INPUT_STRING_LENGTH,
    float_limit: float = MAX_EXACT_INTEGER,
    object_required: bool = True,
) -> None:
    """Raise InputRefused naming the first problem of `data` and its path (from `where`).

    `max_bytes` bounds the compact JSON's size (None: not checked); `float_limit` the magnitude
    of floats (sys.float_info.max: any finite float); `object_required`: `data` must be an
    object. The walk for accepted values builds no paths, so evaluate inputs pay little.
    """
    if object_required and not isinstance(data, dict):
        raise InputRefused(where, "must be a JSON object")
    problems = input_problems(
        data,
        where=where,
        max_bytes=max_bytes,
        max_depth=max_depth,
        max_string_length=max_string_length,
        float_limit=float_limit,
    )
    for path, message in problems:
        raise InputRefused(path, message)


def _acceptable(data, max_bytes: int, max_depth: int, limit: int, float_limit: float) -> bool:
    # One level at a time, no paths. `size` is a lower bound of the compact JSON's length in
    # bytes: two per member (its separator and at least one character) plus the characters of
    # strings and keys, so whatever fits in a body of max_bytes passes.
    surrogate = _SURROGATE.search
    exact = MAX_EXACT_INTEGER
    size = 0
    depth = 0
    level = [data]
    while level:
        depth += 1
        if depth > max_depth:
            return False
        deeper = []
        for container in level:
            size += 2 * len(container)
            if isinstance(container, dict):
                for key in container:
                    if (
                        type(key) is not str
                        or len(key) > limit
                        or "\x00" in key
                        or (not key.isascii() and surrogate(key))
                    ):
                        return False
                    size += len(key)
                members = container.values()
            else:
                members = container
            for value in members:
                kind = type(value)
                if kind is int:
                    if not -exact <= value <= exact:
                        return False
                elif kind is str:
                    if len(value) > limit or "\x00" in value:
                        return False
                    if not value.isascii() and surrogate(value):
                        return False
                    size += len(value)
                elif kind in _SCALARS:
                    continue
                elif kind is float:
                    # Also false for NaN, which compares false with everything.
                    if not -float_limit <= value <= float_limit:
                        return False
                elif kind is dict or kind is list:
                    deeper.append(value)
                else:  # a subclass, a marker or no JSON type at all: the slow walk decides
                    return False
        level = deeper
    return size <= max_bytes


def input_problems(
    data,
    *,
    where: str = "data",
    max_bytes: int | None,
    max_depth: int = MAX_INPUT_DEPTH,
    max_string_length: int | None = MAX_INPUT_STRING_LENGTH,
    float_limit: float = MAX_EXACT_INTEGER,
) -> Iterator[tuple[str, str]]:
    """Every problem of `data` as (path, message), in document order; the size problem last.

    Accepted values cost one quick walk without paths; paths are built only for refused ones.
    """
    limit = max_string_length if max_string_length is not None else sys.maxsize
    if isinstance(data, dict | list) and _acceptable(
        data, sys.maxsize if max_bytes is None else max_bytes, max_depth, limit, float_limit
    ):
        return
    size = 0
    stack = [(data, where, 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, str):
            message = _string_problem(value, limit, "string")
            if message:
                yield path, message
            size += len(value)
        elif isinstance(value, int):
            if not -MAX_EXACT_INTEGER <= value <= MAX_EXACT_INTEGER:
                yield path, _integer_beyond(_integer_text(value))
        elif isinstance(value, float):
            if not math.isfinite(value):
                yield path, f"{value} is not a number JSON can hold (NaN and Infinity are not)"
            elif not -float_limit <= value <= float_limit:
                yield (
                    path,
                    (
                        f"{value!r} is beyond ±{MAX_EXACT_INTEGER:,} (2^53 − 1); a number that "
                        "large is not kept exact (an integer literal that large is read as an "
                        "approximate float); send it as a string"
                    ),
                )
        elif isinstance(value, UnreadableNumber):
            yield path, value.description()
        elif isinstance(value, dict | list):
            if depth > max_depth:
                yield path, f"nested deeper than {max_depth} levels"
                continue
            size += 2 * len(value)
            children = []
            if isinstance(value, dict):
                for key, item in value.items():
                    if not isinstance(key, str):
                        yield path, f"the key {key!r} is not a string"
                        continue
                    message = _string_problem(key, limit, "key")
                    if message:
                        yield path, message
                        continue
                    size += len(key)
                    children.append((item, _member_path(path, key), depth + 1))
            else:
                children = [
                    (item, f"{path}[{index}]", depth + 1) for index, item in enumerate(value)
                ]
            stack.extend(reversed(children))
        else:
            yield path, f"{type(value).__name__} is not a JSON value"
    if max_bytes is not None and size > max_bytes:
        yield where, f"at least {size:,} bytes as JSON; the limit is {max_bytes:,}"


def _member_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _string_problem(text: str, limit: int, kind: str) -> str | None:
    if len(text) > limit:
        if kind == "key":
            return "a key is too long or contains NUL characters"
        return f"string of {len(text)} characters; the limit is {limit}"
    if "\x00" in text:
        if kind == "key":
            return "a key is too long or contains NUL characters"
        return "strings may not contain NUL characters"
    if not text.isascii() and _SURROGATE.search(text):
        return (
            f"{'a key' if kind == 'key' else 'a string'} contains a lone surrogate "
            "(\\ud800–\\udfff), which is not Unicode text"
        )
    return None
