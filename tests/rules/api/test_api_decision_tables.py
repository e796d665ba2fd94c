"""POST /api/v1/rulesets/import of a DMN file, and GET .../export of a decision-table ruleset."""

import pytest

from rules.choices import Role, RulesetKind
from rules.engine import dmn
from rules.models import DecisionModel, Ruleset
from tests.factories import DecisionModelFactory
from tests.rules.api.conftest import error_of
from tests.support import TEST_DATA

LOAN = (TEST_DATA / "dmn" / "loan_offer.dmn").read_bytes()


@pytest.fixture
def author_api(api, tenant):
    return api(Role.AUTHOR, tenant)


def test_import_of_a_dmn_file_creates_a_decision_table_draft(author_api, tenant):
    response = author_api.post("/api/v1/rulesets/import", LOAN, content_type="application/xml")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["format"], body["name"], body["version"]) == ("dmn", "Loan_offer", "1.0")
    assert body["counts"]["decisions"] == 2 and body["counts"]["rows"] == 7
    ruleset = Ruleset.objects.get(pk=body["created"]["id"], tenant=tenant)
    assert ruleset.kind == RulesetKind.DECISION_TABLE
    assert DecisionModel.objects.filter(ruleset=ruleset).exists()


def test_import_of_bad_xml_answers_400_naming_the_element_and_writes_nothing(author_api):
    broken = LOAN.replace(b"<decisionTable ", b"<decisionGrid ", 1).replace(
        b"</decisionTable>", b"</decisionGrid>", 1
    )
    response = author_api.post(
        "/api/v1/rulesets/import?name=loans", broken, content_type="application/xml"
    )
    assert response.status_code == 400, response.content
    assert "decisionGrid" in error_of(response)["message"]
    assert not Ruleset.objects.filter(name="loans").exists()


def test_export_of_a_decision_table_ruleset_holds_its_model(author_api, tenant):
    model = DecisionModelFactory(ruleset__tenant=tenant)
    response = author_api.get(f"/api/v1/rulesets/{model.ruleset_id}/export")
    assert response.status_code == 200, response.content
    document = response.json()
    assert document["kind"] == "decision_table"
    assert dmn.definitions_from_dict(document["decision_model"]) == dmn.definitions_from_dict(
        model.definitions
    )


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/api/v1/rules",
            {
                "rule_id": "R1",
                "rule_name": "High score",
                "attribute": "credit_score",
                "condition": "greater_than",
                "constant": "700",
                "rule_point": 100,
                "priority": 1,
            },
        ),
        ("/api/v1/patterns", {"pattern_key": "Y", "action_recommendation": "APPROVE"}),
    ],
)
def test_a_decision_table_draft_takes_no_rules_or_patterns(author_api, tenant, path, body):
    model = DecisionModelFactory(ruleset__tenant=tenant, ruleset__name="dishes")
    draft = model.ruleset
    response = author_api.post(path, {"ruleset": draft.pk, **body}, format="json")

    assert response.status_code == 400, response.content
    assert error_of(response)["details"] == {
        "ruleset": [
            f"dishes {draft.version} is a decision table: it has no rules or patterns; edit "
            "its DMN model"
        ]
    }
    assert not draft.rules.exists() and not draft.patterns.exists()
