"""import_rules reads every file the original system's loader reads, losslessly and reported.

The files under tests/data/original/ are the original's own examples (data/input/ there).
"""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from rules.models import Condition, Rule, Ruleset
from rules.services.compilation import ruleset_compile, ruleset_spec
from rules.services.ruleset_export import ruleset_export
from rules.services.ruleset_import import ruleset_import
from tests.factories import authoring_counts
from tests.support import TEST_DATA

ORIGINAL = TEST_DATA / "original"
CATALOG = str(ORIGINAL / "conditions_config.json")


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def import_file(tmp_path, document, *extra, conditions=None, name="legacy") -> str:
    source = tmp_path / f"{name}.json"
    source.write_text(json.dumps(document))
    args = ["import_rules", str(source), "--tenant", "acme", "--name", name, *extra]
    if conditions is not None:
        catalog = tmp_path / f"{name}_conditions.json"
        catalog.write_text(json.dumps(conditions))
        args += ["--conditions", str(catalog)]
    return run(*args)


def evaluate(name, data):
    ruleset = Ruleset.objects.get(name=name)
    return ruleset_compile(ruleset).evaluate(data)


def test_the_flat_example_imports_with_original_semantics(tenant):
    output = run(
        "import_rules", str(ORIGINAL / "rules_config.json"), "--tenant", "acme", "--name", "comics"
    )
    assert "Imported flat format as comics 1.0 (draft): 3 rules, 3 patterns" in output
    assert "Semantics: original" in output
    assert Ruleset.objects.get(name="comics").semantics == "original"
    answer = evaluate("comics", {"issue": 40, "title": "Superman", "publisher": "DC"})
    assert (answer.pattern_result, answer.total_points, answer.action_recommendation) == (
        "YYY",
        30 * 20 + 20 * 15 + 5 * 10.0,
        "Approved",
    )
    # Only `issue` given: the two other rules are left out, so the pattern is one long.
    assert evaluate("comics", {"issue": 40}).pattern_result == "Y"


def test_standard_type_with_inline_fields_is_a_simple_rule(tenant):
    output = run(
        "import_rules", str(ORIGINAL / "rules_config_v3.json"), "--tenant", "acme", "--name", "cr"
    )
    assert "rules_set[0].type: type 'standard' with inline fields read as 'simple'" in output
    answer = evaluate("cr", {"age_till_now": 100, "days_since_starting_uat": 1})
    # days_since_bomc_approval is absent: its rule is left out.
    assert (answer.pattern_result, answer.total_points) == ("Y-", 600.0)


def test_the_structured_example_with_its_catalog(tenant):
    output = run(
        "import_rules",
        str(ORIGINAL / "rules_config_v4.json"),
        "--conditions",
        CATALOG,
        "--tenant",
        "acme",
        "--name",
        "backlog",
    )
    assert "Imported structured format as backlog 1.0 (draft): 3 rules, 4 patterns" in output
    assert "mode 'inclusive' read as 'all'" in output
    answer = evaluate("backlog", {"age_till_now": 120, "days_since_starting_uat": 40})
    # Rules 2 and 3 also read `status` (and rule 3 days_since_bomc_approval): left out.
    assert (answer.pattern_result, answer.action_recommendation) == ("Y", None)
    full = evaluate(
        "backlog",
        {
            "age_till_now": 120,
            "days_since_starting_uat": 40,
            "status": "uat",
            "days_since_bomc_approval": 1,
        },
    )
    assert (full.pattern_result, full.action_recommendation) == ("YY-", None)
    assert full.total_points == pytest.approx(20 * 0.1 + 10 * 0.15)


def test_the_legacy_rules_set_details_layout_is_refused_saying_the_original_cannot_read_it(
    tenant,
):
    before = authoring_counts()
    with pytest.raises(CommandError, match="not read by the original system's loader either"):
        run(
            "import_rules",
            str(ORIGINAL / "rules_config_v2.json"),
            "--tenant",
            "acme",
            "--name",
            "legacy",
        )
    assert authoring_counts() == before


