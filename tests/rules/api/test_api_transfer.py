"""GET /api/v1/rulesets/{id}/export and POST /api/v1/rulesets/import."""

import json

import pytest

from rules.choices import Role, RulesetStatus
from rules.models import Condition, Rule, Ruleset
from rules.services.ruleset_export import ruleset_export
from tests.factories import (
    ActionFactory,
    ConditionFactory,
    PatternFactory,
    RuleConditionFactory,
    RuleFactory,
    RulesetFactory,
)
from tests.rules.api.conftest import error_of
from tests.support import TEST_DATA

DATA = TEST_DATA


@pytest.fixture
def author_api(api, tenant):
    return api(Role.AUTHOR, tenant)


@pytest.fixture
def published(tenant):
    """An active version with an inline rule, a catalog rule and a pattern linking an action."""
    ruleset = RulesetFactory(
        tenant=tenant, name="scoring", status=RulesetStatus.ACTIVE, tags=["retail"]
    )
    RuleFactory(ruleset=ruleset, rule_id="R1", priority=1, rule_point=100)
    link = RuleConditionFactory(
        rule__ruleset=ruleset,
        rule__rule_id="R2",
        rule__priority=2,
        condition=ConditionFactory(tenant=tenant, condition_id="ADULT"),
    )
    RuleConditionFactory(
        rule=link.rule,
        condition=ConditionFactory(tenant=tenant, condition_id="RICH", attribute="income"),
        position=1,
    )
    PatternFactory(
        ruleset=ruleset, pattern_key="YY", action=ActionFactory(tenant=tenant, action_id="OK")
    )
    return ruleset


def test_export_is_the_export_rules_document(author_api, published):
    response = author_api.get(f"/api/v1/rulesets/{published.pk}/export")

    assert response.status_code == 200
    document = response.json()
    assert document == json.loads(json.dumps(ruleset_export(ruleset=published)))
    assert document["format"] == "ruleengine.ruleset"
    assert [r["rule_id"] for r in document["rules"]] == ["R1", "R2"]
    assert document["rules"][1]["conditions"] == {"mode": "all", "items": ["ADULT", "RICH"]}
    assert [c["condition_id"] for c in document["conditions"]] == ["ADULT", "RICH"]
    assert document["patterns"][0]["action"] == "OK"


def test_export_import_round_trip_creates_a_draft_with_the_same_rules(author_api, published):
    document = author_api.get(f"/api/v1/rulesets/{published.pk}/export").json()

    response = author_api.post("/api/v1/rulesets/import?name=copy", document, format="json")

    assert response.status_code == 201, response.json()
    report = response.json()
    assert {k: v for k, v in report.items() if k != "created"} == {
        "format": "spec",
        "name": "copy",
        "version": "1.0",
        "dry_run": False,
        "unchanged": False,
        "existing": None,
        "counts": {
            "rules": 2,
            "patterns": 1,
            "conditions": 0,
            "actions": 0,
            "conditions_reused": 2,
            "actions_reused": 1,
            "test_cases": 0,
        },
        "semantics": "strict",
        "generated_rule_ids": [],
        "normalisations": [],
        "warnings": [],
    }
    assert (report["created"]["name"], report["created"]["status"]) == ("copy", "draft")
    imported = author_api.get(f"/api/v1/rulesets/{report['created']['id']}/export").json()
    for section in ("rules", "conditions", "actions", "patterns"):
        assert imported[section] == document[section]
    assert imported["ruleset"] == {**document["ruleset"], "name": "copy"}
    assert Condition.objects.count() == 2  # the catalog entries were reused, not copied


