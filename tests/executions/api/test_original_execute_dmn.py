"""The original's POST /api/v1/rules/execute-dmn (executions/api/original.py): DMN XML in the body
(`dmn_content`) or an imported decision-table ruleset named by `dmn_file`, the original's error
codes (api/routes/rules.py, services/ruleset_loader.py of khoantd/rule-engine), and the log row."""

import orjson
import pytest
from rest_framework.test import APIClient

from executions.models import ExecutionLog
from executions.services.original_dmn import dmn_content_cache_clear
from rules.choices import Role
from rules.services.api_clients import api_client_create
from rules.services.lifecycle import ruleset_activate
from rules.services.ruleset_import import ruleset_import
from tests.factories import TenantFactory
from tests.support import TEST_DATA

pytestmark = pytest.mark.django_db

LOAN = (TEST_DATA / "dmn" / "loan_offer.dmn").read_text()
LOAN_INPUT = {"credit_score": 650, "income": 60000}
LOAN_OUTPUTS = {"Risk": "medium", "Loan offer": {"decision": "REVIEW", "rate": 5.25}}


def client_of(tenant):
    _, token = api_client_create(tenant=tenant, name=f"{tenant.slug}-app", role=Role.VIEWER)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=token)
    return client


@pytest.fixture(autouse=True)
def _fresh_cache():
    dmn_content_cache_clear()
    yield
    dmn_content_cache_clear()


@pytest.fixture
def acme(db):
    return TenantFactory(slug="acme")


@pytest.fixture
def api(acme):
    return client_of(acme)


@pytest.fixture
def loans(acme):
    ruleset = ruleset_import(tenant=acme, actor=None, document=LOAN.encode(), name="loans").created
    return ruleset_activate(ruleset_id=ruleset.pk, actor=None)


def execute_dmn(client, body):
    return client.post(
        "/api/v1/rules/execute-dmn", orjson.dumps(body), content_type="application/json"
    )


def test_dmn_content_runs_the_model_and_logs_it(api, acme):
    body = {"dmn_content": LOAN, "data": LOAN_INPUT, "correlation_id": "req-dmn-1"}
    response = execute_dmn(api, body)

    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["decision_outputs"] == LOAN_OUTPUTS
    # As the original scored a DMN model: 10 points and the output's text per matching row
    # (Risk's risk_medium, then Loan offer's offer_review, whose first output is "REVIEW").
    assert (answer["total_points"], answer["pattern_result"]) == (20.0, "mediumREVIEW")
    assert (answer["dry_run"], answer["correlation_id"]) == (False, "req-dmn-1")
    assert answer["rule_evaluations"] is None
    log = ExecutionLog.objects.get(execution_id=answer["execution_id"])
    assert (log.tenant_id, log.ruleset_id, log.success) == (acme.pk, None, True)
    assert log.ruleset_version.startswith("sha256:") and log.ruleset_name
    assert (log.source, log.correlation_id) == ("api", "req-dmn-1")
    assert log.output_data["outputs"] == LOAN_OUTPUTS
    assert log.input_data == LOAN_INPUT


def test_dmn_content_is_compiled_once_per_content(api, monkeypatch):
    from rules.engine import dmn

    compiles = []
    real = dmn.compile_definitions
    monkeypatch.setattr(
        dmn, "compile_definitions", lambda *a, **k: compiles.append(1) or real(*a, **k)
    )
    for _ in range(3):
        response = execute_dmn(api, {"dmn_content": LOAN, "data": LOAN_INPUT})
        assert response.status_code == 200, response.content
    assert len(compiles) == 1
    assert ExecutionLog.objects.count() == 3


def test_dmn_content_dry_run_logs_nothing(api):
    response = execute_dmn(api, {"dmn_content": LOAN, "data": LOAN_INPUT, "dry_run": True})

    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["dry_run"] is True and answer["execution_id"] is None
    assert answer["decision_outputs"] == LOAN_OUTPUTS
    assert ExecutionLog.objects.count() == 0


