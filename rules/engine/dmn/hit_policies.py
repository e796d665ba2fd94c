"""The DMN 1.3 hit policies: from the matched rows of a table to its result (or an error)."""

from __future__ import annotations

from dataclasses import dataclass

from . import values
from .evaluation import DecisionError
from .model import (
    ANY,
    COLLECT,
    COUNT,
    FIRST,
    MIN,
    OUTPUT_ORDER,
    PRIORITY,
    RULE_ORDER,
    SUM,
    UNIQUE,
    Decision,
    DecisionTable,
)

# Error codes of DecisionError.
UNIQUE_VIOLATION = "unique_violation"
ANY_CONFLICT = "any_conflict"
AGGREGATION_ERROR = "aggregation_error"
INPUT_NOT_ALLOWED = "input_not_allowed"


@dataclass(frozen=True)
class TablePlan:
    """A compiled decision table: the generated matcher plus what the hit policy needs."""

    decision: Decision
    table: DecisionTable
    matcher: object  # ctx -> (matched row indexes, input values)
    row_outputs: tuple  # per row, per output: (True, constant) | (False, function)
    cell_functions: tuple  # per row, per input: function | None for '-' (trace only)
    cell_kinds: tuple  # per row, per input: kinds the entry tests (trace reasons)
    allowed_checks: tuple  # (input index, function) for inputs with allowed values
    priorities: tuple  # per output: allowed values in priority order, or None
    defaults: tuple  # per output: the default output value or None
    single_output: bool
    list_result: bool


def _row_value(plan: TablePlan, row: int, context, inputs):
    outputs = plan.row_outputs[row]
    if plan.single_output:
        is_constant, value = outputs[0]
        return value if is_constant else value(context, *inputs)
    return {
        output.name: (value if is_constant else value(context, *inputs))
        for output, (is_constant, value) in zip(plan.table.outputs, outputs, strict=True)
    }


def _priority_key(plan: TablePlan, value):
    key = []
    items = [value] if plan.single_output else [value[o.name] for o in plan.table.outputs]
    for allowed, item in zip(plan.priorities, items, strict=True):
        if allowed:
            try:
                key.append(allowed.index(item))
            except ValueError:
                key.append(len(allowed))
    return tuple(key)


def _empty_result(plan: TablePlan):
    table = plan.table
    if table.aggregation == COUNT:
        return 0
    if table.aggregation is not None:
        return None
    if plan.list_result:
        return []
    if plan.single_output:
        return plan.defaults[0]
    if any(default is not None for default in plan.defaults):
        return {o.name: d for o, d in zip(table.outputs, plan.defaults, strict=True)}
    return None


def _aggregate(plan: TablePlan, found: list):
    aggregation = plan.table.aggregation
    present = [value for value in found if value is not None]
    if aggregation == COUNT:
        return len(present), None
    if not present:
        return None, None
    if aggregation == SUM:
        if not all(type(value) in values.NUMBER_TYPES for value in present):
            return None, "SUM needs numbers"
        return sum(present), None
    kinds = {values.value_kind(value) for value in present}
    if len(kinds) != 1 or kinds == {values.BOOLEAN} or None in kinds:
        return None, f"{aggregation} needs values of one ordered type"
    try:
        return (min(present) if aggregation == MIN else max(present)), None
    except TypeError:
        return None, f"{aggregation} needs values of one ordered type"


