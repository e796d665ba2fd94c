"""The original system's endpoints (executions/api/original.py) with the original's own bodies.

Request bodies are re-typed from khoantd/rule-engine: `api/models.py` (the examples of
RuleExecutionRequest and BatchRuleExecutionRequest), `tests/integration/test_api_http.py`
(execute-by-ids, dry runs) and `api/routes/executions.py` (the listing's filters). The ruleset is
the original's own `data/input/rules_config.json` (tests/data/original), imported with
`import_rules --default` as a migrating team would.
"""

import io
import uuid
from datetime import timedelta

import orjson
import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from executions.models import ExecutionLog
from rules.choices import Role
from rules.models import Ruleset
from rules.services.api_clients import api_client_create
from tests.factories import TenantFactory

# The original's example input (api/models.py, RuleExecutionRequest.Config).
SUPERMAN = {"issue": 35, "title": "Superman", "publisher": "DC"}
BATMAN = {"issue": 10, "title": "Batman", "publisher": "DC"}
# rules_config.json: R0001 issue > 30 (20 points x 30), R0002 title = Superman (15 x 20),
# R0003 publisher in DC/Marvel (10 x 5); patterns YYY Approved, YY- Reviewed, Y-- Rejected.
SUPERMAN_POINTS = 20 * 30 + 15 * 20 + 10 * 5
# A second ruleset in the original's flat format: one rule, Z1.
ZED_RULES = {
    "rules_set": [
        {
            "id": "Z1",
            "rule_name": "Any issue",
            "attribute": "issue",
            "condition": "greater_than",
            "constant": "0",
            "weight": 1,
            "rule_point": 1,
            "action_result": "Z",
        }
    ],
    "patterns": {"Z": "Zed"},
}


def import_original(data_path, tenant, name, *extra):
    out = io.StringIO()
    call_command(
        "import_rules",
        data_path("original/rules_config.json"),
        "--tenant",
        tenant,
        "--name",
        name,
        *extra,
        stdout=out,
    )
    return out.getvalue()


@pytest.fixture
def comics(db, data_path):
    tenant = TenantFactory(slug="acme")
    report = import_original(data_path, "acme", "comics", "--activate", "--default")
    assert "is now tenant acme's default ruleset" in report
    return tenant


@pytest.fixture
def key(comics):
    _, token = api_client_create(tenant=comics, name="legacy-app", role=Role.VIEWER)
    return token


@pytest.fixture
def original_client(key):
    """A client of the original system: its key in X-API-Key, nothing else changed."""
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=key)
    return client


@pytest.fixture
def globex_client(db, data_path):
    globex = TenantFactory(slug="globex")
    _, token = api_client_create(tenant=globex, name="other-app", role=Role.VIEWER)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=token)
    return client


def post(client, path, body, **headers):
    return client.post(
        f"/api/v1{path}", orjson.dumps(body), content_type="application/json", **headers
    )


# --- POST /api/v1/rules/execute ---------------------------------------------------------------
def test_execute_with_x_api_key_runs_the_default_ruleset_and_logs_it(original_client, comics):
    body = {"data": SUPERMAN, "dry_run": False, "correlation_id": "req-12345"}
    response = post(original_client, "/rules/execute", body)

    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["total_points"] == SUPERMAN_POINTS
    assert answer["pattern_result"] == "YYY"
    assert answer["action_recommendation"] == "Approved"
    assert answer["dry_run"] is False
    assert answer["correlation_id"] == "req-12345"
    assert answer["rule_evaluations"] is None and answer["would_match"] is None
    assert answer["decision_outputs"] is None
    assert response["X-Correlation-ID"] == "req-12345"
    log = ExecutionLog.objects.get(execution_id=answer["execution_id"])
    assert (log.tenant_id, log.ruleset_name, log.source) == (comics.pk, "comics", "api")
    assert log.correlation_id == "req-12345"
    assert log.caller == "api.acme.legacy-app"
    assert log.pattern_result == "YYY"


