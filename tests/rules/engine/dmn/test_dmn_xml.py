"""Reading DMN 1.1/1.2/1.3 and Camunda files; reports that name the element and its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.engine.dmn import (
    DmnImportError,
    compile_definitions,
    definitions_problems,
    dmn_version,
    read_dmn,
    write_dmn,
)

DATA = Path(__file__).resolve().parents[3] / "data" / "dmn"
FILES = sorted(DATA.glob("*.dmn"))


def _read(name: str):
    return read_dmn((DATA / name).read_bytes())


@pytest.mark.parametrize(
    ("name", "version"),
    [
        ("dmn11_dish.dmn", "1.1"),
        ("dmn12_loan.dmn", "1.2"),
        ("camunda_collect_sum.dmn", "1.3"),
        ("sample_rules.dmn", "1.3"),
        ("tuong_sinh_tuong_khac.dmn", "1.3"),
    ],
)
def test_reads_each_dmn_version(name, version):
    assert dmn_version((DATA / name).read_bytes()) == version
    assert _read(name).decisions


def test_dmn11_camunda_file_evaluates_with_first_hit_and_annotations():
    model = _read("dmn11_dish.dmn")
    table = model.decisions[0].logic
    assert table.rules[0].annotation == "Fall, few guests"
    assert table.inputs[1].type_ref == "number"  # Camunda's "integer"
    compiled = compile_definitions(model)
    assert compiled.evaluate({"season": "Winter", "guestCount": 12}).outputs == {
        "Dish Decision": "Stew"
    }
    outside = compiled.evaluate({"season": "Monsoon", "guestCount": 2})
    assert not outside.success  # outside the input's allowed values


def test_dmn12_model_with_input_data_and_literal_expression():
    compiled = compile_definitions(_read("dmn12_loan.dmn"))
    evaluation = compiled.evaluate({"score": 650, "applied": "2024-03-01"})
    assert evaluation.outputs == {"Risk": "medium", "Message": "risk: medium"}
    assert evaluation.top_decision == "Message"
    assert compiled.evaluate({"score": 650, "applied": "2023-03-01"}).outputs["Risk"] == "low"


def test_camunda_file_reads_input_variable_and_ignores_extension_attributes():
    model = _read("camunda_collect_sum.dmn")
    table = model.decisions[0].logic
    assert table.inputs[1].expression == "member"
    assert (table.hit_policy, table.aggregation) == ("COLLECT", "SUM")
    evaluation = compile_definitions(model).evaluate(
        {"customer": {"age": 20}, "member": True, "since": "2019-05-01T00:00:00"}
    )
    assert evaluation.outputs["Points"] == 22.5


def test_original_sample_files_read_and_the_unquoted_words_need_original_semantics():
    dish = compile_definitions(_read("sample_rules.dmn"))
    assert dish.evaluate({"season": "Spring", "guests": 6}).outputs == {"Dish Decision": "Steak"}

    model = _read("tuong_sinh_tuong_khac.dmn")
    assert len(model.decisions) == 9
    assert model.decision("Decision_0n3v7en").required_decisions == (
        "Decision_0nq1td4",
        "Decision_0kgjdku",
    )
    strict = definitions_problems(model)
    assert any("unknown name 'metal'" in problem.message for problem in strict)
    original = definitions_problems(model, semantics="original")
    # Only the cells the original system passed through as raw text remain: named one by one.
    assert {problem.rule_id for problem in original} == {
        "DecisionRule_1srlgw5",
        "DecisionRule_0autmsu",
    }
    assert all(
        problem.path.startswith("decisions[Decision_091c98u].rules[") for problem in original
    )


def test_original_sample_requirements_evaluate_in_order_under_original_semantics():
    from rules.engine.dmn import Definitions

    model = _read("tuong_sinh_tuong_khac.dmn")
    usable = Definitions(
        id=model.id,
        name=model.name,
        decisions=tuple(d for d in model.decisions if d.id != "Decision_091c98u"),
    )
    compiled = compile_definitions(usable, semantics="original")
    evaluation = compiled.evaluate({"can": "canh", "chi": "ty"})
    assert evaluation.outputs["Can"] == {"element_1": "metal", "can_yin_yang": "yin"}
    assert evaluation.outputs["Ngu Hanh"] == 1  # metal, water
    assert evaluation.matched_rules["Ngu Hanh"] == ["DecisionRule_0vbb264"]


def _problems(xml: str):
    with pytest.raises(DmnImportError) as raised:
        read_dmn(xml)
    return raised.value.problems


DMN13 = "https://www.omg.org/spec/DMN/20191111/MODEL/"


def test_malformed_xml_names_the_line():
    [problem] = _problems(f'<definitions xmlns="{DMN13}">\n  <decision id="a">\n</definitions>')
    assert "not well-formed" in problem.message and problem.path.startswith("line 3")


def test_unsupported_element_is_named_with_its_line_and_nothing_is_returned():
    xml = (
        f'<definitions xmlns="{DMN13}" id="d" name="d">\n'
        '  <decision id="a" name="A">\n'
        '    <context id="c" />\n'
        "  </decision>\n"
        '  <businessKnowledgeModel id="bkm" name="B" />\n'
        "</definitions>"
    )
    problems = _problems(xml)
    assert [problem.path for problem in problems] == [
        "definitions/decision[@id='a']/context (line 3)",
        "definitions/decision[@id='a'] (line 2)",
        "definitions/businessKnowledgeModel (line 5)",
    ]
    assert "unsupported DMN element <context>" in problems[0].message


def test_other_namespaces_and_entity_tricks_are_refused():
    [problem] = _problems('<definitions xmlns="http://example.com/not-dmn" />')
    assert "not the <definitions> of DMN" in problem.message
    bomb = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><definitions>&a;</definitions>'
    [problem] = _problems(bomb)
    assert "refused" in problem.message


def test_unknown_type_ref_and_hit_policy_are_reported():
    xml = (
        f'<definitions xmlns="{DMN13}" id="d" name="d"><decision id="a" name="A">'
        '<decisionTable hitPolicy="SOMETIMES"><input id="i"><inputExpression typeRef="tMoney">'
        '<text>x</text></inputExpression></input><output id="o" name="o" /></decisionTable>'
        "</decision></definitions>"
    )
    messages = [problem.message for problem in _problems(xml)]
    assert any("unknown hitPolicy 'SOMETIMES'" in m for m in messages)
    assert any("unsupported typeRef 'tMoney'" in m for m in messages)


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_export_then_import_gives_the_same_model(path):
    model = read_dmn(path.read_bytes())
    assert read_dmn(write_dmn(model)) == model
    assert read_dmn(write_dmn(model, diagram=False)) == model
