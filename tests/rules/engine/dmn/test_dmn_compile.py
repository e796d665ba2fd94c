"""Checking a model: every problem names its decision, rule and column; the DRD order."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from rules.engine.dmn import (
    Decision,
    DecisionTable,
    Definitions,
    DmnCompileError,
    InputClause,
    InputData,
    LiteralExpression,
    OutputClause,
    Rule,
    compile_definitions,
    definitions_from_dict,
    definitions_problems,
)
from tests.rules.engine.dmn.tables import table_model


def test_unsupported_cell_is_a_problem_naming_decision_rule_and_column():
    model = table_model("FIRST", [(["< 10"], ['"low"']), (["string join(a)"], ["{a: 1}"])])
    problems = definitions_problems(model)
    assert [(p.path, p.rule_id) for p in problems] == [
        ("decisions[t].rules[1].input_entries[0]", "r2"),
        ("decisions[t].rules[1].output_entries[0]", "r2"),
    ]
    assert problems[0].message.startswith("input 'X': 'string join(a)': ")
    with pytest.raises(DmnCompileError) as raised:
        compile_definitions(model)
    assert len(raised.value.problems) == 2


def test_unquoted_word_is_an_unknown_name_unless_original_semantics():
    model = table_model(
        "FIRST",
        [(["gold"], ["silver"])],
        inputs=(InputClause(id="in", expression="tier"),),
        outputs=(OutputClause(id="out", name="level"),),
    )
    [input_problem, output_problem] = definitions_problems(model)
    assert "unknown name 'gold'" in input_problem.message
    compiled = compile_definitions(model, semantics="original")
    assert compiled.evaluate({"tier": "gold"}).outputs["T"] == "silver"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"hit_policy": "SOMETIMES"}, "unknown hit policy"),
        ({"hit_policy": "FIRST", "aggregation": "SUM"}, "only the COLLECT"),
        (
            {"hit_policy": "PRIORITY", "outputs": (OutputClause(id="o", name="level"),)},
            "priority order",
        ),
    ],
)
def test_table_settings_are_checked(changes, message):
    base = table_model("FIRST", [(["< 10"], ['"low"'])]).decisions[0].logic
    table = DecisionTable(**{**base.__dict__, **changes})
    model = Definitions(id="d", name="d", decisions=(Decision(id="t", name="T", logic=table),))
    assert any(message in problem.message for problem in definitions_problems(model))


def test_row_with_the_wrong_number_of_entries_is_a_problem():
    model = table_model("FIRST", [(["< 10", "1"], ['"low"'])])
    [problem] = definitions_problems(model)
    assert problem.rule_id == "r1" and "2 input entries for 1 inputs" in problem.message


def test_literal_output_outside_allowed_values_or_type_is_a_problem():
    model = table_model("FIRST", [(["< 10"], ['"extreme"'])])
    assert "not among the allowed values" in definitions_problems(model)[0].message
    typed = table_model(
        "FIRST",
        [(["< 10"], ['"five"'])],
        outputs=(OutputClause(id="o", name="n", type_ref="number"),),
    )
    assert "is a number, not a string" in definitions_problems(typed)[0].message


def _decision(decision_id, name, requires=(), logic=None, inputs=()):
    table = logic or DecisionTable(
        id=f"{decision_id}_table",
        inputs=(InputClause(id=f"{decision_id}_in", expression="x", type_ref="number"),),
        outputs=(OutputClause(id=f"{decision_id}_out", name=f"{name}_out"),),
        rules=(Rule(id=f"{decision_id}_r1", input_entries=("-",), output_entries=("x + 1",)),),
        hit_policy="FIRST",
    )
    return Decision(
        id=decision_id, name=name, logic=table, required_decisions=requires, required_inputs=inputs
    )


def test_requirement_cycle_is_a_problem():
    model = Definitions(
        id="d", name="d", decisions=(_decision("a", "A", ("b",)), _decision("b", "B", ("a",)))
    )
    assert any("cycle" in problem.message for problem in definitions_problems(model))


def test_missing_requirement_is_a_problem():
    model = Definitions(id="d", name="d", decisions=(_decision("a", "A", ("nope",)),))
    assert "'nope', which is not in the model" in definitions_problems(model)[0].message


def test_decisions_evaluate_in_dependency_order_and_see_required_results():
    top = Decision(
        id="top",
        name="Top",
        logic=LiteralExpression(id="top_expr", text="Base * 2 + bonus"),
        required_decisions=("base",),
        required_inputs=("bonus_data",),
    )
    base = Decision(
        id="base",
        name="Base",
        logic=DecisionTable(
            id="base_table",
            inputs=(InputClause(id="in", expression="score", type_ref="number"),),
            outputs=(OutputClause(id="out", name="points"),),
            rules=(Rule(id="b1", input_entries=(">= 10",), output_entries=("score - 10",)),),
        ),
    )
    model = Definitions(
        id="d",
        name="d",
        decisions=(top, base),
        input_data=(InputData(id="bonus_data", name="bonus", type_ref="number"),),
    )
    compiled = compile_definitions(model)
    assert [d.id for d in compiled.decisions] == ["base", "top"]
    evaluation = compiled.evaluate({"score": 15, "bonus": 1})
    assert evaluation.outputs == {"Base": 5, "Top": 11}
    assert evaluation.top_decision == "Top" and evaluation.top_output == 11
    assert compiled.evaluate({"score": 15, "bonus": 1}, decisions=["base"]).outputs == {"Base": 5}


def test_model_round_trips_through_plain_json():
    model = table_model(
        "COLLECT",
        [(["< 10"], ["1"])],
        aggregation="SUM",
        outputs=(OutputClause(id="o", name="n", type_ref="number"),),
    )
    assert definitions_from_dict(model.as_dict()) == model


def test_compiled_model_is_safe_to_share_between_threads():
    compiled = compile_definitions(
        table_model("RULE ORDER", [(["< 10"], ['"low"']), (["< 20"], ['"high"'])])
    )
    failures = []

    def work(offset):
        for x in range(offset, offset + 2000):
            expected = (["low"] if x % 30 < 10 else []) + (["high"] if x % 30 < 20 else [])
            if compiled.evaluate({"x": x % 30}).outputs["T"] != expected:
                failures.append(x)

    threads = [threading.Thread(target=work, args=(n * 7,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_cell_text_never_reaches_the_generated_code():
    injected = table_model(
        "FIRST",
        [(["\"__import__('os')\""], ['"x\\"); import os; ("'])],
        outputs=(OutputClause(id="o", name="n"),),
        inputs=(InputClause(id="in", expression="v"),),
    )
    compiled = compile_definitions(injected)
    assert compiled.evaluate({"v": "__import__('os')"}).outputs["T"] == 'x"); import os; ('
    assert "import os" not in compiled.source("t")


def test_dmn_engine_imports_no_django():
    code = (
        "import sys, rules.engine.dmn; assert not any(m.startswith('django') for m in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
