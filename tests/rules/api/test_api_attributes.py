"""/api/v1/attributes: the tenant's attributes catalog; rules checked against it; a ruleset's
input_validation. Tenant isolation of these routes is walked in test_api_tenancy.py."""

import pytest

from rules.choices import Role
from rules.models import Attribute, Ruleset
from tests.factories import AttributeFactory, credit_ruleset
from tests.rules.api.conftest import error_of

pytestmark = pytest.mark.django_db


def test_an_author_creates_reads_changes_and_deletes_an_attribute(api, tenant):
    author = api(Role.AUTHOR, tenant)
    payload = {
        "name": "applicant.country",
        "data_type": "string",
        "description": "Where the applicant lives",
        "allowed_values": ["DE", "FR"],
        "example": "DE",
    }

    created = author.post("/api/v1/attributes", payload, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert {k: body[k] for k in payload} == payload and body["tenant"] == "acme"
    url = f"/api/v1/attributes/{body['id']}"

    changed = author.patch(url, {"allowed_values": ["DE", "FR", "IT"]}, format="json")
    listed = author.get("/api/v1/attributes?data_type=string").json()["results"]
    deleted = author.delete(url)

    assert changed.status_code == 200 and changed.json()["allowed_values"] == ["DE", "FR", "IT"]
    assert [a["name"] for a in listed] == ["applicant.country"]
    assert deleted.status_code == 204 and not Attribute.objects.exists()


def test_a_bad_attribute_is_a_400_naming_each_field(api, tenant):
    author = api(Role.AUTHOR, tenant)
    AttributeFactory(tenant=tenant, name="age")

    bad = author.post(
        "/api/v1/attributes",
        {"name": "1x", "data_type": "integer", "allowed_values": [1, "two"], "example": 2.5},
        format="json",
    )
    taken = author.post("/api/v1/attributes", {"name": "age"}, format="json")
    wrong_type = author.post(
        "/api/v1/attributes", {"name": "a", "data_type": "float"}, format="json"
    )

    assert bad.status_code == 400
    details = error_of(bad)["details"]
    assert set(details) == {"name", "allowed_values"}
    assert details["allowed_values"] == ["Entry 2: expected an integer, got string 'two'."]
    assert taken.status_code == 400 and "already exists" in str(error_of(taken)["details"])
    assert wrong_type.status_code == 400 and "data_type" in error_of(wrong_type)["details"]


def test_a_rule_constant_that_cannot_match_its_attribute_type_is_refused(api, tenant):
    author = api(Role.AUTHOR, tenant)
    ruleset = credit_ruleset(tenant)
    AttributeFactory(tenant=tenant, name="credit_score", data_type="integer", example=None)
    rule = ruleset.rules.get(rule_id="R1")

    refused = author.patch(f"/api/v1/rules/{rule.pk}", {"constant": "high"}, format="json")
    created = author.post(
        "/api/v1/rules",
        {
            "ruleset": ruleset.pk,
            "rule_id": "R9",
            "attribute": "credit_score",
            "condition": "less_than",
            "constant": "10,000",
        },
        format="json",
    )
    fine = author.patch(f"/api/v1/rules/{rule.pk}", {"constant": "650"}, format="json")

    assert refused.status_code == 400
    assert error_of(refused)["details"] == {
        "constant": [
            "'high' is not a number, and credit_score is integer: 'greater_than' can never match."
        ]
    }
    assert created.status_code == 400 and "constant" in error_of(created)["details"]
    assert fine.status_code == 200


def test_input_validation_is_read_and_changed_on_drafts(api, tenant):
    author = api(Role.AUTHOR, tenant)
    ruleset = credit_ruleset(tenant)

    changed = author.patch(
        f"/api/v1/rulesets/{ruleset.pk}", {"input_validation": "strict"}, format="json"
    )
    wrong = author.patch(
        f"/api/v1/rulesets/{ruleset.pk}", {"input_validation": "loud"}, format="json"
    )

    assert changed.status_code == 200 and changed.json()["input_validation"] == "strict"
    assert Ruleset.objects.get(pk=ruleset.pk).input_validation == "strict"
    assert wrong.status_code == 400 and "input_validation" in error_of(wrong)["details"]


def test_the_export_and_import_routes_carry_attributes(api, tenant, other_tenant):
    ruleset = credit_ruleset(tenant)
    AttributeFactory(tenant=tenant, name="income", data_type="number", example=50000)
    exported = api(Role.VIEWER, tenant).get(f"/api/v1/rulesets/{ruleset.pk}/export").json()

    imported = api(Role.AUTHOR, other_tenant).post(
        "/api/v1/rulesets/import", exported, format="json"
    )

    assert [a["name"] for a in exported["attributes"]] == ["income"]
    assert imported.status_code == 201, imported.json()
    assert Attribute.objects.for_tenant(other_tenant).get().example == 50000