def test_execute_accepts_the_token_in_authorization_too(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = post(client, "/rules/execute", {"data": SUPERMAN})
    assert response.status_code == 200, response.content
    assert response.json()["pattern_result"] == "YYY"


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"HTTP_X_API_KEY": "not-a-key"}, "AUTHENTICATION_FAILED"),
        ({"HTTP_AUTHORIZATION": "Token not-a-key"}, "AUTHENTICATION_FAILED"),
        ({}, "NOT_AUTHENTICATED"),
    ],
)
def test_a_bad_or_missing_key_is_a_401_in_the_original_error_shape(comics, headers, code):
    response = post(APIClient(), "/rules/execute", {"data": SUPERMAN}, **headers)

    assert response.status_code == 401
    error = response.json()
    assert set(error) == {"error_type", "message", "error_code", "context", "correlation_id"}
    assert error["error_type"] == "AuthenticationError"
    assert error["error_code"] == code
    assert response["WWW-Authenticate"] == ("ApiKey" if "HTTP_X_API_KEY" in headers else "Token")
    assert not ExecutionLog.objects.exists()


def test_dry_run_lists_every_rule_and_logs_nothing(original_client):
    body = {"data": BATMAN, "dry_run": True, "correlation_id": "req-dry"}
    response = post(original_client, "/rules/execute", body)

    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["dry_run"] is True and answer["execution_id"] is None
    assert answer["pattern_result"] == "--Y"  # Batman: issue 10 is not > 30, not Superman
    assert answer["action_recommendation"] is None
    assert [e["rule_name"] for e in answer["rule_evaluations"]] == ["Rule 1", "Rule 2", "Rule 3"]
    matched = {e["rule_name"]: e for e in answer["would_match"]}
    assert set(matched) == {"Rule 3"}
    assert {e["rule_name"] for e in answer["would_not_match"]} == {"Rule 1", "Rule 2"}
    assert matched["Rule 3"]["rule_point"] == 10 and matched["Rule 3"]["weight"] == 5
    assert matched["Rule 3"]["action_result"] == "Y"
    not_matched = answer["would_not_match"][0]
    assert (not_matched["action_result"], not_matched["rule_point"]) == ("-", 0.0)
    assert answer["total_points"] == 10 * 5
    assert not ExecutionLog.objects.exists()


def test_correlation_id_comes_from_the_header_else_is_generated(original_client):
    from_header = post(
        original_client, "/rules/execute", {"data": SUPERMAN}, HTTP_X_CORRELATION_ID="hdr-7"
    )
    generated = post(original_client, "/rules/execute", {"data": SUPERMAN})

    assert from_header.json()["correlation_id"] == "hdr-7"
    assert ExecutionLog.objects.get(correlation_id="hdr-7")
    new_id = generated.json()["correlation_id"]
    assert uuid.UUID(new_id)
    assert (
        ExecutionLog.objects.get(execution_id=generated.json()["execution_id"]).correlation_id
        == new_id
    )


def test_consumer_id_is_the_caller_and_the_api_client_is_kept(original_client):
    body = {"data": SUPERMAN, "consumer_id": "client_1"}
    answer = post(original_client, "/rules/execute", body).json()

    log = ExecutionLog.objects.get(execution_id=answer["execution_id"])
    assert log.caller == "client_1"
    assert log.output_data["api_client"] == "api.acme.legacy-app"


def test_a_request_without_data_is_a_422_validation_error(original_client):
    response = post(original_client, "/rules/execute", {"dry_run": False})

    assert response.status_code == 422
    error = response.json()
    assert error["error_code"] == "VALIDATION_ERROR"
    assert error["context"]["errors"][0]["loc"] == ["body", "data"]


def test_inline_rules_are_refused_with_the_reason(original_client):
    body = {"data": {"amount": 150}, "dry_run": True, "rules": [{"id": "R-inline-1"}]}
    response = post(original_client, "/rules/execute", body)

    assert response.status_code == 422
    assert "import them" in response.json()["message"]


def test_refused_input_is_a_400_and_logged_as_a_failure(original_client):
    response = post(original_client, "/rules/execute", {"data": {"issue": 2**60}})

    assert response.status_code == 400
    assert response.json()["error_code"] == "DATA_INVALID"
    assert ExecutionLog.objects.get().success is False


