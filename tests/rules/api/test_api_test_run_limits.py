"""POST /api/v1/rulesets/{id}/test is non-production work: a throttle scope of its own per client
(TEST_RUN_RATE_LIMIT) and a worker slot of the node's small pool (issue 19, isolation). Before,
test runs had no limit at all."""

import pytest

from rules.choices import Role
from tests.factories import credit_ruleset
from tests.support.non_production import rates_set, slots_taken

pytestmark = pytest.mark.django_db


def run_tests(client, ruleset):
    return client.post(f"/api/v1/rulesets/{ruleset.pk}/test")


def test_test_runs_are_throttled_per_client_in_their_own_scope(monkeypatch, api, tenant):
    rates_set(monkeypatch, test_run="2/hour", evaluate="1/hour")
    draft = credit_ruleset(tenant)
    client = api(Role.VIEWER, tenant)

    assert [run_tests(client, draft).status_code for _ in range(3)] == [200, 200, 429]
    limited = run_tests(client, draft)
    assert limited.json()["error"]["code"] == "throttled"
    assert 0 < int(limited["Retry-After"]) <= 3600
    assert run_tests(api(Role.VIEWER, tenant), draft).status_code == 200


def test_a_test_run_is_refused_with_503_while_every_slot_is_busy(
    monkeypatch, settings, tmp_path, api, tenant
):
    rates_set(monkeypatch)
    draft = credit_ruleset(tenant)
    client = api(Role.VIEWER, tenant)

    with slots_taken(settings, tmp_path):
        refused = run_tests(client, draft)

    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "non_production_busy"
    assert refused["Retry-After"] == "1"
    assert run_tests(client, draft).status_code == 200
