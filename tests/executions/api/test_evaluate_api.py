"""POST /api/v1/evaluate and /evaluate/batch against real PostgreSQL."""

import io
import uuid
from datetime import timedelta

import orjson
import pytest
from django.core.management import call_command
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from executions.models import ExecutionLog
from rules.choices import Role, RulesetStatus
from rules.models import Rule, Ruleset, Tenant
from rules.services import test_cases
from rules.services.api_clients import api_client_create, api_client_revoke
from rules.services.demo import demo_seed
from rules.services.editing import ruleset_part_save
from rules.services.lifecycle import ruleset_activate, ruleset_new_version
from tests.factories import ruleset_with_rules

APPROVED_INPUT = {"applicant": {"credit_score": 720, "income": 85000}, "debt_ratio": 0.2}
REVIEW_INPUT = {"applicant": {"credit_score": 720, "income": 85000}, "debt_ratio": 0.9}


@pytest.fixture
def demo(db):
    demo_seed(password="pw-for-tests-2026")
    return Tenant.objects.get(slug="demo")


@pytest.fixture
def api(demo):
    _, token = api_client_create(tenant=demo, name="loan-app", role=Role.VIEWER)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    client.token = token
    return client


def evaluate(api, body, path="/api/v1/evaluate", **extra):
    return api.post(path, orjson.dumps(body), content_type="application/json", **extra)


def test_evaluate_returns_the_decision_and_logs_it(api, demo):
    response = evaluate(api, {"ruleset": "credit_scoring", "data": APPROVED_INPUT})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["pattern_result"] == "YYY"
    assert body["total_points"] == 100 + 50 + 50 * 1.5
    assert body["action_recommendation"] == "APPROVE"
    assert body["action"] == {
        "action_id": "A_APPROVE",
        "action_type": "decision",
        "configuration": {"queue": "auto"},
    }
    assert body["matched_rules"] == ["R001", "R002", "R003"]
    assert body["ruleset"]["name"] == "credit_scoring" and body["ruleset"]["version"] == "1.0"
    assert "trace" not in body
    log = ExecutionLog.objects.get(execution_id=body["execution_id"])
    assert log.source == "api"
    assert log.caller == "api.demo.loan-app"
    assert log.tenant_id == demo.pk
    assert log.action_recommendation == "APPROVE"
    assert log.input_data == APPROVED_INPUT


def test_evaluate_without_ruleset_uses_the_tenant_default(api):
    response = evaluate(api, {"data": REVIEW_INPUT})
    assert response.status_code == 200, response.content
    assert response.json()["pattern_result"] == "YY-"
    assert response.json()["action_recommendation"] == "REVIEW"


def test_trace_explains_every_rule(api):
    body = evaluate(api, {"data": REVIEW_INPUT, "trace": True}).json()
    assert [entry["rule_id"] for entry in body["trace"]] == ["R001", "R002", "R003"]


def test_unknown_ruleset_is_404_and_no_active_version_is_409(api, demo):
    missing = evaluate(api, {"ruleset": "nope", "data": {}})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    ruleset_with_rules(tenant=demo, name="drafty")
    inactive = evaluate(api, {"ruleset": "drafty", "data": {}})
    assert inactive.status_code == 409
    assert inactive.json()["error"]["code"] == "no_active_version"
    assert ExecutionLog.objects.count() == 0


def test_a_draft_version_is_evaluated_only_as_a_dry_run(api, demo):
    approver = demo.memberships.get(role=Role.APPROVER).user
    author = demo.memberships.get(role=Role.AUTHOR).user
    active = Ruleset.objects.get(tenant=demo, name="credit_scoring")
    draft = ruleset_new_version(ruleset_id=active.pk, actor=author)
    refused = evaluate(api, {"ruleset": "credit_scoring", "version": draft.version, "data": {}})
    assert refused.status_code == 409
    assert "dry_run" in refused.json()["error"]["message"]

    dry = evaluate(
        api,
        {
            "ruleset": "credit_scoring",
            "version": draft.version,
            "data": APPROVED_INPUT,
            "dry_run": True,
        },
    )
    assert dry.status_code == 200, dry.content
    assert dry.json()["execution_id"] is None
    assert dry.json()["dry_run"] is True
    assert len(dry.json()["trace"]) == 3
    assert ExecutionLog.objects.count() == 0
    assert approver  # the approver exists for the next test's activation


