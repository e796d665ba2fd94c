"""Issue 17's bugs of the log list and evaluate: each test failed before its fix.

- `success=maybe` listed every log (django-filter read it as "no filter"); now a 400.
- `since` after `until` was a 200 (an empty page) on the list, a 400 on /stats; now both 400.
- A cursor that was not one of the API's was a 404, as if the list did not exist, and one with a
  forged position reached the query as a 500; now both 400 `invalid_cursor`.
- A draft evaluated without `dry_run` answered 409 `no_active_version`, the code of a ruleset
  that has no active version at all; now `version_not_active`, saying to pass `dry_run`.
"""

import base64
from datetime import timedelta

import orjson
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from executions.models import ExecutionLog
from rules.choices import Role
from rules.models import Ruleset, Tenant
from rules.services.api_clients import api_client_create
from rules.services.demo import demo_seed
from rules.services.lifecycle import ruleset_new_version
from tests.executions.conftest import log_row

pytestmark = pytest.mark.django_db
LOGS = "/api/v1/execution-logs"
STATS = "/api/v1/stats"


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["execution_id"] for row in response.json()["results"]]


@pytest.fixture
def succeeded_and_failed(tenant):
    now = timezone.now()
    rows = [
        log_row(tenant, timestamp=now, success=True),
        log_row(tenant, timestamp=now - timedelta(minutes=1), success=False),
    ]
    ExecutionLog.objects.bulk_create(rows)
    return {"succeeded": str(rows[0].execution_id), "failed": str(rows[1].execution_id)}


# --- success= ---------------------------------------------------------------------------------
@pytest.mark.smoke
@pytest.mark.parametrize("value", ["maybe", "yes", "2", "truee", " true"])
def test_success_filter_refuses_anything_but_true_or_false(
    viewer_api, tenant, succeeded_and_failed, value
):
    error = error_of(viewer_api(tenant).get(LOGS, {"success": value}), 400)

    assert error["code"] == "invalid"
    assert "success" in error["message"]
    assert list(error["details"]) == ["success"]
    (message,) = error["details"]["success"]
    assert repr(value) in message and "true or false" in message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", "succeeded"),
        ("false", "failed"),
        # What django-filter's widget accepted before stays accepted.
        ("True", "succeeded"),
        ("FALSE", "failed"),
        ("1", "succeeded"),
        ("0", "failed"),
    ],
)
def test_success_filter_still_filters_on_true_and_false(
    viewer_api, tenant, succeeded_and_failed, value, expected
):
    response = viewer_api(tenant).get(LOGS, {"success": value})
    assert ids(response) == [succeeded_and_failed[expected]]


def test_success_filter_left_empty_filters_nothing(viewer_api, tenant, succeeded_and_failed):
    assert len(ids(viewer_api(tenant).get(f"{LOGS}?success="))) == 2


# --- since and until ---------------------------------------------------------------------------
@pytest.mark.smoke
@pytest.mark.parametrize("gap", [timedelta(hours=1), timedelta(0)], ids=["reversed", "empty"])
def test_a_window_with_since_not_before_until_is_400_on_logs_as_on_stats(viewer_api, tenant, gap):
    until = timezone.now().replace(microsecond=0)
    window = {"since": (until + gap).isoformat(), "until": until.isoformat()}
    api = viewer_api(tenant)

    on_logs = error_of(api.get(LOGS, window), 400)
    on_stats = error_of(api.get(STATS, window), 400)

    assert on_logs == on_stats
    assert on_logs["code"] == "invalid"
    assert on_logs["details"] == {"since": ["since must be before until."]}
    assert "since" in on_logs["message"]


def test_a_window_is_still_checked_with_another_bad_filter(viewer_api, tenant):
    until = timezone.now()
    response = viewer_api(tenant).get(
        LOGS,
        {
            "since": (until + timedelta(hours=1)).isoformat(),
            "until": until.isoformat(),
            "success": "maybe",
        },
    )
    assert set(error_of(response, 400)["details"]) == {"since", "success"}


# --- cursor ------------------------------------------------------------------------------------
def cursor_of(querystring: str) -> str:
    """A cursor as DRF encodes one, around a querystring of our choosing."""
    return base64.b64encode(querystring.encode()).decode()


@pytest.mark.smoke
@pytest.mark.parametrize(
    "cursor",
    [
        "bogus",  # not base64 of anything DRF reads
        "YQ",  # base64 without its padding
        "é",
        cursor_of("o=-1"),  # a negative offset
        cursor_of("p=not-a-timestamp"),  # reached the query: a 500 before
        cursor_of("p=2026-13-45 99:00:00"),
    ],
)
def test_a_cursor_that_is_not_the_apis_is_400_not_404(viewer_api, tenant, cursor):
    ExecutionLog.objects.bulk_create([log_row(tenant, timestamp=timezone.now())])

    error = error_of(viewer_api(tenant).get(LOGS, {"cursor": cursor}), 400)

    assert error["code"] == "invalid_cursor"
    assert "next" in error["message"] and "previous" in error["message"]
    assert list(error["details"]) == ["cursor"]


def test_the_cursors_the_api_gives_still_page(viewer_api, tenant):
    now = timezone.now()
    rows = [log_row(tenant, timestamp=now - timedelta(seconds=n)) for n in range(3)]
    ExecutionLog.objects.bulk_create(rows)
    api = viewer_api(tenant)

    first = api.get(LOGS, {"page_size": 2})
    second = api.get(first.json()["next"])

    assert ids(first) + ids(second) == [str(row.execution_id) for row in rows]


# --- evaluate: a version that is not active ----------------------------------------------------
@pytest.fixture
def demo(db):
    demo_seed(password="pw-for-tests-2026")
    return Tenant.objects.get(slug="demo")


@pytest.fixture
def evaluate_api(demo):
    _, token = api_client_create(tenant=demo, name="loan-app", role=Role.VIEWER)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def post(api, path, body):
    return api.post(path, orjson.dumps(body), content_type="application/json")


@pytest.fixture
def draft(demo):
    author = demo.memberships.get(role=Role.AUTHOR).user
    active = Ruleset.objects.get(tenant=demo, name="credit_scoring")
    return ruleset_new_version(ruleset_id=active.pk, actor=author)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/evaluate", {"data": {"debt_ratio": 0.2}}),
        ("/api/v1/evaluate/batch", {"items": [{"debt_ratio": 0.2}]}),
    ],
    ids=["single", "batch"],
)
def test_a_draft_without_dry_run_is_409_version_not_active(evaluate_api, draft, path, body):
    response = post(evaluate_api, path, {"ruleset": "credit_scoring", "version": "1.1", **body})

    error = error_of(response, 409)
    assert error["code"] == "version_not_active"
    assert draft.version == "1.1" and "1.1" in error["message"] and "draft" in error["message"]
    assert '"dry_run": true' in error["message"]
    assert ExecutionLog.objects.count() == 0

    dry_run = post(
        evaluate_api,
        path,
        {"ruleset": "credit_scoring", "version": "1.1", "dry_run": True, **body},
    )
    assert dry_run.status_code == 200, dry_run.content


def test_a_ruleset_without_an_active_version_keeps_no_active_version(evaluate_api, demo):
    Ruleset.objects.filter(tenant=demo).update(status="inactive")

    error = error_of(post(evaluate_api, "/api/v1/evaluate", {"data": {}}), 409)

    assert error["code"] == "no_active_version"
