"""Differential tests: this engine against pyDMNrules on generated tables, every hit policy."""

from __future__ import annotations

import pytest

from rules.engine.dmn import ANY_CONFLICT, UNIQUE_VIOLATION, compile_definitions
from tests.rules.engine.dmn.generated_tables import (
    HIT_POLICY_CASES,
    generated_inputs,
    generated_table,
)
from tests.rules.engine.dmn.reference import NO_MATCH, reference_engine

pytest.importorskip("pyDMNrules")

_EMPTY = {None: [], "COUNT": 0, "SUM": None, "MIN": None, "MAX": None}


def _check_agreement(hit_policy, aggregation, definitions, inputs):
    compiled = compile_definitions(definitions)
    reference = reference_engine(definitions)
    checked = 0
    for data in inputs:
        ours = compiled.evaluate(data)
        value = ours.outputs["Decide"]
        matched = ours.matched_rules["Decide"]
        expected, executed = reference(data)
        if ours.errors:
            # pyDMNrules answers with the first match where DMN says this is an error.
            assert ours.errors[0].code in (UNIQUE_VIOLATION, ANY_CONFLICT), ours.errors
            assert hit_policy in ("UNIQUE", "ANY")
            assert set(executed) <= set(matched) and len(matched) > 1
            continue
        if expected == NO_MATCH:
            assert matched == []
            if hit_policy in ("RULE ORDER", "OUTPUT ORDER", "COLLECT"):
                assert value == _EMPTY[aggregation], (data, value)
            else:
                assert value is None, (data, value)
            continue
        checked += 1
        assert value == expected, (hit_policy, aggregation, data, value, expected)
        if hit_policy in ("RULE ORDER", "COLLECT"):
            assert set(matched) == set(executed), (data, matched, executed)
        elif hit_policy in ("FIRST", "UNIQUE"):
            assert matched[0] == executed[0] if hit_policy == "FIRST" else matched == executed
    return checked


@pytest.mark.parametrize(("hit_policy", "aggregation"), HIT_POLICY_CASES)
def test_engine_agrees_with_pydmnrules_on_generated_inputs(hit_policy, aggregation):
    definitions = generated_table(hit_policy, aggregation, rows=12, seed=7)
    checked = _check_agreement(hit_policy, aggregation, definitions, generated_inputs(60, seed=11))
    assert checked > 0, "the generated inputs matched no row: the test would prove nothing"


def test_unique_table_with_exclusive_rows_agrees_with_pydmnrules():
    definitions = generated_table("UNIQUE", None, rows=20, seed=3, distinct_rows=True)
    checked = _check_agreement(
        "UNIQUE", None, definitions, generated_inputs(120, seed=5, age_limit=40)
    )
    assert checked > 0


@pytest.mark.slow
@pytest.mark.parametrize(("hit_policy", "aggregation"), HIT_POLICY_CASES)
@pytest.mark.parametrize("seed", range(5))
def test_engine_agrees_with_pydmnrules_on_a_larger_sweep(hit_policy, aggregation, seed):
    definitions = generated_table(hit_policy, aggregation, rows=50, seed=100 + seed)
    _check_agreement(hit_policy, aggregation, definitions, generated_inputs(300, seed=seed))
