"""Evaluate, batch and dry runs under EVALUATION_BUDGET_MS: an error body, a logged failure, never
a 500 or a killed worker (issue 19, point 2)."""

import time

import orjson
import pytest

from executions.models import ExecutionLog
from rules.choices import RulesetStatus
from rules.models import Rule
from tests.factories import PatternFactory, RuleFactory, RulesetFactory

pytestmark = pytest.mark.django_db
NO_TIME_MS = 1e-9


def regex_ruleset(tenant, *, name="text", rules=2, pattern="^a", status=RulesetStatus.ACTIVE):
    ruleset = RulesetFactory(tenant=tenant, name=name, status=status)
    Rule.objects.bulk_create(
        RuleFactory.build(
            ruleset=ruleset,
            rule_id=f"R{number:03d}",
            attribute="s",
            operator="regex",
            constant=pattern,
            priority=number,
            position=number,
        )
        for number in range(rules)
    )
    if rules <= 10:
        PatternFactory(ruleset=ruleset, pattern_key="-" * rules, action_recommendation="REVIEW")
    return ruleset


def post(client, path, body):
    return client.post(path, orjson.dumps(body), content_type="application/json")


def test_an_evaluation_over_its_budget_answers_422_and_is_logged(viewer_api, tenant, settings):
    settings.EVALUATION_BUDGET_MS = NO_TIME_MS
    ruleset = regex_ruleset(tenant)
    response = post(viewer_api(tenant), "/api/v1/evaluate", {"ruleset": "text", "data": {"s": "a"}})

    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "evaluation_budget_exceeded"
    assert error["message"].startswith("data: the evaluation used ")
    assert error["message"].endswith("before rule R001 (EVALUATION_BUDGET_MS)")
    assert error["details"]["rules_run"] == 1 and error["details"]["next_rule_id"] == "R001"
    row = ExecutionLog.objects.get()
    assert (row.success, row.error_message, row.ruleset_id) == (False, error["message"], ruleset.pk)
    assert row.input_data == {"s": "a"}


def test_a_dry_run_over_its_budget_answers_422_and_logs_nothing(viewer_api, tenant, settings):
    settings.EVALUATION_BUDGET_MS = NO_TIME_MS
    regex_ruleset(tenant, status=RulesetStatus.DRAFT)
    response = post(
        viewer_api(tenant),
        "/api/v1/evaluate",
        {"ruleset": "text", "version": "1.0", "dry_run": True, "data": {"s": "a"}},
    )
    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == "evaluation_budget_exceeded"
    assert not ExecutionLog.objects.exists()


def test_a_batch_applies_the_budget_per_item(viewer_api, tenant, settings):
    settings.EVALUATION_BUDGET_MS = NO_TIME_MS
    regex_ruleset(tenant)
    response = post(
        viewer_api(tenant),
        "/api/v1/evaluate/batch",
        {"ruleset": "text", "items": [{"s": "a"}, "not an object", {"s": "b"}]},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["errors"] == 3
    codes = [result["error"]["code"] for result in body["results"]]
    assert codes == ["evaluation_budget_exceeded", "invalid", "evaluation_budget_exceeded"]
    assert body["results"][2]["error"]["message"].startswith("items[2]: the evaluation used")
    assert sorted(ExecutionLog.objects.values_list("success", flat=True)) == [False] * 3


def test_the_issue_700_backtracking_rules_answer_quickly_not_with_a_killed_worker(
    viewer_api, tenant
):
    # Before: 100 rules took 5.2 s per evaluation, and 700 made gunicorn kill the worker (500).
    regex_ruleset(tenant, rules=700, pattern="(a|aa)+$")
    client = viewer_api(tenant)
    body = {"ruleset": "text", "data": {"s": "a" * 40 + "!"}}
    post(client, "/api/v1/evaluate", body)  # compiles the version, builds RE2's automata
    started = time.perf_counter()
    response = post(client, "/api/v1/evaluate", body)
    assert time.perf_counter() - started < 1.0
    assert response.status_code == 200, response.content
    assert response.json()["pattern_result"] == "-" * 700
