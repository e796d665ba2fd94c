"""`Authorization: Token <key>`, `Bearer <key>` as its alias, and 401s that name the scheme.

Before (issue #17): clients sending `Bearer` (generated clients, most HTTP tools) got 401
"Authentication credentials were not provided.", which does not say what to send; evaluate and
batch were documented with session auth but answer 401 to a session.
"""

import pytest
from rest_framework.test import APIClient

from rules.choices import Role
from rules.models import Tenant
from rules.services.api_clients import api_client_create
from rules.services.demo import demo_seed
from rules.services.tenancy import member_add

EVALUATE = "/api/v1/evaluate"
RULESETS = "/api/v1/rulesets"
INPUT = {"applicant": {"credit_score": 720, "income": 85000}, "debt_ratio": 0.3}


@pytest.fixture
def token(db):
    demo_seed(password="pw-for-tests-2026")
    _, key = api_client_create(tenant=Tenant.objects.get(slug="demo"), name="app", role=Role.VIEWER)
    return key


def with_header(value: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=value)
    return client


def evaluate(client):
    return client.post(EVALUATE, {"ruleset": "credit_scoring", "data": INPUT}, format="json")


@pytest.mark.parametrize("scheme", ["Token", "Bearer", "token", "bearer", "BEARER"])
def test_token_and_its_bearer_alias_authenticate_evaluate_and_management(token, scheme):
    client = with_header(f"{scheme} {token}")
    answered = evaluate(client)
    assert answered.status_code == 200, answered.content
    assert answered.json()["action_recommendation"] == "APPROVE"
    assert client.get(RULESETS).status_code == 200


def test_no_credentials_is_a_401_that_names_the_token_scheme(db):
    for path, call in ((EVALUATE, evaluate), (RULESETS, lambda c: c.get(RULESETS))):
        refused = call(APIClient())
        assert refused.status_code == 401, path
        assert refused["WWW-Authenticate"] == "Token"
        error = refused.json()["error"]
        assert error["code"] == "not_authenticated"
        assert "`Authorization: Token <key>`" in error["message"], error
        assert "Bearer" in error["message"]


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Api-Key abc", "abc"])
def test_another_scheme_is_a_401_that_says_the_scheme_is_token(token, header, caplog):
    refused = evaluate(with_header(header))
    assert refused.status_code == 401
    error = refused.json()["error"]
    assert error["code"] == "authentication_failed"
    assert error["message"].startswith("The Authorization scheme is Token, not ")
    assert "`Authorization: Token <key>`" in error["message"]
    assert "API authentication failed: another Authorization scheme" in caplog.text


@pytest.mark.parametrize("header", ["Token", "Bearer", "Token a b"])
def test_a_malformed_header_says_what_to_write(db, header):
    refused = evaluate(with_header(header))
    assert refused.status_code == 401
    assert refused.json()["error"]["message"].startswith("Malformed Authorization header")


def test_an_unknown_bearer_token_is_refused_like_an_unknown_token(db):
    for scheme in ("Token", "Bearer"):
        refused = evaluate(with_header(f"{scheme} {'0' * 64}"))
        assert refused.status_code == 401
        assert refused.json()["error"]["message"] == "Invalid token: unknown or revoked token."


def test_a_session_is_refused_by_evaluate_and_batch_and_accepted_elsewhere(token):
    membership, _ = member_add(
        username="analyst", tenant=Tenant.objects.get(slug="demo"), role=Role.VIEWER
    )
    signed_in = APIClient(enforce_csrf_checks=True)
    signed_in.force_login(membership.user)
    assert signed_in.get(RULESETS).status_code == 200
    refused = evaluate(signed_in)
    assert refused.status_code == 401
    assert "`Authorization: Token <key>`" in refused.json()["error"]["message"]
    batch = signed_in.post(EVALUATE + "/batch", {"items": [INPUT]}, format="json")
    assert batch.status_code == 401
