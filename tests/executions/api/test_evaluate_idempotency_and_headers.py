"""Idempotency-Key, X-Request-ID, correlation ids and RateLimit-* headers on evaluate and batch
(issue #17), against real PostgreSQL. The outage case is in
tests/executions/services/test_log_writes_outage.py."""

from datetime import timedelta

import orjson
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from executions.models import ExecutionLog, ExecutionSource, IdempotencyKey
from executions.services.evaluation import evaluation_run
from executions.services.idempotency import (
    idempotency_claim,
    idempotency_keys_purge,
    idempotent_request,
)
from executions.services.log_writes import execution_logs_commit
from rules.choices import Role
from rules.models import Tenant
from rules.services.active_rulesets import active_compiled_ruleset
from rules.services.api_clients import api_client_create
from rules.services.demo import demo_seed

pytestmark = pytest.mark.postgres

APPROVED_INPUT = {"applicant": {"credit_score": 720, "income": 85000}, "debt_ratio": 0.2}
DECLINED_INPUT = {"applicant": {"credit_score": 640, "income": 42000}, "debt_ratio": 0.5}


@pytest.fixture
def demo(db):
    demo_seed(password="pw-for-tests-2026")
    return Tenant.objects.get(slug="demo")


def client_for(tenant, name="loan-app"):
    api_client, token = api_client_create(tenant=tenant, name=name, role=Role.VIEWER)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    client.username = api_client.user.get_username()
    return client


@pytest.fixture
def api(demo):
    return client_for(demo)


def post(api, body, path="/api/v1/evaluate", key=None, **headers):
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return api.post(path, orjson.dumps(body), content_type="application/json", **headers)


def test_a_retry_with_the_same_key_gets_the_first_answer_and_logs_nothing_more(api):
    first = post(api, {"data": APPROVED_INPUT}, key="order-1042")
    assert first.status_code == 200
    assert "Idempotent-Replayed" not in first
    retry = post(api, {"data": APPROVED_INPUT}, key="order-1042")
    assert retry.status_code == 200
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.content == first.content
    assert ExecutionLog.objects.count() == 1
    assert str(ExecutionLog.objects.get().execution_id) == first.json()["execution_id"]
    # Another key is another evaluation.
    other = post(api, {"data": APPROVED_INPUT}, key="order-1043")
    assert other.json()["execution_id"] != first.json()["execution_id"]
    assert ExecutionLog.objects.count() == 2


def test_the_same_json_with_keys_in_another_order_is_the_same_request(api):
    first = post(api, {"ruleset": "credit_scoring", "data": APPROVED_INPUT}, key="k1")
    reordered = {"data": dict(reversed(list(APPROVED_INPUT.items()))), "ruleset": "credit_scoring"}
    retry = post(api, reordered, key="k1")
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json()["execution_id"] == first.json()["execution_id"]


def test_a_used_key_with_another_body_is_a_422_that_names_it(api):
    post(api, {"data": APPROVED_INPUT}, key="order-7")
    reused = post(api, {"data": DECLINED_INPUT}, key="order-7")
    assert reused.status_code == 422
    error = reused.json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert "order-7" in error["message"] and "IDEMPOTENCY_KEY_TTL_HOURS" in error["message"]
    # The batch path is another request, too.
    assert (
        post(api, {"items": [APPROVED_INPUT]}, "/api/v1/evaluate/batch", "order-7").status_code
        == 422
    )
    assert ExecutionLog.objects.count() == 1


def test_keys_belong_to_one_api_client(api, demo):
    other = client_for(demo, "other-app")
    first = post(api, {"data": APPROVED_INPUT}, key="shared")
    second = post(other, {"data": APPROVED_INPUT}, key="shared")
    assert second.status_code == 200 and "Idempotent-Replayed" not in second
    assert second.json()["execution_id"] != first.json()["execution_id"]


