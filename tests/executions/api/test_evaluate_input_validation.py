"""A ruleset's input validation against the tenant's attributes catalog, at evaluate time:
off evaluates as before, warn evaluates and records the problems, strict refuses naming every
bad field. Through the API (single and batch) and `manage.py evaluate`."""

import io
import json

import orjson
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from executions.models import ExecutionLog
from rules.choices import InputValidation, Role, RulesetStatus
from rules.services.api_clients import api_client_create
from rules.services.lifecycle import ruleset_activate
from tests.factories import AttributeFactory, PatternFactory, RuleFactory, RulesetFactory

pytestmark = pytest.mark.django_db

GOOD = {"credit_score": 720, "country": "DE"}
BAD = {"credit_score": "high", "country": "XX", "unread": "anything"}
SCORE_PROBLEM = "expected an integer, got string 'high'"
COUNTRY_PROBLEM = "'XX' is not one of the allowed values ['DE', 'FR']"


def scoring(tenant, input_validation: str):
    """R1 credit_score > 700, R2 country equal DE; the catalog types both."""
    ruleset = RulesetFactory(tenant=tenant, name="scoring", input_validation=input_validation)
    RuleFactory(ruleset=ruleset, rule_id="R1", priority=1)
    RuleFactory(
        ruleset=ruleset,
        rule_id="R2",
        priority=2,
        attribute="country",
        operator="equal",
        constant="DE",
    )
    for key, recommendation in (("YY", "APPROVE"), ("Y-", "REVIEW"), ("-Y", "REVIEW")):
        PatternFactory(ruleset=ruleset, pattern_key=key, action_recommendation=recommendation)
    PatternFactory(ruleset=ruleset, pattern_key="--", action_recommendation="DECLINE")
    AttributeFactory(tenant=tenant, name="credit_score", data_type="integer", example=700)
    AttributeFactory(
        tenant=tenant, name="country", data_type="string", allowed_values=["DE", "FR"], example="DE"
    )
    ruleset_activate(ruleset_id=ruleset.pk, actor=None)
    return ruleset


@pytest.fixture
def api(tenant):
    _, token = api_client_create(tenant=tenant, name="loan-app", role=Role.VIEWER)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def evaluate(api, body, path="/api/v1/evaluate"):
    return api.post(path, orjson.dumps(body), content_type="application/json")


def test_off_evaluates_a_misfit_input_as_before(api, tenant):
    scoring(tenant, InputValidation.OFF)

    response = evaluate(api, {"ruleset": "scoring", "data": BAD})

    assert response.status_code == 200
    assert "input_problems" not in response.json()
    assert "input_problems" not in ExecutionLog.objects.get().output_data


def test_warn_evaluates_and_records_every_problem_in_the_answer_and_the_log(api, tenant):
    scoring(tenant, InputValidation.WARN)

    response = evaluate(api, {"ruleset": "scoring", "data": BAD})
    fine = evaluate(api, {"ruleset": "scoring", "data": GOOD})

    assert response.status_code == 200
    body = response.json()
    problems = [
        {"field": "credit_score", "problem": SCORE_PROBLEM},
        {"field": "country", "problem": COUNTRY_PROBLEM},
    ]
    assert body["input_problems"] == problems
    assert body["pattern_result"] == "--"
    log = ExecutionLog.objects.get(execution_id=body["execution_id"])
    assert log.success and log.output_data["input_problems"] == problems
    assert fine.status_code == 200 and "input_problems" not in fine.json()


def test_strict_refuses_naming_every_bad_field_and_logs_the_failure(api, tenant):
    scoring(tenant, InputValidation.STRICT)

    response = evaluate(api, {"ruleset": "scoring", "data": BAD})

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid",
            "message": "data: does not fit the attributes catalog (credit_score: "
            f"{SCORE_PROBLEM}; country: {COUNTRY_PROBLEM})",
            "details": {"data.credit_score": [SCORE_PROBLEM], "data.country": [COUNTRY_PROBLEM]},
        }
    }
    failure = ExecutionLog.objects.get()
    assert not failure.success
    assert failure.error_message.startswith("data: does not fit the attributes catalog")
    assert failure.input_data == BAD
    assert [p["field"] for p in failure.output_data["input_problems"]] == [
        "credit_score",
        "country",
    ]
    assert evaluate(api, {"ruleset": "scoring", "data": GOOD}).status_code == 200


