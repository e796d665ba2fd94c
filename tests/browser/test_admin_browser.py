"""The analyst's story in a real browser: author a draft, try it, activate it, evaluate it by API.

Screenshots of every page go to test-artifacts/screenshots/ for people to look at.
"""

import random
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from executions.models import ExecutionSource
from executions.services.log_rows import execution_log_row
from executions.services.log_writes import execution_logs_write
from rules.choices import Role
from rules.models import Ruleset
from rules.services.api_clients import api_client_create
from rules.services.tenancy import member_add, tenant_create
from tests.browser.conftest import PASSWORD
from tests.factories import ruleset_with_rules

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

RULES = [
    ("R1", "Good credit score", "credit_score", "greater_than", "700", "100"),
    ("R2", "Stable income", "income", "greater_than_or_equal", "50000", "50"),
    ("R3", "Low debt ratio", "debt_ratio", "less_than", "0.4", "50"),
]
PATTERNS = [("YYY", "APPROVE"), ("YY-", "REVIEW")]
INPUT = '{"credit_score": 720, "income": 65000, "debt_ratio": 0.55}'


@pytest.fixture
def people(db):
    acme, _ = tenant_create(slug="acme", name="Acme Bank")
    globex, _ = tenant_create(slug="globex", name="Globex Credit")
    for username, tenant, role in (
        ("ana.author", acme, Role.AUTHOR),
        ("abe.approver", acme, Role.APPROVER),
        ("gus.globex", globex, Role.ADMIN),
    ):
        member_add(username=username, tenant=tenant, role=role, password=PASSWORD)
    # Neighbours in the list, so the screenshots look like a tenant at work.
    for name, version, status in (
        ("fraud_check", "1.0", "deprecated"),
        ("fraud_check", "2.0", "active"),
        ("card_limits", "1.0", "archived"),
    ):
        ruleset_with_rules(tenant=acme, name=name, version=version, status=status, rules=4)
    return {"acme": acme, "globex": globex}


def fill_rule(page, index, rule):
    rule_id, name, attribute, operator, constant, points = rule
    prefix = f"#id_rules-{index}-"
    page.fill(prefix + "rule_id", rule_id)
    page.fill(prefix + "rule_name", name)
    page.fill(prefix + "attribute", attribute)
    page.select_option(prefix + "operator", operator)
    page.fill(prefix + "constant", constant)
    page.fill(prefix + "rule_point", points)
    page.fill(prefix + "priority", str(index + 1))


