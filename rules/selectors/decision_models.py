"""Reads of decision-table rulesets: a version's DMN model, and its tables as plain rows for
the admin's read-only display."""

import json
import re

from rules.choices import RulesetKind
from rules.engine import dmn
from rules.models import DecisionModel, Ruleset


def ruleset_is_decision_table(ruleset: Ruleset) -> bool:
    return ruleset.kind == RulesetKind.DECISION_TABLE


def decision_definitions(ruleset: Ruleset) -> dmn.Definitions | None:
    """The version's DMN model (rules.engine.dmn.Definitions), or None when it has none."""
    definitions = (
        DecisionModel.objects.filter(ruleset=ruleset).values_list("definitions", flat=True).first()
    )
    if not definitions:
        return None
    return dmn.definitions_from_dict(definitions)


def _clause_type(type_ref) -> str:
    return type_ref or "any"


def decision_outlines(definitions: dmn.Definitions) -> list[dict]:
    """Each decision as plain data for display: its kind, requirements, and for a table its hit
    policy, input and output columns and rows (cells as written, with the annotation)."""
    outlines = []
    for decision in definitions.decisions:
        outline = {
            "id": decision.id,
            "name": decision.name,
            "required_decisions": list(decision.required_decisions),
            "required_inputs": list(decision.required_inputs),
            "kind": "none",
        }
        logic = decision.logic
        if isinstance(logic, dmn.DecisionTable):
            hit_policy = logic.hit_policy
            if logic.aggregation:
                hit_policy = f"{hit_policy} {logic.aggregation}"
            outline.update(
                kind="table",
                table_id=logic.id,
                hit_policy=hit_policy,
                inputs=[
                    {
                        "label": clause.label or clause.expression,
                        "expression": clause.expression,
                        "type": _clause_type(clause.type_ref),
                        "allowed_values": clause.allowed_values or "",
                    }
                    for clause in logic.inputs
                ],
                outputs=[
                    {
                        "label": clause.label or clause.name,
                        "name": clause.name,
                        "type": _clause_type(clause.type_ref),
                        "allowed_values": clause.allowed_values or "",
                        "default": clause.default or "",
                    }
                    for clause in logic.outputs
                ],
                rows=[
                    {
                        "number": number,
                        "id": rule.id,
                        "input_entries": [entry or "-" for entry in rule.input_entries],
                        "output_entries": list(rule.output_entries),
                        "annotation": rule.annotation,
                    }
                    for number, rule in enumerate(logic.rules, 1)
                ],
            )
        elif isinstance(logic, dmn.LiteralExpression):
            outline.update(kind="literal", expression=logic.text, type=_clause_type(logic.type_ref))
        outlines.append(outline)
    return outlines


def ruleset_decision_outlines(ruleset: Ruleset) -> list[dict]:
    """The version's decisions for display ([] when it is not a decision-table ruleset)."""
    definitions = decision_definitions(ruleset)
    return decision_outlines(definitions) if definitions is not None else []


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")


def _example_value(cell: str):
    """A value the cell matches when it is one plain literal ("gold", 700, true), a comparison
    (>= 700: 700) or an interval ([600..700): 600); else None."""
    text = (cell or "").strip()
    if text[:1] in "[(]" and ".." in text:
        text = text[1:].split("..", 1)[0].strip()
    text = text.lstrip("<>=").strip() if text[:1] in "<>=" else text
    if len(text) >= 2 and text[0] == text[-1] == '"' and '"' not in text[1:-1]:
        return text[1:-1]
    try:
        return json.loads(text) if text in ("true", "false") else float(text)
    except ValueError:
        return None


def decision_input_example(ruleset: Ruleset) -> dict:
    """{input: example value} for try-it: every name the model's tables read from the input
    (not the results of required decisions), valued from the first row with a plain literal."""
    definitions = decision_definitions(ruleset)
    if definitions is None:
        return {}
    produced = {decision.name for decision in definitions.decisions}
    for decision in definitions.decisions:
        if isinstance(decision.logic, dmn.DecisionTable):
            produced.update(output.name for output in decision.logic.outputs)
    example: dict = {entry.name: None for entry in definitions.input_data}
    for decision in definitions.decisions:
        table = decision.logic
        if not isinstance(table, dmn.DecisionTable):
            continue
        for column, clause in enumerate(table.inputs):
            name = clause.expression.strip()
            if not _NAME.match(name) or name in produced:
                continue
            values = (_example_value(rule.input_entries[column]) for rule in table.rules)
            value = next((v for v in values if v is not None), None)
            if example.get(name) is None:
                example[name] = (
                    int(value) if isinstance(value, float) and value.is_integer() else value
                )
    for name in produced:
        example.pop(name, None)
    # Dotted paths are nested objects, as in the input.
    nested: dict = {}
    for name, value in example.items():
        *parents, last = name.split(".")
        target = nested
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = value
    return nested
