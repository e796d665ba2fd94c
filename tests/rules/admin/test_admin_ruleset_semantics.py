"""The ruleset admin shows the semantics and lets an author choose it on a draft."""

import pytest
from django.urls import reverse

from rules.models import Ruleset
from rules.services.compilation import ruleset_validation_problems
from tests.factories import ruleset_with_rules
from tests.rules.admin.test_ruleset_admin import change_url, new_ruleset_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def login(client):
    def as_user(user):
        client.force_login(user)
        return client

    return as_user


def test_the_change_page_of_a_draft_offers_the_semantics(login, tenant, author):
    ruleset = ruleset_with_rules(tenant=tenant)
    page = login(author).get(change_url(ruleset))
    assert page.status_code == 200
    assert 'name="semantics"' in page.content.decode()
    assert '<option value="original"' in page.content.decode()


@pytest.mark.parametrize(("semantics", "problems"), [("original", []), ("strict", ["patterns"])])
def test_each_semantics_brings_its_own_checks(login, tenant, author, semantics, problems):
    # Two rules, a pattern key of one character: meaningful in `original` only.
    data = new_ruleset_post(
        tenant,
        {},
        {"attribute": "age", "action_result": "A"},
        patterns=(("Y", "ONLY THE FIRST"),),
    )
    data["semantics"] = semantics
    response = login(author).post(reverse("admin:rules_ruleset_add"), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    ruleset = Ruleset.objects.get(tenant=tenant, name="scoring")
    assert ruleset.semantics == semantics
    found = ruleset_validation_problems(ruleset)
    assert [problem.path.split("[")[0] for problem in found] == problems


def test_a_form_without_the_field_keeps_strict(login, tenant, author):
    data = new_ruleset_post(tenant, {})
    response = login(author).post(reverse("admin:rules_ruleset_add"), data)
    assert response.status_code == 302
    assert Ruleset.objects.get(tenant=tenant, name="scoring").semantics == "strict"
