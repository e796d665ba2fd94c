"""Converters from the original system's flat and structured files to the spec."""

import json
from pathlib import Path

import pytest

from rules.engine import compile_ruleset, ruleset_problems
from rules.engine.converters import (
    ConversionError,
    detect_format,
    spec_from_flat,
    spec_from_original,
    spec_from_structured,
)

BENCH_FLAT = Path(__file__).resolve().parents[3] / "benchmarks" / "data" / "ruleset_50_flat.json"

FLAT = {
    "rules_set": [
        {
            "id": "R2",
            "rulename": "Second in file",
            "attribute": "age",
            "condition": "greater_than",
            "constant": "18",
            "description": "adult",
            "weight": 2,
            "rulepoint": 10,
            "priority": 1,
            "result": "Y",
        },
        {
            "id": "R1",
            "rule_name": "First",
            "attribute": "tier",
            "condition": "in",
            "constant": ["a", "b"],
        },
    ],
    "patterns": {"YY": "APPROVE", "Y-": "REVIEW"},
}


def test_flat_file_becomes_a_spec_with_aliases_and_defaults():
    spec = spec_from_flat(FLAT, name="legacy", version="3")
    assert spec["format"] == "ruleengine.ruleset" and spec["format_version"] == 1
    assert spec["ruleset"]["name"] == "legacy" and spec["ruleset"]["version"] == "3"
    first, second = spec["rules"]
    assert first == {
        "rule_id": "R2",
        "rule_name": "Second in file",
        "message": "adult",
        "weight": 2,
        # A flat rule takes its points only from `rule_point` in the original.
        "rule_point": 0,
        "priority": 1,
        "action_result": "Y",
        "attribute": "age",
        "condition": "greater_than",
        "constant": "18",
    }
    # The original's defaults, written out: weight 0, no result.
    assert (second["weight"], second["priority"], second["rule_point"]) == (0, 0, 0)
    assert second["action_result"] == ""
    assert spec["patterns"][0] == {
        "pattern_key": "YY",
        "action_recommendation": "APPROVE",
        "action": None,
        "description": "",
    }
    original = spec_from_original(FLAT, name="legacy").spec
    evaluation = compile_ruleset(original).evaluate({"age": 20, "tier": "a"})
    # R1 has priority 0, so it runs first although the file lists it second; its empty result
    # adds nothing to the pattern.
    assert (evaluation.pattern_result, evaluation.matched_rules) == ("Y", ["R1", "R2"])


def test_flat_conversion_lists_every_problem_with_paths_into_the_source():
    broken = {
        "rules_set": [
            {
                "id": "R1",
                "attribute": "a",
                "condition": "equal",
                "constant": "1",
                "weight": "heavy",
            },
            {"rule_name": "no id", "condition": "equal", "priority": 1.5},
            "not a rule",
            {"id": 7, "attribute": ["a"], "condition": "equal", "constant": {"x": 1}},
        ],
        "patterns": {"Y": 5},
    }
    with pytest.raises(ConversionError) as raised:
        spec_from_flat(broken, name="x")
    # Rule 1 has no attribute: the original skips it with a warning (no id is generated then).
    assert [problem.path for problem in raised.value.problems] == [
        "rules_set[3].id",
        "rules_set[0].weight",
        "rules_set[2]",
        "rules_set[3].attribute",
        "rules_set[3].constant",
        "patterns.Y",
    ]


@pytest.mark.parametrize("doc", [None, [], {"rules_set": "x"}, {"patterns": {}}])
def test_conversion_of_a_document_of_the_wrong_shape_raises_conversion_error(doc):
    with pytest.raises(ConversionError):
        spec_from_flat(doc, name="x")
    with pytest.raises(ConversionError):
        spec_from_structured(doc, doc, name="x")


