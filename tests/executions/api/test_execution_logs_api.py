"""GET /api/v1/execution-logs, /api/v1/execution-logs/{id} and /api/v1/stats."""

import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from executions.histogram import RELATIVE_ERROR
from executions.models import ExecutionLog, ExecutionSource
from executions.stats import MAX_BUCKETS, bucket_floor
from executions.timeseries import HOURLY_AGGREGATE
from rules.choices import Role
from rules.services.tenancy import member_add
from tests.executions.conftest import log_row

pytestmark = pytest.mark.django_db
LOGS = "/api/v1/execution-logs"
STATS = "/api/v1/stats"
HOUR = timedelta(hours=1)


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["execution_id"] for row in response.json()["results"]]


def follow(api, url):
    """Every page of a cursor-paginated list; the rows' ids in order."""
    seen = []
    while url:
        response = api.get(url)
        seen += ids(response)
        next_url = response.json()["next"]
        url = urlsplit(next_url)._replace(scheme="", netloc="").geturl() if next_url else None
    return seen


@pytest.fixture
def logs(tenant, other_tenant):
    """Five logs of `tenant` an hour apart (newest first) and one of `other_tenant`."""
    now = timezone.now()
    rows = [log_row(tenant, timestamp=now - n * HOUR, caller=f"c{n}") for n in range(5)]
    rows.append(log_row(other_tenant, timestamp=now))
    ExecutionLog.objects.bulk_create(rows)
    return rows


@pytest.mark.smoke
def test_list_is_newest_first_and_scoped_to_the_callers_tenant(viewer_api, tenant, logs):
    response = viewer_api(tenant).get(LOGS)
    assert ids(response) == [str(row.execution_id) for row in logs[:5]]
    first = response.json()["results"][0]
    assert first["tenant"] == "acme"
    assert first["ruleset_name"] == "credit" and first["source"] == "api"
    # The list leaves out inputs and outputs; the detail has them.
    assert "input_data" not in first
    assert set(response.json()) == {"next", "previous", "results"}


@pytest.mark.smoke
def test_cursor_pages_keep_rows_with_equal_timestamps_in_one_order(viewer_api, tenant):
    moment = timezone.now().replace(microsecond=0)
    rows = [log_row(tenant, timestamp=moment) for _ in range(7)]
    rows += [log_row(tenant, timestamp=moment - timedelta(seconds=n)) for n in range(1, 4)]
    rows += [log_row(tenant, timestamp=moment + timedelta(seconds=1))]
    ExecutionLog.objects.bulk_create(rows)
    api = viewer_api(tenant)

    seen = follow(api, f"{LOGS}?page_size=3")

    expected = sorted(rows, key=lambda r: (r.timestamp, r.execution_id), reverse=True)
    assert seen == [str(row.execution_id) for row in expected]
    # Going back from the last page gives the same rows in the same order.
    last_page = api.get(f"{LOGS}?page_size=3")
    for _ in range(3):
        last_page = api.get(last_page.json()["next"])
    previous = api.get(last_page.json()["previous"])
    assert ids(previous) == seen[6:9]