def test_the_originals_sample_rules_dmn_runs_from_its_content(api):
    content = (TEST_DATA / "dmn" / "sample_rules.dmn").read_text()
    response = execute_dmn(api, {"dmn_content": content, "data": {"season": "Fall", "guests": 6}})

    assert response.status_code == 200, response.content
    answer = response.json()
    # The original's documented answer (DMN_RULES_EXECUTION_API_SPEC.md, example 1).
    assert (answer["total_points"], answer["pattern_result"]) == (10.0, "Spareribs")
    assert answer["decision_outputs"] == {"Dish Decision": "Spareribs"}
    assert answer["action_recommendation"] == "Spareribs"


def test_a_dry_run_lists_every_row_as_the_originals_rule_evaluations(api):
    content = (TEST_DATA / "dmn" / "sample_rules.dmn").read_text()
    body = {"dmn_content": content, "data": {"season": "Fall", "guests": 6}, "dry_run": True}
    answer = execute_dmn(api, body).json()

    assert [entry["rule_name"] for entry in answer["rule_evaluations"]] == [
        "Dish Decision - Rule 1",
        "Dish Decision - Rule 2",
        "Dish Decision - Rule 3",
    ]
    first = answer["rule_evaluations"][0]
    assert first == {
        "rule_name": "Dish Decision - Rule 1",
        "rule_priority": 1,
        "condition": 'season == "Fall" and guests <= 8',
        "matched": True,
        "action_result": "Spareribs",
        "rule_point": 10.0,
        "weight": 1.0,
        "execution_time_ms": 0.0,
    }
    assert [entry["rule_name"] for entry in answer["would_match"]] == ["Dish Decision - Rule 1"]
    assert answer["rule_evaluations"][1]["action_result"] == "-"
    assert len(answer["would_not_match"]) == 2


def test_xml_that_is_no_dmn_model_is_a_parse_error_naming_the_element(api):
    broken = LOAN.replace("</definitions>", "")
    response = execute_dmn(api, {"dmn_content": broken, "data": LOAN_INPUT})

    assert response.status_code == 400
    error = response.json()
    assert (error["error_type"], error["error_code"]) == ("ConfigurationError", "DMN_PARSE_ERROR")
    assert error["context"]["problems"]
    assert "line" in error["message"]
    assert ExecutionLog.objects.count() == 0


def test_a_model_with_a_bad_cell_names_the_cell(api):
    bad = LOAN.replace("<text>&gt;= 720</text>", "<text>&gt;= &gt;= 720</text>", 1)
    assert bad != LOAN
    response = execute_dmn(api, {"dmn_content": bad, "data": LOAN_INPUT})

    assert response.status_code == 400
    error = response.json()
    assert error["error_code"] == "DMN_INVALID"
    paths = [problem["path"] for problem in error["context"]["problems"]]
    assert any("input_entries" in path for path in paths), paths
    assert ExecutionLog.objects.count() == 0


def test_dmn_file_names_an_imported_decision_table(api, loans):
    response = execute_dmn(api, {"dmn_file": "loans", "data": LOAN_INPUT})

    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["decision_outputs"] == LOAN_OUTPUTS
    log = ExecutionLog.objects.get(execution_id=answer["execution_id"])
    assert (log.ruleset_id, log.ruleset_name, log.source) == (loans.pk, "loans", "api")


def test_an_unknown_dmn_file_is_the_originals_not_found(api, loans):
    response = execute_dmn(api, {"dmn_file": "data/input/sample_rules.dmn", "data": {}})

    assert response.status_code == 400
    error = response.json()
    assert (error["error_type"], error["error_code"]) == (
        "ConfigurationError",
        "DMN_FILE_NOT_FOUND",
    )
    assert error["context"] == {"dmn_file": "data/input/sample_rules.dmn"}
    assert ExecutionLog.objects.count() == 0


def test_another_tenants_decision_table_is_not_visible(loans):
    other = client_of(TenantFactory(slug="globex"))
    response = execute_dmn(other, {"dmn_file": "loans", "data": LOAN_INPUT})

    assert response.status_code == 400
    assert response.json()["error_code"] == "DMN_FILE_NOT_FOUND"
    assert ExecutionLog.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"data": {}}, "MISSING_DMN_SOURCE"),
        ({"dmn_file": "loans", "dmn_content": LOAN, "data": {}}, "MULTIPLE_DMN_SOURCES"),
    ],
)
def test_exactly_one_dmn_source(api, body, code):
    response = execute_dmn(api, body)

    assert response.status_code == 400
    assert response.json()["error_code"] == code