def test_data_must_be_an_object_and_the_failure_is_logged(api):
    response = evaluate(api, {"ruleset": "credit_scoring", "data": [1, 2]})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and "data" in error["details"]
    failure = ExecutionLog.objects.get()
    assert failure.success is False and "JSON object" in failure.error_message


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b'{"data": {', 400, "parse_error"),
        (b"[1, 2]", 400, "invalid"),
        (b'{"data": {}, "unexpected": 1}', 400, "invalid"),
        (b'{"data": {}, "dry_run": "yes"}', 400, "invalid"),
        (b'{"ruleset": 5, "data": {}}', 400, "invalid"),
        (b'{"data": {"a": "' + b"x" * 20_000 + b'"}}', 400, "invalid"),
        (b'{"data": {"a": "nul \\u0000"}}', 400, "parse_error"),
        (b'{"data": ' + b'{"a": ' * 100 + b"1" + b"}" * 100 + b"}", 400, "parse_error"),
        (b'{"data": {"a": "' + b"x" * (1024 * 1024) + b'"}}', 413, "body_too_large"),
    ],
)
def test_bad_input_gets_a_json_error_that_names_the_problem(api, body, status, code):
    response = api.post("/api/v1/evaluate", body, content_type="application/json")
    assert response.status_code == status, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]


def test_another_tenants_ruleset_is_invisible(demo, db):
    other = Tenant.objects.create(slug="globex", name="Globex")
    _, token = api_client_create(tenant=other, name="spy", role=Role.ADMIN)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = evaluate(client, {"ruleset": "credit_scoring", "data": APPROVED_INPUT})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_tokens_unknown_revoked_or_expired_are_refused(api, demo):
    anonymous = APIClient()
    assert evaluate(anonymous, {"data": {}}).status_code == 401
    anonymous.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    refused = evaluate(anonymous, {"data": {}})
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "authentication_failed"

    assert evaluate(api, {"data": APPROVED_INPUT}).status_code == 200
    client = demo.api_clients.get(name="loan-app")
    api_client_revoke(client=client)
    assert evaluate(api, {"data": APPROVED_INPUT}).status_code == 401

    _, token = api_client_create(tenant=demo, name="short-lived", role=Role.VIEWER)
    AuthToken.objects.filter(user__username="api.demo.short-lived").update(
        expiry=timezone.now() - timedelta(seconds=1)
    )
    expired = APIClient()
    expired.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert evaluate(expired, {"data": APPROVED_INPUT}).status_code == 401


def test_tokens_are_stored_only_as_digests(demo):
    _, token = api_client_create(tenant=demo, name="digest", role=Role.VIEWER)
    stored = AuthToken.objects.get(user__username="api.demo.digest")
    assert token not in (stored.digest, stored.token_key)
    assert not AuthToken.objects.filter(digest=token).exists()


def test_a_caller_in_two_tenants_names_one_with_x_tenant(demo, db):
    from rules.services.tenancy import member_add

    other = Tenant.objects.create(slug="globex", name="Globex")
    member_add(username="multi", tenant=demo, role=Role.VIEWER)
    member_add(username="multi", tenant=other, role=Role.VIEWER)
    client = APIClient()
    from django.contrib.auth import get_user_model

    client.force_authenticate(get_user_model().objects.get(username="multi"))
    ambiguous = evaluate(client, {"data": APPROVED_INPUT})
    assert ambiguous.status_code == 400
    assert ambiguous.json()["error"]["details"] == {"tenants": ["demo", "globex"]}
    assert evaluate(client, {"data": APPROVED_INPUT}, HTTP_X_TENANT="demo").status_code == 200
    assert evaluate(client, {"data": APPROVED_INPUT}, HTTP_X_TENANT="initech").status_code == 404


