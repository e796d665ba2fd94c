"""The DMN 1.3 hit policies, single and multiple outputs, and their evaluation errors."""

from __future__ import annotations

import pytest

from rules.engine.dmn import (
    AGGREGATION_ERROR,
    ANY_CONFLICT,
    INPUT_NOT_ALLOWED,
    UNIQUE_VIOLATION,
    InputClause,
    OutputClause,
    compile_definitions,
)
from tests.rules.engine.dmn.tables import table_model

ROWS = [
    (["< 10"], ['"low"']),
    (["< 20"], ['"medium"']),
    (["< 30"], ['"high"']),
    (["< 20"], ['"low"']),
]


def _evaluate(hit_policy, x, rules=ROWS, **kwargs):
    compiled = compile_definitions(table_model(hit_policy, rules, **kwargs))
    return compiled.evaluate({"x": x})


@pytest.mark.parametrize(
    ("hit_policy", "x", "expected", "matched"),
    [
        ("FIRST", 5, "low", ["r1"]),
        ("FIRST", 25, "high", ["r3"]),
        ("FIRST", 99, None, []),
        ("PRIORITY", 5, "high", ["r1", "r2", "r3", "r4"]),
        ("PRIORITY", 15, "high", ["r2", "r3", "r4"]),
        ("RULE ORDER", 15, ["medium", "high", "low"], ["r2", "r3", "r4"]),
        ("RULE ORDER", 99, [], []),
        ("OUTPUT ORDER", 5, ["high", "medium", "low", "low"], ["r1", "r2", "r3", "r4"]),
        ("COLLECT", 15, ["medium", "high", "low"], ["r2", "r3", "r4"]),
        ("COLLECT", 99, [], []),
        ("UNIQUE", 25, "high", ["r3"]),
        ("ANY", 25, "high", ["r3"]),
    ],
)
def test_hit_policy_picks_the_dmn_result(hit_policy, x, expected, matched):
    evaluation = _evaluate(hit_policy, x)
    assert evaluation.success
    assert evaluation.outputs["T"] == expected
    assert evaluation.matched_rules["T"] == matched


def test_unique_with_two_matches_is_an_error_not_a_crash():
    evaluation = _evaluate("UNIQUE", 15)
    assert not evaluation.success
    assert evaluation.outputs["T"] is None
    [error] = evaluation.errors
    assert error.code == UNIQUE_VIOLATION
    assert error.rule_ids == ("r2", "r3", "r4")
    assert evaluation.as_dict()["errors"][0]["code"] == UNIQUE_VIOLATION


def test_any_with_different_outputs_is_an_error_and_with_equal_outputs_is_fine():
    evaluation = _evaluate("ANY", 15)
    assert [error.code for error in evaluation.errors] == [ANY_CONFLICT]
    same = [(["< 10"], ['"low"']), (["< 20"], ['"low"'])]
    assert _evaluate("ANY", 5, same).outputs["T"] == "low"


NUMBER_OUTPUT = (OutputClause(id="out", name="points", type_ref="number"),)
POINT_ROWS = [(["< 10"], ["5"]), (["< 20"], ["3"]), (["< 30"], ["3"]), (["< 40"], ["null"])]


@pytest.mark.parametrize(
    ("aggregation", "x", "expected"),
    [
        ("SUM", 5, 11),
        ("MIN", 5, 3),
        ("MAX", 5, 5),
        ("COUNT", 5, 3),  # null outputs are not counted
        ("SUM", 35, None),  # only a null output
        ("COUNT", 99, 0),
        ("SUM", 99, None),
        ("MIN", 99, None),
    ],
)
def test_collect_aggregations_ignore_nulls(aggregation, x, expected):
    evaluation = _evaluate("COLLECT", x, POINT_ROWS, aggregation=aggregation, outputs=NUMBER_OUTPUT)
    assert evaluation.success and evaluation.outputs["T"] == expected


def test_sum_over_strings_is_an_aggregation_error():
    rows = [(["< 10"], ['"a"']), (["< 20"], ['"b"'])]
    outputs = (OutputClause(id="out", name="level"),)
    evaluation = _evaluate("COLLECT", 5, rows, aggregation="SUM", outputs=outputs)
    assert [error.code for error in evaluation.errors] == [AGGREGATION_ERROR]


MULTI_OUTPUTS = (
    OutputClause(id="o1", name="level", allowed_values='"high","low"'),
    OutputClause(id="o2", name="limit", type_ref="number"),
)
MULTI_ROWS = [(["< 10"], ['"low"', "100"]), (["< 20"], ['"high"', "x * 10"])]


def test_multiple_outputs_give_a_dict_and_list_policies_a_list_of_dicts():
    first = _evaluate("FIRST", 15, MULTI_ROWS, outputs=MULTI_OUTPUTS)
    assert first.outputs["T"] == {"level": "high", "limit": 150}
    collect = _evaluate("RULE ORDER", 5, MULTI_ROWS, outputs=MULTI_OUTPUTS)
    assert collect.outputs["T"] == [{"level": "low", "limit": 100}, {"level": "high", "limit": 50}]
    priority = _evaluate("PRIORITY", 5, MULTI_ROWS, outputs=MULTI_OUTPUTS)
    assert priority.outputs["T"] == {"level": "high", "limit": 50}


def test_output_arithmetic_propagates_null():
    rows = [(["-"], ["x * 2 + 1"])]
    outputs = (OutputClause(id="out", name="value"),)
    assert _evaluate("FIRST", 4, rows, outputs=outputs).outputs["T"] == 9
    assert _evaluate("FIRST", None, rows, outputs=outputs).outputs["T"] is None
    division = [(["-"], ["10 / x"])]
    assert _evaluate("FIRST", 0, division, outputs=outputs).outputs["T"] is None
    assert _evaluate("FIRST", 4, division, outputs=outputs).outputs["T"] == 2.5


def test_default_output_entry_answers_when_no_rule_matches():
    outputs = (OutputClause(id="out", name="level", default='"none"'),)
    assert _evaluate("UNIQUE", 99, ROWS[:1], outputs=outputs).outputs["T"] == "none"


def test_input_outside_its_allowed_values_is_an_error():
    inputs = (
        InputClause(
            id="in", expression="x", label="X", type_ref="number", allowed_values="[0..50]"
        ),
    )
    assert _evaluate("FIRST", 5, ROWS, inputs=inputs).success
    evaluation = _evaluate("FIRST", 60, ROWS, inputs=inputs)
    assert [error.code for error in evaluation.errors] == [INPUT_NOT_ALLOWED]


def test_trace_says_per_row_and_cell_why_it_matched_or_not():
    compiled = compile_definitions(table_model("RULE ORDER", ROWS))
    trace = compiled.evaluate({"x": 15}, trace=True).trace["T"]
    assert [row["matched"] for row in trace["rules"]] == [False, True, True, True]
    assert trace["rules"][0]["cells"][0] == {
        "input": "X",
        "entry": "< 10",
        "matched": False,
        "reason": "not matched",
    }
    assert trace["rules"][1]["output"] == "medium"
    mismatch = compiled.evaluate({"x": "15"}, trace=True).trace["T"]["rules"][0]["cells"][0]
    assert mismatch["reason"].startswith("type mismatch: the input is string")
    missing = compiled.evaluate({}, trace=True).trace["T"]["rules"][0]["cells"][0]
    assert missing["reason"] == "the input is null"
    assert compiled.evaluate({"x": 15}).trace is None
