"""The types of the attributes catalog and the check of input values against them.

Pure Python like the rest of the engine: the services validate catalog entries with it and the
evaluation step checks inputs with it on the hot path, so a check is a few type tests per field.
A value's kind follows the engine's own type rules (values.kind): true is a boolean, never a
number, and 5.0 is an integer.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from .values import MISSING, attribute_lookup, kind

STRING, NUMBER, INTEGER, BOOLEAN, DATE, LIST = (
    "string",
    "number",
    "integer",
    "boolean",
    "date",
    "list",
)
ATTRIBUTE_TYPES = (STRING, NUMBER, INTEGER, BOOLEAN, DATE, LIST)
NUMERIC_TYPES = frozenset((NUMBER, INTEGER))

# What the engine's ordering operators compare dates as: ISO text (2026-01-31, with a time).
_ISO_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?\Z"
)
# Values shown in a message are cut here: an input may hold long text.
SHOWN_VALUE_LIMIT = 60


def value_shown(value) -> str:
    text = repr(value)
    return text if len(text) <= SHOWN_VALUE_LIMIT else text[: SHOWN_VALUE_LIMIT - 1] + "…"


def _is_date(value) -> bool:
    if type(value) is not str or not _ISO_DATE.match(value):
        return False
    try:
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def type_problem(data_type: str, value) -> str:
    """Why `value` is not of the catalog type `data_type`, or "" when it is."""
    value_kind = kind(value)
    if data_type == STRING:
        fits = value_kind == "string"
    elif data_type == NUMBER:
        fits = value_kind == "number"
    elif data_type == INTEGER:
        fits = value_kind == "number" and float(value).is_integer()
    elif data_type == BOOLEAN:
        fits = value_kind == "boolean"
    elif data_type == DATE:
        fits = _is_date(value)
    elif data_type == LIST:
        fits = value_kind == "list"
    else:
        return f"unknown attribute type {data_type!r}"
    if fits:
        return ""
    if data_type == DATE:
        return f"expected a date (ISO text such as 2026-01-31), got {value_shown(value)}"
    article = "an" if data_type == INTEGER else "a"
    return f"expected {article} {data_type}, got {value_kind} {value_shown(value)}"


def value_problem(data_type: str, allowed_values, value) -> str:
    """Why `value` does not fit an attribute (its type, then its allowed values), or ""."""
    problem = type_problem(data_type, value)
    if problem or not allowed_values:
        return problem
    members = value if data_type == LIST else [value]
    for member in members:
        if not any(
            kind(member) == kind(allowed) and member == allowed for allowed in allowed_values
        ):
            allowed = value_shown(list(allowed_values))
            return f"{value_shown(member)} is not one of the allowed values {allowed}"
    return ""


@dataclass(frozen=True, slots=True)
class AttributeCheck:
    name: str
    data_type: str
    allowed_values: tuple


class InputValidator:
    """The catalog's checks of the attributes one ruleset reads; immutable and thread-safe."""

    __slots__ = ("checks", "_lookups")

    def __init__(self, checks):
        self.checks = tuple(checks)
        # The engine's own lookup, so a dotted name finds what the rules find.
        self._lookups = tuple(attribute_lookup(check.name) for check in self.checks)

    def problems(self, data) -> list[dict]:
        """[{"field", "problem"}] for every attribute of the input that does not fit.

        A missing attribute or a null is not a problem: the rules that read it do not match.
        """
        if type(data) is not dict:
            return []
        found = []
        for check, lookup in zip(self.checks, self._lookups, strict=True):
            value = lookup(data)
            if value is MISSING or value is None:
                continue
            problem = value_problem(check.data_type, check.allowed_values, value)
            if problem:
                found.append({"field": check.name, "problem": problem})
        return found
