"""Safe changes in a real browser: save a try-it run as a test case, run the test cases of a draft,
and backtest the draft against the inputs logged for the active version.

Screenshots: test-artifacts/screenshots/run-tests.png and backtest-report.png (the README shows
the latter, copied to docs/images/).
"""

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from executions.models import ExecutionLog, ExecutionSource
from executions.services.log_rows import execution_log_row
from rules.choices import Role, RulesetStatus
from rules.models import RulesetTestCase
from rules.services.compilation import ruleset_compile
from rules.services.tenancy import member_add, tenant_create
from tests.browser.conftest import PASSWORD
from tests.factories import PatternFactory, RuleFactory, RulesetFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

LOGGED_INPUTS = 600
# (rule id, name, attribute, operator, constant, points) of the active version 1.0; the draft
# 1.1 lowers the credit score threshold, accepts more debt and approves "YY-" outright.
RULES = [
    ("R1", "Good credit score", "credit_score", "greater_than", "700", 50),
    ("R2", "Stable income", "income", "greater_than_or_equal", "50000", 30),
    ("R3", "Low debt ratio", "debt_ratio", "less_than", "0.4", 20),
]
PATTERNS = {
    "YYY": "APPROVE",
    "YY-": "REVIEW",
    "Y-Y": "REVIEW",
    "-YY": "REVIEW",
    "Y--": "DECLINE",
    "-Y-": "DECLINE",
    "--Y": "DECLINE",
    "---": "DECLINE",
}
DRAFT_CONSTANTS = {"R1": "680", "R3": "0.45"}
DRAFT_PATTERNS = {**PATTERNS, "YY-": "APPROVE"}


def loan_policy(tenant, *, version, status, constants=None, patterns=PATTERNS):
    ruleset = RulesetFactory(
        tenant=tenant,
        name="loan_policy",
        version=version,
        status=status,
        description="Scores consumer loan applications",
    )
    for priority, (rule_id, name, attribute, operator, constant, points) in enumerate(RULES):
        RuleFactory(
            ruleset=ruleset,
            rule_id=rule_id,
            rule_name=name,
            attribute=attribute,
            operator=operator,
            constant=(constants or {}).get(rule_id, constant),
            rule_point=points,
            priority=priority + 1,
        )
    for key, recommendation in patterns.items():
        PatternFactory(ruleset=ruleset, pattern_key=key, action_recommendation=recommendation)
    return ruleset