def test_list_runs_no_count_query(viewer_api, tenant, logs, django_assert_max_num_queries):
    api = viewer_api(tenant)
    api.get(LOGS)  # tokens and roles are cached from here on
    with (
        django_assert_max_num_queries(1),
        CaptureQueriesContext(connection) as queries,
    ):
        response = api.get(f"{LOGS}?page_size=2&success=true")
    assert len(ids(response)) == 2
    assert not any("COUNT(" in query["sql"].upper() for query in queries), queries.captured_queries


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ruleset=fraud", ["fraud"]),
        ("version=2.0", ["v2"]),
        ("success=false", ["failed"]),
        ("action_recommendation=DECLINE", ["declined"]),
        ("source=admin", ["admin"]),
        ("since={since}", ["newest", "fraud", "v2", "failed", "declined", "admin"]),
        ("until={since}", ["old"]),
        ("since={since}&ruleset=credit&success=true", ["newest", "v2", "declined", "admin"]),
    ],
)
def test_list_filters(viewer_api, tenant, query, expected):
    now = timezone.now()
    since = now - timedelta(days=1)
    named = {
        "newest": log_row(tenant, timestamp=now),
        "fraud": log_row(tenant, timestamp=now - timedelta(minutes=1), ruleset_name="fraud"),
        "v2": log_row(tenant, timestamp=now - timedelta(minutes=2), ruleset_version="2.0"),
        "failed": log_row(
            tenant, timestamp=now - timedelta(minutes=3), success=False, action_recommendation=None
        ),
        "declined": log_row(
            tenant, timestamp=now - timedelta(minutes=4), action_recommendation="DECLINE"
        ),
        "admin": log_row(
            tenant, timestamp=now - timedelta(minutes=5), source=ExecutionSource.ADMIN
        ),
        "old": log_row(tenant, timestamp=now - timedelta(days=2)),
    }
    ExecutionLog.objects.bulk_create(named.values())
    names = {str(row.execution_id): name for name, row in named.items()}

    response = viewer_api(tenant).get(LOGS, query_params(query, since))

    assert [names[i] for i in ids(response)] == expected


def query_params(query: str, since) -> dict:
    pairs = (pair.split("=", 1) for pair in query.split("&"))
    return {key: since.isoformat() if value == "{since}" else value for key, value in pairs}


def test_a_bad_filter_answers_400_in_the_error_shape(viewer_api, tenant):
    response = viewer_api(tenant).get(LOGS, {"since": "yesterday", "source": "mail"})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert set(error["details"]) == {"since", "source"}