def test_activating_a_new_version_is_used_by_the_next_request(api, demo):
    author = demo.memberships.get(role=Role.AUTHOR).user
    approver = demo.memberships.get(role=Role.APPROVER).user
    assert evaluate(api, {"data": APPROVED_INPUT}).json()["ruleset"]["version"] == "1.0"

    active = Ruleset.objects.get(tenant=demo, name="credit_scoring", status=RulesetStatus.ACTIVE)
    draft = ruleset_new_version(ruleset_id=active.pk, actor=author)
    rule = Rule.objects.get(ruleset=draft, rule_id="R001")
    rule.constant = "750"  # 720 no longer passes
    ruleset_part_save(part=rule, actor=author)
    dry = evaluate(api, {"version": draft.version, "data": APPROVED_INPUT, "dry_run": True})
    assert dry.json()["pattern_result"] == "-YY"

    rule.constant = "710"  # a draft edit is seen by the next dry run
    ruleset_part_save(part=rule, actor=author)
    dry = evaluate(api, {"version": draft.version, "data": APPROVED_INPUT, "dry_run": True})
    assert dry.json()["pattern_result"] == "YYY"

    rule.constant = "800"
    ruleset_part_save(part=rule, actor=author)
    # The demo's test cases expect 720 to pass R001: this version changes that on purpose.
    for case in draft.test_cases.all():
        test_cases.test_case_delete(test_case=case, actor=author)
    ruleset_activate(ruleset_id=draft.pk, actor=approver)
    after = evaluate(api, {"data": APPROVED_INPUT}).json()
    assert after["ruleset"]["version"] == draft.version
    assert after["pattern_result"] == "-YY"


@pytest.mark.parametrize("mode", ["query", "notify"])
def test_steady_state_evaluate_needs_at_most_three_queries(
    api, settings, mode, django_assert_max_num_queries
):
    settings.CACHE_INVALIDATION = mode
    for _ in range(2):  # warm the caches
        assert evaluate(api, {"data": APPROVED_INPUT}).status_code == 200
    # Inline writes: the insert runs on this connection and is counted. Query mode checks the
    # active revision (1) and inserts (1); notify mode trusts the caches once the listener is up.
    with django_assert_max_num_queries(3) as captured:
        assert evaluate(api, {"data": APPROVED_INPUT}).status_code == 200
    assert len(captured) <= 2, [q["sql"] for q in captured]


def test_batch_keeps_input_order_and_isolates_bad_items(api):
    items = [APPROVED_INPUT, "not an object", REVIEW_INPUT, {"applicant": {}}]
    response = evaluate(
        api, {"ruleset": "credit_scoring", "items": items}, path="/api/v1/evaluate/batch"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 4 and body["errors"] == 1
    results = body["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3]
    assert results[0]["pattern_result"] == "YYY"
    assert results[1]["error"]["code"] == "invalid"
    assert "items[1]" in results[1]["error"]["message"]
    assert results[2]["pattern_result"] == "YY-"
    assert results[3]["pattern_result"] == "---"
    logs = ExecutionLog.objects.filter(source="batch")
    assert logs.count() == 4
    assert logs.filter(success=False).count() == 1
    assert {str(r["execution_id"]) for r in results} == {str(x.execution_id) for x in logs}


def test_batch_over_the_limit_is_refused(api, settings):
    settings.EVALUATE_BATCH_LIMIT = 3
    response = evaluate(api, {"items": [{}] * 4}, path="/api/v1/evaluate/batch")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "batch_too_large"
    assert ExecutionLog.objects.count() == 0


def test_evaluate_is_rate_limited_per_client(api, monkeypatch):
    from django.core.cache import cache

    from executions.api.evaluate import EvaluateThrottle

    # DRF reads the rates into a class attribute at import; set this throttle's own for the test
    # (monkeypatch restores it, so other throttles keep the configured rates).
    monkeypatch.setattr(EvaluateThrottle, "THROTTLE_RATES", {"evaluate": "2/min"})
    cache.clear()
    try:
        assert evaluate(api, {"data": APPROVED_INPUT}).status_code == 200
        assert evaluate(api, {"data": APPROVED_INPUT}).status_code == 200
        limited = evaluate(api, {"data": APPROVED_INPUT})
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "throttled"
        assert 0 < int(limited["Retry-After"]) <= 60
        demo = Tenant.objects.get(slug="demo")
        _, other_token = api_client_create(tenant=demo, name="other-app", role=Role.VIEWER)
        other = APIClient()
        other.credentials(HTTP_AUTHORIZATION=f"Token {other_token}")
        assert evaluate(other, {"data": APPROVED_INPUT}).status_code == 200  # per client
    finally:
        cache.clear()


def test_create_api_client_prints_only_the_token_on_stdout(demo):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "create_api_client", tenant="demo", name="scripted", role="viewer", stdout=out, stderr=err
    )
    token = out.getvalue().strip()
    assert len(token) == 64 and "\n" not in token
    assert "shown only once" in err.getvalue()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert evaluate(client, {"data": APPROVED_INPUT}).status_code == 200


@pytest.mark.postgres
def test_healthz_reports_the_database(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["database"] == "postgresql"


def test_unknown_api_path_answers_json_404(client, db):
    response = client.get(f"/api/v1/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
