"""/api/v1/conditions, /api/v1/actions (the tenant's catalogs) and /api/v1/patterns."""

import pytest

from rules.choices import Role, RulesetStatus
from rules.models import Action, Condition, Pattern
from tests.factories import (
    ActionFactory,
    ConditionFactory,
    PatternFactory,
    RuleConditionFactory,
    RulesetFactory,
)
from tests.rules.api.conftest import error_of


@pytest.fixture
def author_api(api, tenant):
    return api(Role.AUTHOR, tenant)


def test_condition_crud(author_api, tenant):
    created = author_api.post(
        "/api/v1/conditions",
        {
            "condition_id": "ADULT",
            "name": "Adult",
            "attribute": "age",
            "operator": "greater_than_or_equal",
            "value": "18",
            "tags": ["kyc"],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body == {
        "id": body["id"],
        "tenant": "acme",
        "condition_id": "ADULT",
        "name": "Adult",
        "description": "",
        "attribute": "age",
        "operator": "greater_than_or_equal",
        "value": "18",
        "status": "active",
        "tags": ["kyc"],
        "metadata": {},
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    url = f"/api/v1/conditions/{body['id']}"

    assert author_api.get(url).json()["condition_id"] == "ADULT"
    changed = author_api.patch(url, {"value": "21", "status": "inactive"}, format="json")
    assert changed.status_code == 200 and changed.json()["value"] == "21"
    assert Condition.objects.get(pk=body["id"]).history.first().history_user == author_api.user
    assert author_api.get("/api/v1/conditions?status=inactive").json()["count"] == 1
    assert author_api.get("/api/v1/conditions?tags=kyc").json()["count"] == 1
    assert author_api.get("/api/v1/conditions?tags=aml").json()["count"] == 0
    assert author_api.delete(url).status_code == 204
    assert not Condition.objects.exists()


def test_condition_field_errors(author_api, tenant):
    ConditionFactory(tenant=tenant, condition_id="ADULT")

    bad_operator = author_api.post(
        "/api/v1/conditions",
        {"condition_id": "X", "name": "X", "attribute": "age", "operator": "greather_than"},
        format="json",
    )
    duplicate = author_api.post(
        "/api/v1/conditions",
        {"condition_id": "ADULT", "name": "A", "attribute": "age", "operator": "exists"},
        format="json",
    )

    assert bad_operator.status_code == 400
    assert list(error_of(bad_operator)["details"]) == ["operator"]
    assert "greather_than" in error_of(bad_operator)["details"]["operator"][0]
    assert duplicate.status_code == 400
    assert error_of(duplicate)["details"] == {
        "non_field_errors": ["Condition with this Tenant and Condition id already exists."]
    }


def test_catalog_condition_used_by_a_published_version_is_read_only(author_api, tenant):
    link = RuleConditionFactory(
        rule__ruleset=RulesetFactory(tenant=tenant, name="live", status=RulesetStatus.ACTIVE)
    )
    url = f"/api/v1/conditions/{link.condition.pk}"

    change = author_api.patch(url, {"value": "21"}, format="json")
    delete = author_api.delete(url)

    assert change.status_code == 409
    assert error_of(change)["code"] == "in_use"
    assert (
        "is used by published versions and cannot be changed: live 1.0 (active)"
        in (error_of(change)["message"])
    )
    assert delete.status_code == 409
    assert error_of(delete)["message"].endswith(
        "is still used by live 1.0 (active); remove it from them first."
    )
    assert Condition.objects.get(pk=link.condition.pk).value == "18"


def test_action_crud(author_api, tenant):
    created = author_api.post(
        "/api/v1/actions",
        {
            "action_id": "A_APPROVE",
            "name": "Approve",
            "action_type": "decision",
            "configuration": {"queue": "auto"},
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    action_pk = created.json()["id"]
    assert created.json()["configuration"] == {"queue": "auto"}
    assert created.json()["tenant"] == "acme"

    url = f"/api/v1/actions/{action_pk}"
    changed = author_api.put(
        url, {"action_id": "A_APPROVE", "name": "Approve now", "action_type": "x"}, format="json"
    )
    assert changed.status_code == 200, changed.json()
    assert Action.objects.get(pk=action_pk).name == "Approve now"
    assert [
        a["action_id"] for a in author_api.get("/api/v1/actions?search=now").json()["results"]
    ] == ["A_APPROVE"]
    bad = author_api.patch(url, {"action_id": "bad id"}, format="json")
    assert bad.status_code == 400 and list(error_of(bad)["details"]) == ["action_id"]
    assert author_api.delete(url).status_code == 204


def test_pattern_crud_links_an_action_of_the_tenant(author_api, tenant, other_tenant):
    draft = RulesetFactory(tenant=tenant, name="scoring")
    action = ActionFactory(tenant=tenant)
    foreign_action = ActionFactory(tenant=other_tenant)

    created = author_api.post(
        "/api/v1/patterns",
        {
            "ruleset": draft.pk,
            "pattern_key": "YY",
            "action_recommendation": "APPROVE",
            "action": action.pk,
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body == {
        "id": body["id"],
        "ruleset": draft.pk,
        "tenant": "acme",
        "pattern_key": "YY",
        "action_recommendation": "APPROVE",
        "action": action.pk,
        "description": "",
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    url = f"/api/v1/patterns/{body['id']}"

    foreign = author_api.patch(url, {"action": foreign_action.pk}, format="json")
    assert foreign.status_code == 400
    assert error_of(foreign)["details"] == {
        "action": [f'Invalid pk "{foreign_action.pk}" - object does not exist.']
    }
    changed = author_api.patch(url, {"action": None, "pattern_key": "Y-"}, format="json")
    assert changed.status_code == 200 and changed.json()["action"] is None
    duplicate = author_api.post(
        "/api/v1/patterns",
        {"ruleset": draft.pk, "pattern_key": "Y-", "action_recommendation": "X"},
        format="json",
    )
    assert duplicate.status_code == 400
    assert error_of(duplicate)["details"] == {
        "non_field_errors": ["Pattern with this Ruleset and Pattern key already exists."]
    }
    assert author_api.get(f"/api/v1/patterns?ruleset={draft.pk}").json()["count"] == 1
    assert author_api.delete(url).status_code == 204
    assert not Pattern.objects.exists()


def test_pattern_of_a_published_version_is_read_only(author_api, tenant):
    pattern = PatternFactory(
        ruleset=RulesetFactory(tenant=tenant, name="old", status=RulesetStatus.DEPRECATED)
    )

    response = author_api.patch(
        f"/api/v1/patterns/{pattern.pk}", {"action_recommendation": "DECLINE"}, format="json"
    )

    assert response.status_code == 409
    assert error_of(response) == {
        "code": "read_only",
        "message": "old 1.0 is deprecated and therefore read-only; create a new draft version "
        "to change it.",
        "details": None,
    }
