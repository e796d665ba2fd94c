"""Kinds of input values, kind-aware equality and attribute lookup (the engine's type rules)."""

from __future__ import annotations


class _Missing:
    """The value of an attribute that is not in the input (distinct from null)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()

# Checked with `type(value) in NUMBER_TYPES`, never isinstance: bool subclasses int but is not a
# number here.
NUMBER_TYPES = (int, float)

NUMBER = "number"
STRING = "string"
BOOLEAN = "boolean"
NULL = "null"
LIST = "list"
OBJECT = "object"
OTHER = "other"

_KINDS = {
    int: NUMBER,
    float: NUMBER,
    str: STRING,
    bool: BOOLEAN,
    type(None): NULL,
    list: LIST,
    tuple: LIST,
    dict: OBJECT,
}


def kind(value) -> str:
    """The kind of a value: number, string, boolean, null, list, object or other."""
    return _KINDS.get(type(value), OTHER)


def same_value(left, right) -> bool:
    """Whether two values have the same kind and value (1 == 1.0, but true != 1 and "1" != 1)."""
    left_kind = _KINDS.get(type(left), OTHER)
    if left_kind != _KINDS.get(type(right), OTHER):
        return False
    if left_kind == LIST:
        return len(left) == len(right) and all(
            same_value(a, b) for a, b in zip(left, right, strict=True)
        )
    if left_kind == OBJECT:
        return left.keys() == right.keys() and all(
            same_value(left[key], right[key]) for key in left
        )
    if left_kind == OTHER:
        return type(left) is type(right) and left == right
    return left == right


def attribute_lookup(attribute: str):
    """A function data -> value (or MISSING) for an attribute or a dotted path into objects."""
    if "." not in attribute:

        def lookup(data, attribute=attribute, missing=MISSING):
            return data.get(attribute, missing)

        return lookup

    steps = tuple(attribute.split("."))

    def lookup_path(data, attribute=attribute, steps=steps, missing=MISSING):
        # A literal top-level key containing a dot wins over the path.
        value = data.get(attribute, missing)
        if value is not missing:
            return value
        value = data
        for step in steps:
            if type(value) is not dict:
                return missing
            value = value.get(step, missing)
            if value is missing:
                return missing
        return value

    return lookup_path
