"""The API's names, versions and rule ids (issue 19, point 7): its serializers use the models'
validators, which end with \\Z, not $; DRF trims surrounding whitespace before they run, so a
trailing newline never reaches the database through the API either."""

import pytest

from rules.choices import Role
from rules.models import Rule, Ruleset
from tests.factories import RulesetFactory
from tests.rules.api.conftest import error_of

pytestmark = pytest.mark.django_db


def test_a_trailing_newline_never_reaches_a_stored_name_through_the_api(api, tenant):
    author = api(Role.AUTHOR, tenant)
    created = author.post(
        "/api/v1/rulesets", {"name": "A-rules\n", "version": "1.0\n"}, format="json"
    )
    assert created.status_code == 201, created.json()
    stored = Ruleset.objects.get(pk=created.json()["id"])
    assert (stored.name, stored.version) == ("A-rules", "1.0")

    draft = RulesetFactory(tenant=tenant, name="scoring")
    rule = author.post(
        "/api/v1/rules",
        {
            "ruleset": draft.pk,
            "rule_id": "R1\n",
            "attribute": "score",
            "condition": "greater_than",
            "constant": "1",
        },
        format="json",
    )
    assert rule.status_code == 201 and Rule.objects.get(pk=rule.json()["id"]).rule_id == "R1"


def test_the_api_refuses_what_the_model_validators_refuse(api, tenant):
    author = api(Role.AUTHOR, tenant)
    for payload, field in (
        ({"name": "A rules"}, "name"),
        ({"name": "A-rules", "version": "\u0661.\u0660"}, "version"),  # Arabic-Indic digits
    ):
        response = author.post("/api/v1/rulesets", payload, format="json")
        assert response.status_code == 400, response.json()
        assert set(error_of(response)["details"]) == {field}
    assert not Ruleset.objects.exists()
