"""A decision-table version's DMN model as diffable parts (rules.selectors.version_diff): one part
for the decisions' settings, and one per decision for its rows, each changed cell named by its
column (`input "Credit score"`, `output "Offer"`, `annotation`)."""

from rules.engine import dmn

DECISIONS = "decisions"


def _rows_kind(decision_name: str) -> str:
    return f'rows of "{decision_name}"'


def _column_label(clause, fallback: str) -> str:
    return getattr(clause, "label", "") or getattr(clause, "expression", "") or fallback


def _table_settings(table: dmn.DecisionTable) -> dict:
    hit_policy = table.hit_policy + (f" {table.aggregation}" if table.aggregation else "")
    return {
        "logic": "decision table",
        "hit policy": hit_policy,
        "inputs": "; ".join(
            f"{_column_label(c, f'input {n}')} = {c.expression} ({c.type_ref or 'any'})"
            + (f" in {c.allowed_values}" if c.allowed_values else "")
            for n, c in enumerate(table.inputs, 1)
        ),
        "outputs": "; ".join(
            f"{c.name or c.label or f'output {n}'} ({c.type_ref or 'any'})"
            + (f" in {c.allowed_values}" if c.allowed_values else "")
            + (f" default {c.default}" if c.default else "")
            for n, c in enumerate(table.outputs, 1)
        ),
    }


def _table_rows(table: dmn.DecisionTable) -> dict[str, dict]:
    inputs = [f"input {_column_label(c, f'#{n}')!r}" for n, c in enumerate(table.inputs, 1)]
    outputs = [f"output {(c.name or c.label or f'#{n}')!r}" for n, c in enumerate(table.outputs, 1)]
    rows = {}
    for number, rule in enumerate(table.rules, 1):
        cells = dict(zip(inputs, (entry or "-" for entry in rule.input_entries), strict=False))
        cells.update(zip(outputs, rule.output_entries, strict=False))
        cells["annotation"] = rule.annotation or ""
        cells["position"] = number
        rows[rule.id or f"row {number}"] = cells
    return rows


def decision_model_parts(definitions: dmn.Definitions | None) -> dict[str, dict[str, dict]]:
    """{kind: {key: {field: value}}}: the decisions' settings and each table's rows."""
    parts: dict[str, dict[str, dict]] = {DECISIONS: {}}
    if definitions is None:
        return parts
    for decision in definitions.decisions:
        settings = {
            "requires decisions": ", ".join(decision.required_decisions),
            "requires inputs": ", ".join(decision.required_inputs),
        }
        logic = decision.logic
        if isinstance(logic, dmn.DecisionTable):
            settings.update(_table_settings(logic))
            parts[_rows_kind(decision.name)] = _table_rows(logic)
        elif isinstance(logic, dmn.LiteralExpression):
            settings.update(logic="literal expression", expression=logic.text)
        else:
            settings["logic"] = "none"
        parts[DECISIONS][decision.name] = settings
    return parts
