"""Execution logs, try-it and the dashboard in the admin."""

import json
import re
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from executions.models import ExecutionLog, ExecutionSource
from rules.choices import Role
from tests.factories import (
    MembershipFactory,
    RuleConditionFactory,
    RuleFactory,
    UserFactory,
    ruleset_with_rules,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer(tenant):
    return MembershipFactory(tenant=tenant, role=Role.VIEWER, user__username="vera").user


@pytest.fixture
def browser_client(client, viewer):
    client.force_login(viewer)
    return client


def make_logs(tenant, count, *, start=None, step=timedelta(minutes=1), **fields):
    start = start or timezone.now()
    rows = [
        ExecutionLog(
            execution_id=uuid.uuid4(),
            timestamp=start - step * index,
            tenant=tenant,
            ruleset_id=fields.get("ruleset_id"),
            ruleset_name=fields.get("ruleset_name", "credit"),
            ruleset_version="1.0",
            input_data=fields.get("input_data", {"credit_score": 700 + index}),
            output_data={"pattern_result": "Y"},
            total_points=10.0,
            pattern_result="Y",
            action_recommendation=fields.get("recommendation", "APPROVE"),
            execution_time_ms=1.0 + index % 5,
            success=fields.get("success", True),
            source=fields.get("source", ExecutionSource.API),
            correlation_id=fields.get("correlation_id", ""),
            request_id=fields.get("request_id", ""),
        )
        for index in range(count)
    ]
    return ExecutionLog.objects.bulk_create(rows)


def logs_url(**query) -> str:
    url = reverse("admin:executions_executionlog_changelist")
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


# --- Execution logs ----------------------------------------------------------------------------


def test_log_list_is_scoped_newest_first_and_never_counts_the_table(
    browser_client, tenant, other_tenant
):
    make_logs(tenant, 3, recommendation="MINE")
    make_logs(other_tenant, 2, recommendation="THEIRS")
    with CaptureQueriesContext(connection) as queries:
        page = browser_client.get(logs_url())
    assert page.status_code == 200
    assert b"MINE" in page.content and b"THEIRS" not in page.content
    assert not [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    times = [row.timestamp for row in page.context["cl"].result_list]
    assert times == sorted(times, reverse=True)


def test_log_list_pages_with_newer_and_older_links_and_never_shows_all(browser_client, tenant):
    make_logs(tenant, 150)
    first = browser_client.get(logs_url())
    assert len(first.context["cl"].result_list) == 100
    assert b"Older &rarr;" in first.content and b"Newer" not in first.content
    second = browser_client.get(logs_url(p=2))
    assert len(second.context["cl"].result_list) == 50
    assert b"&larr; Newer" in second.content and b"Older" not in second.content
    everything = browser_client.get(logs_url(all=""))
    assert len(everything.context["cl"].result_list) == 100


@pytest.mark.postgres
def test_log_list_reads_the_tenant_time_index(browser_client, tenant):
    make_logs(tenant, 5)
    with CaptureQueriesContext(connection) as queries:
        browser_client.get(logs_url())
    # The paginator's probe: the page's keys plus one, newest first.
    listing = next(q["sql"] for q in queries if "LIMIT 101" in q["sql"])
    with connection.cursor() as cursor:
        # A handful of rows, and statistics that depend on what earlier tests inserted and rolled
        # back: without these the planner may as well sort a few rows. The question is whether
        # the index serves this query in order, as it must for millions of rows.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("EXPLAIN " + listing)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "executionlog_tenant_time" in plan, plan


def test_date_hierarchy_probes_days_instead_of_listing_distinct_dates(browser_client, tenant):
    noon = timezone.now().replace(day=10, hour=12, minute=0, second=0, microsecond=0)
    make_logs(tenant, 2, start=noon, step=timedelta(days=3))  # the 10th and the 7th
    with CaptureQueriesContext(connection) as queries:
        page = browser_client.get(logs_url(timestamp__year=noon.year, timestamp__month=noon.month))
    days = re.findall(rb"timestamp__day=(\d+)", page.content)
    assert sorted(int(day) for day in days) == [7, 10]
    assert not [q for q in queries if "DISTINCT" in q["sql"] and "executionlog" in q["sql"]]


def test_date_hierarchy_reads_no_min_or_max_of_the_list(browser_client, tenant, other_tenant):
    make_logs(tenant, 3)
    make_logs(other_tenant, 2, start=timezone.now() - timedelta(days=400))
    with CaptureQueriesContext(connection) as queries:
        page = browser_client.get(logs_url())
    sql = [q["sql"].upper() for q in queries if "EXECUTIONLOG" in q["sql"].upper()]
    assert not [q for q in sql if "MIN(" in q or "MAX(" in q], sql
    # Bounds from the whole table's ends; the years shown are those of the viewer's rows only.
    years = re.findall(rb"timestamp__year=(\d+)", page.content)
    assert {int(year) for year in years} == {timezone.localtime().year}


@pytest.mark.postgres
def test_superuser_log_list_reads_the_time_index(client, tenant, other_tenant):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    make_logs(tenant, 3)
    make_logs(other_tenant, 3)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(logs_url())
    assert len(page.context["cl"].result_list) == 6
    listing = next(q["sql"] for q in queries if "LIMIT 101" in q["sql"])
    with connection.cursor() as cursor:
        # As in the member's test above: force the planner to say which index serves the order.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("EXPLAIN " + listing)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "executionlog_time" in plan and "executionlog_tenant_time" not in plan, plan


def test_log_filters_take_their_choices_from_rulesets_and_patterns(browser_client, tenant):
    ruleset_with_rules(tenant=tenant, name="credit")  # pattern recommends APPROVE
    make_logs(tenant, 2, ruleset_name="credit")
    make_logs(tenant, 1, ruleset_name="fraud", recommendation="DECLINE")
    page = browser_client.get(logs_url())
    assert b"?ruleset=credit" in page.content and b"?recommendation=APPROVE" in page.content
    filtered = browser_client.get(logs_url(ruleset="fraud"))
    assert [r.ruleset_name for r in filtered.context["cl"].result_list] == ["fraud"]


def test_log_detail_pretty_prints_json_and_nothing_can_be_written(browser_client, tenant):
    (log,) = make_logs(tenant, 1, input_data={"applicant": {"income": 50000}})
    url = reverse("admin:executions_executionlog_change", args=[log.pk])
    page = browser_client.get(url)
    assert page.status_code == 200
    assert b'<pre class="json-block">{\n  &quot;applicant&quot;: {\n    &quot;income' in (
        page.content
    )
    assert b'name="_save"' not in page.content
    assert browser_client.get(logs_url() + "add/").status_code == 403
    assert browser_client.post(url, {}).status_code == 403
    delete = reverse("admin:executions_executionlog_delete", args=[log.pk])
    assert browser_client.post(delete, {"post": "yes"}).status_code == 403
    assert ExecutionLog.objects.filter(pk=log.pk).exists()


def test_log_list_filters_by_version_and_by_no_recommendation(browser_client, tenant):
    ruleset = ruleset_with_rules(tenant=tenant, name="credit", version="1.0")
    make_logs(tenant, 2)
    (unmatched,) = make_logs(tenant, 1, recommendation=None)
    make_logs(tenant, 1, recommendation=None, success=False)
    page = browser_client.get(logs_url(recommendation="__none__"))
    shown = re.findall(rb'href="[^"]*/executionlog/([0-9a-f-]{36})/change/', page.content)
    assert {id.decode() for id in shown} == {str(unmatched.pk)}
    assert b"(no recommendation)" in browser_client.get(logs_url()).content
    assert ruleset.version == "1.0"
    assert b"?version=1.0" in browser_client.get(logs_url()).content
    ExecutionLog.objects.filter(pk=unmatched.pk).update(ruleset_version="2.0")
    versioned = browser_client.get(logs_url(version="1.0")).content
    assert str(unmatched.pk).encode() not in versioned
    assert len(re.findall(rb"/executionlog/[0-9a-f-]{36}/change/", versioned)) == 3


def test_log_list_finds_a_correlation_id_and_the_detail_shows_both_ids(browser_client, tenant):
    make_logs(tenant, 3)
    (wanted,) = make_logs(tenant, 1, correlation_id="order-1042", request_id="req-9")
    page = browser_client.get(logs_url(q="order-1042"))
    assert page.status_code == 200
    shown = re.findall(rb'href="[^"]*/executionlog/([0-9a-f-]{36})/change/', page.content)
    assert {id.decode() for id in shown} == {str(wanted.pk)}
    assert browser_client.get(logs_url(q="order-10")).content.count(b"/change/") < (
        page.content.count(b"/change/")
    )
    detail = browser_client.get(reverse("admin:executions_executionlog_change", args=[wanted.pk]))
    assert b"order-1042" in detail.content and b"req-9" in detail.content


# --- Try it ------------------------------------------------------------------------------------


def try_it_url(ruleset) -> str:
    return reverse("admin:executions_executionlog_try_it", args=[ruleset.pk])


def test_try_it_explains_every_rule_and_logs_the_run_as_admin(browser_client, tenant, viewer):
    ruleset = ruleset_with_rules(tenant=tenant, rules=2)
    first, second = ruleset.rules.order_by("priority")
    second.attribute, second.constant = "income", "50000"
    second.save()
    page = browser_client.post(try_it_url(ruleset), {"input": '{"credit_score": 720}'})
    assert page.status_code == 200
    result = page.context["result"]
    assert result["evaluation"].pattern_result == "Y-"
    rows = result["rows"]
    assert [(r.rule_id, r.matched, r.reason) for r in rows] == [
        (first.rule_id, True, "matched"),
        (second.rule_id, False, "missing"),
    ]
    assert b"<code>credit_score &gt; 700</code>" in page.content
    assert b"attribute missing from the input" in page.content
    log = ExecutionLog.objects.get(tenant=tenant)
    assert (log.source, log.caller, log.ruleset_id) == ("admin", viewer.username, ruleset.pk)
    assert log.input_data == {"credit_score": 720}


def test_try_it_names_type_mismatches_and_reaches_the_recommendation(browser_client, tenant):
    ruleset = ruleset_with_rules(tenant=tenant, rules=1)
    page = browser_client.post(try_it_url(ruleset), {"input": '{"credit_score": "high"}'})
    assert page.context["result"]["rows"][0].reason == "type_mismatch"
    assert b"no pattern matches" in page.content
    matched = browser_client.post(try_it_url(ruleset), {"input": '{"credit_score": 800}'})
    assert matched.context["result"]["evaluation"].action_recommendation == "APPROVE"


def test_try_it_is_not_logged_when_switched_off(browser_client, tenant, settings):
    settings.TRY_IT_LOG = False
    ruleset = ruleset_with_rules(tenant=tenant, rules=1)
    page = browser_client.post(try_it_url(ruleset), {"input": '{"credit_score": 720}'})
    assert page.context["result"]["evaluation"].pattern_result == "Y"
    assert not ExecutionLog.objects.exists()


@pytest.mark.parametrize(
    ("text", "error"),
    [("{not json", "Not valid JSON"), ("[1, 2]", "is a JSON object"), ('{"a": "\\u0000"}', "NUL")],
)
def test_try_it_input_errors_are_shown_next_to_the_input(browser_client, tenant, text, error):
    ruleset = ruleset_with_rules(tenant=tenant, rules=1)
    page = browser_client.post(try_it_url(ruleset), {"input": text})
    assert error in " ".join(page.context["form"].errors["input"])
    assert b'class="form-row errors"' in page.content
    assert not ExecutionLog.objects.exists()


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_try_it_refuses_numbers_json_cannot_hold_as_a_form_error(browser_client, tenant, number):
    # The json module reads NaN and Infinity; the evaluation step's input check refuses them,
    # as the API's parser does, instead of failing when the log row is written.
    ruleset = ruleset_with_rules(tenant=tenant, rules=1)
    page = browser_client.post(try_it_url(ruleset), {"input": f'{{"credit_score": {number}}}'})
    assert page.status_code == 200
    (message,) = page.context["form"].errors["input"]
    assert message.startswith("input.credit_score:") and "NaN and Infinity" in message
    assert page.context["result"] is None
    assert not ExecutionLog.objects.exists()


def test_try_it_lists_compile_problems_of_a_broken_draft(browser_client, tenant):
    ruleset = ruleset_with_rules(tenant=tenant, rules=1)
    RuleFactory(ruleset=ruleset, rule_id="BAD", operator="regex", constant="(")
    page = browser_client.post(try_it_url(ruleset), {"input": "{}"})
    assert any(p.startswith("rule BAD:") for p in page.context["result"]["problems"])


def test_try_it_loads_a_recent_logged_input_of_the_ruleset(browser_client, tenant):
    ruleset = ruleset_with_rules(tenant=tenant, rules=1)
    (log,) = make_logs(
        tenant, 1, ruleset_id=ruleset.pk, ruleset_name=ruleset.name, input_data={"credit_score": 1}
    )
    page = browser_client.get(try_it_url(ruleset))
    assert str(log.execution_id).encode() in page.content
    loaded = browser_client.get(try_it_url(ruleset) + f"?log={log.execution_id}")
    assert loaded.context["form"].initial["input"] == '{\n  "credit_score": 1\n}'


def test_try_it_explains_each_catalog_condition_of_a_rule(browser_client, tenant):
    link = RuleConditionFactory(rule__ruleset__tenant=tenant, condition__tenant=tenant)
    ruleset = link.rule.ruleset
    ruleset.patterns.create(pattern_key="Y", action_recommendation="ADULT")
    page = browser_client.post(try_it_url(ruleset), {"input": '{"age": 30}'})
    (row,) = page.context["result"]["rows"]
    assert row.matched and row.conditions[0]["condition_id"] == link.condition.condition_id
    assert b"age &gt;= 18" in page.content


# --- Dashboard ---------------------------------------------------------------------------------


def dashboard_url(**query) -> str:
    url = reverse("admin:executions_executionlog_dashboard")
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_dashboard_counts_only_the_users_tenants_and_draws_svg(
    browser_client, tenant, other_tenant
):
    ruleset_with_rules(tenant=tenant, name="credit", status="active")
    make_logs(tenant, 30, step=timedelta(minutes=20), recommendation="APPROVE")
    make_logs(tenant, 3, recommendation="REVIEW", success=False)
    make_logs(tenant, 5, source=ExecutionSource.ADMIN)  # try-it runs are not statistics
    make_logs(other_tenant, 50, recommendation="THEIRS")
    page = browser_client.get(dashboard_url())
    assert page.status_code == 200
    summary = page.context["summary"]
    assert summary["count"] == 33 and summary["success_count"] == 30
    assert summary["recommendations"] == {"APPROVE": 30, "REVIEW": 3}
    assert b"THEIRS" not in page.content
    assert page.content.count(b'<svg class="chart') == 4
    assert b'class="bar-failed"' in page.content
    assert [row["label"] for row in page.context["by_ruleset"]] == ["credit"]


def test_dashboard_week_window_has_one_bar_per_hour(browser_client, tenant):
    make_logs(tenant, 10, step=timedelta(hours=10))
    page = browser_client.get(dashboard_url(window="7d"))
    assert len(page.context["executions_chart"]["bars"]) in (168, 169)
    assert page.context["summary"]["count"] == 10


def test_dashboard_filters_by_ruleset(browser_client, tenant):
    ruleset_with_rules(tenant=tenant, name="credit")
    ruleset_with_rules(tenant=tenant, name="fraud")
    make_logs(tenant, 4, ruleset_name="credit")
    make_logs(tenant, 2, ruleset_name="fraud")
    page = browser_client.get(dashboard_url(ruleset="fraud"))
    assert page.context["summary"]["count"] == 2


def test_dashboard_breaks_numbers_down_per_tenant_for_members_of_several(
    client, tenant, other_tenant, member_of
):
    user = member_of(tenant, Role.VIEWER)
    MembershipFactory(user=user, tenant=other_tenant, role=Role.VIEWER)
    make_logs(tenant, 4)
    make_logs(other_tenant, 6)
    client.force_login(user)
    page = client.get(dashboard_url())
    assert page.context["summary"]["count"] == 10
    assert [(row["label"], row["count"]) for row in page.context["by_tenant"]] == [
        (f"{tenant.name} ({tenant.slug})", 4),
        (f"{other_tenant.name} ({other_tenant.slug})", 6),
    ]
    only_one = client.get(dashboard_url(tenant=other_tenant.pk))
    assert only_one.context["summary"]["count"] == 6 and not only_one.context["by_tenant"]


def test_index_links_to_the_dashboard(browser_client):
    page = browser_client.get(reverse("admin:index"))
    assert dashboard_url().encode() in page.content


# --- Content-Security-Policy readiness ------------------------------------------------------------

INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(rb"<[^>]+\son[a-z]+\s*=", re.I)


def test_admin_pages_have_no_inline_scripts_or_event_handlers(client, tenant, member_of):
    tenant_admin = member_of(tenant, Role.ADMIN)
    client.force_login(tenant_admin)
    ruleset = ruleset_with_rules(tenant=tenant)
    make_logs(tenant, 3, ruleset_id=ruleset.pk, ruleset_name=ruleset.name)
    (log,) = make_logs(tenant, 1)
    pages = [
        reverse("admin:index"),
        reverse("admin:rules_ruleset_changelist"),
        reverse("admin:rules_ruleset_add"),
        reverse("admin:rules_ruleset_change", args=[ruleset.pk]),
        reverse("admin:rules_ruleset_history", args=[ruleset.pk]),
        reverse("admin:rules_ruleset_transition", args=[ruleset.pk, "active"]),
        reverse("admin:rules_condition_add"),
        reverse("admin:rules_apiclient_add"),
        reverse("admin:rules_membership_add"),
        logs_url(),
        reverse("admin:executions_executionlog_change", args=[log.pk]),
        try_it_url(ruleset),
        dashboard_url(),
    ]
    for url in pages:
        page = client.get(url)
        assert page.status_code == 200, url
        # Django's own admin templates put one JSON <script> tag (type=application/json) on
        # change forms; it is data, not code, and CSP does not block it.
        scripts = [s for s in INLINE_SCRIPT.findall(page.content) if b"application/json" not in s]
        assert not scripts, (url, scripts)
        assert not INLINE_HANDLER.findall(page.content), url
    body = client.post(try_it_url(ruleset), {"input": "{}"}).content
    assert not INLINE_SCRIPT.findall(body) and not INLINE_HANDLER.findall(body)


@pytest.fixture
def member_of():
    def make(tenant, role):
        return MembershipFactory(tenant=tenant, role=role).user

    return make


def test_dashboard_shows_unmatched_successes_and_never_rounds_a_failure_up_to_100(
    browser_client, tenant
):
    make_logs(tenant, 300, step=timedelta(seconds=10), recommendation="APPROVE")
    make_logs(tenant, 22, step=timedelta(seconds=10), recommendation=None)
    make_logs(tenant, 1, recommendation=None, success=False)
    page = browser_client.get(dashboard_url())
    summary = page.context["summary"]
    assert summary["count"] == 323
    assert summary["recommendations"] == {"APPROVE": 300, "(no recommendation)": 22}
    assert summary["success_rate_text"] == "99.7%"
    assert b"99.7%" in page.content and b"(no recommendation)" in page.content
    ExecutionLog.objects.filter(success=False).delete()
    assert browser_client.get(dashboard_url()).context["summary"]["success_rate_text"] == "100%"


def test_try_it_starts_from_the_attributes_the_version_reads(browser_client, tenant):
    ruleset = ruleset_with_rules(tenant=tenant, rules=0)
    RuleFactory(
        ruleset=ruleset, attribute="applicant.income", operator="greater_than", constant="50000"
    )
    RuleFactory(ruleset=ruleset, attribute="country", operator="in", constant='["NL", "BE"]')
    RuleFactory(ruleset=ruleset, attribute="old", constant="1", status="inactive")
    page = browser_client.get(try_it_url(ruleset))
    initial = json.loads(page.context["form"].initial["input"])
    assert initial == {"applicant": {"income": 50000}, "country": "NL"}
    assert b"credit_score" not in page.content