def test_every_alias_is_read_and_every_normalisation_reported(tenant, tmp_path):
    document = {
        "rules_set": [
            {
                "rulename": "no id, flat",
                "attribute": "age",
                "condition": "greater_than",
                "constant": "17",
                "rulepoint": 50,
                "weight": "2",
                "action_result": "A",
            },
            {
                "id": "S1",
                "rulename": "structured, rulepoint",
                "type": "Standard",
                "conditions": {"condition_id": "C1"},
                "rulepoint": 10,
                "result": "B",
            },
            {
                "id": "S2",
                "type": "complex",
                "conditions": {
                    "mode": " OR ",
                    "items": [
                        "C1",
                        {"attribute": "tier", "equation": "equal", "constant": "gold"},
                        {"attribute": "tier", "condition": "IN", "constant": ["vip"]},
                    ],
                },
                "rule_point": 3,
                "weight": 1,
                "action_result": "{tier}!",
            },
            {"attribute": "", "condition": "equal", "constant": "", "action_result": "Z"},
        ],
        "patterns": {"AB": "both", "ABgold!": "all three", "B": "only the catalog one"},
    }
    conditions = {
        "conditions_set": [
            {
                "condition_id": "C1",
                "condition_name": "adult",
                "attribute": "age",
                "equation": "greater_than",
                "constant": 17,
            }
        ]
    }
    output = import_file(tmp_path, document, conditions=conditions)
    assert "Generated rule ids: R0001" in output
    for note in (
        "rules_set[0].id: no rule id: generated R0001",
        "rules_set[0].rulepoint: a flat rule takes its points only from 'rule_point'",
        "rules_set[0].weight: the text '2' read as the number 2",
        "rules_set[1].type: type 'Standard' read as 'simple'",
        "rules_set[1].conditions.condition_id: 'condition_id' read as 'item'",
        "rules_set[1].rulepoint: 'rulepoint' read as 'rule_point'",
        "rules_set[1].weight: no 'weight': 0, as in the original",
        "rules_set[2].conditions.mode: mode ' OR ' read as 'any'",
        "rules_set[2].conditions.items[1]: inline condition stored as catalog condition S2.2",
        "rules_set[2].conditions.items[2].condition: operator 'IN' read as 'in'",
        "Warnings (1):",
        "rules_set[3]: empty 'attribute' or 'condition': the original skips this rule",
    ):
        assert note in output
    rules = {rule.rule_id: rule for rule in Rule.objects.filter(ruleset__name="legacy")}
    assert set(rules) == {"R0001", "S1", "S2"}
    assert (rules["R0001"].rule_point, rules["R0001"].weight) == (0, 2)
    assert (rules["S1"].rule_point, rules["S1"].weight) == (10, 0)
    assert rules["S2"].action_result == "{tier}!" and rules["S2"].condition_mode == "any"
    assert Condition.objects.filter(condition_id__in=["S2.2", "S2.3"]).count() == 2
    answer = evaluate("legacy", {"age": 20, "tier": "gold"})
    assert (answer.pattern_result, answer.action_recommendation) == ("ABgold!", "all three")
    assert answer.total_points == 3.0
    assert evaluate("legacy", {"age": 20}).pattern_result == "AB"


def test_unknown_catalog_ids_in_a_complex_rule_are_skipped_or_refused_with_strict(tenant, tmp_path):
    document = {
        "rules_set": [
            {
                "id": "S1",
                "type": "complex",
                "conditions": {"mode": "and", "items": ["C404", "C1"]},
                "action_result": "Y",
            }
        ]
    }
    conditions = {
        "conditions_set": [
            {"condition_id": "C1", "attribute": "age", "equation": "greater_than", "constant": 1}
        ]
    }
    before = authoring_counts()
    with pytest.raises(CommandError) as raised:
        import_file(tmp_path, document, "--strict", conditions=conditions)
    assert "unknown condition 'C404': skipped, as the original does (an error with --strict)" in (
        str(raised.value)
    )
    assert authoring_counts() == before
    output = import_file(tmp_path, document, conditions=conditions)
    assert "rules_set[0].conditions.items[0]: unknown condition 'C404'" in output
    assert evaluate("legacy", {"age": 5}).pattern_result == "Y"
    document["rules_set"][0]["conditions"]["items"] = ["C404"]
    with pytest.raises(CommandError, match="none of the conditions is known"):
        import_file(tmp_path, document, conditions=conditions, name="none_known")


def test_semantics_strict_on_request_and_its_checks(tenant, tmp_path):
    document = json.loads((ORIGINAL / "rules_config.json").read_text())
    document["patterns"]["Y"] = "short key"
    with pytest.raises(CommandError, match="pattern key 'Y' has length 1"):
        import_file(tmp_path, document, "--semantics", "strict")
    output = import_file(tmp_path, document)
    assert "Semantics: original" in output
    del document["patterns"]["Y"]
    output = import_file(tmp_path, document, "--semantics", "strict", name="strict_comics")
    assert "Semantics: strict" in output
    assert evaluate("strict_comics", {"issue": 40}).pattern_result == "Y--"


def test_the_export_carries_the_semantics_and_import_reads_it_back(tenant, other_tenant):
    report = ruleset_import(
        tenant=tenant,
        actor=None,
        document=(ORIGINAL / "rules_config.json").read_text(),
        name="comics",
    )
    document = ruleset_export(ruleset=report.created)
    assert document["ruleset"]["semantics"] == "original"
    again = ruleset_import(tenant=other_tenant, actor=None, document=json.dumps(document))
    assert again.created.semantics == "original" and again.semantics == "original"
    assert ruleset_spec(again.created)["rules"] == document["rules"]


def test_bad_input_names_the_problem_and_its_path_and_writes_nothing(tenant, tmp_path):
    document = {
        "rules_set": [
            {"id": "S1", "type": "complex", "conditions": {"items": [{"attribute": "a"}]}},
            {"id": "S2", "type": "fancy", "conditions": {"item": "C1"}},
            {"id": "S3", "type": "simple", "conditions": {"item": "C404"}},
        ]
    }
    conditions = {"conditions_set": [{"condition_id": "C1", "attribute": "a", "equation": "equal"}]}
    before = authoring_counts()
    with pytest.raises(CommandError) as raised:
        import_file(tmp_path, document, conditions=conditions)
    report = str(raised.value)
    for message in (
        "rule S1: 'equation' is required [rules_set[0].conditions.items[0].equation]",
        "rule S2: 'type' must be 'simple' or 'complex' (or 'standard'), not 'fancy'",
        "rule S3: unknown condition 'C404' (the original refuses it too",
    ):
        assert message in report
    assert authoring_counts() == before
