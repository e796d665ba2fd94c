"""POST /api/v1/rulesets/{id}/backtest: the report of executions.backtest over HTTP."""

from datetime import timedelta

import pytest

from executions.models import ExecutionLog
from rules.choices import Role, RulesetStatus
from tests.executions.test_backtest import (
    KNOWN_INPUTS,
    NOW,
    credit_ruleset,
    known_report_checks,
    write_logs,
)

pytestmark = pytest.mark.django_db
HOUR = timedelta(hours=1)


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


def backtest(client, ruleset, **body):
    return client.post(f"/api/v1/rulesets/{ruleset.pk}/backtest", body, format="json")


@pytest.fixture
def versions(tenant):
    """credit 1.0 (active, credit_score > 700) and the draft 1.1 (> 600) of acme."""
    baseline = credit_ruleset(tenant, version="1.0", threshold=700, status=RulesetStatus.ACTIVE)
    candidate = credit_ruleset(tenant, version="1.1", threshold=600, status=RulesetStatus.DRAFT)
    return baseline, candidate


def test_a_viewer_backtests_a_draft_against_the_active_version(viewer_api, tenant, versions):
    baseline, candidate = versions
    rows = write_logs(baseline, KNOWN_INPUTS, at=NOW - HOUR)
    logged = ExecutionLog.objects.count()

    response = backtest(viewer_api(tenant), candidate, until=NOW.isoformat())

    assert response.status_code == 200, response.json()
    report = response.json()
    known_report_checks(report, rows)
    assert report["candidate"] == {
        "id": candidate.pk,
        "name": "credit",
        "version": "1.1",
        "status": "draft",
    }
    assert report["baseline"] == {
        "id": baseline.pk,
        "name": "credit",
        "version": "1.0",
        "status": "active",
    }
    # The default window: BACKTEST_DEFAULT_DAYS (7) before `until`; the default cap.
    assert report["window"]["since"] == (NOW - timedelta(days=7)).isoformat()
    assert report["window"]["until"] == NOW.isoformat()
    assert (report["max_inputs"], report["capped"]) == (100_000, False)
    assert ExecutionLog.objects.count() == logged  # a backtest writes nothing


def test_window_baseline_version_and_cap_come_from_the_body(viewer_api, tenant, versions):
    baseline, candidate = versions
    deprecated = credit_ruleset(
        tenant, version="0.9", threshold=800, status=RulesetStatus.DEPRECATED
    )
    write_logs(baseline, KNOWN_INPUTS, at=NOW - HOUR)
    old = write_logs(deprecated, KNOWN_INPUTS, at=NOW - 30 * HOUR)
    client = viewer_api(tenant)
    window = {"since": (NOW - 2 * HOUR).isoformat(), "until": NOW.isoformat()}

    recent = backtest(client, candidate, **window)
    capped = backtest(client, candidate, **window, max_inputs=3)
    of_old = backtest(
        client,
        candidate,
        baseline_version="0.9",
        since=(NOW - 48 * HOUR).isoformat(),
        until=NOW.isoformat(),
    )

    assert recent.json()["inputs_replayed"] == 5
    assert recent.json()["window"]["since"] == window["since"]
    assert [capped.json()[k] for k in ("inputs_replayed", "capped", "max_inputs")] == [3, True, 3]
    assert of_old.status_code == 200, of_old.json()
    assert of_old.json()["baseline"]["version"] == "0.9"
    assert of_old.json()["inputs_replayed"] == 5
    assert of_old.json()["window"]["replayed_until"] == old[0].timestamp.isoformat()


def test_an_empty_window_is_refused_with_400(viewer_api, tenant, versions):
    _, candidate = versions

    response = backtest(
        viewer_api(tenant), candidate, since=NOW.isoformat(), until=(NOW - HOUR).isoformat()
    )

    assert response.status_code == 400
    assert error_of(response) == {
        "code": "backtest_refused",
        "message": f"the window is empty: since {NOW} is not before until {NOW - HOUR}",
        "details": None,
    }


def test_max_inputs_is_bounded_by_the_setting(viewer_api, tenant, versions, settings):
    _, candidate = versions
    settings.BACKTEST_MAX_INPUTS = 10
    client = viewer_api(tenant)

    too_many = backtest(client, candidate, max_inputs=11)
    none = backtest(client, candidate, max_inputs=0)
    not_a_time = backtest(client, candidate, since="yesterday")

    for response in (too_many, none, not_a_time):
        assert response.status_code == 400
        assert error_of(response)["code"] == "invalid"
    assert error_of(too_many)["details"] == {
        "max_inputs": ["Ensure this value is less than or equal to 10."]
    }
    assert error_of(none)["details"] == {
        "max_inputs": ["Ensure this value is greater than or equal to 1."]
    }
    assert list(error_of(not_a_time)["details"]) == ["since"]


def test_without_an_active_version_the_baseline_must_be_named(viewer_api, tenant):
    draft = credit_ruleset(tenant, version="1.0", threshold=700, status=RulesetStatus.DRAFT)
    client = viewer_api(tenant)

    no_active = backtest(client, draft)
    unknown = backtest(client, draft, baseline_version="9.9")

    assert no_active.status_code == 409
    assert error_of(no_active) == {
        "code": "no_active_version",
        "message": "credit has no active version; name one with baseline_version.",
        "details": None,
    }
    assert unknown.status_code == 400
    assert error_of(unknown) == {
        "code": "invalid",
        "message": "credit has no version 9.9.",
        "details": {"baseline_version": ["credit has no version 9.9."]},
    }


def test_a_candidate_that_does_not_compile_is_refused_with_its_problems(
    viewer_api, tenant, versions
):
    _, candidate = versions
    candidate.rules.filter(rule_id="R1").update(operator="greather_than")

    response = backtest(viewer_api(tenant), candidate)

    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "invalid_ruleset"
    assert error["message"].startswith("credit 1.1 does not compile (1):")
    assert [(p["rule_id"], p["path"]) for p in error["details"]["problems"]] == [
        ("R1", "rules[0].condition")
    ]


def test_another_tenants_versions_are_not_found(viewer_api, tenant, other_tenant, versions):
    baseline, candidate = versions
    write_logs(baseline, KNOWN_INPUTS, at=NOW - HOUR)
    theirs = credit_ruleset(other_tenant, version="1.1", threshold=600, status="draft")
    outsider = viewer_api(other_tenant, role=Role.ADMIN)

    acme_draft = backtest(outsider, candidate)
    # Their own draft: acme's active "credit" is not a baseline for it.
    own_draft = backtest(outsider, theirs)
    named = backtest(outsider, theirs, baseline_version="1.0")

    assert acme_draft.status_code == 404
    assert error_of(acme_draft) == {"code": "not_found", "message": "Not found.", "details": None}
    assert own_draft.status_code == 409 and error_of(own_draft)["code"] == "no_active_version"
    assert named.status_code == 400 and error_of(named)["code"] == "invalid"
