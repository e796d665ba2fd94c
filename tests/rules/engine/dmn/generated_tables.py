"""Seeded random decision tables and inputs, shared by the differential tests and the benchmark."""

from __future__ import annotations

import random

from rules.engine.dmn import (
    Decision,
    DecisionTable,
    Definitions,
    InputClause,
    InputData,
    OutputClause,
    Rule,
)

NUMBER_INPUTS = ("Age", "Score", "Income")
STRING_INPUTS = ("Tier", "Region")
TIERS = ("gold", "silver", "bronze", "platinum")
REGIONS = ("north", "south", "east", "west")
LEVELS = ("high", "medium", "low", "none")

# (hit policy, aggregation) pairs: every DMN 1.3 policy.
HIT_POLICY_CASES = (
    ("UNIQUE", None),
    ("ANY", None),
    ("PRIORITY", None),
    ("FIRST", None),
    ("RULE ORDER", None),
    ("OUTPUT ORDER", None),
    ("COLLECT", None),
    ("COLLECT", "SUM"),
    ("COLLECT", "MIN"),
    ("COLLECT", "MAX"),
    ("COLLECT", "COUNT"),
)


def _number_entry(rng: random.Random) -> str:
    # No `]a..b[` here: pyDMNrules reads that open interval wrongly (tested by hand instead).
    a = rng.randrange(0, 100)
    b = a + rng.randrange(1, 40)
    return rng.choice(
        [
            "-",
            "-",
            f"< {a}",
            f"<= {a}",
            f"> {a}",
            f">= {a}",
            f"{a}",
            f"[{a}..{b}]",
            f"[{a}..{b})",
            f"({a}..{b}]",
            f"not(< {a})",
            f"not([{a}..{b}])",
            f"< {a}, > {b}",
        ]
    )


def _string_entry(rng: random.Random, choices) -> str:
    one, two = rng.sample(choices, 2)
    return rng.choice(
        ["-", "-", f'"{one}"', f'"{one}","{two}"', f'not("{one}")', f'not("{one}","{two}")']
    )


def generated_table(
    hit_policy: str, aggregation: str | None, *, rows: int, seed: int, distinct_rows: bool = False
) -> Definitions:
    """A 5-input table (3 numbers, 2 strings) under this hit policy, with one output.

    Numeric aggregations get a number output; the others a string output whose allowed values
    give PRIORITY and OUTPUT ORDER their order. `distinct_rows` makes rows exclusive (a UNIQUE
    table that never has two matches) by giving each row its own Age band.
    """
    rng = random.Random(seed)
    numeric = aggregation in ("SUM", "MIN", "MAX")
    inputs = tuple(
        InputClause(id=f"input_{name}", expression=name, label=name, type_ref="number")
        for name in NUMBER_INPUTS
    ) + tuple(
        InputClause(id=f"input_{name}", expression=name, label=name, type_ref="string")
        for name in STRING_INPUTS
    )
    if numeric:
        output = OutputClause(id="output_1", name="Points", label="Points", type_ref="number")
    else:
        output = OutputClause(
            id="output_1",
            name="Level",
            label="Level",
            type_ref="string",
            allowed_values=",".join(f'"{level}"' for level in LEVELS),
        )
    table_rows = []
    for index in range(rows):
        entries = [_number_entry(rng) for _ in NUMBER_INPUTS]
        if distinct_rows:
            entries[0] = f"[{index * 2}..{index * 2 + 1}]"
        entries += [_string_entry(rng, TIERS), _string_entry(rng, REGIONS)]
        value = str(rng.randrange(1, 50)) if numeric else f'"{rng.choice(LEVELS)}"'
        if hit_policy == "ANY" and not numeric:
            value = '"high"' if index % 7 else '"low"'
        table_rows.append(
            Rule(id=f"rule_{index + 1}", input_entries=tuple(entries), output_entries=(value,))
        )
    table = DecisionTable(
        id="table_1",
        inputs=inputs,
        outputs=(output,),
        rules=tuple(table_rows),
        hit_policy=hit_policy,
        aggregation=aggregation,
    )
    names = NUMBER_INPUTS + STRING_INPUTS
    return Definitions(
        id="generated",
        name="Generated",
        decisions=(
            Decision(
                id="decision_1",
                name="Decide",
                logic=table,
                required_inputs=tuple(f"data_{name}" for name in names),
            ),
        ),
        input_data=tuple(
            InputData(
                id=f"data_{name}",
                name=name,
                type_ref="number" if name in NUMBER_INPUTS else "string",
            )
            for name in names
        ),
    )


def generated_inputs(count: int, *, seed: int, age_limit: int = 140) -> list[dict]:
    """Inputs for `generated_table`: every field present and typed (nulls are tested by hand)."""
    rng = random.Random(seed)
    return [
        {
            "Age": rng.randrange(0, age_limit),
            "Score": rng.randrange(0, 140),
            "Income": rng.randrange(0, 140),
            "Tier": rng.choice(TIERS),
            "Region": rng.choice(REGIONS),
        }
        for _ in range(count)
    ]
