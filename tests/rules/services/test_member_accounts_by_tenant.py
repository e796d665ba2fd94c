"""Memberships cannot cross tenants by name: tenant admins create accounts under their tenant's
name or invite by e-mail; an existing account joins another tenant only by accepting.

Issue 19, point 3: tenant A's admin created `jane.doe` with a password of A's choosing, tenant
B's admin then added the existing `jane.doe` to B by name, and A's admin signed in to B as her.
"""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone

from rules.choices import Role
from rules.errors import NotAllowed
from rules.models import Invitation, Membership
from rules.services.api_clients import api_client_create
from rules.services.invitations import (
    InvitationInvalid,
    InvitationNotFound,
    invitation_accept,
    invitation_create,
    invitation_for_token,
    invitation_revoke,
    invitation_token_digest,
)
from rules.services.tenancy import (
    MemberInvalid,
    member_add,
    member_create,
    member_create_problems,
)
from rules.tenant_roles import caller_tenant_roles

pytestmark = pytest.mark.django_db

PASSWORD = "chosen-by-tenant-a-2026"


def link_for(token: str) -> str:
    return f"https://rules.example.com/admin/rules/invitation/accept/{token}/"


def token_of(url: str) -> str:
    return url.rstrip("/").split("/")[-1]


@pytest.fixture
def acme_admin(member):
    return member(Role.ADMIN, username="ada")


@pytest.fixture
def globex_admin(member, other_tenant):
    return member(Role.ADMIN, username="gus", in_tenant=other_tenant)


def test_repro_a_tenant_admin_cannot_add_another_tenants_account_by_its_username(
    tenant, other_tenant, acme_admin, globex_admin
):
    jane = member_create(
        tenant=tenant, name="jane.doe", role=Role.VIEWER, password=PASSWORD, actor=acme_admin
    ).user
    assert jane.username == "jane.doe@acme" and jane.check_password(PASSWORD)

    # Before: member_add get_or_create'd the global username for any tenant admin.
    with pytest.raises(NotAllowed):
        member_add(username=jane.username, tenant=other_tenant, role=Role.ADMIN, actor=globex_admin)
    # The same name typed in B is B's own, new account: never A's jane.
    globex_jane = member_create(
        tenant=other_tenant, name="jane.doe", role=Role.ADMIN, actor=globex_admin
    ).user
    assert globex_jane.pk != jane.pk and globex_jane.username == "jane.doe@globex"
    assert set(caller_tenant_roles(jane)) == {"acme"}  # A's password opens A only
    jane.refresh_from_db()
    assert jane.check_password(PASSWORD)


def test_member_create_answers_alike_whether_a_username_exists_elsewhere_or_not(
    tenant, other_tenant, globex_admin, django_user_model
):
    django_user_model.objects.create_superuser("root", "root@example.com", "root-password-2026")
    member_create(tenant=tenant, name="jane.doe", role=Role.VIEWER, actor=None)
    answers = {
        name: member_create_problems(tenant=other_tenant, name=name, password="123")
        for name in ("root", "jane.doe", "nobody-at-all")
    }
    # The same answer (a weak password) for the superuser's name, another tenant's and a new one.
    assert len({str(problems) for problems in answers.values()}) == 1, answers
    assert set(answers["root"]) == {"password"}
    created = member_create(tenant=other_tenant, name="root", role=Role.ADMIN, actor=globex_admin)
    assert created.user.username == "root@globex" and not created.user.is_superuser
    assert not Membership.objects.filter(user__username="root").exists()


def test_member_create_refuses_a_name_taken_under_its_own_tenant_only(tenant, acme_admin):
    member_create(tenant=tenant, name="jane.doe", role=Role.VIEWER, actor=acme_admin)
    with pytest.raises(MemberInvalid, match=r"Jane\.Doe@acme is taken; choose another name"):
        member_create(tenant=tenant, name="Jane.Doe", role=Role.VIEWER, actor=acme_admin)
    for name in ("jane@globex", "jane.doe\n", ""):
        assert "name" in member_create_problems(tenant=tenant, name=name)


def test_member_create_needs_the_member_managing_role(tenant, author):
    with pytest.raises(NotAllowed):
        member_create(tenant=tenant, name="mallory", role=Role.ADMIN, actor=author)


