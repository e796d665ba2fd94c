"""FEEL values in Python, and the null-propagating operations the compiled code calls.

string → str, number → int | float (never bool), boolean → bool, date → datetime.date,
date and time → datetime.datetime, time → datetime.time, days-and-time duration → timedelta.
Comparisons answer True, False or None (FEEL null: a null operand or two kinds that do not
compare); a cell matches only on True, so a type mismatch never matches and never raises.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

STRING, NUMBER, BOOLEAN, DATE, DATE_TIME, TIME, DURATION = (
    "string",
    "number",
    "boolean",
    "date",
    "dateTime",
    "time",
    "duration",
)
TYPES = (STRING, NUMBER, BOOLEAN, DATE, DATE_TIME, TIME, DURATION)

# typeRef spellings found in DMN 1.1-1.3 files and Camunda Modeler → the engine's type.
TYPE_REFS = {
    "string": STRING,
    "number": NUMBER,
    "integer": NUMBER,
    "int": NUMBER,
    "long": NUMBER,
    "double": NUMBER,
    "decimal": NUMBER,
    "float": NUMBER,
    "boolean": BOOLEAN,
    "date": DATE,
    "dateTime": DATE_TIME,
    "date and time": DATE_TIME,
    "datetime": DATE_TIME,
    "time": TIME,
    "duration": DURATION,
    "dayTimeDuration": DURATION,
    "days and time duration": DURATION,
}
# The engine's type → the DMN 1.3 typeRef written on export.
FEEL_TYPE_NAMES = {
    STRING: "string",
    NUMBER: "number",
    BOOLEAN: "boolean",
    DATE: "date",
    DATE_TIME: "date and time",
    TIME: "time",
    DURATION: "days and time duration",
}

_KIND_OF_TYPE = {
    str: STRING,
    int: NUMBER,
    float: NUMBER,
    bool: BOOLEAN,
    date: DATE,
    datetime: DATE_TIME,
    time: TIME,
    timedelta: DURATION,
}
NUMBER_TYPES = (int, float)


def value_kind(value) -> str | None:
    """The FEEL kind of a Python value, or None for null and for values FEEL has no kind for."""
    return _KIND_OF_TYPE.get(type(value))


def type_ref_canonical(type_ref: str | None) -> str | None:
    """The engine type of a typeRef (`integer` → number), None when absent; KeyError if unknown."""
    if type_ref is None or type_ref.strip() == "":
        return None
    text = type_ref.strip()
    if text.partition(":")[0] in ("feel", "xsd", "xs"):
        text = text.partition(":")[2]  # DMN 1.1 files write feel:string or xsd:integer
    return TYPE_REFS[text]


def _comparable(left, right) -> bool:
    kind = _KIND_OF_TYPE.get(type(left))
    if kind is None or kind != _KIND_OF_TYPE.get(type(right)):
        return False
    if kind in (DATE_TIME, TIME):
        # Python refuses to order a local value against one with an offset; so does FEEL (null).
        return (left.tzinfo is None) == (right.tzinfo is None)
    return True


def feel_equal(left, right):
    """FEEL `=`: null = null is true, null = x is false, different kinds are null."""
    if left is None or right is None:
        return left is None and right is None
    if not _comparable(left, right):
        return None
    return left == right


def feel_less(left, right):
    if left is None or right is None or not _comparable(left, right) or type(left) is bool:
        return None
    return left < right


def feel_less_equal(left, right):
    if left is None or right is None or not _comparable(left, right) or type(left) is bool:
        return None
    return left <= right


def feel_greater(left, right):
    if left is None or right is None or not _comparable(left, right) or type(left) is bool:
        return None
    return left > right


def feel_greater_equal(left, right):
    if left is None or right is None or not _comparable(left, right) or type(left) is bool:
        return None
    return left >= right


def feel_not_equal(left, right):
    equal = feel_equal(left, right)
    return None if equal is None else not equal


COMPARISONS = {
    "=": feel_equal,
    "!=": feel_not_equal,
    "<": feel_less,
    "<=": feel_less_equal,
    ">": feel_greater,
    ">=": feel_greater_equal,
}


def _number(value) -> bool:
    return type(value) in NUMBER_TYPES


def feel_add(left, right):
    if left is None or right is None:
        return None
    if _number(left) and _number(right):
        return left + right
    kinds = (value_kind(left), value_kind(right))
    if kinds == (STRING, STRING) or kinds == (DURATION, DURATION):
        return left + right
    if kinds in ((DATE, DURATION), (DATE_TIME, DURATION)):
        return left + right
    if kinds in ((DURATION, DATE), (DURATION, DATE_TIME)):
        return right + left
    return None


def feel_subtract(left, right):
    if left is None or right is None:
        return None
    if _number(left) and _number(right):
        return left - right
    kinds = (value_kind(left), value_kind(right))
    if kinds in ((DURATION, DURATION), (DATE, DURATION), (DATE_TIME, DURATION), (DATE, DATE)):
        return left - right
    if kinds == (DATE_TIME, DATE_TIME) and _comparable(left, right):
        return left - right
    return None


def feel_multiply(left, right):
    if left is None or right is None:
        return None
    if _number(left) and _number(right):
        return left * right
    if value_kind(left) == DURATION and _number(right):
        return left * right
    if _number(left) and value_kind(right) == DURATION:
        return right * left
    return None


def feel_divide(left, right):
    if left is None or right is None:
        return None
    if _number(left) and _number(right):
        if right == 0:
            return None
        if type(left) is int and type(right) is int and left % right == 0:
            return left // right
        return left / right
    if value_kind(left) == DURATION and _number(right):
        return None if right == 0 else left / right
    if value_kind(left) == DURATION and value_kind(right) == DURATION:
        return None if not right else left / right
    return None


def feel_negate(value):
    if _number(value) or value_kind(value) == DURATION:
        return -value
    return None


ARITHMETIC = {"+": feel_add, "-": feel_subtract, "*": feel_multiply, "/": feel_divide}


def path_lookup(context, parts: tuple[str, ...]):
    """The value at a dotted path of nested mappings; null (None) where any step is missing."""
    value = context
    for part in parts:
        if not isinstance(value, dict):
            get = getattr(value, "get", None)
            if get is None:
                return None
            value = get(part)
        else:
            value = value.get(part)
        if value is None:
            return None
    return value


def _coerce_date(value):
    if type(value) is str:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    if type(value) is datetime:
        return value
    return value


def _coerce_date_time(value):
    if type(value) is str:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    return value


def _coerce_time(value):
    if type(value) is str:
        try:
            return time.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    return value


def _coerce_duration(value):
    if type(value) is str:
        from .feel import parse_duration

        try:
            return parse_duration(value)
        except ValueError:
            return value
    return value


# JSON carries temporal values as ISO strings: an input typed date, date and time, time or
# duration reads such a string as that type; anything that does not parse stays as it is and so
# matches nothing (a type mismatch, not an error).
COERCIONS = {
    DATE: _coerce_date,
    DATE_TIME: _coerce_date_time,
    TIME: _coerce_time,
    DURATION: _coerce_duration,
}


def json_value(value):
    """A result value as plain JSON: temporal values as ISO strings, lists and dicts inside too."""
    kind = value_kind(value)
    if kind in (DATE, DATE_TIME, TIME):
        return value.isoformat()
    if kind == DURATION:
        from .feel import duration_text

        return duration_text(value)
    if isinstance(value, list):
        return [json_value(item) for item in value]
    if isinstance(value, dict):
        return {key: json_value(item) for key, item in value.items()}
    return value