def test_a_body_without_data_is_the_originals_422(api):
    response = execute_dmn(api, {"dmn_content": LOAN})

    assert response.status_code == 422
    assert response.json()["context"]["errors"][0]["loc"] == ["body", "data"]


# --- execute-dmn-upload: the same model as a multipart file ---------------------------------
SAMPLE = (TEST_DATA / "dmn" / "sample_rules.dmn").read_bytes()


def upload_dmn(client, fields, *, filename="sample_rules.dmn", content=SAMPLE):
    from django.core.files.uploadedfile import SimpleUploadedFile

    form = dict(fields)
    if filename is not None:
        form["file"] = SimpleUploadedFile(filename, content, content_type="application/xml")
    return client.post("/api/v1/rules/execute-dmn-upload", form, format="multipart")


def test_an_uploaded_file_runs_as_dmn_content_and_is_logged(api, acme):
    fields = {"data": '{"season": "Fall", "guests": 6}', "correlation_id": "req-002"}
    response = upload_dmn(api, fields)

    assert response.status_code == 200, response.content
    answer = response.json()
    assert (answer["total_points"], answer["pattern_result"]) == (10.0, "Spareribs")
    assert (answer["dry_run"], answer["correlation_id"]) == (False, "req-002")
    log = ExecutionLog.objects.get(execution_id=answer["execution_id"])
    assert (log.tenant_id, log.correlation_id) == (acme.pk, "req-002")
    assert log.ruleset_version.startswith("sha256:")
    # The same bytes as dmn_content are the same compiled model and the same log version.
    again = execute_dmn(api, {"dmn_content": SAMPLE.decode(), "data": {"season": "Fall"}})
    other = ExecutionLog.objects.get(execution_id=again.json()["execution_id"])
    assert other.ruleset_version == log.ruleset_version


def test_an_uploaded_dry_run_lists_the_rows_and_logs_nothing(api):
    response = upload_dmn(api, {"data": '{"season": "Winter", "guests": 4}', "dry_run": "true"})

    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["dry_run"] is True and answer["pattern_result"] == "Roastbeef"
    assert len(answer["rule_evaluations"]) == 3
    assert ExecutionLog.objects.count() == 0


def test_an_upload_that_is_no_dmn_file_is_the_originals_invalid_file_type(api):
    response = upload_dmn(api, {"data": "{}"}, filename="rules.json", content=b"{}")

    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_FILE_TYPE"
    assert "rules.json" in response.json()["message"]


def test_an_upload_without_a_file_is_missing_the_source(api):
    response = upload_dmn(api, {"data": "{}"}, filename=None)

    assert response.status_code == 400
    assert response.json()["error_code"] == "MISSING_DMN_SOURCE"


def test_an_upload_that_is_not_utf8_is_a_read_error(api):
    response = upload_dmn(api, {"data": "{}"}, content=b"<definitions>\xff\xfe</definitions>")

    assert response.status_code == 400
    assert response.json()["error_code"] == "DMN_READ_ERROR"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({}, "data"),
        ({"data": "not json"}, "data"),
        ({"data": "[1, 2]"}, "data"),
        ({"data": "{}", "dry_run": "maybe"}, "dry_run"),
    ],
)
def test_a_bad_upload_form_is_the_originals_422_naming_the_field(api, fields, field):
    response = upload_dmn(api, fields)

    assert response.status_code == 422, response.content
    answer = response.json()
    assert answer["error_code"] == "VALIDATION_ERROR"
    assert [error["loc"] for error in answer["context"]["errors"]] == [["body", field]]
    assert ExecutionLog.objects.count() == 0


def test_a_bad_model_uploaded_names_the_cell(api):
    bad = SAMPLE.replace(b"&lt;= 8", b"&lt;&lt; 8", 1)
    response = upload_dmn(api, {"data": "{}"}, content=bad)

    assert response.status_code == 400
    assert response.json()["error_code"] == "DMN_INVALID"
    assert response.json()["context"]["problems"][0]["rule_id"] == "Rule1"