def test_member_create_without_a_password_makes_an_account_that_cannot_sign_in(tenant, acme_admin):
    user = member_create(tenant=tenant, name="newbie", role=Role.VIEWER, actor=acme_admin).user
    assert user.is_staff and not user.has_usable_password()


def test_member_add_stays_the_operators_path(tenant, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-2026")
    membership, created = member_add(username="ops.user", tenant=tenant, role="viewer", actor=root)
    assert created and membership.user.username == "ops.user"


# --- Invitations ---------------------------------------------------------------------------------


def invite(tenant, actor, django_capture_on_commit_callbacks, **fields):
    with django_capture_on_commit_callbacks(execute=True):
        return invitation_create(
            tenant=tenant,
            email=fields.pop("email", "jane@corp.example"),
            role=fields.pop("role", Role.AUTHOR),
            actor=actor,
            accept_url_for=link_for,
        )


def test_an_existing_account_joins_another_tenant_only_by_accepting(
    tenant, other_tenant, acme_admin, globex_admin, django_capture_on_commit_callbacks
):
    jane = member_create(
        tenant=tenant,
        name="jane.doe",
        role=Role.VIEWER,
        email="jane@corp.example",
        actor=acme_admin,
    ).user
    invitation, url = invite(other_tenant, globex_admin, django_capture_on_commit_callbacks)

    assert not Membership.objects.filter(user=jane, tenant=other_tenant).exists()
    (message,) = mail.outbox
    assert message.to == ["jane@corp.example"] and url in message.body
    token = token_of(url)
    stored = Invitation.objects.get(pk=invitation.pk)
    assert stored.token_digest == invitation_token_digest(token)
    assert token not in str(Invitation.objects.filter(pk=invitation.pk).values().get())

    membership = invitation_accept(token=token, user=jane)
    assert (membership.tenant, membership.role) == (other_tenant, Role.AUTHOR)
    stored.refresh_from_db()
    assert stored.accepted_by == jane and stored.accepted_at is not None
    with pytest.raises(InvitationInvalid, match="accepted on .*a link works once"):
        invitation_accept(token=token, user=globex_admin)


def test_an_invitation_cannot_be_accepted_expired_revoked_or_by_a_member(
    tenant, other_tenant, acme_admin, globex_admin, django_capture_on_commit_callbacks
):
    jane = member_create(
        tenant=tenant, name="jane", role=Role.VIEWER, email="jane@corp.example", actor=acme_admin
    ).user
    invitation, url = invite(other_tenant, globex_admin, django_capture_on_commit_callbacks)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    with pytest.raises(InvitationInvalid, match="expired on"):
        invitation_accept(token=token_of(url), user=jane)

    invitation, url = invite(other_tenant, globex_admin, django_capture_on_commit_callbacks)
    invitation_revoke(invitation=invitation, actor=globex_admin)
    with pytest.raises(InvitationNotFound):
        invitation_for_token(token_of(url))

    _, url = invite(tenant, acme_admin, django_capture_on_commit_callbacks)
    with pytest.raises(InvitationInvalid, match="already a member of acme as viewer"):
        invitation_accept(token=token_of(url), user=jane)

    client, _ = api_client_create(tenant=tenant, name="app", role=Role.VIEWER)
    _, url = invite(other_tenant, globex_admin, django_capture_on_commit_callbacks)
    with pytest.raises(InvitationInvalid, match="API client"):
        invitation_accept(token=token_of(url), user=client.user)


def test_inviting_needs_the_member_managing_role_and_a_valid_address(
    tenant, author, acme_admin, django_capture_on_commit_callbacks
):
    with pytest.raises(NotAllowed):
        invite(tenant, author, django_capture_on_commit_callbacks)
    with pytest.raises(InvitationInvalid, match="e-mail 'not an address'"):
        invite(tenant, acme_admin, django_capture_on_commit_callbacks, email="not an address")
    assert not mail.outbox


def test_a_new_invitation_of_the_same_address_replaces_the_pending_one(
    tenant, acme_admin, django_capture_on_commit_callbacks
):
    _, first = invite(tenant, acme_admin, django_capture_on_commit_callbacks)
    second_invitation, _ = invite(
        tenant, acme_admin, django_capture_on_commit_callbacks, email="JANE@corp.example"
    )
    assert list(Invitation.objects.all()) == [second_invitation]
    with pytest.raises(InvitationNotFound):
        invitation_for_token(token_of(first))


def test_an_invitation_expires_after_the_configured_days(
    tenant, acme_admin, settings, django_capture_on_commit_callbacks
):
    settings.INVITATION_EXPIRY_DAYS = 2
    invitation, _ = invite(tenant, acme_admin, django_capture_on_commit_callbacks)
    expected = timezone.now() + timedelta(days=2)
    assert abs(invitation.expires_at - expected) < timedelta(minutes=1)


def test_a_failed_mail_is_logged_without_the_link(
    tenant, acme_admin, settings, caplog, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # discard port: refused
    invitation, url = invite(tenant, acme_admin, django_capture_on_commit_callbacks)
    assert Invitation.objects.filter(pk=invitation.pk).exists()
    assert "not sent" in caplog.text and token_of(url) not in caplog.text


def test_inviting_an_address_creates_no_account(
    tenant, acme_admin, django_capture_on_commit_callbacks
):
    before = get_user_model().objects.count()
    invite(tenant, acme_admin, django_capture_on_commit_callbacks, email="root@example.com")
    assert get_user_model().objects.count() == before


def test_repro_an_account_whose_password_a_tenant_admin_chose_cannot_join_another_tenant(
    tenant, other_tenant, acme_admin, globex_admin, django_capture_on_commit_callbacks
):
    """Review S2: A's admin set carol's password; had she joined B, A's admin could sign in to B."""
    created = member_create(
        tenant=tenant,
        name="carol",
        role=Role.VIEWER,
        password=PASSWORD,
        email="carol@corp.example",
        actor=acme_admin,
    )
    carol = created.user
    assert created.password_set_by_admin == carol.password != ""
    invitation, url = invite(
        other_tenant, globex_admin, django_capture_on_commit_callbacks, email="carol@corp.example"
    )
    with pytest.raises(InvitationInvalid, match="chosen by the admins of acme.*change it first"):
        invitation_accept(token=token_of(url), user=carol)
    assert not Membership.objects.filter(user=carol, tenant=other_tenant).exists()
    assert Invitation.objects.get(pk=invitation.pk).accepted_at is None

    carol.set_password("carols-own-secret-2026")  # what the password change page does
    carol.save()
    assert invitation_accept(token=token_of(url), user=carol).tenant == other_tenant
    assert not carol.check_password(PASSWORD)


def test_an_account_without_a_password_chosen_by_a_tenant_admin_accepts(
    tenant, other_tenant, globex_admin, django_user_model, django_capture_on_commit_callbacks
):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-2026")
    ops, _ = member_add(
        username="ops.user",
        tenant=tenant,
        role=Role.VIEWER,
        password="operator-chosen-2026",
        email="ops@corp.example",
        actor=root,
    )
    assert ops.password_set_by_admin == ""
    _, url = invite(
        other_tenant, globex_admin, django_capture_on_commit_callbacks, email="ops@corp.example"
    )
    assert invitation_accept(token=token_of(url), user=ops.user).tenant == other_tenant


def test_repro_an_invitation_is_accepted_only_by_an_account_of_the_invited_address(
    tenant, other_tenant, acme_admin, globex_admin, django_capture_on_commit_callbacks
):
    """Review S3: the link was a bearer credential; whoever held it joined, any account."""
    mallory = member_create(
        tenant=tenant, name="mallory", role=Role.VIEWER, email="mallory@corp.example", actor=None
    ).user
    invitation, url = invite(
        other_tenant, globex_admin, django_capture_on_commit_callbacks, email="jane@corp.example"
    )
    for user in (mallory, acme_admin):  # another address, and none at all
        with pytest.raises(InvitationInvalid, match="sent to another e-mail address") as refused:
            invitation_accept(token=token_of(url), user=user)
        assert "jane@corp.example" not in str(refused.value)
    assert not Membership.objects.filter(tenant=other_tenant).exclude(user=globex_admin).exists()
    assert Invitation.objects.get(pk=invitation.pk).accepted_at is None

    jane = member_create(
        tenant=tenant, name="jane", role=Role.VIEWER, email="Jane@Corp.Example", actor=None
    ).user
    assert invitation_accept(token=token_of(url), user=jane).tenant == other_tenant