# --- POST /api/v1/rules/{ruleset_name}/execute ------------------------------------------------
def test_execute_a_ruleset_by_name(original_client):
    response = post(original_client, "/rules/comics/execute", {"data": SUPERMAN})

    assert response.status_code == 200, response.content
    assert response.json()["action_recommendation"] == "Approved"
    assert ExecutionLog.objects.get().ruleset_name == "comics"


def test_another_tenants_key_cannot_run_the_ruleset_by_name(comics, globex_client):
    by_name = post(globex_client, "/rules/comics/execute", {"data": SUPERMAN})
    default = post(globex_client, "/rules/execute", {"data": SUPERMAN})

    assert by_name.status_code == 404
    assert by_name.json()["error_code"] == "RULESET_NOT_FOUND"
    assert "globex" in by_name.json()["message"] and "acme" not in by_name.json()["message"]
    assert default.status_code == 404
    assert not ExecutionLog.objects.exists()


def test_an_unknown_ruleset_name_is_a_404(original_client):
    response = post(original_client, "/rules/nope/execute", {"data": SUPERMAN})
    assert response.status_code == 404
    assert response.json()["error_type"] == "NotFoundError"


# --- POST /api/v1/rules/batch -----------------------------------------------------------------
def test_batch_with_the_originals_example_body(original_client):
    # api/models.py, BatchRuleExecutionRequest.Config.
    body = {
        "data_list": [SUPERMAN, BATMAN],
        "dry_run": False,
        "max_workers": 4,
        "correlation_id": "batch-12345",
    }
    response = post(original_client, "/rules/batch", body)

    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["batch_id"] == "batch-12345" and answer["dry_run"] is False
    assert [item["item_index"] for item in answer["results"]] == [0, 1]
    assert [item["correlation_id"] for item in answer["results"]] == [
        "batch-12345-0",
        "batch-12345-1",
    ]
    assert [item["pattern_result"] for item in answer["results"]] == ["YYY", "--Y"]
    assert {item["status"] for item in answer["results"]} == {"success"}
    summary = answer["summary"]
    assert (summary["total_executions"], summary["successful_executions"]) == (2, 2)
    assert summary["failed_executions"] == 0 and summary["success_rate"] == 100.0
    logs = ExecutionLog.objects.order_by("correlation_id")
    assert [(log.correlation_id, log.source) for log in logs] == [
        ("batch-12345-0", "batch"),
        ("batch-12345-1", "batch"),
    ]


def test_batch_item_that_is_refused_fails_alone(original_client):
    body = {"data_list": [SUPERMAN, {"issue": 2**60}]}
    answer = post(original_client, "/rules/batch", body).json()

    assert [item["status"] for item in answer["results"]] == ["success", "failed"]
    assert answer["results"][1]["error_type"] == "DataValidationError"
    assert "data_list[1]" in answer["results"][1]["error"]
    assert answer["summary"]["failed_executions"] == 1
    assert answer["summary"]["success_rate"] == 50.0
    assert uuid.UUID(answer["batch_id"])  # no correlation id sent: a new one
    assert ExecutionLog.objects.filter(success=False).count() == 1


def test_batch_dry_run_logs_nothing(original_client):
    answer = post(original_client, "/rules/batch", {"data_list": [SUPERMAN], "dry_run": True})
    assert answer.json()["dry_run"] is True
    assert answer.json()["results"][0]["execution_id"] is None
    assert not ExecutionLog.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"data_list": []},
        {"data_list": [SUPERMAN, "not an object"]},
        {"data_list": [SUPERMAN], "max_workers": 0},
    ],
)
def test_batch_refuses_what_the_original_refuses(original_client, body):
    response = post(original_client, "/rules/batch", body)
    assert response.status_code == 422
    assert response.json()["error_code"] == "VALIDATION_ERROR"


