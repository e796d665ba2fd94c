"""Small hand-written models for the tests."""

from __future__ import annotations

from rules.engine.dmn import (
    Decision,
    DecisionTable,
    Definitions,
    InputClause,
    OutputClause,
    Rule,
    compile_definitions,
)


def one_column(entry: str, *, type_ref: str | None = None, expression: str = "value"):
    """A compiled FIRST table with one input and one rule `entry` → "hit"."""
    table = DecisionTable(
        id="table",
        inputs=(InputClause(id="in", expression=expression, label="Value", type_ref=type_ref),),
        outputs=(OutputClause(id="out", name="result"),),
        rules=(Rule(id="r1", input_entries=(entry,), output_entries=('"hit"',)),),
        hit_policy="FIRST",
    )
    return compile_definitions(
        Definitions(id="d", name="d", decisions=(Decision(id="t", name="T", logic=table),))
    )


def matches(entry: str, value, *, type_ref: str | None = None) -> bool:
    """Whether the unary test `entry` matches `value` (absent when value is ...)."""
    inputs = {} if value is ... else {"value": value}
    return one_column(entry, type_ref=type_ref).evaluate(inputs).outputs["T"] == "hit"


def table_model(hit_policy, rules, *, aggregation=None, outputs=None, inputs=None):
    """A one-decision model named T over the input `x` (a number) by default."""
    table = DecisionTable(
        id="table",
        inputs=inputs or (InputClause(id="in", expression="x", label="X", type_ref="number"),),
        outputs=outputs
        or (OutputClause(id="out", name="level", allowed_values='"high","medium","low"'),),
        rules=tuple(
            Rule(id=f"r{index + 1}", input_entries=tuple(ins), output_entries=tuple(outs))
            for index, (ins, outs) in enumerate(rules)
        ),
        hit_policy=hit_policy,
        aggregation=aggregation,
    )
    return Definitions(id="d", name="d", decisions=(Decision(id="t", name="T", logic=table),))
