"""Every admin page, walked as the admin of another tenant: 404 or nothing of the secret tenant."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.urls import URLResolver, resolve, reverse
from django.utils import timezone

from executions.models import ExecutionLog, ExecutionSource
from rules.choices import Role
from rules.models import Ruleset, RulesetTestCase
from rules.services import editing
from rules.services.api_clients import api_client_create
from rules.services.invitations import invitation_create
from tests.factories import (
    ActionFactory,
    AttributeFactory,
    MembershipFactory,
    PatternFactory,
    RuleConditionFactory,
    TenantFactory,
    ruleset_with_rules,
)

pytestmark = pytest.mark.django_db

SECRET = "secretcorp"


@pytest.fixture
def world(db):
    """A secret tenant full of objects, and the admin of another tenant with objects of its own."""
    secret = TenantFactory(slug=SECRET, name="Secretcorp Bank")
    insider = MembershipFactory(tenant=secret, role=Role.ADMIN, user__username=f"{SECRET}_ann").user
    ruleset = ruleset_with_rules(tenant=secret, name=f"{SECRET}_scoring")
    editing.ruleset_update(ruleset=ruleset, actor=insider, description=f"{SECRET} rules")
    link = RuleConditionFactory(
        rule__ruleset=ruleset,
        rule__rule_id=f"{SECRET}_R9",
        condition__condition_id=f"{SECRET}_C1",
        condition__name=f"{SECRET} condition",
    )
    action = ActionFactory(tenant=secret, action_id=f"{SECRET}_A1", name=f"{SECRET} action")
    attribute = AttributeFactory(
        tenant=secret, name=f"{SECRET}_income", description=f"{SECRET} attribute"
    )
    pattern = PatternFactory(
        ruleset=ruleset, pattern_key="YYY", action=action, action_recommendation="X"
    )
    test_case = RulesetTestCase.objects.create(
        ruleset=ruleset,
        name=f"{SECRET}_case",
        input_data={"secret": SECRET},
        expected_pattern_result="YY",
    )
    api_client, _ = api_client_create(tenant=secret, name=f"{SECRET}_app", role=Role.VIEWER)
    invitation, _ = invitation_create(
        tenant=secret,
        email=f"jane@{SECRET}.example",
        role=Role.ADMIN,
        actor=insider,
        accept_url_for=lambda token: token,
    )
    log = ExecutionLog.objects.create(
        tenant=secret,
        ruleset_id=ruleset.pk,
        ruleset_name=ruleset.name,
        ruleset_version="1.0",
        input_data={"secret": SECRET},
        action_recommendation=f"{SECRET}_APPROVE",
        timestamp=timezone.now() - timedelta(minutes=5),
        source=ExecutionSource.API,
    )

    other = TenantFactory(slug="globex")
    outsider = MembershipFactory(tenant=other, role=Role.ADMIN, user__username="gus").user
    own = ruleset_with_rules(tenant=other, name="globex_scoring")
    ActionFactory(tenant=other, action_id="globex_A1")
    return {
        "secret": secret,
        "ruleset": ruleset,
        "condition": link.condition,
        "rule": link.rule,
        "pattern": pattern,
        "test_case": test_case,
        "action": action,
        "attribute": attribute,
        "membership": insider.memberships.get(),
        "api_client": api_client,
        "invitation": invitation,
        "log": log,
        "outsider": outsider,
        "own_ruleset": own,
    }


def history_id(obj):
    return obj.history.order_by("history_date").first().history_id


OBJECT_PAGES = {
    "ruleset change": lambda w: reverse("admin:rules_ruleset_change", args=[w["ruleset"].pk]),
    "ruleset history": lambda w: reverse("admin:rules_ruleset_history", args=[w["ruleset"].pk]),
    "ruleset revision": lambda w: reverse(
        "admin:rules_ruleset_simple_history", args=[w["ruleset"].pk, history_id(w["ruleset"])]
    ),
    "ruleset delete": lambda w: reverse("admin:rules_ruleset_delete", args=[w["ruleset"].pk]),
    "ruleset activate": lambda w: reverse(
        "admin:rules_ruleset_transition", args=[w["ruleset"].pk, "active"]
    ),
    "ruleset new version": lambda w: reverse(
        "admin:rules_ruleset_new_version", args=[w["ruleset"].pk]
    ),
    "ruleset try-it": lambda w: reverse(
        "admin:executions_executionlog_try_it", args=[w["ruleset"].pk]
    ),
    "ruleset test accept": lambda w: reverse(
        "admin:rules_ruleset_test_accept", args=[w["ruleset"].pk, w["test_case"].pk]
    ),
    "ruleset export": lambda w: reverse("admin:rules_ruleset_export", args=[w["ruleset"].pk]),
    "ruleset compare": lambda w: reverse("admin:rules_ruleset_compare", args=[w["ruleset"].pk]),
    "ruleset request review": lambda w: reverse(
        "admin:rules_ruleset_request_review", args=[w["ruleset"].pk]
    ),
    "ruleset tests": lambda w: reverse("admin:rules_ruleset_tests", args=[w["ruleset"].pk]),
    "ruleset backtest": lambda w: reverse(
        "admin:executions_executionlog_backtest", args=[w["ruleset"].pk]
    ),
    "ruleset pattern coverage": lambda w: reverse(
        "admin:executions_executionlog_pattern_coverage", args=[w["ruleset"].pk]
    ),
    "ruleset decision model": lambda w: reverse(
        "admin:rules_ruleset_decision_model", args=[w["ruleset"].pk]
    ),
    "condition change": lambda w: reverse("admin:rules_condition_change", args=[w["condition"].pk]),
    "condition history": lambda w: reverse(
        "admin:rules_condition_history", args=[w["condition"].pk]
    ),
    "condition revision": lambda w: reverse(
        "admin:rules_condition_simple_history",
        args=[w["condition"].pk, history_id(w["condition"])],
    ),
    "condition delete": lambda w: reverse("admin:rules_condition_delete", args=[w["condition"].pk]),
    "action change": lambda w: reverse("admin:rules_action_change", args=[w["action"].pk]),
    "action history": lambda w: reverse("admin:rules_action_history", args=[w["action"].pk]),
    "action revision": lambda w: reverse(
        "admin:rules_action_simple_history", args=[w["action"].pk, history_id(w["action"])]
    ),
    "action delete": lambda w: reverse("admin:rules_action_delete", args=[w["action"].pk]),
    "attribute change": lambda w: reverse("admin:rules_attribute_change", args=[w["attribute"].pk]),
    "attribute history": lambda w: reverse(
        "admin:rules_attribute_history", args=[w["attribute"].pk]
    ),
    "attribute revision": lambda w: reverse(
        "admin:rules_attribute_simple_history",
        args=[w["attribute"].pk, history_id(w["attribute"])],
    ),
    "attribute delete": lambda w: reverse("admin:rules_attribute_delete", args=[w["attribute"].pk]),
    "membership change": lambda w: reverse(
        "admin:rules_membership_change", args=[w["membership"].pk]
    ),
    "membership history": lambda w: reverse(
        "admin:rules_membership_history", args=[w["membership"].pk]
    ),
    "membership delete": lambda w: reverse(
        "admin:rules_membership_delete", args=[w["membership"].pk]
    ),
    "api client change": lambda w: reverse(
        "admin:rules_apiclient_change", args=[w["api_client"].pk]
    ),
    "api client history": lambda w: reverse(
        "admin:rules_apiclient_history", args=[w["api_client"].pk]
    ),
    "api client delete": lambda w: reverse(
        "admin:rules_apiclient_delete", args=[w["api_client"].pk]
    ),
    "invitation change": lambda w: reverse(
        "admin:rules_invitation_change", args=[w["invitation"].pk]
    ),
    "invitation history": lambda w: reverse(
        "admin:rules_invitation_history", args=[w["invitation"].pk]
    ),
    "invitation delete": lambda w: reverse(
        "admin:rules_invitation_delete", args=[w["invitation"].pk]
    ),
    # Only the link's holder can accept; a made-up token is not found, like any missing object.
    "invitation accept": lambda w: reverse("admin:rules_invitation_accept", args=["made-up"]),
    "rule change": lambda w: reverse("admin:rules_rule_change", args=[w["rule"].pk]),
    "rule history": lambda w: reverse("admin:rules_rule_history", args=[w["rule"].pk]),
    "rule delete": lambda w: reverse("admin:rules_rule_delete", args=[w["rule"].pk]),
    "pattern change": lambda w: reverse("admin:rules_pattern_change", args=[w["pattern"].pk]),
    "pattern history": lambda w: reverse("admin:rules_pattern_history", args=[w["pattern"].pk]),
    "pattern delete": lambda w: reverse("admin:rules_pattern_delete", args=[w["pattern"].pk]),
    "test_case change": lambda w: reverse(
        "admin:rules_rulesettestcase_change", args=[w["test_case"].pk]
    ),
    "test_case history": lambda w: reverse(
        "admin:rules_rulesettestcase_history", args=[w["test_case"].pk]
    ),
    "test_case delete": lambda w: reverse(
        "admin:rules_rulesettestcase_delete", args=[w["test_case"].pk]
    ),
    "tenant change": lambda w: reverse("admin:rules_tenant_change", args=[w["secret"].pk]),
    "tenant history": lambda w: reverse("admin:rules_tenant_history", args=[w["secret"].pk]),
    "tenant delete": lambda w: reverse("admin:rules_tenant_delete", args=[w["secret"].pk]),
    "ruleset on site": lambda w: reverse(
        "admin:view_on_site",
        args=[ContentType.objects.get_for_model(Ruleset).pk, w["ruleset"].pk],
    ),
    "execution log": lambda w: reverse("admin:executions_executionlog_change", args=[w["log"].pk]),
    "execution log save as test case": lambda w: reverse(
        "admin:executions_executionlog_save_test_case", args=[w["log"].pk]
    ),
    "execution log history": lambda w: reverse(
        "admin:executions_executionlog_history", args=[w["log"].pk]
    ),
    "execution log delete": lambda w: reverse(
        "admin:executions_executionlog_delete", args=[w["log"].pk]
    ),
}


@pytest.mark.parametrize("page", OBJECT_PAGES)
@pytest.mark.parametrize("method", ["get", "post"])
def test_another_tenants_object_answers_404(client, world, page, method):
    client.force_login(world["outsider"])
    response = getattr(client, method)(OBJECT_PAGES[page](world))
    assert response.status_code == 404
    assert SECRET.encode() not in response.content


def changelist_urls():
    return [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
    ]


@pytest.mark.parametrize("url", changelist_urls())
def test_every_changelist_and_add_page_shows_nothing_of_another_tenant(client, world, url):
    client.force_login(world["outsider"])
    for page in (url, f"{url}?q=scoring", f"{url}add/"):
        response = client.get(page)
        assert response.status_code in (200, 403), page
        assert SECRET.encode() not in response.content, page
    if "ruleset" in url and "executionlog" not in url:
        assert b"globex_scoring" in client.get(url).content  # the page does show their own


def test_own_change_form_dropdowns_offer_nothing_of_another_tenant(client, world):
    client.force_login(world["outsider"])
    page = client.get(reverse("admin:rules_ruleset_change", args=[world["own_ruleset"].pk]))
    assert page.status_code == 200
    assert b"globex_A1" in page.content  # their own action is offered
    assert SECRET.encode() not in page.content


def site_pages():
    return [
        reverse("admin:index"),
        reverse("admin:executions_executionlog_dashboard"),
        reverse("admin:executions_executionlog_dashboard") + "?window=7d",
        reverse("admin:autocomplete") + "?app_label=rules&model_name=pattern&field_name=action",
        reverse("admin:app_list", args=["rules"]),
        reverse("admin:rules_ruleset_review"),
        reverse("admin:rules_ruleset_drafts_tests"),
        reverse("admin:rules_ruleset_import"),
    ]


def test_dashboard_index_and_autocomplete_show_nothing_of_another_tenant(client, world):
    client.force_login(world["outsider"])
    for url in site_pages():
        response = client.get(url)
        assert response.status_code in (200, 403), url
        assert SECRET.encode() not in response.content, url


def test_bulk_actions_ignore_another_tenants_objects(client, world):
    client.force_login(world["outsider"])
    client.post(
        reverse("admin:rules_ruleset_changelist"),
        {"action": "archive_selected", "_selected_action": [world["ruleset"].pk]},
    )
    client.post(
        reverse("admin:rules_apiclient_changelist"),
        {"action": "revoke_selected", "_selected_action": [world["api_client"].pk]},
    )
    assert Ruleset.objects.get(pk=world["ruleset"].pk).status == "draft"
    world["api_client"].refresh_from_db()
    assert world["api_client"].revoked_at is None


def test_superuser_sees_every_tenant(client, world, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-2026")
    client.force_login(root)
    assert SECRET.encode() in client.get(reverse("admin:rules_ruleset_changelist")).content
    for page in (
        "ruleset change",
        "ruleset history",
        "ruleset try-it",
        "ruleset tests",
        "ruleset backtest",
        "ruleset pattern coverage",
        "execution log",
        "execution log save as test case",
    ):
        assert client.get(OBJECT_PAGES[page](world)).status_code == 200, page


# Admin URL names the walks above leave out on purpose; every other name must be walked.
NOT_WALKED = {
    # Signing in and out, the password of the signed-in user, translations: no tenant data.
    "admin:login",
    "admin:logout",
    "admin:password_change",
    "admin:password_change_done",
    "admin:jsi18n",
    # Models of Django and of libraries (users, groups, knox tokens, axes login attempts): not
    # tenant data, and only superusers hold their model permissions, so a member gets 403 on
    # every object page. Their changelist and add pages are walked above like every model's.
    *(
        f"admin:{model}_{page}"
        for model in (
            "auth_group",
            "auth_user",
            "knox_authtoken",
            "axes_accessattempt",
            "axes_accesslog",
            "axes_accessfailurelog",
        )
        for page in ("change", "delete", "history")
    ),
    "admin:auth_user_password_change",
}


def admin_url_names(patterns=None, namespace="admin") -> set[str]:
    """Every named URL of the admin site: its own views and each ModelAdmin's, custom ones too.

    Unnamed routes (the object URL that redirects to its change page, the catch-all) only
    redirect or answer 404.
    """
    names = set()
    for pattern in admin.site.get_urls() if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            names |= admin_url_names(pattern.url_patterns, namespace)
        elif pattern.name:
            names.add(f"{namespace}:{pattern.name}")
    return names


def test_the_walk_covers_every_admin_url(world):
    walked = [page(world) for page in OBJECT_PAGES.values()]
    walked += [url + suffix for url in changelist_urls() for suffix in ("", "add/")]
    walked += site_pages()
    walked_names = {resolve(url.split("?")[0]).view_name for url in walked}
    every_name = admin_url_names()

    assert every_name - walked_names - NOT_WALKED == set()
    assert not NOT_WALKED - every_name, "an allowed URL name no longer exists"
    assert not NOT_WALKED & walked_names, "an allowed URL name is walked after all"
