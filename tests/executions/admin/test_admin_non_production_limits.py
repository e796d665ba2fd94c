"""Try-it and backtests in the admin follow the API's limits (issue 19, isolation): a throttle
scope per user (TRY_IT_RATE_LIMIT, BACKTEST_RATE_LIMIT) and a worker slot of the node's small
pool, refused with a readable admin page. Before, neither page had any limit."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from rules.choices import Role, RulesetStatus
from tests.factories import MembershipFactory, credit_ruleset
from tests.support.non_production import rates_set, slots_taken

pytestmark = pytest.mark.django_db

INPUT = {"input": '{"credit_score": 720, "income": 60000}'}


@pytest.fixture
def draft(tenant):
    credit_ruleset(tenant, version="1.0", status=RulesetStatus.ACTIVE)
    return credit_ruleset(tenant, version="1.1", threshold=600)


def logged_in(client, tenant, username):
    client.force_login(
        MembershipFactory(tenant=tenant, role=Role.VIEWER, user__username=username).user
    )
    return client


def try_it_url(ruleset) -> str:
    return reverse("admin:executions_executionlog_try_it", args=[ruleset.pk])


def backtest_url(ruleset) -> str:
    until = timezone.now().replace(second=0, microsecond=0)
    since = until - timedelta(days=1)
    query = f"since={since:%Y-%m-%dT%H:%M}&until={until:%Y-%m-%dT%H:%M}&max_inputs=100"
    baseline = ruleset.tenant.rulesets.get(version="1.0")
    return (
        reverse("admin:executions_executionlog_backtest", args=[ruleset.pk])
        + f"?baseline={baseline.pk}&{query}"
    )


def test_try_it_runs_are_throttled_per_user_with_a_page_that_says_when_to_retry(
    monkeypatch, client, tenant, draft
):
    rates_set(monkeypatch, try_it="2/hour")
    vera = logged_in(client, tenant, "vera")

    assert [vera.post(try_it_url(draft), INPUT).status_code for _ in range(2)] == [200, 200]
    assert vera.get(try_it_url(draft)).status_code == 200  # showing the form runs nothing
    limited = vera.post(try_it_url(draft), INPUT)

    assert limited.status_code == 429
    assert 0 < int(limited["Retry-After"]) <= 3600
    text = limited.content.decode()
    assert "Too many try-it runs" in text
    assert "You have reached your limit of try-it runs (2 per hour). Try again in" in text
    assert "Go back with your browser to keep it" in text
    assert 'id="site-name"' in text  # an admin page, with the admin's header
    walt = logged_in(client, tenant, "walt")
    assert walt.post(try_it_url(draft), INPUT).status_code == 200  # per user


def test_admin_backtests_are_throttled_per_user(monkeypatch, client, tenant, draft):
    rates_set(monkeypatch, backtest="1/hour")
    vera = logged_in(client, tenant, "vera")

    first = vera.get(backtest_url(draft))
    assert first.status_code == 200 and first.context["report"] is not None
    assert (
        vera.get(reverse("admin:executions_executionlog_backtest", args=[draft.pk])).status_code
        == 200
    )
    limited = vera.get(backtest_url(draft))

    assert limited.status_code == 429
    assert "Too many backtests" in limited.content.decode()
    assert f'href="{backtest_url(draft).replace("&", "&amp;")}"' in limited.content.decode()


def test_try_it_and_backtest_pages_are_refused_with_503_while_every_slot_is_busy(
    monkeypatch, settings, tmp_path, client, tenant, draft
):
    rates_set(monkeypatch)
    vera = logged_in(client, tenant, "vera")

    with slots_taken(settings, tmp_path):
        refused = [vera.post(try_it_url(draft), INPUT), vera.get(backtest_url(draft))]

    for page in refused:
        assert page.status_code == 503
        assert page["Retry-After"] == "1"
        text = page.content.decode()
        assert "Busy: try again in a moment" in text
        assert "limit of 1 non-production job" in text
    assert vera.post(try_it_url(draft), INPUT).status_code == 200
