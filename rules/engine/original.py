"""The `original` semantics: the answers of the original system (khoantd/rule-engine) by default.

A ruleset whose header says `"semantics": "original"` is evaluated as the original's default path
does (services/ruleengine_exec.py, common/rule_engine_util.py there):

- only the rules whose attributes are all top-level keys of the input run (a null value counts as
  present; an empty input is not filtered); the others add nothing to the pattern;
- no rule left: points 0, pattern "", no recommendation, and no pattern lookup;
- a rule is one expression (rule_engine.Rule) joined with and/or that short-circuits; an error
  raised by a clause that is evaluated (an ordering of different kinds or of null, a missing
  attribute, ...) makes the whole rule "-", in "any" mode too;
- `in` / `not_in` / `range` use Python containment (so true is in [0, 1, 2]);
- `action_result` is any text, with the templates `{attribute}` and `string join(...)` expanded
  against the input on a match (`action_template_expand`).

Every other operator and constant behave as in `strict`. This module is the slow path: `strict`
keeps its generated code untouched.
"""

from __future__ import annotations

import re
from time import perf_counter

from .evaluation import Evaluation
from .operators import MATCHED, MISSING_VALUE, NOT_MATCHED, NULL_VALUE, TYPE_MISMATCH
from .values import MISSING

STRICT = "strict"
ORIGINAL = "original"
SEMANTICS = (STRICT, ORIGINAL)

_ORDERING = frozenset(("greater_than", "greater_than_or_equal", "less_than", "less_than_or_equal"))
_MEMBERSHIP = frozenset(("in", "range"))
# The regex operators the original writes as rule_engine's =~ / =~~ / !~ / !~~: a value that is
# no string raises there, null does not.
_REGEX = frozenset(("regex", "regex_match", "regex_search", "regex_not_match", "regex_not_search"))
_JOIN = re.compile(r"string\s+join\s*\(([^)]+)\)", re.IGNORECASE)
_VARIABLE = re.compile(r"\{([^}]+)\}")


class _ClauseError(Exception):
    """A clause raised in the original (rule_engine's EvaluationError, TypeError, ...).

    `reason` is the trace's word for why (missing, null, type_mismatch): the vocabulary of the
    strict trace, so that every reader of a trace knows it.
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _reason_to_outcome(name: str, reason: str, value) -> bool:
    """The original's outcome of a clause from the strict explanation; raises where it raised."""
    if value is MISSING or reason == MISSING_VALUE:
        raise _ClauseError(MISSING_VALUE)
    if name in _ORDERING or name == "contains":
        # rule_engine refuses to order null or values of different kinds; `x in null` is a
        # TypeError.
        if reason in (TYPE_MISMATCH, NULL_VALUE):
            raise _ClauseError(reason)
    elif name in _REGEX and reason == TYPE_MISMATCH:
        raise _ClauseError(reason)
    return reason == MATCHED


def _python_member(value, constant) -> bool:
    try:
        return value in constant
    except TypeError:  # pragma: no cover - a JSON list holds no value Python cannot compare
        raise _ClauseError(TYPE_MISMATCH) from None


class OriginalClause:
    """One condition evaluated the original's way: (data) -> True/False, or _ClauseError."""

    __slots__ = ("condition_id", "text", "key", "lookup", "explain", "name", "constant")

    def __init__(self, plan, lookup, explain):
        self.condition_id = plan.condition_id
        self.text = plan.text
        # The input key the original's filter looks for: the attribute's first step.
        self.key = plan.attribute.split(".", 1)[0]
        self.lookup = lookup
        self.explain = explain
        self.name = plan.operator.name
        self.constant = plan.constant

    def reason(self, data) -> tuple[object, str]:
        """(value, reason): matched, not_matched, or why the original raises."""
        value = self.lookup(data)
        try:
            held = self.holds(value)
        except _ClauseError as error:
            return value, error.reason
        return value, MATCHED if held else NOT_MATCHED

    def holds(self, value) -> bool:
        if value is MISSING:
            raise _ClauseError(MISSING_VALUE)
        name = self.name
        if name in _MEMBERSHIP:
            return _python_member(value, self.constant)
        if name == "not_in":
            return not _python_member(value, self.constant)
        return _reason_to_outcome(name, self.explain(value), value)


class OriginalRule:
    """A rule of an `original` ruleset: its clauses, the keys it needs, its result template."""

    __slots__ = (
        "rule_id",
        "priority",
        "points",
        "mode",
        "clauses",
        "keys",
        "text",
        "action_result",
        "template",
        "scans_input",
    )

    def __init__(self, compiled_rule, clauses: tuple[OriginalClause, ...]):
        self.rule_id = compiled_rule.rule_id
        self.priority = compiled_rule.priority
        self.points = compiled_rule.points
        self.mode = compiled_rule.mode
        self.clauses = clauses
        self.keys = tuple(dict.fromkeys(clause.key for clause in clauses))
        self.text = compiled_rule.text
        self.scans_input = compiled_rule.scans_input
        self.action_result, self.template = action_template_prepare(compiled_rule.action_result)

    def holds(self, data) -> bool:
        """Whether the rule matches; raises _ClauseError as the original's expression would."""
        # any()/all() short-circuit as `or`/`and` do: a clause after the deciding one never runs.
        if self.mode == "any":
            return any(clause.holds(clause.lookup(data)) for clause in self.clauses)
        return all(clause.holds(clause.lookup(data)) for clause in self.clauses)

    def result(self, data) -> str:
        if self.template:
            return action_template_expand(self.action_result, data)
        return self.action_result


