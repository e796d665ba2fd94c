"""Admin basics: tenant scoping, read-only published versions, lifecycle actions."""

import os

import pytest
from django.urls import reverse

from rules.choices import Role
from rules.models import Ruleset
from tests.factories import ruleset_with_rules

pytestmark = pytest.mark.django_db


@pytest.fixture
def login(client):
    def as_user(user):
        client.force_login(user)
        return client

    return as_user


def test_author_sees_only_own_tenant_rulesets(login, tenant, other_tenant, author):
    mine = ruleset_with_rules(tenant=tenant, name="mine")
    theirs = ruleset_with_rules(tenant=other_tenant, name="theirs")
    client = login(author)
    page = client.get(reverse("admin:rules_ruleset_changelist"))
    assert page.status_code == 200
    assert mine.name.encode() in page.content and theirs.name.encode() not in page.content
    other = client.get(reverse("admin:rules_ruleset_change", args=[theirs.pk]))
    assert other.status_code == 404


def test_draft_change_form_renders_inlines(login, tenant, author):
    ruleset = ruleset_with_rules(tenant=tenant)
    page = login(author).get(reverse("admin:rules_ruleset_change", args=[ruleset.pk]))
    assert page.status_code == 200
    assert b"greater_than" in page.content and b"pattern_key" in page.content


def test_published_version_renders_read_only(login, tenant, author):
    ruleset = ruleset_with_rules(tenant=tenant, status="active")
    client = login(author)
    page = client.get(reverse("admin:rules_ruleset_change", args=[ruleset.pk]))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    posted = client.post(
        reverse("admin:rules_ruleset_change", args=[ruleset.pk]), {"name": "renamed"}
    )
    assert posted.status_code == 403
    assert Ruleset.objects.get(pk=ruleset.pk).name == ruleset.name


def test_activate_action_reports_problems_as_messages(login, tenant, member):
    approver = member(Role.APPROVER, username="bob")
    ruleset = ruleset_with_rules(tenant=tenant, rules=2)
    ruleset.patterns.update(pattern_key="Y")  # wrong length
    page = login(approver).post(
        reverse("admin:rules_ruleset_changelist"),
        {"action": "activate_selected", "_selected_action": [ruleset.pk]},
        follow=True,
    )
    assert b"cannot be activated" in page.content
    assert Ruleset.objects.get(pk=ruleset.pk).status == "draft"


def test_activate_action_activates(login, tenant, member):
    approver = member(Role.APPROVER, username="bob")
    ruleset = ruleset_with_rules(tenant=tenant)
    login(approver).post(
        reverse("admin:rules_ruleset_changelist"),
        {"action": "activate_selected", "_selected_action": [ruleset.pk]},
    )
    assert Ruleset.objects.get(pk=ruleset.pk).status == "active"


def test_execution_logs_are_read_only(login, tenant, author):
    client = login(author)
    assert client.get(reverse("admin:executions_executionlog_changelist")).status_code == 200
    assert client.get(reverse("admin:executions_executionlog_add")).status_code == 403


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
    assert b"Activate selected versions" in response.content
