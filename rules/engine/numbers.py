"""Numbers a ruleset may hold: constants inputs can be compared with, totals that stay finite.

Inputs beyond ±(2^53 − 1) are refused by the input check, so a constant beyond it could never be
compared exactly; a total beyond it could reach infinity (two rules of 1e308 points) or lose
whole units. Both are compile problems naming the rule.
"""

from __future__ import annotations

import math

from .constants import MAX_EXACT_INTEGER, IntegerOutOfRange

# The largest total a ruleset may produce, either sign: every rule's rule_point × weight, and the
# sum of all positive (or all negative) ones, must stay within it. Totals are then always finite,
# and exact when the points are whole numbers (the log and JSON readers hold doubles).
MAX_TOTAL_POINTS = MAX_EXACT_INTEGER


def _integer_described(value) -> str:
    """'the integer …' for an integer or its text, shortened (str() refuses over 4,300 digits)."""
    if type(value) is int:
        if value.bit_length() > 200:
            return f"an integer of about {int(value.bit_length() * 0.30103) + 1:,} digits"
        value = str(value)
    digits = len(value.lstrip("+-"))
    return f"the integer {value if len(value) <= 40 else f'{value[:20]}… ({digits:,} digits)'}"


def number_range_problem(constant, raw_constant) -> str | None:
    """Why a constant holds a number no input can be compared with exactly, or None."""
    pending = [constant]
    while pending:
        value = pending.pop()
        value_type = type(value)
        if value_type is IntegerOutOfRange or (
            value_type is int and not -MAX_EXACT_INTEGER <= value <= MAX_EXACT_INTEGER
        ):
            described = _integer_described(value.text if value_type is IntegerOutOfRange else value)
            return (
                f"{described} is beyond ±{MAX_EXACT_INTEGER:,} (2^53 − 1), the largest "
                "that every JSON reader keeps exact, so inputs never hold it; to compare text, "
                "quote it ('…')"
            )
        if value_type is float and not math.isfinite(value):
            shown = raw_constant if type(raw_constant) is str else repr(value)
            shown = shown if len(shown) <= 40 else f"{shown[:20]}…"
            return f"{shown} is not a finite number (it reads as {value!r}); use a finite one"
        if value_type is list or value_type is tuple:
            pending.extend(value)
        elif value_type is dict:
            pending.extend(value.values())
    return None


def rule_points(reader, path, rule_id, rule_point, weight) -> float | None:
    """rule_point × weight, or None (and a problem) when it is beyond MAX_TOTAL_POINTS."""
    try:
        points = float(rule_point) * float(weight)
    except OverflowError:
        points = math.inf
    if math.isfinite(points) and -MAX_TOTAL_POINTS <= points <= MAX_TOTAL_POINTS:
        return points
    shown = [
        repr(value)
        if type(value) is float
        else _integer_described(value).removeprefix("the integer ")
        for value in (rule_point, weight)
    ]
    what = (
        "is not a number"
        if math.isnan(points)
        else f"is beyond ±{MAX_TOTAL_POINTS:,}, the limit of a total"
    )
    reader.problem(
        f"{path}.rule_point",
        f"rule_point × weight ({shown[0]} × {shown[1]}) {what}; use smaller points or a "
        "smaller weight",
        rule_id,
    )
    return None


def check_totals(reader, rules) -> None:
    """A problem when the matched rules' points can add up beyond MAX_TOTAL_POINTS."""
    active = [rule for rule in rules if rule["active"] and rule["points"] is not None]
    active.sort(key=lambda rule: rule["priority"])  # the evaluation order (sort is stable)
    for sign, word in ((1, "positive"), (-1, "negative")):
        total = 0.0
        for rule in active:
            if rule["points"] * sign > 0:
                total += rule["points"]
                if total * sign > MAX_TOTAL_POINTS:
                    reader.problem(
                        "rules",
                        f"when every rule with {word} points up to this one matches, the total "
                        f"reaches {total:.6g}, beyond ±{MAX_TOTAL_POINTS:,}, the limit of a "
                        "total; use smaller points or weights",
                        rule["rule_id"],
                    )
                    break