def test_strict_batch_fails_only_the_bad_items_with_their_fields(api, tenant):
    scoring(tenant, InputValidation.STRICT)

    response = evaluate(
        api,
        {"ruleset": "scoring", "items": [GOOD, {"country": "FR", "credit_score": 1.5}]},
        path="/api/v1/evaluate/batch",
    )

    assert response.status_code == 200
    body = response.json()
    assert body["errors"] == 1
    assert body["results"][0]["pattern_result"] == "YY"
    assert body["results"][1]["error"] == {
        "code": "invalid",
        "message": "items[1]: does not fit the attributes catalog (credit_score: expected an "
        "integer, got number 1.5)",
        "details": {"items[1].credit_score": ["expected an integer, got number 1.5"]},
    }
    rows = ExecutionLog.objects.filter(source="batch").order_by("success")
    assert [row.success for row in rows] == [False, True]


def test_warn_batch_marks_the_items_that_do_not_fit(api, tenant):
    scoring(tenant, InputValidation.WARN)

    response = evaluate(
        api, {"ruleset": "scoring", "items": [GOOD, BAD]}, path="/api/v1/evaluate/batch"
    )

    results = response.json()["results"]
    assert response.json()["errors"] == 0
    assert "input_problems" not in results[0]
    assert [p["field"] for p in results[1]["input_problems"]] == ["credit_score", "country"]


def test_the_command_line_reports_problems_and_refusals(tenant, tmp_path):
    ruleset = scoring(tenant, InputValidation.WARN)
    lines = tmp_path / "inputs.jsonl"
    lines.write_text("\n".join(json.dumps(item) for item in (GOOD, BAD)) + "\n")
    out = io.StringIO()

    call_command(
        "evaluate",
        "scoring",
        "--tenant",
        "acme",
        "--input",
        str(lines),
        stdout=out,
        stderr=io.StringIO(),
    )

    results = [json.loads(line) for line in out.getvalue().splitlines()]
    assert "input_problems" not in results[0]
    assert results[1]["input_problems"][0]["field"] == "credit_score"
    assert ExecutionLog.objects.filter(ruleset_id=ruleset.pk, source="cli").count() == 2


def test_a_draft_edit_of_the_mode_is_seen_by_dry_runs_at_once(api, tenant, author):
    from rules.services.editing import ruleset_update
    from rules.services.lifecycle import ruleset_new_version

    active = scoring(tenant, InputValidation.WARN)
    draft = ruleset_new_version(ruleset_id=active.pk, actor=author)
    assert draft.status == RulesetStatus.DRAFT
    assert draft.input_validation == InputValidation.WARN  # a new version keeps the mode
    body = {"ruleset": "scoring", "version": draft.version, "dry_run": True, "data": BAD}
    assert evaluate(api, body).status_code == 200

    ruleset_update(ruleset=draft, actor=author, input_validation=InputValidation.STRICT)

    assert evaluate(api, body).status_code == 400


def test_validation_adds_no_query_to_a_warm_evaluate(api, tenant):
    """The catalog is cached per process with the compiled ruleset's invalidation."""
    ruleset = scoring(tenant, InputValidation.OFF)
    counts = {}
    for mode in (InputValidation.OFF, InputValidation.STRICT):
        type(ruleset).objects.filter(pk=ruleset.pk).update(input_validation=mode)
        from rules.change_notifications import caches_clear

        caches_clear()
        evaluate(api, {"ruleset": "scoring", "data": GOOD})  # warms the caches
        with CaptureQueriesContext(connection) as queries:
            assert evaluate(api, {"ruleset": "scoring", "data": GOOD}).status_code == 200
        counts[mode] = len(queries)

    assert counts[InputValidation.STRICT] == counts[InputValidation.OFF]
