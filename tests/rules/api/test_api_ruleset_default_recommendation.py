"""The ruleset API reads and writes a draft's default recommendation."""

import pytest

from rules.choices import Role
from tests.factories import RulesetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def author_api(api, tenant):
    return api(Role.AUTHOR, tenant)


def test_the_api_reads_and_writes_the_default_of_a_draft(author_api, tenant):
    ruleset = RulesetFactory(tenant=tenant, default_recommendation="MANUAL")
    url = f"/api/v1/rulesets/{ruleset.pk}"
    assert author_api.get(url).json()["default_recommendation"] == "MANUAL"
    response = author_api.patch(url, {"default_recommendation": "DECLINE"}, format="json")
    assert response.status_code == 200, response.json()
    ruleset.refresh_from_db()
    assert ruleset.default_recommendation == "DECLINE"
    history = ruleset.history.latest("history_date")
    assert history.default_recommendation == "DECLINE"
