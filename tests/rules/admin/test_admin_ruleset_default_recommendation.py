"""The ruleset admin shows and saves a draft's default recommendation; the draft's page links
its pattern coverage."""

import pytest
from django.urls import reverse

from rules.models import Ruleset
from rules.services.compilation import ruleset_compile
from tests.factories import ruleset_with_rules
from tests.rules.admin.test_ruleset_admin import change_url, new_ruleset_post

pytestmark = pytest.mark.django_db


def test_an_author_sets_the_default_recommendation_in_the_form(client, tenant, author):
    client.force_login(author)
    data = new_ruleset_post(tenant, {}, patterns=(("Y", "APPROVE"),))
    data["default_recommendation"] = "MANUAL_REVIEW"
    response = client.post(reverse("admin:rules_ruleset_add"), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    ruleset = Ruleset.objects.get(tenant=tenant, name="scoring")
    assert ruleset.default_recommendation == "MANUAL_REVIEW"
    assert ruleset_compile(ruleset).evaluate({}).action_recommendation == "MANUAL_REVIEW"


def test_the_change_page_shows_the_default_and_links_the_coverage(client, tenant, author):
    ruleset = ruleset_with_rules(tenant=tenant, default_recommendation="DECLINE")
    client.force_login(author)
    page = client.get(change_url(ruleset)).content.decode()
    assert 'name="default_recommendation"' in page and 'value="DECLINE"' in page
    coverage = reverse("admin:executions_executionlog_pattern_coverage", args=[ruleset.pk])
    assert f'class="coverage-button" href="{coverage}"' in page
