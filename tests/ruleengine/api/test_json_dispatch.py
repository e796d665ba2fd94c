"""The evaluate views' dispatch without DRF's Request answers as DRF's own dispatch does (#18)."""

import io

import orjson
import pytest
from rest_framework.exceptions import ParseError
from rest_framework.test import APIClient

from executions.api.evaluate import EvaluateView
from ruleengine.api import json_dispatch
from ruleengine.api.rendering import MAX_JSON_DEPTH, OrjsonParser, json_document_check
from rules.choices import Role
from rules.models import Tenant
from rules.services.api_clients import api_client_create
from rules.services.demo import demo_seed

APPROVED_INPUT = {"applicant": {"credit_score": 720, "income": 85000}, "debt_ratio": 0.2}
# Headers whose values differ between any two requests (Content-Length follows the
# length of execution_time_ms, which is checked against the body instead).
PER_REQUEST_HEADERS = {"X-Request-ID", "RateLimit-Remaining", "RateLimit-Reset", "Content-Length"}


def nested(levels: int):
    value = 1
    for level in range(levels):
        value = [value] if level % 2 else {"k": value}
    return value


@pytest.fixture
def token(db):
    demo_seed(password="pw-for-tests-2026")
    _, token = api_client_create(
        tenant=Tenant.objects.get(slug="demo"), name="loan-app", role=Role.VIEWER
    )
    return token


REQUESTS = {
    "evaluated": ({"ruleset": "credit_scoring", "data": APPROVED_INPUT}, {}),
    "input refused": ({"ruleset": "credit_scoring", "data": {"a": [1, {}]}}, {}),
    "unknown field": ({"ruleset": "credit_scoring", "data": {}, "extra": 1}, {}),
    "no such ruleset": ({"ruleset": "nope", "data": APPROVED_INPUT}, {}),
    "malformed json": (b'{"ruleset": ', {}),
    "too deep": ({"ruleset": "credit_scoring", "data": nested(MAX_JSON_DEPTH + 1)}, {}),
    "nul in a string": ({"ruleset": "credit_scoring", "data": {"a": "x\x00"}}, {}),
    "not acceptable": (
        {"ruleset": "credit_scoring", "data": APPROVED_INPUT},
        {"HTTP_ACCEPT": "text/html"},
    ),
    "bad token": ({"ruleset": "credit_scoring", "data": {}}, {"HTTP_AUTHORIZATION": "Token x"}),
    "other scheme": ({"ruleset": "credit_scoring", "data": {}}, {"HTTP_AUTHORIZATION": "Basic x"}),
    "blank credentials": ({"ruleset": "credit_scoring", "data": {}}, {"HTTP_AUTHORIZATION": " "}),
}


def answer(token, body, extra):
    client = APIClient()
    if "HTTP_AUTHORIZATION" not in extra:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    response = client.post("/api/v1/evaluate", content, content_type="application/json", **extra)
    assert int(response["Content-Length"]) == len(response.content)
    payload = response.json()
    for volatile in ("execution_id", "execution_time_ms"):
        payload.pop(volatile, None)
    headers = {
        name: (None if name in PER_REQUEST_HEADERS else value)
        for name, value in response.headers.items()
    }
    return response.status_code, payload, headers


@pytest.mark.parametrize("case", REQUESTS)
def test_dispatch_without_drf_request_answers_as_drf_dispatch(token, monkeypatch, case):
    body, extra = REQUESTS[case]
    dispatched = []
    plain = json_dispatch.plain_json_post

    def recording(request):
        dispatched.append(plain(request))
        return dispatched[-1]

    monkeypatch.setattr(json_dispatch, "plain_json_post", recording)
    ours = answer(token, body, extra)
    assert dispatched == [True]  # the JSON POST took the path without DRF's Request
    monkeypatch.setattr(json_dispatch, "plain_json_post", lambda request: False)
    drf = answer(token, body, extra)
    assert ours == drf


def test_requests_that_are_not_plain_json_posts_take_drf_dispatch(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    refused = client.post("/api/v1/evaluate", "data=1", content_type="text/plain")
    assert refused.status_code == 415
    assert refused.json()["error"]["code"] == "unsupported_media_type"
    assert client.get("/api/v1/evaluate").status_code == 405
    anonymous = APIClient().post("/api/v1/evaluate", {"data": {}}, format="json")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"] == "Token"
    assert EvaluateView.dispatch is json_dispatch.JsonDispatchMixin.dispatch


@pytest.mark.parametrize(
    "document",
    [
        *(nested(levels) for levels in range(MAX_JSON_DEPTH - 3, MAX_JSON_DEPTH + 4)),
        {"a": "x\x00"},
        {"a\x00": 1},
        {"s": "\\u0000"},
        {"s": "[{" * MAX_JSON_DEPTH},
        {"items": [{"a": 1, "b": [nested(MAX_JSON_DEPTH - 3)]}] * 50},
        {"items": [{"a": 1, "b": [nested(MAX_JSON_DEPTH - 2)]}] * 50},
        {"items": [{"a": 1}] * 1000},
    ],
)
def test_the_parser_refuses_exactly_what_the_document_check_refuses(document):
    body = orjson.dumps(document)
    try:
        json_document_check(document)
        expected = None
    except ParseError as error:
        expected = str(error)
    try:
        OrjsonParser().parse(io.BytesIO(body))
        refused = None
    except ParseError as error:
        refused = str(error)
    assert refused == expected
