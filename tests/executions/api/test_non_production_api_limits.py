"""Dry runs, batches of dry runs and backtests over the API: throttle scopes of their own, apart
from production evaluate, and a worker slot of the node's small pool (issue 19, isolation).

Before, a dry run counted as an evaluate (a client's dry runs used up its production rate and had
no limit of their own), and any number of them ran at once in every worker.
"""

import pytest

from rules.choices import RulesetStatus
from tests.factories import credit_ruleset
from tests.support.non_production import rates_set, slots_taken

pytestmark = pytest.mark.django_db

GOOD = {"credit_score": 720, "income": 60000}


@pytest.fixture
def versions(tenant):
    """credit 1.0 (active) and its draft 1.1 in acme."""
    active = credit_ruleset(tenant, version="1.0", status=RulesetStatus.ACTIVE)
    draft = credit_ruleset(tenant, version="1.1", threshold=600)
    return active, draft


def evaluate(client, **body):
    return client.post("/api/v1/evaluate", {"ruleset": "credit", **body}, format="json")


def dry_run(client):
    return evaluate(client, version="1.1", data=GOOD, dry_run=True)


def batch_dry_run(client):
    body = {"ruleset": "credit", "version": "1.1", "items": [GOOD] * 3, "dry_run": True}
    return client.post("/api/v1/evaluate/batch", body, format="json")


def backtest(client, ruleset):
    return client.post(f"/api/v1/rulesets/{ruleset.pk}/backtest", {}, format="json")


def test_dry_runs_have_a_rate_of_their_own_that_never_uses_up_evaluate(
    monkeypatch, viewer_api, tenant, versions
):
    rates_set(monkeypatch, evaluate="3/hour", dry_run="2/hour")
    client = viewer_api(tenant)

    assert dry_run(client).status_code == 200
    assert batch_dry_run(client).status_code == 200  # a batch of dry runs is one dry run
    limited = dry_run(client)
    assert limited.status_code == 429, limited.json()
    assert limited.json()["error"]["code"] == "throttled"
    assert 0 < int(limited["Retry-After"]) <= 3600
    assert batch_dry_run(client).status_code == 429
    # Production evaluations were not counted by the dry runs, and do not count toward them.
    assert [evaluate(client, data=GOOD).status_code for _ in range(4)] == [200, 200, 200, 429]
    # Per client: another client of the tenant has its own dry runs.
    assert dry_run(viewer_api(tenant)).status_code == 200


def test_backtests_are_throttled_per_client(monkeypatch, viewer_api, tenant, versions):
    rates_set(monkeypatch, backtest="1/hour", dry_run="1/hour")
    client = viewer_api(tenant)
    _, draft = versions

    assert backtest(client, draft).status_code == 200
    assert backtest(client, draft).status_code == 429
    assert dry_run(client).status_code == 200  # another scope
    assert backtest(viewer_api(tenant), draft).status_code == 200


def test_non_production_work_is_refused_with_503_while_every_slot_is_busy_and_evaluate_is_not(
    monkeypatch, settings, tmp_path, viewer_api, tenant, versions
):
    rates_set(monkeypatch)
    client = viewer_api(tenant)
    _, draft = versions

    with slots_taken(settings, tmp_path):
        refusals = [dry_run(client), batch_dry_run(client), backtest(client, draft)]
        production = evaluate(client, data=GOOD)

    for refused in refusals:
        assert refused.status_code == 503, refused.json()
        error = refused.json()["error"]
        assert error["code"] == "non_production_busy"
        assert "limit of 1 non-production job" in error["message"]
        assert refused["Retry-After"] == "1"
    assert production.status_code == 200  # production evaluate never takes a slot
    assert dry_run(client).status_code == 200  # the slot is back
