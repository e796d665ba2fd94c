"""The evaluation step's input check: what every entry point refuses before it evaluates.

The API's parser already refuses bodies over API_MAX_BODY_BYTES, NaN and infinities (orjson reads
only JSON) and nesting deeper than ruleengine.api.rendering.MAX_JSON_DEPTH. The admin's try-it
reads its input with the json module, which takes NaN and Infinity, and the command line reads
lines of any length; so the same limits are checked here, on the decoded input, for everyone.
Each limit is at least as wide as the API's, so nothing the API accepts is refused here.
"""

import math

from django.conf import settings

# Longest string accepted anywhere in evaluate input; longer ones are refused, not truncated.
MAX_INPUT_STRING_LENGTH = 10_000
# Counted from the input object itself: in the API's body the input is one level deeper.
MAX_INPUT_DEPTH = 64

_SCALARS = frozenset({int, bool, type(None)})
_CHECKED = (str, float, dict, list)


class InputRefused(ValueError):
    """Evaluate input the service will not take; `str()` names the problem and where it is."""


def evaluation_input_check(data, where: str = "data") -> None:
    """Refuse what is not a JSON object or not fit to evaluate and log.

    That is: numbers JSON cannot hold (NaN, infinities), nesting deeper than MAX_INPUT_DEPTH, an
    input larger than API_MAX_BODY_BYTES as JSON, strings or keys longer than
    MAX_INPUT_STRING_LENGTH, and NUL characters (PostgreSQL stores none). `where` names the input
    in the message.
    """
    if not isinstance(data, dict):
        raise InputRefused(f"{where}: must be a JSON object")
    if not _acceptable(data, settings.API_MAX_BODY_BYTES):
        raise InputRefused(_problem(data, where, settings.API_MAX_BODY_BYTES))


def _acceptable(data: dict, max_bytes: int) -> bool:
    # The evaluate path's walk: one level at a time, no paths (they are built only on refusal,
    # by _problem). `size` is a lower bound of the compact JSON's length in bytes: two per
    # member (its separator and at least one character) plus the characters of strings and keys.
    limit = MAX_INPUT_STRING_LENGTH
    isfinite = math.isfinite
    size = 0
    depth = 0
    level = [data]
    while level:
        depth += 1
        if depth > MAX_INPUT_DEPTH:
            return False
        deeper = []
        for container in level:
            size += 2 * len(container)
            if isinstance(container, dict):
                for key in container:
                    if len(key) > limit or "\x00" in key:
                        return False
                    size += len(key)
                members = container.values()
            else:
                members = container
            for value in members:
                kind = type(value)
                if kind in _SCALARS:
                    continue
                if kind not in _CHECKED:  # a subclass, or no JSON type at all (left alone)
                    kind = next((base for base in _CHECKED if isinstance(value, base)), None)
                if kind is str:
                    if len(value) > limit or "\x00" in value:
                        return False
                    size += len(value)
                elif kind is float:
                    if not isfinite(value):
                        return False
                elif kind is not None:
                    deeper.append(value)
        level = deeper
    return size <= max_bytes


def _problem(data: dict, where: str, max_bytes: int) -> str:
    """What is wrong with a refused input, and where: the slow walk, run only on refusal."""
    size = 0
    stack = [(data, where, 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            if len(value) > MAX_INPUT_STRING_LENGTH:
                return (
                    f"{path}: string of {len(value)} characters; the limit is "
                    f"{MAX_INPUT_STRING_LENGTH}"
                )
            if "\x00" in value:
                return f"{path}: strings may not contain NUL characters"
            size += len(value)
        elif isinstance(value, float):
            if not math.isfinite(value):
                return f"{path}: {value} is not a number JSON can hold (NaN and Infinity are not)"
        elif isinstance(value, dict | list):
            if depth > MAX_INPUT_DEPTH:
                return f"{path}: nested deeper than {MAX_INPUT_DEPTH} levels"
            size += 2 * len(value)
            if isinstance(value, dict):
                for key, item in value.items():
                    if "\x00" in key or len(key) > MAX_INPUT_STRING_LENGTH:
                        return f"{path}: a key is too long or contains NUL characters"
                    size += len(key)
                    stack.append((item, f"{path}.{key}", depth + 1))
            else:
                stack.extend(
                    (item, f"{path}[{index}]", depth + 1) for index, item in enumerate(value)
                )
    return f"{where}: at least {size:,} bytes as JSON; the limit is {max_bytes:,}"
