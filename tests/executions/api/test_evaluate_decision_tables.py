"""POST /api/v1/evaluate (single, batch, dry run, trace) and manage.py evaluate on decision-table
rulesets: `outputs`, `matched_rules` per decision, the trace, and the log row."""

import copy
import io
import json

import orjson
import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from executions.models import ExecutionLog
from rules.choices import Role
from rules.services.api_clients import api_client_create
from rules.services.lifecycle import ruleset_activate
from rules.services.ruleset_import import ruleset_import
from tests.factories import SAMPLE_DECISION_MODEL, DecisionModelFactory
from tests.support import TEST_DATA

pytestmark = pytest.mark.django_db

LOAN = (TEST_DATA / "dmn" / "loan_offer.dmn").read_bytes()


@pytest.fixture
def api(tenant):
    _, token = api_client_create(tenant=tenant, name="loan-app", role=Role.VIEWER)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture
def loans(tenant):
    ruleset = ruleset_import(tenant=tenant, actor=None, document=LOAN, name="loans").created
    return ruleset_activate(ruleset_id=ruleset.pk, actor=None)


@pytest.fixture
def dishes(tenant):
    model = DecisionModelFactory(ruleset__tenant=tenant, ruleset__name="dishes")
    return ruleset_activate(ruleset_id=model.ruleset_id, actor=None)


def evaluate(api, body, path="/api/v1/evaluate"):
    return api.post(path, orjson.dumps(body), content_type="application/json")


def test_evaluate_answers_every_decision_and_logs_the_outputs(api, loans):
    response = evaluate(api, {"ruleset": "loans", "data": {"credit_score": 650, "income": 60000}})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["outputs"] == {"Risk": "medium", "Loan offer": {"decision": "REVIEW", "rate": 5.25}}
    assert body["matched_rules"] == {"Risk": ["risk_medium"], "Loan offer": ["offer_review"]}
    assert (body["top_decision"], body["success"], body["errors"]) == ("Loan offer", True, [])
    assert "total_points" not in body and "trace" not in body
    log = ExecutionLog.objects.get(execution_id=body["execution_id"])
    assert log.success and log.ruleset_id == loans.pk
    assert log.output_data["outputs"] == body["outputs"]
    assert log.output_data["matched_rules"] == body["matched_rules"]
    # A multi-output result counts in stats by its first output column.
    assert log.action_recommendation == "REVIEW" and log.total_points is None


def test_the_top_decisions_single_output_is_the_logged_recommendation(api, dishes):
    body = evaluate(api, {"ruleset": "dishes", "data": {"season": "Fall", "guests": 4}}).json()
    assert body["outputs"] == {"Dish Decision": "Ribs"}
    assert ExecutionLog.objects.get(execution_id=body["execution_id"]).action_recommendation == (
        "Ribs"
    )