def test_author_drafts_tries_approver_activates_api_evaluates_others_see_nothing(
    people, signed_in, live_server, screenshot
):
    # An author creates a draft with three rules and two patterns in one form.
    author = signed_in("ana.author")
    author.goto(f"{live_server.url}/admin/rules/ruleset/add/")
    assert author.input_value("#id_tenant") == str(people["acme"].pk)  # their only tenant
    author.fill("#id_name", "loan_policy")
    author.fill("#id_description", "Scores consumer loan applications")
    author.fill("#id_tags", "credit, consumer")
    fill_rule(author, 0, RULES[0])
    # The help under the constant follows the chosen operator (rule_form.js).
    assert "number" in author.inner_text("#rules-0 .constant-help")
    author.click("#rules-group .add-row a")
    fill_rule(author, 1, RULES[1])
    author.click("#rules-group .add-row a")
    fill_rule(author, 2, RULES[2])
    author.select_option("#id_rules-2-operator", "exists")
    assert "No constant needed" in author.inner_text("#rules-2 .constant-help")
    author.select_option("#id_rules-2-operator", "less_than")
    for index, (key, recommendation) in enumerate(PATTERNS):
        if index:
            author.click("#patterns-group .add-row a")
        author.fill(f"#id_patterns-{index}-pattern_key", key)
        author.fill(f"#id_patterns-{index}-action_recommendation", recommendation)
    author.click("input[name=_continue]")
    author.wait_for_selector(".messagelist .success")
    ruleset = Ruleset.objects.get(tenant=people["acme"], name="loan_policy")
    assert ruleset.status == "draft"
    assert ruleset.rules.count() == 3 and ruleset.patterns.count() == 2
    assert ruleset.tags == ["credit", "consumer"]
    # Approving is not an author's job: no lifecycle buttons, but "New draft version" and try-it.
    assert author.locator(".lifecycle-button").count() == 0
    screenshot(author, "ruleset-change-form")

    # A later edit shows up in the history, field by field, with its author.
    author.fill("#id_rules-0-constant", "690")
    author.click("input[name=_continue]")
    author.wait_for_selector(".messagelist .success")
    author.click("a.historylink")
    assert "<del>700</del>" in author.inner_html("#content-parts")
    screenshot(author, "ruleset-history")
    author.goto(f"{live_server.url}/admin/rules/ruleset/{ruleset.pk}/change/")

    # The author tries it on an input: R1 and R2 match, R3 does not (0.55 is not < 0.4).
    author.click("a.try-it-button")
    author.fill("#id_input", INPUT)
    author.click("input[type=submit][value=Run]")
    assert author.inner_text("code.pattern-result") == "YY-"
    assert author.inner_text("dd.recommendation") == "REVIEW"
    assert author.inner_text("dd.total-points") == "150"
    rows = author.locator(".trace-table tbody tr")
    assert rows.count() == 3
    assert "credit_score > 690" in rows.nth(0).inner_text()
    assert "condition does not hold" in rows.nth(2).inner_text()
    screenshot(author, "try-it")

    author.goto(f"{live_server.url}/admin/rules/ruleset/")
    assert author.locator("#result_list tbody tr").count() == 4
    row = author.locator("#result_list tbody tr", has_text="loan_policy")
    assert row.locator(".status-badge").inner_text().lower() == "draft"
    screenshot(author, "ruleset-changelist")

    # An approver activates it from the change form, through the confirmation page.
    approver = signed_in("abe.approver")
    approver.goto(f"{live_server.url}/admin/rules/ruleset/{ruleset.pk}/change/")
    approver.click("a.lifecycle-active")
    approver.wait_for_selector(".transition-confirm")
    screenshot(approver, "ruleset-activate-confirm")
    approver.click(".transition-confirm input[type=submit]")
    approver.wait_for_selector(".messagelist .success")
    assert "is now active" in approver.inner_text(".messagelist")
    ruleset.refresh_from_db()
    assert ruleset.status == "active"
    assert approver.locator("input[name=_save]").count() == 0  # published: read-only

    # An application evaluates it through the API with a viewer token.
    _, token = api_client_create(tenant=people["acme"], name="loan-app", role=Role.VIEWER)
    response = requests.post(
        f"{live_server.url}/api/v1/evaluate",
        json={"ruleset": "loan_policy", "data": {"credit_score": 720, "income": 65000}},
        headers={"Authorization": f"Token {token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.json()["action_recommendation"] == "REVIEW"

    # A member of another tenant sees nothing of it.
    outsider = signed_in("gus.globex")
    outsider.goto(f"{live_server.url}/admin/rules/ruleset/")
    assert "loan_policy" not in outsider.inner_text("#content")
    for url in (
        f"/admin/rules/ruleset/{ruleset.pk}/change/",
        f"/admin/rules/ruleset/{ruleset.pk}/history/",
        f"/admin/executions/executionlog/try-it/{ruleset.pk}/",
    ):
        page = outsider.goto(f"{live_server.url}{url}")
        assert page.status == 404, url


def test_dashboard_draws_executions_of_the_last_day(people, signed_in, live_server, screenshot):
    tenant = people["acme"]
    now = timezone.now()
    random_numbers = random.Random(6)
    rows = []
    for minutes in range(0, 24 * 60, 4):
        busy = 1 + int(3 * (1 + ((minutes // 60) % 12 > 6)))
        for _ in range(busy):
            recommendation = random_numbers.choice(["APPROVE"] * 5 + ["REVIEW"] * 3 + ["DECLINE"])
            evaluation = type(
                "Evaluation",
                (),
                {
                    "total_points": random_numbers.choice([0, 50, 100, 150, 200]),
                    "pattern_result": "YY-",
                    "action_recommendation": recommendation,
                    "matched_rules": ["R1"],
                },
            )
            row = execution_log_row(
                tenant_id=tenant.pk,
                ruleset={"ruleset_id": None, "name": "fraud_check", "version": "2.0"},
                data={"credit_score": 700},
                evaluation=evaluation,
                elapsed_ms=random_numbers.uniform(0.2, 3.5),
                source=ExecutionSource.API,
            )
            row.timestamp = now - timedelta(minutes=minutes, seconds=random_numbers.randint(0, 200))
            row.success = random_numbers.random() > 0.03
            rows.append(row)
    execution_logs_write(rows)

    page = signed_in("abe.approver")
    page.click("a.dashboard-link")
    page.wait_for_selector(".executions-dashboard")
    assert page.inner_text("#summary-count") == str(len(rows))
    assert page.locator("svg.chart rect.bar-ok").count() >= 24
    assert "APPROVE" in page.text_content("svg.distribution")
    screenshot(page, "dashboard")
    page.goto(f"{live_server.url}/admin/executions/executionlog/")
    assert page.locator("#result_list tbody tr").count() == 100
    screenshot(page, "execution-logs")
    page.click("#result_list tbody tr:first-child a")
    assert "credit_score" in page.inner_text("pre.json-block")
    screenshot(page, "execution-log-detail")