def action_template_prepare(action_result: str) -> tuple[str, bool]:
    """(the text the original keeps, whether it is a template to expand on each match)."""
    if not action_result:
        return "", False
    text = action_result.strip()
    return text, "{" in text or "string join" in text.lower()


def action_template_expand(expression: str, data: dict) -> str:
    """The original's _evaluate_feel_expression: `{attribute}` and `string join(...)`.

    `expression` is already stripped (action_template_prepare). Transcribed case for case: the
    first `string join(...)` replaces the whole text; its odd arguments are joined with the second
    one, empty values left out; otherwise every `{name}` is replaced by str() of the input's value
    ("" when absent or null).
    """
    match = _JOIN.search(expression)
    if match:
        arguments = _join_arguments(match.group(1))
        values = []
        for argument in arguments:
            argument = argument.strip()
            if (argument.startswith('"') and argument.endswith('"')) or (
                argument.startswith("'") and argument.endswith("'")
            ):
                values.append(argument[1:-1])
            elif argument.startswith("{") and argument.endswith("}"):
                value = data.get(argument[1:-1].strip(), "")
                values.append(str(value) if value is not None else "")
            else:
                value = data.get(argument, argument)
                values.append(str(value) if value is not None else "")
        if len(values) >= 3:
            separator = values[1]
            return separator.join(value for value in values[0::2] if value)
        if len(values) == 2:
            if len(values[1]) <= 5:
                return values[0]
            return "".join(value for value in values if value)
        return "".join(value for value in values if value)

    def replace(found) -> str:
        value = data.get(found.group(1).strip(), "")
        return str(value) if value is not None else ""

    return _VARIABLE.sub(replace, expression)


def _join_arguments(text: str) -> list[str]:
    arguments = []
    current = ""
    in_quotes = False
    quote = None
    for char in text:
        if char in ('"', "'") and (not in_quotes or char == quote):
            if in_quotes and char == quote:
                in_quotes, quote = False, None
            else:
                in_quotes, quote = True, char
            current += char
        elif char == "," and not in_quotes:
            arguments.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        arguments.append(current.strip())
    return arguments


NO_MATCH = "-"


def original_evaluate(rules, patterns, data: dict, trace: bool, budget) -> Evaluation:
    """Evaluate `rules` (OriginalRule, in execution order) the original's way.

    `patterns` is the ruleset's PatternTable (patterns.py): exact keys, then the default.
    """
    if data:
        rules = [rule for rule in rules if all(key in data for key in rule.keys)]
    if not rules:
        # The original looks no key up then; a default recommendation (ours) still applies.
        evaluation = Evaluation(0.0, "", patterns.default, None, [], [] if trace else None)
        if trace and patterns.default is not None:
            evaluation.pattern_match = {"key": None, "kind": "default"}
        return evaluation
    parts = []
    matched = []
    entries = [] if trace else None
    total = 0.0
    for position, rule in enumerate(rules):
        if budget is not None and rule.scans_input and perf_counter() > budget.deadline:
            budget.overrun(position)
        try:
            held = rule.holds(data)
            failed = None
        except _ClauseError as error:
            # The whole rule is "-", in "any" mode too: the original's expression raised.
            held, failed = False, error.reason
        if held:
            parts.append(rule.result(data))
            total += rule.points
            matched.append(rule.rule_id)
        else:
            parts.append(NO_MATCH)
        if trace:
            entries.append(_trace_entry(rule, data, held, failed))
    if budget is not None and perf_counter() > budget.deadline:
        budget.overrun(len(rules))
    pattern_result = "".join(parts)
    recommendation, action, key, kind = patterns.match(pattern_result)
    evaluation = Evaluation(total, pattern_result, recommendation, action, matched, entries)
    if trace:
        evaluation.pattern_match = {"key": key, "kind": kind}
    return evaluation


def _trace_entry(rule: OriginalRule, data, held: bool, failed: str | None) -> dict:
    reason = MATCHED if held else (failed or NOT_MATCHED)
    entry = {
        "rule_id": rule.rule_id,
        "priority": rule.priority,
        "condition": rule.text,
        "value": None,
        "matched": held,
        "reason": reason,
        "points": rule.points if held else 0.0,
    }
    if rule.mode is None:
        value = rule.clauses[0].lookup(data)
        entry["value"] = None if value is MISSING else value
    else:
        entry["conditions"] = []
        for clause in rule.clauses:
            value, clause_reason = clause.reason(data)
            entry["conditions"].append(
                {
                    "condition_id": clause.condition_id,
                    "condition": clause.text,
                    "value": None if value is MISSING else value,
                    "matched": clause_reason == MATCHED,
                    "reason": clause_reason,
                }
            )
    return entry