def test_an_expired_key_may_be_used_again_and_is_purged(api, settings):
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 24
    first = post(api, {"data": APPROVED_INPUT}, key="old")
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    again = post(api, {"data": DECLINED_INPUT}, key="old")
    assert again.status_code == 200 and "Idempotent-Replayed" not in again
    assert again.json()["execution_id"] != first.json()["execution_id"]
    assert IdempotencyKey.objects.get().execution_id is not None
    assert str(IdempotencyKey.objects.get().execution_id) == again.json()["execution_id"]
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert idempotency_keys_purge() == 1
    assert not IdempotencyKey.objects.exists()


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there"])
def test_a_bad_key_is_a_400_that_names_the_header(api, key):
    response = post(api, {"data": APPROVED_INPUT}, key=key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["details"]
    assert not ExecutionLog.objects.exists()


def test_a_logged_failure_is_replayed_too(api):
    bad = post(api, {"data": ["not", "an", "object"]}, key="bad")
    assert bad.status_code == 400
    retry = post(api, {"data": ["not", "an", "object"]}, key="bad")
    assert retry.status_code == 400 and retry["Idempotent-Replayed"] == "true"
    assert retry.json() == bad.json()
    assert ExecutionLog.objects.filter(success=False).count() == 1


def test_dry_runs_ignore_the_key(api):
    body = {"dry_run": True, "data": APPROVED_INPUT}
    assert post(api, body, key="dry").status_code == 200
    assert "Idempotent-Replayed" not in post(api, body, key="dry")
    assert not IdempotencyKey.objects.exists()


def test_a_batch_retry_replays_every_item(api):
    body = {"items": [APPROVED_INPUT, DECLINED_INPUT, "not an object"]}
    first = post(api, body, "/api/v1/evaluate/batch", "batch-1")
    retry = post(api, body, "/api/v1/evaluate/batch", "batch-1")
    assert retry["Idempotent-Replayed"] == "true"
    assert [r["execution_id"] for r in retry.json()["results"]] == [
        r["execution_id"] for r in first.json()["results"]
    ]
    assert ExecutionLog.objects.count() == 3


def test_a_key_whose_first_rows_committed_after_a_503_replays_them(api, demo):
    # What a 503 leaves behind when its rows committed late: the rows and the key row, in one
    # transaction. Written here as the log writer writes them, then the client's retry.
    body = {"data": APPROVED_INPUT}
    compiled, identity = active_compiled_ruleset(tenant=demo, name=None, version=None)
    outcome = evaluation_run(
        compiled=compiled,
        identity=identity,
        tenant_id=demo.pk,
        data=APPROVED_INPUT,
        source=ExecutionSource.API,
        caller=api.username,
    )
    request = idempotent_request(
        header="late",
        tenant_id=demo.pk,
        caller=api.username,
        method="POST",
        path="/api/v1/evaluate",
        body=body,
    )
    evaluation = outcome.evaluation
    answer = {
        "execution_id": str(outcome.row.execution_id),
        "ruleset": {"id": identity["ruleset_id"], "name": identity["name"], "version": "1.0"},
        "total_points": evaluation.total_points,
        "pattern_result": evaluation.pattern_result,
        "action_recommendation": evaluation.action_recommendation,
        "action": None,
        "matched_rules": list(evaluation.matched_rules),
        "execution_time_ms": 0.5,
        "dry_run": False,
        "correlation_id": "the late one",
    }
    stored = orjson.dumps(answer)
    claim = idempotency_claim(
        request, status=200, body=stored, execution_id=outcome.row.execution_id
    )
    execution_logs_commit([outcome.row], deadline=None, claim=claim)
    retry = post(api, body, key="late")
    assert retry.status_code == 200 and retry["Idempotent-Replayed"] == "true"
    assert retry.json() == answer
    assert ExecutionLog.objects.count() == 1


def test_the_key_commits_with_the_rows_or_not_at_all(demo):
    # A taken key writes none of the second request's rows.
    compiled, identity = active_compiled_ruleset(tenant=demo, name=None, version=None)

    def row():
        return evaluation_run(
            compiled=compiled,
            identity=identity,
            tenant_id=demo.pk,
            data=APPROVED_INPUT,
            source=ExecutionSource.API,
        ).row

    request = idempotent_request(
        header="once", tenant_id=demo.pk, caller="c", method="POST", path="/p", body={}
    )
    claim = idempotency_claim(request, status=200, body=b"{}", execution_id=None)
    execution_logs_commit([row()], deadline=None, claim=claim)
    from executions.services.log_writes import IdempotencyKeyTaken

    with pytest.raises(IdempotencyKeyTaken):
        execution_logs_commit([row(), row()], deadline=None, claim=claim)
    assert ExecutionLog.objects.count() == 1


def test_x_request_id_is_kept_or_generated_echoed_and_stored(api):
    given = post(api, {"data": APPROVED_INPUT}, HTTP_X_REQUEST_ID="req-abc.123")
    assert given["X-Request-ID"] == "req-abc.123"
    generated = post(api, {"data": APPROVED_INPUT})
    assert len(generated["X-Request-ID"]) == 32
    unsafe = post(api, {"data": APPROVED_INPUT}, HTTP_X_REQUEST_ID="a b;c")
    assert unsafe["X-Request-ID"] != "a b;c" and len(unsafe["X-Request-ID"]) == 32
    rows = {str(row.execution_id): row.request_id for row in ExecutionLog.objects.all()}
    assert rows[given.json()["execution_id"]] == "req-abc.123"
    assert rows[generated.json()["execution_id"]] == generated["X-Request-ID"]
    # Every page echoes it, not only evaluate.
    assert api.get("/api/v1/rulesets", HTTP_X_REQUEST_ID="list-1")["X-Request-ID"] == "list-1"


def test_correlation_id_from_the_body_or_header_is_stored_echoed_and_filterable(api):
    by_body = post(api, {"data": APPROVED_INPUT, "correlation_id": "order 42"})
    assert by_body.json()["correlation_id"] == "order 42"
    by_header = post(
        api, {"items": [APPROVED_INPUT]}, "/api/v1/evaluate/batch", HTTP_X_CORRELATION_ID="o-43"
    )
    assert by_header.json()["correlation_id"] == "o-43"
    assert post(api, {"data": APPROVED_INPUT}).json()["correlation_id"] is None
    listed = api.get("/api/v1/execution-logs", {"correlation_id": "order 42"}).json()["results"]
    assert [row["execution_id"] for row in listed] == [by_body.json()["execution_id"]]
    assert listed[0]["correlation_id"] == "order 42"
    assert listed[0]["request_id"] == by_body["X-Request-ID"]
    refused = post(api, {"data": APPROVED_INPUT, "correlation_id": "x" * 201})
    assert refused.status_code == 400
    assert "correlation_id" in refused.json()["error"]["details"]


def test_rate_limit_headers_count_down_and_reach_zero_on_429(api, monkeypatch):
    from ruleengine.throttling import FixedWindowThrottle

    rates = {**FixedWindowThrottle.THROTTLE_RATES, "evaluate": "3/minute"}
    monkeypatch.setattr(FixedWindowThrottle, "THROTTLE_RATES", rates)
    answers = [post(api, {"data": APPROVED_INPUT}) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a["RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert all(a["RateLimit-Limit"] == "3" for a in answers)
    assert all(a["RateLimit-Policy"] == "3;w=60" for a in answers)
    assert all(0 < int(a["RateLimit-Reset"]) <= 60 for a in answers)
    assert answers[3]["Retry-After"]


def test_purge_idempotency_keys_command_deletes_only_expired_keys(api):
    import io

    from django.core.management import call_command

    post(api, {"data": APPROVED_INPUT}, key="fresh")
    post(api, {"data": APPROVED_INPUT}, key="stale")
    IdempotencyKey.objects.filter(key="stale").update(
        created_at=timezone.now() - timedelta(hours=30)
    )
    out = io.StringIO()
    call_command("purge_idempotency_keys", stdout=out)
    assert "deleted 1 idempotency keys older than 24 hours" in out.getvalue()
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]