def test_dry_run_explains_each_row_cell_by_cell_and_logs_nothing(api, loans):
    response = evaluate(
        api, {"ruleset": "loans", "dry_run": True, "data": {"credit_score": 700, "income": 10}}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["execution_id"] is None and not ExecutionLog.objects.exists()
    risk = body["trace"]["Risk"]
    assert risk["hit_policy"] == "FIRST"
    assert [row["matched"] for row in risk["rules"][:2]] == [False, True]
    assert body["matched_rules"]["Risk"] == ["risk_medium"]  # FIRST: the first match decides
    assert risk["rules"][0]["cells"][0]["entry"] == ">= 720"
    assert risk["rules"][0]["annotation"] == "Prime borrowers"
    assert body["trace"]["Loan offer"]["result"] == {"decision": "DECLINE", "rate": None}


def test_a_unique_violation_is_a_logged_failure_not_a_crash(api, tenant):
    model = copy.deepcopy(SAMPLE_DECISION_MODEL)
    model["decisions"][0]["logic"]["rules"][1]["input_entries"] = ["-", "-"]
    decision = DecisionModelFactory(ruleset__tenant=tenant, definitions=model)
    ruleset_activate(ruleset_id=decision.ruleset_id, actor=None)
    body = evaluate(
        api, {"ruleset": decision.ruleset.name, "data": {"season": "Fall", "guests": 2}}
    ).json()
    assert body["success"] is False
    assert body["outputs"] == {"Dish Decision": None}
    assert [error["code"] for error in body["errors"]] == ["unique_violation"]
    log = ExecutionLog.objects.get(execution_id=body["execution_id"])
    assert not log.success
    assert "Dish Decision" in log.error_message and "R1, R2" in log.error_message


def test_batch_answers_outputs_per_item_and_an_error_for_a_bad_item(api, loans):
    response = evaluate(
        api,
        {"ruleset": "loans", "items": [{"credit_score": 800}, "not an object"]},
        path="/api/v1/evaluate/batch",
    )
    assert response.status_code == 200, response.content
    first, second = response.json()["results"]
    assert first["outputs"]["Loan offer"] == {"decision": "APPROVE", "rate": 3.5}
    assert first["matched_rules"]["Risk"] == ["risk_low"]
    assert second["error"]["code"] == "invalid"
    assert ExecutionLog.objects.filter(ruleset_id=loans.pk).count() == 2


def test_evaluate_command_prints_outputs_on_each_line(loans, tmp_path):
    source = tmp_path / "inputs.jsonl"
    source.write_text('{"credit_score": 600}\n{"credit_score": 730}\n')
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "evaluate", "loans", "--tenant", loans.tenant.slug, "--input", str(source), "--no-log",
        stdout=out, stderr=err,
    )  # fmt: skip
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["outputs"]["Risk"] for line in lines] == ["high", "low"]
    assert lines[1]["matched_rules"]["Loan offer"] == ["offer_approve"]


def test_a_backtest_compares_the_top_decisions_output(api, loans, tenant):
    from executions.backtest import backtest_run

    for score in (650, 650, 800, 500):
        data = {"credit_score": score, "income": 60000}
        assert evaluate(api, {"ruleset": "loans", "data": data}).status_code == 200
    # The candidate lends at "low" risk from 640: the two 650s go from REVIEW to APPROVE.
    document = LOAN.replace(b"&gt;= 720", b"&gt;= 640").replace(b"[620..720)", b"[620..640)")
    candidate = ruleset_import(tenant=tenant, actor=None, document=document, name="loans").created
    report = backtest_run(candidate=candidate, baseline=loans)
    assert report["inputs_replayed"] == 4
    assert report["decisions_changed"]["count"] == 2
    transitions = {(t["from"], t["to"]): t["count"] for t in report["transitions"]}
    assert transitions == {("REVIEW", "APPROVE"): 2, ("APPROVE", "APPROVE"): 1,
                           ("DECLINE", "DECLINE"): 1}  # fmt: skip
    rates = {rate["rule_id"] for rate in report["rule_match_rates"]}
    assert {"risk_low", "offer_review", "offer_approve"} <= rates


def test_a_backtest_of_a_decision_table_against_a_scoring_ruleset_is_refused(loans, tenant):
    from executions.backtest import BacktestRefused, backtest_run
    from tests.factories import ruleset_with_rules

    scoring = ruleset_with_rules(tenant=tenant, rules=2)
    with pytest.raises(BacktestRefused, match="compared only with a decision-table ruleset"):
        backtest_run(candidate=loans, baseline=scoring)


def test_the_admin_backtest_page_renders_a_decision_table_report(api, loans, tenant):
    from executions.admin.backtest import backtest_view_data
    from executions.backtest import backtest_run

    assert evaluate(api, {"ruleset": "loans", "data": {"credit_score": 650}}).status_code == 200
    report = backtest_run(candidate=loans, baseline=loans)
    data = backtest_view_data(report, loans)
    assert report["decisions_changed"]["count"] == 0 and data