def test_import_of_unchanged_content_creates_nothing(author_api, published):
    document = author_api.get(f"/api/v1/rulesets/{published.pk}/export").json()

    response = author_api.post("/api/v1/rulesets/import", document, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["unchanged"] is True
    assert response.json()["existing"] == published.pk and response.json()["created"] is None
    assert Ruleset.objects.count() == 1


def test_import_of_a_flat_file(author_api, tenant):
    document = json.loads((DATA / "flat_small.json").read_text())

    response = author_api.post("/api/v1/rulesets/import?name=flat", document, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["format"] == "flat"
    assert response.json()["counts"]["rules"] == 3 and response.json()["counts"]["patterns"] == 3
    ruleset = Ruleset.objects.get(tenant=tenant, name="flat")
    assert ruleset.status == RulesetStatus.DRAFT and ruleset.created_by == author_api.user
    rules = Rule.objects.filter(ruleset=ruleset).order_by("position")
    # R2's `rulepoint` scores 0 in the original's flat rules: written out as rule_point 0.
    assert [(r.rule_id, r.rule_point) for r in rules] == [("R1", 10), ("R2", 0), ("R3", 5)]
    assert ruleset.semantics == "original"


def test_import_of_a_structured_file_with_its_conditions_in_the_same_body(author_api, tenant):
    document = {
        **json.loads((DATA / "structured_rules.json").read_text()),
        **json.loads((DATA / "structured_conditions.json").read_text()),
    }

    response = author_api.post("/api/v1/rulesets/import?name=structured", document, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["format"] == "structured"
    assert response.json()["counts"]["conditions"] == 4
    assert Condition.objects.filter(tenant=tenant).count() == 4


def test_dry_run_writes_nothing(author_api):
    document = json.loads((DATA / "flat_small.json").read_text())

    response = author_api.post(
        "/api/v1/rulesets/import?name=flat&dry_run=true", document, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["dry_run"] is True and response.json()["created"] is None
    assert (response.json()["name"], response.json()["version"]) == ("flat", "1.0")
    assert not Ruleset.objects.exists()


def test_import_problems_are_a_400_listing_every_problem_with_its_path(author_api):
    document = json.loads((DATA / "flat_small.json").read_text())
    document["rules_set"][1]["condition"] = "greather_than"
    # (A longer action_result is allowed in `original` semantics, which these files get.)
    document["rules_set"][2]["constant"] = "US"

    response = author_api.post("/api/v1/rulesets/import?name=flat", document, format="json")
    nameless = author_api.post("/api/v1/rulesets/import", {"rules_set": []}, format="json")

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid_ruleset"
    assert [(p["rule_id"], p["path"]) for p in error["details"]["problems"]] == [
        ("R2", "rules_set[1].condition"),
        ("R3", "rules_set[2].constant"),
    ]
    assert nameless.status_code == 400
    assert error_of(nameless)["details"]["problems"][0]["message"] == (
        "the original system's files have no name; give one (--name)"
    )
    assert not Ruleset.objects.exists()


def test_import_needs_edit_and_json(api, tenant):
    viewer_api = api(Role.VIEWER, tenant)
    document = json.loads((DATA / "flat_small.json").read_text())

    refused = viewer_api.post("/api/v1/rulesets/import?name=flat", document, format="json")
    form = api(Role.AUTHOR, tenant).post("/api/v1/rulesets/import?name=flat", {"a": "b"})

    assert refused.status_code == 403
    assert error_of(refused)["message"] == (
        "Your role 'viewer' in tenant acme does not allow edit."
    )
    assert form.status_code == 415
    assert not Ruleset.objects.exists()


def test_import_of_a_document_without_its_optional_sections(author_api):
    response = author_api.post(
        "/api/v1/rulesets/import", {"ruleset": {"name": "empty"}, "rules": []}, format="json"
    )

    assert response.status_code == 201


def test_import_of_an_original_file_reports_its_normalisations_and_takes_semantics_and_strict(
    author_api, tenant
):
    document = {
        "rules_set": [
            {
                "rulename": "Adult",
                "attribute": "age",
                "condition": "greater_than",
                "constant": "17",
                "rule_point": 10,
                "action_result": "Y",
            },
            {
                "id": "S1",
                "type": "complex",
                "action_result": "Y",
                "conditions": {"mode": "AND", "items": ["C404", "C1"]},
            },
        ],
        "conditions_set": [
            {"condition_id": "C1", "attribute": "age", "equation": "greater_than", "constant": 1}
        ],
    }
    response = author_api.post("/api/v1/rulesets/import?name=legacy", document, format="json")
    assert response.status_code == 201, response.json()
    report = response.json()
    assert report["semantics"] == "original" and report["created"]["semantics"] == "original"
    assert report["generated_rule_ids"] == ["R0001"]
    assert report["normalisations"] and all(n["path"] for n in report["normalisations"])
    assert [w["path"] for w in report["warnings"]] == ["rules_set[1].conditions.items[0]"]
    refused = author_api.post(
        "/api/v1/rulesets/import?name=legacy2&strict=true", document, format="json"
    )
    assert refused.status_code == 400
    assert "C404" in json.dumps(refused.json())
    assert not Ruleset.objects.filter(name="legacy2").exists()
    chosen = author_api.post(
        "/api/v1/rulesets/import?name=legacy3&semantics=strict", document, format="json"
    )
    assert chosen.status_code == 201, chosen.json()
    assert chosen.json()["semantics"] == "strict"
    assert Ruleset.objects.get(name="legacy3").semantics == "strict"
