"""Test upkeep in a real browser (issue #14): an author accepts a failing test case's actual
result from "Run tests" and the case then passes; an approver runs the tests of every draft.

Screenshots: test-artifacts/screenshots/upkeep-failing-test.png, upkeep-accepted.png and
upkeep-drafts-tests.png.
"""

import pytest

from rules.choices import Role, RulesetStatus
from rules.models import RulesetTestCase
from rules.services.tenancy import member_add, tenant_create
from tests.browser.conftest import PASSWORD
from tests.factories import RulesetTestCaseFactory, ruleset_with_rules

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture
def acme(db):
    tenant, _ = tenant_create(slug="acme", name="Acme Bank")
    member_add(username="ana.author", tenant=tenant, role=Role.AUTHOR, password=PASSWORD)
    member_add(username="abe.approver", tenant=tenant, role=Role.APPROVER, password=PASSWORD)
    return tenant


def test_author_accepts_the_actual_result_and_the_test_case_passes(
    acme, signed_in, live_server, screenshot
):
    draft = ruleset_with_rules(tenant=acme, rules=2, name="scoring")  # YY -> APPROVE
    RulesetTestCaseFactory(ruleset=draft, name="good applicant")  # expects APPROVE: passes
    stale = RulesetTestCaseFactory(
        ruleset=draft, name="stale expectation", expected_action_recommendation="DECLINE"
    )
    author = signed_in("ana.author")

    author.goto(f"{live_server.url}/admin/rules/ruleset/{draft.pk}/change/")
    author.click("a.run-tests-button")
    author.wait_for_selector(".tests-page")
    assert author.inner_text("#tests-total") == "2"
    assert author.inner_text("#tests-failed") == "1"
    assert author.inner_text(".test-verdict") == (
        "1 of 2 test cases fails. Activation refuses this version until they pass."
    )
    failed = author.locator("tr.test-failed")
    assert failed.count() == 1 and "stale expectation" in failed.inner_text()
    diff = author.inner_text("tr.test-diff-row")
    assert "DECLINE" in diff and "APPROVE" in diff
    # Only the failing case offers the button.
    assert author.locator("button.accept-actual-button").count() == 1
    screenshot(author, "upkeep-failing-test")

    author.click("button.accept-actual-button")
    author.wait_for_selector(".messagelist .success")
    assert "stale expectation now expects the actual result." in author.inner_text(".messagelist")
    # Back on the test run: everything passes now.
    assert "/tests/" in author.url
    assert author.inner_text(".test-verdict") == "All 2 test cases pass."
    assert author.inner_text("#tests-failed") == "0"
    assert author.locator("tr.test-failed").count() == 0
    screenshot(author, "upkeep-accepted")

    stale.refresh_from_db()
    assert stale.expected_action_recommendation == "APPROVE"
    assert stale.expected_pattern_result is None  # unchecked fields stay unchecked
    assert stale.history.first().history_user.username == "ana.author"
    good = RulesetTestCase.objects.get(ruleset=draft, name="good applicant")
    assert good.expected_action_recommendation == "APPROVE"


def test_an_author_is_not_offered_accept_on_an_active_version(acme, signed_in, live_server):
    active = ruleset_with_rules(tenant=acme, rules=1, name="published", status=RulesetStatus.ACTIVE)
    RulesetTestCaseFactory(ruleset=active, name="old", expected_action_recommendation="DECLINE")
    author = signed_in("ana.author")
    author.goto(f"{live_server.url}/admin/rules/ruleset/{active.pk}/tests/")
    author.wait_for_selector(".tests-page")
    assert author.inner_text("#tests-failed") == "1"
    assert author.locator("button.accept-actual-button").count() == 0


def test_approver_runs_the_tests_of_every_draft_and_sees_each_result(
    acme, signed_in, live_server, screenshot
):
    passing = ruleset_with_rules(tenant=acme, rules=1, name="passing")
    RulesetTestCaseFactory(ruleset=passing, name="p1")
    RulesetTestCaseFactory(ruleset=passing, name="p2")
    failing = ruleset_with_rules(tenant=acme, rules=1, name="failing")
    RulesetTestCaseFactory(ruleset=failing, name="f1")
    RulesetTestCaseFactory(ruleset=failing, name="f2", expected_action_recommendation="DECLINE")
    untested = ruleset_with_rules(tenant=acme, rules=1, name="untested")
    ruleset_with_rules(tenant=acme, rules=1, name="published", status=RulesetStatus.ACTIVE)
    other, _ = tenant_create(slug="globex", name="Globex")
    ruleset_with_rules(tenant=other, rules=1, name="foreign")

    # Authors are not offered the page.
    author = signed_in("ana.author")
    author.goto(f"{live_server.url}/admin/rules/ruleset/")
    author.wait_for_selector("#result_list")
    assert author.locator("a.drafts-tests-button").count() == 0

    approver = signed_in("abe.approver")
    approver.goto(f"{live_server.url}/admin/rules/ruleset/")
    approver.click("a.drafts-tests-button")
    approver.wait_for_selector("table.drafts-tests")
    rows = {}
    for row in approver.locator("tr.draft-tests-row").all():
        cells = [cell.inner_text().strip() for cell in row.locator("td").all()]
        rows[cells[0]] = cells[1:]
    screenshot(approver, "upkeep-drafts-tests")
    # Every draft of the tenant, and only drafts of the approver's tenant.
    assert set(rows) == {"passing 1.0", "failing 1.0", "untested 1.0"}, rows
    assert rows["passing 1.0"] == ["2", "0", "pass"]
    assert rows["failing 1.0"] == ["2", "1", "fail"]
    assert rows["untested 1.0"] == ["0", "0", "no test cases"]
    assert untested.status == RulesetStatus.DRAFT

    # Each row opens that draft's test run.
    approver.click("tr.draft-tests-row a:text-is('failing 1.0')")
    approver.wait_for_selector(".tests-page")
    assert f"/admin/rules/ruleset/{failing.pk}/tests/" in approver.url
    assert "f2" in approver.inner_text("tr.test-failed")
