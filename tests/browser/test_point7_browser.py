"""The small fixes of issue #14's point 7 as a tenant member sees them in a real browser: the log
list's version and "(no recommendation)" filters and correlation-id search; the dashboard's
"(no recommendation)" and its success rate; the rule form's message; try-it's starting input;
the catalog-conditions picker; messages that keep identifiers; read-only version pages without
links that answer 403.

Screenshots: test-artifacts/screenshots/point7-*.png.
"""

import json
import re
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from executions.models import ExecutionLog, ExecutionSource
from rules.choices import Role, RulesetStatus
from rules.models import Ruleset
from rules.services.tenancy import member_add, tenant_create
from tests.browser.conftest import PASSWORD
from tests.factories import (
    AttributeFactory,
    ConditionFactory,
    PatternFactory,
    RuleFactory,
    RulesetFactory,
    ruleset_with_rules,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

LOG_LINK = re.compile(r"/executionlog/([0-9a-f-]{36})/change/")


@pytest.fixture
def acme(db):
    tenant, _ = tenant_create(slug="acme", name="Acme Bank")
    for username, role in (
        ("vera.viewer", Role.VIEWER),
        ("ana.author", Role.AUTHOR),
        ("abe.approver", Role.APPROVER),
    ):
        member_add(username=username, tenant=tenant, role=role, password=PASSWORD)
    return tenant


def make_logs(tenant, count, *, step=timedelta(minutes=1), version="1.0", **fields):
    """`count` API evaluation logs of "credit", newest now, one `step` apart."""
    start = timezone.now() - timedelta(seconds=5)
    return ExecutionLog.objects.bulk_create(
        ExecutionLog(
            execution_id=uuid.uuid4(),
            timestamp=start - step * index,
            tenant=tenant,
            ruleset_name="credit",
            ruleset_version=version,
            input_data={"credit_score": 700 + index},
            output_data={"pattern_result": "Y"},
            total_points=10.0,
            pattern_result="Y",
            action_recommendation=fields.get("recommendation", "APPROVE"),
            execution_time_ms=1.0 + index % 5,
            success=fields.get("success", True),
            source=ExecutionSource.API,
            correlation_id=fields.get("correlation_id", ""),
        )
        for index in range(count)
    )


def shown_log_ids(page) -> set[str]:
    page.wait_for_selector("#changelist")
    hrefs = page.locator("#result_list tbody a").evaluate_all("links => links.map(a => a.href)")
    return {match.group(1) for href in hrefs if (match := LOG_LINK.search(href))}


def ids(logs) -> set[str]:
    return {str(log.pk) for log in logs}


def test_the_log_list_filters_by_version_and_no_recommendation_and_finds_a_correlation_id(
    acme, signed_in, live_server, screenshot
):
    RulesetFactory(tenant=acme, name="credit", version="1.0", status=RulesetStatus.ACTIVE)
    RulesetFactory(tenant=acme, name="credit", version="2.0")
    approved = make_logs(acme, 3)
    unmatched = make_logs(acme, 2, recommendation=None)
    failed = make_logs(acme, 1, recommendation=None, success=False)
    newer = make_logs(acme, 2, version="2.0", step=timedelta(seconds=7))
    (wanted,) = make_logs(acme, 1, correlation_id="order-1042")

    page = signed_in("vera.viewer")
    page.goto(f"{live_server.url}/admin/executions/executionlog/")
    everything = ids([*approved, *unmatched, *failed, *newer, wanted])
    assert shown_log_ids(page) == everything

    version_filter = "#changelist-filter details[data-filter-title='version']"
    page.click(f"{version_filter} a:text-is('2.0')")
    assert "version=2.0" in page.url
    assert shown_log_ids(page) == ids(newer)
    page.click(f"{version_filter} a:text-is('1.0')")
    assert shown_log_ids(page) == everything - ids(newer)

    page.goto(f"{live_server.url}/admin/executions/executionlog/")
    recommendation_filter = "#changelist-filter details[data-filter-title='action recommendation']"
    page.click(f"{recommendation_filter} a:text-is('(no recommendation)')")
    assert "recommendation=__none__" in page.url
    # Successful evaluations no pattern key matched; not the failure, which has none either.
    assert shown_log_ids(page) == ids(unmatched)
    screenshot(page, "point7-logs-no-recommendation")

    page.goto(f"{live_server.url}/admin/executions/executionlog/")
    page.fill("#searchbar", "order-1042")
    page.press("#searchbar", "Enter")
    assert shown_log_ids(page) == {str(wanted.pk)}
    page.click("#result_list tbody th a")
    page.wait_for_selector(".field-correlation_id")
    assert "order-1042" in page.inner_text(".field-correlation_id")


def test_the_dashboard_shows_no_recommendation_and_no_rounded_100_percent(
    acme, signed_in, live_server, screenshot
):
    make_logs(acme, 300, step=timedelta(seconds=10))
    make_logs(acme, 22, step=timedelta(seconds=10), recommendation=None)
    make_logs(acme, 1, recommendation=None, success=False)

    page = signed_in("vera.viewer")
    page.goto(f"{live_server.url}/admin/executions/executionlog/dashboard/")
    page.wait_for_selector(".dashboard-page")
    assert page.inner_text("#summary-count") == "323"
    rate = page.locator(".summary-cards .card:has(.card-label:text-is('Success rate')) .card-value")
    assert rate.inner_text() == "99.7%"
    chart = page.locator("svg.distribution")
    labels = chart.locator("text.bar-label").all_text_contents()  # SVG: no innerText
    assert labels == ["APPROVE", "(no recommendation)"], labels
    titles = chart.locator("g title").all_text_contents()
    assert titles[1].startswith("(no recommendation): 22 ("), titles
    screenshot(page, "point7-dashboard")

    ExecutionLog.objects.filter(success=False).delete()
    page.reload()
    assert page.inner_text("#summary-count") == "322"
    assert rate.inner_text() == "100%"


def test_the_rule_form_edits_and_saves_the_message(acme, signed_in, live_server, screenshot):
    draft = ruleset_with_rules(tenant=acme, rules=2, name="messages")
    page = signed_in("ana.author")
    page.goto(f"{live_server.url}/admin/rules/ruleset/{draft.pk}/change/")
    page.click("#ruleset-parts a.part-list-link >> nth=0")  # the version's rules
    page.wait_for_selector("#result_list")
    rule = draft.rules.order_by("rule_id").first()
    page.click(f"#result_list th.field-rule_id a:text-is('{rule.rule_id}')")
    page.wait_for_selector("#id_message")
    page.fill("#id_message", "Score above 700: good standing")
    screenshot(page, "point7-rule-message")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")
    rule.refresh_from_db()
    assert rule.message == "Score above 700: good standing"
    assert rule.history.first().history_user.username == "ana.author"


def test_try_it_starts_from_the_attributes_the_version_reads(
    acme, signed_in, live_server, screenshot
):
    # The tenant's catalog has an example for an attribute this version does not read.
    AttributeFactory(tenant=acme, name="credit_score", example=720)
    draft = RulesetFactory(tenant=acme, name="eu_loans")
    RuleFactory(
        ruleset=draft,
        rule_id="R1",
        priority=1,
        attribute="applicant.income",
        operator="greater_than",
        constant="50000",
    )
    RuleFactory(
        ruleset=draft,
        rule_id="R2",
        priority=2,
        attribute="country",
        operator="in",
        constant='["NL", "BE"]',
    )
    RuleFactory(ruleset=draft, rule_id="R3", attribute="old", constant="1", status="inactive")
    PatternFactory(ruleset=draft, pattern_key="-Y", action_recommendation="REVIEW")
    PatternFactory(ruleset=draft, pattern_key="YY", action_recommendation="APPROVE")

    page = signed_in("ana.author")
    page.goto(f"{live_server.url}/admin/rules/ruleset/{draft.pk}/change/")
    page.click("a.try-it-button")
    page.wait_for_selector("#id_input")
    initial = page.input_value("#id_input")
    assert json.loads(initial) == {"applicant": {"income": 50000}, "country": "NL"}, initial
    assert "credit_score" not in initial
    screenshot(page, "point7-try-it-prefilled")
    # The starting input runs as it is.
    page.click("input[type=submit][value=Run]")
    assert page.inner_text("dd.recommendation") == "REVIEW"


def visible_rows(select) -> float:
    """How many options of a listbox are in view: its height over one option's."""
    box = select.evaluate(
        "s => ({height: s.getBoundingClientRect().height,"
        " option: s.options[0].getBoundingClientRect().height})"
    )
    return box["height"] / box["option"]


@pytest.fixture
def catalog_draft(acme):
    for number in range(8):
        ConditionFactory(tenant=acme, condition_id=f"C{number:03d}", name=f"Condition {number}")
    return ruleset_with_rules(tenant=acme, rules=2, name="catalog_use")


def test_the_catalog_conditions_picker_of_the_rule_form_shows_several_rows(
    catalog_draft, signed_in, live_server, screenshot
):
    rule = catalog_draft.rules.order_by("rule_id").first()
    page = signed_in("ana.author")
    page.goto(f"{live_server.url}/admin/rules/rule/{rule.pk}/change/")
    picker = page.locator("select#id_catalog_condition_ids")
    picker.scroll_into_view_if_needed()
    assert picker.locator("option").count() == 8
    screenshot(page, "point7-catalog-picker-rule-form")
    assert visible_rows(picker) >= 5.5  # six rows tall, not the two of before
    # Pick two conditions in the real widget and save the rule on them.
    values = picker.evaluate("s => [...s.options].map(o => o.value)")
    picker.select_option(values[1:3])
    page.select_option("#id_operator", "catalog:all")
    page.fill("#id_attribute", "")
    page.fill("#id_constant", "")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")
    rule.refresh_from_db()
    linked = rule.condition_links.values_list("condition_id", flat=True)
    assert sorted(str(pk) for pk in linked) == sorted(values[1:3])


def test_the_catalog_conditions_picker_of_the_inline_rules_shows_several_rows(
    catalog_draft, signed_in, live_server, screenshot
):
    page = signed_in("ana.author")
    page.goto(f"{live_server.url}/admin/rules/ruleset/{catalog_draft.pk}/change/")
    picker = page.locator("#rules-group select.catalog-select >> visible=true").first
    picker.scroll_into_view_if_needed()
    assert picker.locator("option").count() == 8
    assert picker.get_attribute("size") == "6"
    screenshot(page, "point7-catalog-picker-inline")
    assert visible_rows(picker) >= 5.5


def test_messages_keep_identifiers_as_written(acme, signed_in, live_server, screenshot):
    draft = ruleset_with_rules(tenant=acme, rules=1, name="fraud_check")
    page = signed_in("abe.approver")
    page.goto(f"{live_server.url}/admin/rules/ruleset/{draft.pk}/change/")
    page.click("a.lifecycle-button.lifecycle-active")
    page.click("input[value=Activate]")
    page.wait_for_selector(".messagelist .success")
    screenshot(page, "point7-identifier-message")
    # innerText as rendered, text-transform included.
    assert "fraud_check 1.0 is now active." in page.inner_text(".messagelist")
    assert "Fraud_check" not in page.inner_text("body")
    draft.refresh_from_db()
    assert draft.status == RulesetStatus.ACTIVE


def test_a_read_only_version_page_has_no_link_a_member_cannot_open(
    acme, signed_in, live_server, screenshot
):
    active = ruleset_with_rules(tenant=acme, rules=1, name="published", status=RulesetStatus.ACTIVE)
    author_user = acme.memberships.get(user__username="ana.author").user
    Ruleset.objects.filter(pk=active.pk).update(created_by=author_user, updated_by=author_user)

    page = signed_in("ana.author")
    page.goto(f"{live_server.url}/admin/rules/ruleset/{active.pk}/change/")
    page.wait_for_selector(".ruleset-state")
    assert "read-only" in page.inner_text(".ruleset-state")
    # Tenant and users shown as text.
    assert page.inner_text(".field-tenant_name .readonly") == str(acme)
    assert page.inner_text(".field-created_by_name .readonly") == "ana.author"
    assert page.inner_text(".field-updated_by_name .readonly") == "ana.author"
    hrefs = page.locator("#content a[href]").evaluate_all("links => links.map(a => a.href)")
    assert not [h for h in hrefs if "/admin/rules/tenant/" in h or "/admin/auth/user/" in h]
    screenshot(page, "point7-read-only-version")
    # Every link on the page opens for this member (the export link downloads: 200 too).
    refused, checked = [], 0
    for href in sorted(set(hrefs)):
        if not href.startswith(live_server.url) or "#" in href:
            continue
        response = page.request.get(href, max_redirects=0)
        checked += 1
        if response.status >= 400:
            refused.append((response.status, href))
    assert refused == []
    assert checked >= 8  # try it, tests, backtest, coverage, export, compare, history, parts