@pytest.fixture
def world(db):
    acme, _ = tenant_create(slug="acme", name="Acme Bank")
    member_add(username="ana.author", tenant=acme, role=Role.AUTHOR, password=PASSWORD)
    active = loan_policy(acme, version="1.0", status=RulesetStatus.ACTIVE)
    draft = loan_policy(
        acme,
        version="1.1",
        status=RulesetStatus.DRAFT,
        constants=DRAFT_CONSTANTS,
        patterns=DRAFT_PATTERNS,
    )
    # Six days of applications evaluated by the active version.
    numbers = random.Random(7)
    compiled = ruleset_compile(active)
    identity = {"ruleset_id": active.pk, "name": active.name, "version": active.version}
    now = timezone.now()
    rows = []
    for index in range(LOGGED_INPUTS):
        data = {
            "credit_score": int(numbers.gauss(695, 45)),
            "income": int(numbers.gauss(56000, 14000) // 100 * 100),
            "debt_ratio": round(numbers.uniform(0.1, 0.65), 2),
        }
        row = execution_log_row(
            tenant_id=acme.pk,
            ruleset=identity,
            data=data,
            evaluation=compiled.evaluate(data),
            elapsed_ms=numbers.uniform(0.2, 1.5),
            source=ExecutionSource.API,
            caller="loan-app",
        )
        row.timestamp = now - timedelta(minutes=14 * index + numbers.randint(0, 10))
        rows.append(row)
    ExecutionLog.objects.bulk_create(rows)
    # Test cases the author wrote earlier; "borderline income" still expects 1.0's answer.
    for name, data, expected in (
        (
            "thin file",
            {"credit_score": 690, "income": 48000, "debt_ratio": 0.3},
            {"expected_pattern_result": "Y-Y", "expected_action_recommendation": "REVIEW"},
        ),
        (
            "borderline income",
            {"credit_score": 705, "income": 50000, "debt_ratio": 0.42},
            {
                "expected_pattern_result": "YY-",
                "expected_action_recommendation": "REVIEW",
                "expected_total_points": 80,
            },
        ),
        (
            "declined applicant",
            {"credit_score": 600, "income": 30000, "debt_ratio": 0.6},
            {"expected_action_recommendation": "DECLINE", "expected_matched_rules": []},
        ),
    ):
        RulesetTestCase.objects.create(ruleset=draft, name=name, input_data=data, **expected)
    return {"active": active, "draft": draft}


def test_author_saves_a_test_case_runs_the_tests_and_backtests_the_draft(
    world, signed_in, live_server, screenshot
):
    draft = world["draft"]
    page = signed_in("ana.author")

    # Try the draft on a strong applicant and keep the outcome as a test case.
    page.goto(f"{live_server.url}/admin/rules/ruleset/{draft.pk}/change/")
    page.click("a.try-it-button")
    page.fill("#id_input", '{"credit_score": 760, "income": 72000, "debt_ratio": 0.25}')
    page.click("input[type=submit][value=Run]")
    assert page.inner_text("dd.recommendation") == "APPROVE"
    page.fill(".save-test-case-form input[name=name]", "strong applicant")
    page.click(".save-test-case-form button[name=save_test_case]")
    page.wait_for_selector(".messagelist .success")
    assert "Saved test case “strong applicant”" in page.inner_text(".messagelist")
    assert RulesetTestCase.objects.get(ruleset=draft, name="strong applicant").expectations == {
        "pattern_result": "YYY",
        "action_recommendation": "APPROVE",
        "total_points": 100.0,
        "matched_rules": ["R1", "R2", "R3"],
    }

    # The test cases on the ruleset's page, then "Run tests": one still expects 1.0's answer.
    page.goto(f"{live_server.url}/admin/rules/ruleset/{draft.pk}/change/")
    assert page.locator("#test_cases-group tbody tr.form-row.has_original").count() == 4
    page.locator("#test_cases-group").scroll_into_view_if_needed()
    screenshot(page, "ruleset-test-cases")
    page.click("a.run-tests-button")
    page.wait_for_selector(".tests-page")
    assert page.inner_text("#tests-total") == "4"
    assert page.inner_text("#tests-passed") == "3"
    assert page.inner_text("#tests-failed") == "1"
    failed = page.locator("tr.test-failed")
    assert failed.count() == 1 and "borderline income" in failed.inner_text()
    assert "total_points: expected 80 ± 0.000001, got 100 (+20)" in page.inner_text(".diff-line")
    page.click("tr.test-failed details summary")
    screenshot(page, "run-tests")

    # Backtest the draft against what the active version answered over the last days.
    page.goto(f"{live_server.url}/admin/rules/ruleset/{draft.pk}/change/")
    page.click("a.backtest-button")
    page.wait_for_selector(".backtest-form")
    assert page.locator("#id_baseline option:checked").inner_text() == "1.0 (active)"
    page.click(".backtest-form button[type=submit]")
    page.wait_for_selector(".transition-matrix")
    assert page.inner_text("#inputs-replayed") == str(LOGGED_INPUTS)
    assert page.locator(".transition-matrix td.cell-changed").count() >= 2
    assert page.locator("svg.histogram rect.bar-after").count() >= 4
    assert page.locator(".rule-rates tbody tr").count() == 2  # R1 and R3 moved
    example = page.locator(".examples-table a").first
    screenshot(page, "backtest-report")
    example.click()
    page.wait_for_selector("pre.json-block")
    assert "credit_score" in page.inner_text("pre.json-block")

    # A changed decision worth keeping: its logged input and outcome become a test case of 1.1.
    page.click("a.save-test-case-button")
    page.wait_for_selector(".log-test-case-page")
    assert page.locator("#id_target option:checked").inner_text() == "loan_policy 1.1 (draft)"
    page.fill("#id_name", "logged review")
    screenshot(page, "log-save-test-case")
    page.click(".log-test-case-page input[type=submit]")
    page.wait_for_selector(".messagelist .success")
    assert "Saved test case “logged review” to loan_policy 1.1" in page.inner_text(".messagelist")
    saved = RulesetTestCase.objects.get(ruleset=draft, name="logged review")
    assert saved.expected_action_recommendation == "REVIEW"  # what 1.0 answered
