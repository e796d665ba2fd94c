"""The pattern model that survives edits, in a real browser (issue #14): deleting a rule in the
admin rewrites the version's pattern keys and test expectations, and the history shows it; the
coverage page lists what no key covers."""

import pytest

from executions.models import ExecutionSource
from rules.choices import Role
from rules.models import Pattern, RulesetTestCase
from rules.services.tenancy import member_add, tenant_create
from tests.browser.conftest import PASSWORD
from tests.factories import (
    ExecutionLogFactory,
    PatternFactory,
    RuleFactory,
    RulesetFactory,
    RulesetTestCaseFactory,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture
def acme(db):
    tenant, _ = tenant_create(slug="acme", name="Acme Bank")
    member_add(username="ana.author", tenant=tenant, role=Role.AUTHOR, password=PASSWORD)
    return tenant


@pytest.fixture
def scoring(acme):
    """R1 score > 700 (Y), R2 income >= 50000 (I), R3 age >= 18 (A); three keys, one test."""
    ruleset = RulesetFactory(tenant=acme, name="scoring", default_recommendation="MANUAL")
    for rule_id, priority, attribute, operator, constant, result in (
        ("R1", 1, "credit_score", "greater_than", "700", "Y"),
        ("R2", 2, "income", "greater_than_or_equal", "50000", "I"),
        ("R3", 3, "age", "greater_than_or_equal", "18", "A"),
    ):
        RuleFactory(
            ruleset=ruleset,
            rule_id=rule_id,
            priority=priority,
            attribute=attribute,
            operator=operator,
            constant=constant,
            action_result=result,
        )
    for key, recommendation in (("YIA", "APPROVE"), ("Y-*", "REVIEW"), ("--A", "DECLINE")):
        PatternFactory(ruleset=ruleset, pattern_key=key, action_recommendation=recommendation)
    RulesetTestCaseFactory(
        ruleset=ruleset,
        name="everything",
        input_data={"credit_score": 750, "income": 60000, "age": 30},
        expected_pattern_result="YIA",
        expected_matched_rules=["R1", "R2", "R3"],
        expected_action_recommendation="APPROVE",
    )
    return ruleset


def test_deleting_a_rule_rewrites_keys_and_expectations_and_the_history_shows_it(
    scoring, signed_in, live_server, screenshot
):
    author = signed_in("ana.author")
    middle = scoring.rules.get(rule_id="R2")
    author.goto(f"{live_server.url}/admin/rules/rule/{middle.pk}/delete/")
    author.click("input[type=submit]")  # "Yes, I'm sure"
    author.wait_for_selector(".messagelist")
    message = author.inner_text(".messagelist")
    assert "pattern rewrite: rule R2 deleted: 3 pattern key(s), 1 test case(s)" in message
    screenshot(author, "pattern-rewrite-message")

    assert dict(
        Pattern.objects.filter(ruleset=scoring).values_list("pattern_key", "action_recommendation")
    ) == {"YA": "APPROVE", "Y*": "REVIEW", "-A": "DECLINE"}
    case = RulesetTestCase.objects.get(ruleset=scoring)
    assert (case.expected_pattern_result, case.expected_matched_rules) == ("YA", ["R1", "R3"])

    author.goto(f"{live_server.url}/admin/rules/pattern/?ruleset={scoring.pk}")
    listed = author.inner_text("#result_list")
    assert "YA" in listed and "Y*" in listed and "YIA" not in listed

    author.goto(f"{live_server.url}/admin/rules/ruleset/{scoring.pk}/history/")
    history = author.inner_text("#content-parts")
    assert "pattern rewrite: rule R2 deleted" in history
    assert "YIA" in history and "YA" in history  # the key's diff: YIA → YA
    screenshot(author, "pattern-rewrite-history")

    # The draft still validates and its test still passes.
    author.goto(f"{live_server.url}/admin/rules/ruleset/{scoring.pk}/change/")
    assert "No problems" in author.inner_text("#validation-panel")
    author.click("a.run-tests-button")
    author.wait_for_selector("#tests-passed")
    assert author.inner_text("#tests-passed") == "1"
    assert author.locator("tr.test-failed").count() == 0


def test_the_coverage_page_shows_results_no_key_covers(scoring, signed_in, live_server, screenshot):
    for result, count in (("YIA", 4), ("-I-", 3), ("-IA", 2)):
        for _ in range(count):
            ExecutionLogFactory(ruleset=scoring, pattern_result=result, source=ExecutionSource.API)
    scoring.default_recommendation = ""
    scoring.save()
    author = signed_in("ana.author")
    author.goto(f"{live_server.url}/admin/rules/ruleset/{scoring.pk}/change/")
    author.click("a.coverage-button")
    author.wait_for_selector("#coverage-uncovered")
    uncovered = author.inner_text("#coverage-uncovered")
    assert "-I-\t3\t0" in uncovered and "-IA\t2\t0" in uncovered
    assert "--A" in author.inner_text("#coverage-keys .never-produced")
    screenshot(author, "pattern-coverage")


def test_deleting_a_rule_on_the_change_form_keeps_other_edits_of_the_same_save(
    scoring, signed_in, live_server
):
    author = signed_in("ana.author")
    author.goto(f"{live_server.url}/admin/rules/ruleset/{scoring.pk}/change/")
    rule_prefix = author.get_attribute('input[name$="-rule_id"][value="R2"]', "name")[
        : -len("rule_id")
    ]
    author.check(f'input[name="{rule_prefix}DELETE"]')
    key_prefix = author.get_attribute('input[name$="-pattern_key"][value="Y-*"]', "name")[
        : -len("pattern_key")
    ]
    # In the same save: a new recommendation for the key the deletion rewrites.
    author.fill(f'input[name="{key_prefix}action_recommendation"]', "REFER")
    author.click("input[name=_continue]")
    author.wait_for_selector(".messagelist")
    assert "pattern rewrite: rule R2 deleted" in author.inner_text(".messagelist")
    assert dict(
        Pattern.objects.filter(ruleset=scoring).values_list("pattern_key", "action_recommendation")
    ) == {"YA": "APPROVE", "Y*": "REFER", "-A": "DECLINE"}
    assert RulesetTestCase.objects.get(ruleset=scoring).expected_pattern_result == "YA"
