"""The admin's "Run tests" page is non-production work like the API's test runs (issue 19): the
test_run throttle scope per user and a worker slot of the node's small pool, refused with a
readable admin page. Before, it had no limit."""

import pytest
from django.urls import reverse

from rules.choices import Role
from tests.factories import credit_ruleset
from tests.support.non_production import rates_set, slots_taken

pytestmark = pytest.mark.django_db


def run_tests_url(ruleset) -> str:
    return reverse("admin:rules_ruleset_tests", args=[ruleset.pk])


def test_the_tests_page_is_throttled_per_user(monkeypatch, client, member, tenant):
    rates_set(monkeypatch, test_run="1/hour")
    draft = credit_ruleset(tenant)
    client.force_login(member(Role.VIEWER, username="vera"))

    assert client.get(run_tests_url(draft)).status_code == 200
    limited = client.get(run_tests_url(draft))

    assert limited.status_code == 429
    assert 0 < int(limited["Retry-After"]) <= 3600
    text = limited.content.decode()
    assert "Too many test runs" in text
    assert "You have reached your limit of test runs (1 per hour)" in text
    assert f'href="{run_tests_url(draft)}">Try again' in text
    client.force_login(member(Role.VIEWER, username="walt"))
    assert client.get(run_tests_url(draft)).status_code == 200


def test_the_tests_page_is_refused_with_503_while_every_slot_is_busy(
    monkeypatch, settings, tmp_path, client, member, tenant
):
    rates_set(monkeypatch)
    draft = credit_ruleset(tenant)
    client.force_login(member(Role.VIEWER, username="vera"))

    with slots_taken(settings, tmp_path):
        refused = client.get(run_tests_url(draft))

    assert refused.status_code == 503
    assert refused["Retry-After"] == "1"
    assert "limit of 1 non-production job" in refused.content.decode()
    page = client.get(run_tests_url(draft))
    assert page.status_code == 200 and page.context["report"].total == 0