CONDITIONS = {
    "conditions_set": [
        {
            "condition_id": "C0004",
            "condition_name": "Adult",
            "attribute": "age",
            "equation": "greater_than",
            "constant": "17",
        },
        {
            "condition_id": "C0009",
            "condition_name": "Rich",
            "attribute": "income",
            "equation": "greater_than",
            "constant": 1000,
        },
        {
            "condition_id": "C0013",
            "condition_name": "VIP",
            "attribute": "vip",
            "equation": "equal",
            "constant": "true",
        },
    ]
}
STRUCTURED = {
    "rules_set": [
        {
            "id": "S1",
            "rule_name": "simple",
            "type": "simple",
            "conditions": {"item": "C0004"},
            "rule_point": 1,
            "weight": 1,
            "action_result": "Y",
        },
        {
            "id": "S2",
            "type": "complex",
            "conditions": {"mode": "exclusive", "items": ["C0009", "C0013"]},
            "rule_point": 2,
            "weight": 1,
            "action_result": "Z",
        },
        {
            "id": "S3",
            "type": "complex",
            "conditions": {"mode": "inclusive", "items": ["C0009", "C0013"]},
            "action_result": "Y",
        },
    ],
    "patterns": {"YZY": "TOP"},
}


def test_structured_files_become_catalog_rules():
    spec = spec_from_structured(STRUCTURED, CONDITIONS, name="structured")
    assert spec["conditions"][0] == {
        "condition_id": "C0004",
        "name": "Adult",
        "description": "",
        "attribute": "age",
        "operator": "greater_than",
        "value": "17",
    }
    assert [rule["conditions"] for rule in spec["rules"]] == [
        {"mode": "all", "items": ["C0004"]},
        {"mode": "any", "items": ["C0009", "C0013"]},
        {"mode": "all", "items": ["C0009", "C0013"]},
    ]
    compiled = compile_ruleset(spec)
    assert compiled.evaluate({"age": 20, "income": 5, "vip": True}).pattern_result == "YZ-"
    top = compiled.evaluate({"age": 20, "income": 5000, "vip": True})
    assert (top.pattern_result, top.action_recommendation, top.total_points) == ("YZY", "TOP", 3.0)


def test_structured_conversion_reports_unknown_references_and_bad_modes():
    rules = {
        "rules_set": [
            {"id": "S1", "type": "simple", "conditions": {"item": "C404"}},
            {"id": "S2", "type": "complex", "conditions": {"mode": "xor", "items": ["C0004", 5]}},
            {"id": "S3", "type": "weird", "conditions": {"mode": "inclusive", "items": []}},
            {"id": "S4", "type": "complex", "conditions": "C0004"},
        ]
    }
    with pytest.raises(ConversionError) as raised:
        spec_from_structured(rules, CONDITIONS, name="x")
    assert [(problem.rule_id, problem.path) for problem in raised.value.problems] == [
        ("S1", "rules_set[0].conditions.item"),
        ("S2", "rules_set[1].conditions.items[1]"),
        ("S2", "rules_set[1].conditions.mode"),
        ("S3", "rules_set[2].type"),
        ("S4", "rules_set[3].conditions"),
    ]
    assert "unknown condition 'C404'" in raised.value.problems[0].message
    assert "unknown condition 'C404'" in str(raised.value)


def test_detect_format():
    assert detect_format(FLAT) == "flat"
    assert detect_format(STRUCTURED) == "structured"
    assert detect_format(spec_from_flat(FLAT, name="x")) == "spec"
    with pytest.raises(ConversionError):
        detect_format({"something": "else"})


def test_benchmark_flat_file_converts_and_compiles_in_file_order():
    flat = json.loads(BENCH_FLAT.read_text())
    spec = spec_from_flat(flat, name="bench")
    assert ruleset_problems(spec) == []
    compiled = compile_ruleset(spec)
    assert compiled.rule_count == 50
    assert compiled.rule_ids == tuple(
        rule["id"] for rule in sorted(flat["rules_set"], key=lambda r: r["priority"])
    )
