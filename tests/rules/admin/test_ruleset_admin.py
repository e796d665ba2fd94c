"""The analysts' admin: roles, scoping, editing through services, lifecycle, history, catalogs."""

import os
import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape
from knox.models import AuthToken

from rules.choices import Role
from rules.engine import OPERATORS
from rules.models import ApiClient, Condition, Membership, Rule, RuleCondition, Ruleset
from rules.services import editing
from rules.services.api_clients import api_client_create
from tests.factories import (
    ConditionFactory,
    RuleConditionFactory,
    ruleset_with_rules,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def login(client):
    def as_user(user):
        client.force_login(user)
        return client

    return as_user


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def change_url(ruleset) -> str:
    return reverse("admin:rules_ruleset_change", args=[ruleset.pk])


def management_form(prefix: str, total: int, initial: int = 0) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def rule_row(index: int, **fields) -> dict:
    values = {
        "rule_id": f"R{index + 1}",
        "rule_name": "",
        "attribute": "score",
        "operator": "greater_than",
        "constant": "10",
        "weight": "1",
        "rule_point": "10",
        "priority": str(index),
        "action_result": "Y",
        "status": "active",
        **fields,
    }
    return {f"rules-{index}-{name}": value for name, value in values.items()}


def new_ruleset_post(tenant, *rules, patterns=(("Y", "APPROVE"),)) -> dict:
    data = {
        "tenant": str(tenant.pk),
        "name": "scoring",
        "version": "1.0",
        "description": "",
        "tags": "credit, retail",
        "metadata": "{}",
        **management_form("rules", len(rules)),
        **management_form("patterns", len(patterns)),
    }
    for index, fields in enumerate(rules):
        data.update(rule_row(index, **fields))
    for index, (key, recommendation) in enumerate(patterns):
        data[f"patterns-{index}-pattern_key"] = key
        data[f"patterns-{index}-action_recommendation"] = recommendation
        data[f"patterns-{index}-action"] = ""
        data[f"patterns-{index}-description"] = ""
    return data


# --- Scoping and roles -----------------------------------------------------------------------


def test_author_sees_only_own_tenant_rulesets_and_others_answer_404(
    login, tenant, other_tenant, author
):
    mine = ruleset_with_rules(tenant=tenant, name="mine")
    theirs = ruleset_with_rules(tenant=other_tenant, name="theirs")
    client = login(author)
    page = client.get(reverse("admin:rules_ruleset_changelist"))
    assert page.status_code == 200
    assert b"mine" in page.content and b"theirs" not in page.content
    assert b"globex" not in page.content  # not even in a filter
    assert client.get(change_url(theirs)).status_code == 404
    missing = reverse("admin:rules_ruleset_change", args=[theirs.pk + 1000])
    assert client.get(missing).status_code == 404  # missing and foreign look the same
    assert client.get(change_url(mine)).status_code == 200


def test_changelist_costs_the_same_queries_for_few_and_many_rulesets(login, tenant, author):
    client = login(author)
    url = reverse("admin:rules_ruleset_changelist")
    ruleset_with_rules(tenant=tenant, name="first")
    client.get(url)  # warm the role cache
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for number in range(6):
        ruleset_with_rules(tenant=tenant, name=f"more_{number}", rules=3)
    with CaptureQueriesContext(connection) as many:
        page = client.get(url)
    assert len(many) == len(few)
    assert page.content.count(b'class="status-badge status-draft"') == 7
    assert b'<td class="field-rule_count">3</td>' in page.content


def test_viewer_reads_but_cannot_add_change_or_run_actions(login, tenant, member):
    viewer = member(Role.VIEWER, username="vera")
    ruleset = ruleset_with_rules(tenant=tenant)
    client = login(viewer)
    page = client.get(reverse("admin:rules_ruleset_changelist"))
    assert page.status_code == 200
    assert b"Activate selected versions" not in page.content
    assert b"Create a new draft version" not in page.content
    assert client.get(reverse("admin:rules_ruleset_add")).status_code == 403
    form = client.get(change_url(ruleset))
    assert form.status_code == 200 and b'name="_save"' not in form.content
    assert b"New draft version" not in form.content
    assert client.post(change_url(ruleset), {"name": "renamed"}).status_code == 403


def test_author_gets_edit_actions_and_no_lifecycle(login, tenant, author):
    ruleset = ruleset_with_rules(tenant=tenant)
    client = login(author)
    page = client.get(reverse("admin:rules_ruleset_changelist"))
    assert b"Create a new draft version" in page.content
    assert b"Activate selected versions" not in page.content
    form = client.get(change_url(ruleset))
    assert b"lifecycle-button" not in form.content
    url = reverse("admin:rules_ruleset_transition", args=[ruleset.pk, "active"])
    assert client.post(url).status_code == 403
    assert Ruleset.objects.get(pk=ruleset.pk).status == "draft"


def test_add_form_offers_only_the_users_tenants_and_preselects_a_single_one(
    login, tenant, other_tenant, author
):
    page = login(author).get(reverse("admin:rules_ruleset_add"))
    tenant_select = page.context["adminform"].form.fields["tenant"]
    assert list(tenant_select.queryset) == [tenant]
    assert page.context["adminform"].form.initial["tenant"] == tenant.pk


# --- Editing through the service layer ---------------------------------------------------------


def test_author_creates_a_draft_with_rules_and_patterns_in_one_form(login, tenant, author):
    data = new_ruleset_post(
        tenant,
        {},
        {"attribute": "age", "operator": "between", "constant": "[18, 65]"},
        patterns=(("YY", "APPROVE"), ("Y-", "REVIEW")),
    )
    response = login(author).post(reverse("admin:rules_ruleset_add"), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    ruleset = Ruleset.objects.get(tenant=tenant, name="scoring")
    assert (ruleset.status, ruleset.created_by, ruleset.updated_by) == ("draft", author, author)
    assert ruleset.tags == ["credit", "retail"]
    assert [r.rule_id for r in ruleset.rules.order_by("priority")] == ["R1", "R2"]
    assert ruleset.patterns.count() == 2
    assert ruleset.history.first().history_user == author
    assert Rule.history.filter(ruleset_id=ruleset.pk).first().history_user == author


def test_invalid_constant_is_reported_next_to_its_field_and_nothing_is_saved(login, tenant, author):
    data = new_ruleset_post(tenant, {"operator": "between", "constant": "5"})
    response = login(author).post(reverse("admin:rules_ruleset_add"), data)
    assert response.status_code == 200
    rule_form = response.context["inline_admin_formsets"][0].formset.forms[0]
    assert "constant" in rule_form.errors
    cell = re.search(rb'<td class="field-constant">(.*?)</td>', response.content, re.S)
    assert b"errorlist" in cell.group(1)
    assert not Ruleset.objects.filter(name="scoring").exists()


def test_rule_form_offers_every_engine_operator_with_its_constant_help(login, tenant, author):
    ruleset = ruleset_with_rules(tenant=tenant, rules=1)
    page = login(author).get(change_url(ruleset))
    content = page.content.decode()
    for name, info in OPERATORS.items():
        assert f'value="{name}"' in content
        assert escape(info.constant_help) in content
    assert "catalog conditions: all" in content
    # The saved rule's operator (greater_than) explains its constant under the input.
    assert f'<div class="constant-help help">{OPERATORS["greater_than"].constant_help}' in content
    assert "ruleengine/rule_form.js" in content


def test_rules_using_catalog_conditions_are_linked_through_the_service(login, tenant, author):
    ruleset = ruleset_with_rules(tenant=tenant, rules=1)
    rule = ruleset.rules.get()
    first, second = ConditionFactory(tenant=tenant), ConditionFactory(tenant=tenant)
    data = {
        "name": ruleset.name,
        "version": ruleset.version,
        "description": "",
        "tags": "",
        "metadata": "{}",
        **management_form("rules", 1, 1),
        **management_form("patterns", 0, 0),
        **management_form("test_cases", 0, 0),
        "rules-0-id": str(rule.pk),
        "rules-0-ruleset": str(ruleset.pk),
        **rule_row(0, rule_id=rule.rule_id, attribute="", operator="catalog:any", constant=""),
        "rules-0-catalog_condition_ids": [str(second.pk), str(first.pk)],
    }
    pattern = ruleset.patterns.get()
    data.update(management_form("patterns", 1, 1))
    data.update(
        {
            "patterns-0-id": str(pattern.pk),
            "patterns-0-ruleset": str(ruleset.pk),
            "patterns-0-pattern_key": "Y",
            "patterns-0-action_recommendation": "APPROVE",
            "patterns-0-action": "",
            "patterns-0-description": "",
        }
    )
    response = login(author).post(change_url(ruleset), data)
    assert response.status_code == 302, response.context["errors"]
    rule.refresh_from_db()
    assert (rule.condition_mode, rule.attribute, rule.operator) == ("any", "", "")
    links = RuleCondition.objects.filter(rule=rule).order_by("position")
    assert [link.condition_id for link in links] == [second.pk, first.pk]
    assert RuleCondition.history.filter(rule_id=rule.pk).first().history_user == author


def test_catalog_mode_without_conditions_is_an_error_on_the_conditions_field(login, tenant, author):
    data = new_ruleset_post(tenant, {"attribute": "", "operator": "catalog:all", "constant": ""})
    response = login(author).post(reverse("admin:rules_ruleset_add"), data)
    assert response.status_code == 200
    rule_form = response.context["inline_admin_formsets"][0].formset.forms[0]
    assert "catalog_condition_ids" in rule_form.errors


def test_duplicate_version_is_an_error_on_the_version_field(login, tenant, author):
    ruleset_with_rules(tenant=tenant, name="scoring")
    other = ruleset_with_rules(tenant=tenant, name="scoring", version="2.0")
    data = new_ruleset_post(tenant)
    data.update({"version": "1.0", **management_form("rules", 0), **management_form("patterns", 0)})
    response = login(author).post(change_url(other), data)
    assert response.status_code == 200
    assert "version" in response.context["adminform"].form.errors


# --- Published versions, lifecycle -------------------------------------------------------------


def test_published_version_is_read_only_with_a_new_draft_version_button(login, tenant, author):
    ruleset = ruleset_with_rules(tenant=tenant, status="active")
    client = login(author)
    page = client.get(change_url(ruleset))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert b"read-only" in page.content and b"New draft version" in page.content
    assert client.post(change_url(ruleset), {"name": "renamed"}).status_code == 403
    response = client.post(reverse("admin:rules_ruleset_new_version", args=[ruleset.pk]))
    draft = Ruleset.objects.get(tenant=tenant, name=ruleset.name, version="1.1")
    assert response.status_code == 302 and response.url == change_url(draft)
    assert draft.status == "draft" and draft.rules.count() == 2


def test_approver_activates_from_the_change_form_after_confirming(login, tenant, approver):
    ruleset = ruleset_with_rules(tenant=tenant)
    client = login(approver)
    form = client.get(change_url(ruleset))
    transition = reverse("admin:rules_ruleset_transition", args=[ruleset.pk, "active"])
    assert transition.encode() in form.content
    assert b"lifecycle-deprecated" not in form.content  # not allowed from draft
    confirm = client.get(transition)
    assert confirm.status_code == 200 and b"goes from <strong>draft</strong>" in confirm.content
    assert Ruleset.objects.get(pk=ruleset.pk).status == "draft"
    done = client.post(transition, follow=True)
    assert Ruleset.objects.get(pk=ruleset.pk).status == "active"
    assert any("is now active" in m for m in messages_of(done))


def test_refused_activation_lists_every_problem_with_rule_ids_as_messages(login, tenant, approver):
    ruleset = ruleset_with_rules(tenant=tenant, rules=2)
    first, second = ruleset.rules.order_by("priority")
    Rule.objects.filter(pk=first.pk).update(operator="between", constant="5")
    Rule.objects.filter(pk=second.pk).update(operator="regex", constant="(")
    client = login(approver)
    url = reverse("admin:rules_ruleset_transition", args=[ruleset.pk, "active"])
    assert b"cannot be activated yet" in client.get(url).content  # shown before confirming
    page = client.post(url, follow=True)
    texts = messages_of(page)
    assert any("cannot be activated" in t for t in texts)
    assert any(t.startswith(f"rule {first.rule_id}:") for t in texts)
    assert any(t.startswith(f"rule {second.rule_id}:") for t in texts)
    assert Ruleset.objects.get(pk=ruleset.pk).status == "draft"


def test_bulk_activate_reports_problems_and_activates_the_valid_ones(login, tenant, approver):
    broken = ruleset_with_rules(tenant=tenant, rules=2, name="broken")
    broken.patterns.update(pattern_key="Y")  # wrong length
    valid = ruleset_with_rules(tenant=tenant, name="valid")
    page = login(approver).post(
        reverse("admin:rules_ruleset_changelist"),
        {"action": "activate_selected", "_selected_action": [broken.pk, valid.pk]},
        follow=True,
    )
    texts = messages_of(page)
    assert any("broken 1.0: broken 1.0 cannot be activated" in t for t in texts)
    assert any("pattern" in t and "Y" in t for t in texts)
    assert Ruleset.objects.get(pk=broken.pk).status == "draft"
    assert Ruleset.objects.get(pk=valid.pk).status == "active"


def test_four_eyes_refusal_is_shown_as_a_message(login, tenant, member, settings):
    settings.RULESET_FOUR_EYES = True
    tenant_admin = member(Role.ADMIN, username="ada")
    ruleset = ruleset_with_rules(tenant=tenant)
    editing.ruleset_update(ruleset=ruleset, actor=tenant_admin, description="edited by ada")
    url = reverse("admin:rules_ruleset_transition", args=[ruleset.pk, "active"])
    page = login(tenant_admin).post(url, follow=True)
    assert any("Four-eyes" in t for t in messages_of(page))
    assert Ruleset.objects.get(pk=ruleset.pk).status == "draft"


def test_transition_not_in_the_table_is_explained(login, tenant, approver):
    ruleset = ruleset_with_rules(tenant=tenant)
    url = reverse("admin:rules_ruleset_transition", args=[ruleset.pk, "deprecated"])
    page = login(approver).get(url)
    assert b"cannot go from draft to deprecated" in page.content
    assert b'value="Deprecate"' not in page.content


def test_delete_goes_through_the_service_and_keeps_published_versions(login, tenant, author):
    draft = ruleset_with_rules(tenant=tenant, name="draft_one")
    active = ruleset_with_rules(tenant=tenant, name="active_one", status="active")
    client = login(author)
    delete = reverse("admin:rules_ruleset_delete", args=[active.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    client.post(reverse("admin:rules_ruleset_delete", args=[draft.pk]), {"post": "yes"})
    assert not Ruleset.objects.filter(pk=draft.pk).exists()
    assert Ruleset.history.filter(id=draft.pk, history_type="-").get().history_user == author


# --- History -----------------------------------------------------------------------------------


def test_history_shows_who_changed_what_field_by_field_including_rules(login, tenant, author):
    ruleset = ruleset_with_rules(tenant=tenant, rules=1)
    editing.ruleset_update(ruleset=ruleset, actor=author, description="Scores applications")
    rule = ruleset.rules.get()
    rule.constant = "750"
    editing.ruleset_part_save(part=rule, actor=author)
    page = login(author).get(reverse("admin:rules_ruleset_history", args=[ruleset.pk]))
    content = page.content.decode()
    assert page.status_code == 200
    assert "Description:</strong>" in content and "Scores applications" in content
    assert "Updated at:" not in content  # noise fields are left out of diffs
    assert "<del>700</del> &rarr; <ins>750</ins>" in content
    assert "alice" in content


def test_revert_of_a_draft_goes_through_the_service(login, tenant, author):
    ruleset = ruleset_with_rules(tenant=tenant, description="first")
    editing.ruleset_update(ruleset=ruleset, actor=author, description="second")
    first = ruleset.history.order_by("history_date").first()
    url = reverse("admin:rules_ruleset_simple_history", args=[ruleset.pk, first.history_id])
    client = login(author)
    form = client.get(url)
    assert b"Revert" in form.content
    response = client.post(
        url,
        {
            "name": ruleset.name,
            "version": ruleset.version,
            "description": "first",
            "tags": "",
            "metadata": "{}",
        },
    )
    assert response.status_code == 302
    ruleset.refresh_from_db()
    assert (ruleset.description, ruleset.status, ruleset.updated_by) == ("first", "draft", author)


def test_revert_is_refused_for_published_versions(login, tenant, author):
    ruleset = ruleset_with_rules(tenant=tenant, description="first")
    editing.ruleset_update(ruleset=ruleset, actor=author, description="second")
    Ruleset.objects.filter(pk=ruleset.pk).update(status="active")
    first = ruleset.history.order_by("history_date").first()
    url = reverse("admin:rules_ruleset_simple_history", args=[ruleset.pk, first.history_id])
    client = login(author)
    page = client.get(url)
    assert b'value="Revert"' not in page.content
    client.post(url, {"name": ruleset.name, "version": "1.0", "description": "first"})
    assert Ruleset.objects.get(pk=ruleset.pk).description == "second"


# --- Catalogs ----------------------------------------------------------------------------------


def test_condition_used_by_a_published_version_is_read_only_and_shows_its_users(
    login, tenant, author
):
    link = RuleConditionFactory(rule__ruleset__tenant=tenant, rule__ruleset__status="active")
    condition = link.condition
    client = login(author)
    page = client.get(reverse("admin:rules_condition_change", args=[condition.pk]))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert link.rule.ruleset.name.encode() in page.content  # "used by"
    assert b"read-only" in page.content
    listing = client.get(reverse("admin:rules_condition_changelist"))
    assert b'<td class="field-used_in">1</td>' in listing.content


def test_condition_value_error_is_shown_next_to_the_value(login, tenant, author):
    data = {
        "tenant": str(tenant.pk),
        "condition_id": "C_BAD",
        "name": "Bad regex",
        "description": "",
        "attribute": "email",
        "operator": "regex",
        "value": "(",
        "status": "active",
        "tags": "",
        "metadata": "{}",
    }
    page = login(author).post(reverse("admin:rules_condition_add"), data)
    assert page.status_code == 200
    assert "value" in page.context["adminform"].form.errors
    assert not Condition.objects.filter(condition_id="C_BAD").exists()


def test_condition_created_in_the_admin_records_its_author(login, tenant, author):
    data = {
        "tenant": str(tenant.pk),
        "condition_id": "C_ADULT",
        "name": "Adult",
        "description": "",
        "attribute": "age",
        "operator": "greater_than_or_equal",
        "value": "18",
        "status": "active",
        "tags": "age",
        "metadata": "{}",
    }
    response = login(author).post(reverse("admin:rules_condition_add"), data)
    assert response.status_code == 302
    condition = Condition.objects.get(condition_id="C_ADULT")
    assert condition.tags == ["age"]
    assert condition.history.get().history_user == author


# --- Members and API clients ---------------------------------------------------------------------


def test_tenant_admin_adds_a_member_through_the_service(login, tenant, other_tenant, member):
    tenant_admin = member(Role.ADMIN, username="ada")
    client = login(tenant_admin)
    page = client.get(reverse("admin:rules_membership_add"))
    assert list(page.context["adminform"].form.fields["tenant"].queryset) == [tenant]
    response = client.post(
        reverse("admin:rules_membership_add"),
        {
            "tenant": str(tenant.pk),
            "name": "newbie",
            "email": "",
            "password": "a-long-enough-password-2026",
            "role": Role.VIEWER,
        },
    )
    assert response.status_code == 302
    user = get_user_model().objects.get(username="newbie@acme")  # under the tenant's name
    assert user.is_staff and user.check_password("a-long-enough-password-2026")
    assert Membership.objects.get(user=user).role == Role.VIEWER


def test_members_page_is_for_tenant_admins_only(login, tenant, author):
    client = login(author)
    assert client.get(reverse("admin:rules_membership_changelist")).status_code == 403
    assert client.get(reverse("admin:rules_apiclient_changelist")).status_code == 403


def test_api_client_is_created_with_its_token_shown_once_and_can_be_revoked(login, tenant, member):
    tenant_admin = member(Role.ADMIN, username="ada")
    client = login(tenant_admin)
    response = client.post(
        reverse("admin:rules_apiclient_add"),
        {"tenant": str(tenant.pk), "name": "scoring-app", "role": Role.VIEWER, "expires_days": ""},
    )
    api_client = ApiClient.objects.get(name="scoring-app")
    assert "Token of scoring-app" in response.content.decode()  # a page, never a message
    token = re.search(r'<code class="shown-once-value">([^<]+)</code>', response.content.decode())
    token = token.group(1)
    assert AuthToken.objects.filter(user=api_client.user, token_key=token[:15]).exists()
    listing = client.get(reverse("admin:rules_apiclient_changelist"))
    assert token.encode() not in listing.content  # shown once only
    client.post(
        reverse("admin:rules_apiclient_changelist"),
        {"action": "revoke_selected", "_selected_action": [api_client.pk]},
    )
    api_client.refresh_from_db()
    assert api_client.revoked_at is not None
    assert not AuthToken.objects.filter(user=api_client.user).exists()


def test_api_client_accounts_are_not_listed_as_members(login, tenant, member):
    tenant_admin = member(Role.ADMIN, username="ada")
    api_client_create(tenant=tenant, name="batch-app", role=Role.VIEWER)
    page = login(tenant_admin).get(reverse("admin:rules_membership_changelist"))
    assert b"ada" in page.content and b"batch-app" not in page.content


# --- Smoke (also on SQLite) ---------------------------------------------------------------------


@pytest.mark.smoke
def test_login_page_renders_for_anonymous_visitors(client):
    page = client.get(reverse("admin:login"))
    assert page.status_code == 200


@pytest.mark.smoke
def test_demo_author_logs_in_with_the_printed_password_and_sees_the_demo_ruleset(client):
    from django.core.management import call_command

    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    changelist = reverse("admin:rules_ruleset_changelist")
    response = client.post(
        f"{reverse('admin:login')}?next={changelist}",
        {"username": "author", "password": "demo-password-2026", "next": changelist},
        follow=True,
    )
    assert response.status_code == 200
    assert b"credit_scoring" in response.content
    assert b"Create a new draft version" in response.content
    ruleset = Ruleset.objects.get(name="credit_scoring")
    form = response.client.get(change_url(ruleset))
    assert b"Try it" in form.content and b"read-only" in form.content
