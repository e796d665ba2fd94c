import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from rules.models import Membership, Ruleset, Tenant
from rules.services.demo import DEMO_PATTERNS, DEMO_RULES

pytestmark = pytest.mark.django_db


def run(*args, **kwargs) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out, **kwargs)
    return out.getvalue()


def test_create_tenant_is_idempotent():
    assert "Created acme" in run("create_tenant", "acme", "--name", "Acme Corp")
    assert "Tenant exists: acme" in run("create_tenant", "acme")
    assert Tenant.objects.get(slug="acme").name == "Acme Corp"


def test_add_member_creates_the_user_with_the_password_from_the_environment(monkeypatch):
    run("create_tenant", "acme")
    monkeypatch.setenv("DJANGO_MEMBER_PASSWORD", "s3cret-pass-word")
    out = run("add_member", "alice", "--tenant", "acme", "--role", "author")
    assert "alice (new user) is author in acme" in out
    alice = get_user_model().objects.get(username="alice")
    assert alice.check_password("s3cret-pass-word") and alice.is_staff


def test_add_member_is_idempotent_and_changes_the_role(monkeypatch):
    run("create_tenant", "acme")
    monkeypatch.setenv("DJANGO_MEMBER_PASSWORD", "s3cret-pass-word")
    run("add_member", "alice", "--tenant", "acme", "--role", "author")
    out = run("add_member", "alice", "--tenant", "acme", "--role", "approver")
    assert "(existing user) is approver" in out
    assert Membership.objects.get(user__username="alice").role == "approver"
    assert Membership.objects.count() == 1


def test_add_member_needs_a_password_for_a_new_user_without_a_terminal(monkeypatch):
    run("create_tenant", "acme")
    monkeypatch.delenv("DJANGO_MEMBER_PASSWORD", raising=False)
    monkeypatch.setattr("os.isatty", lambda fd: False)
    with pytest.raises(CommandError, match="DJANGO_MEMBER_PASSWORD"):
        run("add_member", "bob", "--tenant", "acme", "--role", "viewer")
    assert not get_user_model().objects.filter(username="bob").exists()


def test_add_member_rejects_unknown_tenant(monkeypatch):
    monkeypatch.setenv("DJANGO_MEMBER_PASSWORD", "s3cret-pass-word")
    with pytest.raises(CommandError, match="no tenant 'nope'"):
        run("add_member", "bob", "--tenant", "nope", "--role", "viewer")


@pytest.mark.smoke
def test_seed_demo_creates_an_active_default_ruleset_and_is_idempotent():
    out = run("seed_demo")
    assert "author" in out and "approver" in out and "admin" in out
    run("seed_demo")
    ruleset = Ruleset.objects.get(tenant__slug="demo", name="credit_scoring")
    assert (ruleset.status, ruleset.is_default, ruleset.version) == ("active", True, "1.0")
    assert ruleset.rules.count() == len(DEMO_RULES)
    assert ruleset.patterns.count() == len(DEMO_PATTERNS)
    assert Ruleset.objects.count() == 1
    users = get_user_model().objects
    assert users.get(username="admin").is_superuser
    assert Membership.objects.get(user__username="approver").role == "approver"


@pytest.mark.smoke
def test_demo_ruleset_evaluates_as_documented():
    from rules.services.compilation import ruleset_compile

    run("seed_demo")
    compiled = ruleset_compile(Ruleset.objects.get(name="credit_scoring"))
    result = compiled.evaluate(
        {"applicant": {"credit_score": 720, "income": 40000}, "debt_ratio": 0.3}
    )
    assert (result.pattern_result, result.action_recommendation) == ("Y-Y", "REVIEW")
    assert result.total_points == 100 + 50 * 1.5
    assert result.action["action_id"] == "A_REVIEW"