def test_detail_has_input_and_output(viewer_api, tenant, logs):
    log = logs[1]
    response = viewer_api(tenant).get(f"{LOGS}/{log.execution_id}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["execution_id"] == str(log.execution_id)
    assert body["input_data"] == {"score": 720}
    assert body["output_data"] == {"pattern_result": "Y"}
    assert body["caller"] == "c1"


@pytest.mark.smoke
def test_another_tenants_log_answers_404(viewer_api, tenant, logs):
    other_log = logs[5]
    response = viewer_api(tenant).get(f"{LOGS}/{other_log.execution_id}")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    assert viewer_api(tenant).get(f"{LOGS}/{uuid.uuid4()}").status_code == 404
    assert viewer_api(tenant).get(f"{LOGS}/not-a-uuid").status_code == 404


def test_x_tenant_narrows_a_caller_of_several_tenants(viewer_api, tenant, other_tenant, logs):
    api = viewer_api(tenant)
    member_add(username=api.user.username, tenant=other_tenant, role=Role.VIEWER)
    assert len(ids(api.get(LOGS))) == 6
    assert len(ids(api.get(LOGS, HTTP_X_TENANT="globex"))) == 1
    other_log = logs[5]
    assert api.get(f"{LOGS}/{other_log.execution_id}", HTTP_X_TENANT="acme").status_code == 404


def test_logs_need_authentication(db):
    assert APIClient().get(LOGS).status_code == 401


# --- /api/v1/stats ----------------------------------------------------------------------------
@pytest.mark.smoke
def test_stats_answers_buckets_and_summary(viewer_api, tenant, stats_logs, stats_base):
    response = viewer_api(tenant).get(
        STATS,
        {
            "ruleset": "credit",
            "version": "1.0",
            "bucket": "1h",
            "since": stats_base.isoformat(),
            "until": (stats_base + 2 * HOUR).isoformat(),
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["bucket"] == "1h" and body["bucket_seconds"] == 3600
    assert [b["count"] for b in body["buckets"]] == [10, 4]
    assert body["buckets"][0]["success_rate"] == pytest.approx(0.8)
    assert body["buckets"][0]["p95_execution_ms"] == pytest.approx(9.55, rel=RELATIVE_ERROR)
    assert body["buckets"][1]["recommendations"] == {"DECLINE": 4}
    assert body["summary"]["count"] == 14
    assert body["summary"]["p95_execution_ms"] == pytest.approx(9.35, rel=RELATIVE_ERROR)


def test_stats_defaults_to_the_last_24_hours_by_hour(viewer_api, tenant):
    before = timezone.now()
    body = viewer_api(tenant).get(STATS).json()
    since = timezone.datetime.fromisoformat(body["since"].replace("Z", "+00:00"))
    until = timezone.datetime.fromisoformat(body["until"].replace("Z", "+00:00"))
    assert body["bucket"] == "1h"
    assert since == bucket_floor(since, HOUR) and since <= before - timedelta(hours=24)
    assert until >= before and until - since <= timedelta(hours=25)
    assert len(body["buckets"]) == (until - since) // HOUR
    assert body["summary"]["count"] == 0


def test_stats_scope_to_the_callers_tenant(viewer_api, other_tenant, stats_logs, stats_base):
    body = (
        viewer_api(other_tenant)
        .get(STATS, {"since": stats_base.isoformat(), "until": (stats_base + HOUR).isoformat()})
        .json()
    )
    assert body["summary"]["count"] == 5


@pytest.mark.parametrize("bucket", ["1x", "h", "0m", "1.5h", "2w"])
def test_stats_refuses_a_bad_bucket(viewer_api, tenant, bucket):
    response = viewer_api(tenant).get(STATS, {"bucket": bucket})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert "bucket" in error["details"]


def test_stats_refuses_too_many_buckets(viewer_api, tenant):
    until = timezone.now()
    response = viewer_api(tenant).get(
        STATS,
        {
            "bucket": "1m",
            "since": (until - timedelta(days=1)).isoformat(),
            "until": until.isoformat(),
        },
    )
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "too_many_buckets"
    assert error["details"] == {"max_buckets": MAX_BUCKETS}
    assert str(MAX_BUCKETS) in error["message"]


def test_stats_refuses_an_empty_window(viewer_api, tenant):
    now = timezone.now().isoformat()
    response = viewer_api(tenant).get(STATS, {"since": now, "until": now})
    assert response.status_code == 400
    assert "since" in error_of(response)["details"]


@pytest.mark.timescaledb
def test_stats_endpoint_reads_the_hourly_aggregate(viewer_api, tenant, stats_logs, stats_base):
    api = viewer_api(tenant)
    params = {
        "ruleset": "credit",
        "bucket": "1h",
        "since": stats_base.isoformat(),
        "until": (stats_base + 2 * HOUR).isoformat(),
    }
    with CaptureQueriesContext(connection) as queries:
        body = api.get(STATS, params).json()
    assert any(f"FROM {HOURLY_AGGREGATE}" in query["sql"] for query in queries)
    # credit 1.0 and 2.0 (one run in hour 1); admin runs excluded
    assert [b["count"] for b in body["buckets"]] == [10, 5]
    assert body["buckets"][0]["p95_execution_ms"] == pytest.approx(9.55, rel=RELATIVE_ERROR)
    assert body["summary"]["count"] == 15


@pytest.mark.timescaledb
class TestOnTheHypertable:
    """The same routes on the hypertable, which has no primary key (execution_id, timestamp)."""

    def test_cursor_pages(self, viewer_api, tenant):
        test_cursor_pages_keep_rows_with_equal_timestamps_in_one_order(viewer_api, tenant)

    def test_detail_and_404(self, viewer_api, tenant, logs):
        test_detail_has_input_and_output(viewer_api, tenant, logs)
        test_another_tenants_log_answers_404(viewer_api, tenant, logs)

    def test_no_count_query(self, viewer_api, tenant, logs, django_assert_max_num_queries):
        test_list_runs_no_count_query(viewer_api, tenant, logs, django_assert_max_num_queries)
