"""/api/v1/rulesets exposes `semantics`, changeable on a draft and checked against its choices."""

import pytest

from rules.choices import Role
from tests.factories import RulesetFactory


@pytest.fixture
def author_api(api, tenant):
    return api(Role.AUTHOR, tenant)


def test_semantics_is_shown_and_changed_on_a_draft(author_api, tenant):
    ruleset = RulesetFactory(tenant=tenant, name="scoring")
    url = f"/api/v1/rulesets/{ruleset.pk}"
    assert author_api.get(url).json()["semantics"] == "strict"
    response = author_api.patch(url, {"semantics": "original"}, format="json")
    assert response.status_code == 200, response.json()
    ruleset.refresh_from_db()
    assert ruleset.semantics == "original" and response.json()["semantics"] == "original"


def test_an_unknown_semantics_is_refused(author_api, tenant):
    ruleset = RulesetFactory(tenant=tenant, name="scoring")
    response = author_api.patch(
        f"/api/v1/rulesets/{ruleset.pk}", {"semantics": "loose"}, format="json"
    )
    assert response.status_code == 400


def test_create_with_original_semantics(author_api):
    response = author_api.post(
        "/api/v1/rulesets", {"name": "legacy", "semantics": "original"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["semantics"] == "original"