# --- POST /api/v1/rules/execute-by-ids ---------------------------------------------------------
def test_execute_by_ids_runs_only_those_rules(original_client):
    # tests/integration/test_api_http.py of the original: rule_ids, data, dry_run, correlation_id.
    body = {"rule_ids": ["R0001"], "data": SUPERMAN, "dry_run": True, "correlation_id": "cid-1"}
    response = post(original_client, "/rules/execute-by-ids", body)

    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["dry_run"] is True
    assert answer["total_points"] == 20 * 30
    assert answer["pattern_result"] == "Y"
    assert len(answer["rule_evaluations"]) == 1
    assert answer["correlation_id"] == "cid-1"


def test_execute_by_ids_logs_against_the_version_of_the_rules(original_client, comics):
    body = {"rule_ids": ["R0002", "R0003"], "data": SUPERMAN}
    answer = post(original_client, "/rules/execute-by-ids", body).json()

    assert answer["pattern_result"] == "YY"
    log = ExecutionLog.objects.get(execution_id=answer["execution_id"])
    active = Ruleset.objects.get(tenant=comics, name="comics", status="active")
    assert (log.ruleset_id, log.total_points) == (active.pk, 15 * 20 + 10 * 5)


def test_execute_by_ids_with_unknown_ids_names_them(original_client):
    body = {"rule_ids": ["R0001", "R9999"], "data": SUPERMAN}
    response = post(original_client, "/rules/execute-by-ids", body)

    assert response.status_code == 404
    error = response.json()
    assert error["error_code"] == "RULE_NOT_FOUND"
    assert error["context"] == {"rule_ids": ["R9999"]}
    assert "R9999" in error["message"]
    assert not ExecutionLog.objects.exists()


def test_execute_by_ids_refuses_ids_it_cannot_place_in_one_ruleset(
    original_client, comics, data_path, tmp_path
):
    zed = tmp_path / "zed.json"
    zed.write_bytes(orjson.dumps(ZED_RULES))
    call_command(
        "import_rules",
        str(zed),
        "--tenant",
        "acme",
        "--name",
        "zed",
        "--activate",
        "--default",
        stdout=io.StringIO(),
    )
    import_original(data_path, "acme", "comics_b", "--activate")

    # R0001 is in comics and comics_b, and neither is the default any more.
    ambiguous = post(
        original_client, "/rules/execute-by-ids", {"rule_ids": ["R0001"], "data": SUPERMAN}
    )
    # Z1 (zed) and R0001 (comics) exist, but no one ruleset holds both.
    split = post(
        original_client, "/rules/execute-by-ids", {"rule_ids": ["Z1", "R0001"], "data": SUPERMAN}
    )
    # The default holds Z1: it wins without ambiguity.
    default = post(original_client, "/rules/execute-by-ids", {"rule_ids": ["Z1"], "data": SUPERMAN})

    assert ambiguous.status_code == 409
    assert ambiguous.json()["error_code"] == "AMBIGUOUS_RULE_IDS"
    assert "comics, comics_b" in ambiguous.json()["message"]
    assert split.status_code == 404 and "different rulesets" in split.json()["message"]
    assert default.status_code == 200 and default.json()["pattern_result"] == "Z"


def test_execute_by_ids_never_finds_another_tenants_rules(comics, globex_client):
    response = post(
        globex_client, "/rules/execute-by-ids", {"rule_ids": ["R0001"], "data": SUPERMAN}
    )
    assert response.status_code == 404
    assert response.json()["context"] == {"rule_ids": ["R0001"]}


def test_execute_by_ids_needs_a_list_of_ids(original_client):
    response = post(original_client, "/rules/execute-by-ids", {"rule_ids": [], "data": SUPERMAN})
    assert response.status_code == 422
    assert response.json()["context"]["errors"][0]["loc"] == ["body", "rule_ids"]


# POST /api/v1/rules/execute-dmn: tests/executions/api/test_original_execute_dmn.py