def _apply(plan: TablePlan, hits: list, context, inputs):
    """(result, error or None) of the hit policy over the matched rows."""
    table = plan.table
    policy = table.hit_policy
    decision = plan.decision
    if not hits:
        return _empty_result(plan), None
    if policy == FIRST:
        return _row_value(plan, hits[0], context, inputs), None
    if policy == UNIQUE:
        if len(hits) > 1:
            ids = [table.rules[row].id for row in hits]
            return None, DecisionError(
                decision.id,
                decision.name,
                UNIQUE_VIOLATION,
                f"hit policy UNIQUE but {len(hits)} rules match: {', '.join(ids)}",
                tuple(ids),
            )
        return _row_value(plan, hits[0], context, inputs), None
    found = [_row_value(plan, row, context, inputs) for row in hits]
    if policy == ANY:
        first = found[0]
        for row, value in zip(hits[1:], found[1:], strict=True):
            if values.feel_equal(value, first) is not True and value != first:
                ids = [table.rules[r].id for r in hits]
                return None, DecisionError(
                    decision.id,
                    decision.name,
                    ANY_CONFLICT,
                    f"hit policy ANY but the matching rules {', '.join(ids)} give different "
                    f"outputs (rule {table.rules[row].id})",
                    tuple(ids),
                )
        return first, None
    if policy == PRIORITY:
        best = min(range(len(found)), key=lambda index: _priority_key(plan, found[index]))
        return found[best], None
    if policy == OUTPUT_ORDER:
        order = sorted(range(len(found)), key=lambda index: _priority_key(plan, found[index]))
        return [found[index] for index in order], None
    if policy == RULE_ORDER or (policy == COLLECT and table.aggregation is None):
        return found, None
    result, message = _aggregate(plan, found)
    if message is not None:
        ids = [table.rules[row].id for row in hits]
        return None, DecisionError(
            decision.id, decision.name, AGGREGATION_ERROR, message, tuple(ids)
        )
    return result, None


def _cell_reason(matched: bool, value, kinds: set) -> str:
    if matched:
        return "matched"
    if value is None:
        return "the input is null"
    kind = values.value_kind(value)
    if kinds and kind not in kinds:
        tested = "/".join(sorted(kinds))
        return (
            f"type mismatch: the input is {kind or type(value).__name__}, the entry tests {tested}"
        )
    return "not matched"


def _trace(plan: TablePlan, context, inputs, hits, result, error) -> dict:
    table = plan.table
    rows = []
    hit_set = set(hits)
    for row_index, rule in enumerate(table.rules):
        cells = []
        for column_index, function in enumerate(plan.cell_functions[row_index]):
            column = table.inputs[column_index]
            value = inputs[column_index]
            entry = rule.input_entries[column_index].strip()
            if function is None:
                cells.append(
                    {
                        "input": column.label or column.expression,
                        "entry": entry or "-",
                        "matched": True,
                        "reason": "any value ('-')",
                    }
                )
                continue
            matched = bool(function(context, *inputs))
            cells.append(
                {
                    "input": column.label or column.expression,
                    "entry": entry,
                    "matched": matched,
                    "reason": _cell_reason(
                        matched, value, plan.cell_kinds[row_index][column_index]
                    ),
                }
            )
        row = {
            "rule_id": rule.id,
            "index": row_index,
            "matched": row_index in hit_set,
            "annotation": rule.annotation,
            "cells": cells,
        }
        if row_index in hit_set:
            row["output"] = values.json_value(_row_value(plan, row_index, context, inputs))
        rows.append(row)
    return {
        "decision_id": plan.decision.id,
        "hit_policy": table.hit_policy + (f" {table.aggregation}" if table.aggregation else ""),
        "inputs": [
            {
                "input": column.label or column.expression,
                "expression": column.expression,
                "value": values.json_value(value),
            }
            for column, value in zip(table.inputs, inputs, strict=True)
        ],
        "rules": rows,
        "result": values.json_value(result),
        "error": error.as_dict() if error is not None else None,
    }


def table_decide(plan: TablePlan, context, trace: bool):
    """(result, matched rule ids, DecisionError or None, trace dict or None) for one table."""
    hits, inputs = plan.matcher(context)
    error = None
    for index, check in plan.allowed_checks:
        value = inputs[index]
        if value is not None and not check(context, *inputs):
            column = plan.table.inputs[index]
            error = DecisionError(
                plan.decision.id,
                plan.decision.name,
                INPUT_NOT_ALLOWED,
                f"input '{column.label or column.expression}' is {value!r}, "
                f"not among the allowed values {column.allowed_values}",
                (),
            )
            break
    if error is None:
        result, error = _apply(plan, hits, context, inputs)
    else:
        result = None
    rule_ids = [plan.table.rules[row].id for row in hits]
    decision_trace = _trace(plan, context, inputs, hits, result, error) if trace else None
    return result, rule_ids, error, decision_trace