# --- GET /api/v1/executions --------------------------------------------------------------------
def test_executions_lists_with_the_originals_filters(original_client, comics):
    post(original_client, "/rules/execute", {"data": SUPERMAN, "consumer_id": "client_1"})
    post(original_client, "/rules/execute", {"data": BATMAN, "correlation_id": "order-9"})
    active = Ruleset.objects.get(tenant=comics, name="comics", status="active")

    everything = original_client.get("/api/v1/executions").json()
    by_consumer = original_client.get("/api/v1/executions?consumer_id=client_1").json()
    by_ruleset = original_client.get(f"/api/v1/executions?ruleset_id={active.pk}&limit=1").json()
    with_payload = original_client.get(
        "/api/v1/executions?correlation_id=order-9&include_payload=true"
    ).json()

    assert (everything["total"], everything["limit"], everything["offset"]) == (2, 100, 0)
    row = by_consumer["executions"][0]
    assert by_consumer["total"] == 1 and row["consumer_id"] == "client_1"
    assert row["pattern_result"] == "YYY" and row["success"] is True
    assert row["ruleset_id"] == active.pk and row["id"] == row["execution_id"]
    assert "input_data" not in row
    assert by_ruleset["total"] == 2 and len(by_ruleset["executions"]) == 1
    assert with_payload["executions"][0]["input_data"] == BATMAN
    assert with_payload["executions"][0]["correlation_id"] == "order-9"


def test_executions_time_window_is_from_inclusive_to_exclusive(original_client):
    post(original_client, "/rules/execute", {"data": SUPERMAN})
    logged = ExecutionLog.objects.get().timestamp
    at = logged.isoformat().replace("+00:00", "Z")
    later = (logged + timedelta(seconds=1)).isoformat()

    from_it = original_client.get("/api/v1/executions", {"from": at}).json()
    to_it = original_client.get("/api/v1/executions", {"to": at}).json()
    to_later = original_client.get("/api/v1/executions", {"to": later}).json()

    assert (from_it["total"], to_it["total"], to_later["total"]) == (1, 0, 1)


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({"limit": "0"}, 422, "VALIDATION_ERROR"),
        ({"limit": "501"}, 422, "VALIDATION_ERROR"),
        ({"offset": "-1"}, 422, "VALIDATION_ERROR"),
        ({"from": "yesterday"}, 400, "INVALID_DATETIME"),
    ],
)
def test_executions_refuses_bad_parameters_by_name(original_client, query, status, code):
    response = original_client.get("/api/v1/executions", query)
    assert response.status_code == status
    assert response.json()["error_code"] == code
    assert next(iter(query)) in str(response.json()["context"])


def test_executions_show_only_the_keys_tenant(original_client, globex_client):
    post(original_client, "/rules/execute", {"data": SUPERMAN})
    assert globex_client.get("/api/v1/executions").json()["total"] == 0


def test_correlation_id_filters_our_execution_logs_too(original_client, key):
    post(original_client, "/rules/execute", {"data": SUPERMAN, "correlation_id": "order-1042"})
    ours = APIClient()
    ours.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    found = ours.get("/api/v1/execution-logs", {"correlation_id": "order-1042"}).json()
    assert [log["correlation_id"] for log in found["results"]] == ["order-1042"]


# --- import_rules --default --------------------------------------------------------------------
def test_import_rules_default_moves_the_default_to_the_new_ruleset(
    original_client, comics, data_path, tmp_path
):
    other = tmp_path / "other.json"
    other.write_bytes(orjson.dumps(ZED_RULES))
    call_command(
        "import_rules",
        str(other),
        "--tenant",
        "acme",
        "--name",
        "zed",
        "--activate",
        "--default",
        stdout=io.StringIO(),
    )

    answer = post(original_client, "/rules/execute", {"data": SUPERMAN}).json()
    assert (answer["pattern_result"], answer["action_recommendation"]) == ("Z", "Zed")
    defaults = Ruleset.objects.filter(tenant=comics, is_default=True)
    assert list(defaults.values_list("name", flat=True)) == ["zed"]


def test_import_rules_default_dry_run_changes_no_default(comics, data_path):
    report = import_original(data_path, "acme", "comics2", "--dry-run", "--default")

    assert "would be tenant acme's default ruleset" in report
    assert list(
        Ruleset.objects.filter(tenant=comics, is_default=True).values_list("name", flat=True)
    ) == ["comics"]
    assert not Ruleset.objects.filter(tenant=comics, name="comics2").exists()
