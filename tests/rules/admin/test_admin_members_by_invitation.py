"""The members pages: new accounts under the tenant's name, invitations for existing accounts.

Issue 19, point 3: the add form took any global username (and said "The user exists"), so one
tenant's admin could add, and set the password of, an account another tenant uses.
"""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from rules.choices import Role
from rules.models import Invitation, Membership
from rules.tenant_roles import caller_tenant_roles

pytestmark = pytest.mark.django_db

PASSWORD = "chosen-by-tenant-a-2026"
ADD = reverse("admin:rules_membership_add")
INVITE = reverse("admin:rules_invitation_add")


@pytest.fixture
def acme_admin(member):
    return member(Role.ADMIN, username="ada")


@pytest.fixture
def globex_admin(member, other_tenant):
    return member(Role.ADMIN, username="gus", in_tenant=other_tenant)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def member_form(tenant, name, password="", role=Role.VIEWER) -> dict:
    return {"tenant": str(tenant.pk), "name": name, "email": "", "password": password, "role": role}


def form_errors(response) -> dict:
    return {
        field: list(errors) for field, errors in response.context["adminform"].form.errors.items()
    }


def test_repro_another_tenants_admin_cannot_get_jane_into_their_tenant_by_name(
    tenant, other_tenant, acme_admin, globex_admin
):
    created = signed_in(acme_admin).post(ADD, member_form(tenant, "jane.doe", PASSWORD))
    assert created.status_code == 302
    jane = Membership.objects.get(tenant=tenant, user__username="jane.doe@acme").user

    globex = signed_in(globex_admin)
    # Typing jane's full username is not a name a tenant admin can give.
    typed_full = globex.post(ADD, member_form(other_tenant, "jane.doe@acme", role=Role.ADMIN))
    assert typed_full.status_code == 200 and "name" in form_errors(typed_full)
    # Typing "jane.doe" makes globex's own, new account.
    assert (
        globex.post(ADD, member_form(other_tenant, "jane.doe", role=Role.ADMIN)).status_code == 302
    )
    assert not Membership.objects.filter(user=jane, tenant=other_tenant).exists()
    assert Membership.objects.get(
        tenant=other_tenant, role=Role.ADMIN, user__username="jane.doe@globex"
    )

    # A's admin, who knows jane's password, signs in as her and reaches acme only.
    as_jane = Client()
    response = as_jane.post(
        "/admin/login/?next=/admin/", {"username": "jane.doe@acme", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert set(caller_tenant_roles(jane)) == {"acme"}
    assert b"globex" not in as_jane.get(reverse("admin:rules_ruleset_changelist")).content


def test_the_add_form_answers_alike_for_taken_and_free_usernames_of_other_tenants(
    tenant, other_tenant, acme_admin, globex_admin, django_user_model
):
    django_user_model.objects.create_superuser("root", "root@example.com", "root-password-2026")
    signed_in(acme_admin).post(ADD, member_form(tenant, "jane.doe", PASSWORD))
    globex = signed_in(globex_admin)

    # A weak password keeps the form on screen: the answers must not depend on the name.
    answers = {}
    for name in ("root", "jane.doe", "ada", "nobody-at-all"):
        response = globex.post(ADD, member_form(other_tenant, name, password="123"))
        assert response.status_code == 200
        page = response.content.decode().replace(name, "NAME")
        answers[name] = (form_errors(response), re.sub(r'value="[^"]*"', "", page))
    errors = {name: answer[0] for name, answer in answers.items()}
    assert len({str(e) for e in errors.values()}) == 1 and set(errors["root"]) == {"password"}
    assert len({answer[1] for answer in answers.values()}) == 1
    assert b"exists" not in response.content

    for name in ("root", "jane.doe", "nobody-at-all"):
        assert globex.post(ADD, member_form(other_tenant, name, PASSWORD)).status_code == 302
    root = django_user_model.objects.get(username="root")
    assert root.check_password("root-password-2026") and not root.memberships.exists()


def test_a_name_taken_under_the_tenant_is_a_field_error(tenant, acme_admin):
    client = signed_in(acme_admin)
    client.post(ADD, member_form(tenant, "jane.doe", PASSWORD))
    response = client.post(ADD, member_form(tenant, "jane.doe"))
    assert form_errors(response) == {"name": ["jane.doe@acme is taken; choose another name."]}


def test_a_tenant_admin_changes_a_members_role_but_never_their_password(tenant, acme_admin, member):
    viewer = member(Role.VIEWER, username="vic")
    membership = viewer.memberships.get()
    client = signed_in(acme_admin)
    url = reverse("admin:rules_membership_change", args=[membership.pk])
    assert b'type="password"' not in client.get(url).content
    response = client.post(url, {"role": Role.AUTHOR, "password": "taken-over-2026"})
    assert response.status_code == 302
    membership.refresh_from_db()
    viewer.refresh_from_db()
    assert membership.role == Role.AUTHOR and viewer.check_password("pw-for-tests-1")


def test_invited_account_joins_by_accepting_the_mailed_link(
    tenant, other_tenant, acme_admin, globex_admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        page = signed_in(globex_admin).post(
            INVITE, {"tenant": str(other_tenant.pk), "email": "ada@corp.example", "role": "author"}
        )
    assert page.status_code == 200  # the one-time page, not a redirect
    (message,) = mail.outbox
    link = re.search(r"http://testserver(/admin/rules/invitation/accept/[\w-]+/)", message.body)
    assert link.group(0).encode() in page.content and link.group(1)
    accept = link.group(1)

    acme_admin.email = "Ada@Corp.example"
    acme_admin.save(update_fields=["email"])
    ada = signed_in(acme_admin)
    confirm = ada.get(accept)
    assert confirm.status_code == 200 and b"Accept and join globex" in confirm.content
    assert not Membership.objects.filter(user=acme_admin, tenant=other_tenant).exists()
    joined = ada.post(accept, follow=True)
    assert b"You are now author in globex." in joined.content
    assert Membership.objects.get(user=acme_admin, tenant=other_tenant).role == Role.AUTHOR

    again = ada.post(accept)
    assert again.status_code == 400 and b"a link works once" in again.content
    assert ada.get(accept.replace(accept.split("/")[-2], "not-a-token")).status_code == 404


def test_accepting_needs_a_signed_in_account(other_tenant, globex_admin):
    page = signed_in(globex_admin).post(
        INVITE, {"tenant": str(other_tenant.pk), "email": "x@corp.example", "role": "viewer"}
    )
    accept = re.search(rb"/admin/rules/invitation/accept/[\w-]+/", page.content).group(0)
    response = Client().post(accept.decode())
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert Invitation.objects.get().accepted_at is None


def test_a_pending_invitation_is_withdrawn_by_deleting_it(other_tenant, globex_admin):
    client = signed_in(globex_admin)
    page = client.post(
        INVITE, {"tenant": str(other_tenant.pk), "email": "x@corp.example", "role": "viewer"}
    )
    accept = re.search(rb"/admin/rules/invitation/accept/[\w-]+/", page.content).group(0)
    invitation = Invitation.objects.get()
    listing = client.get(reverse("admin:rules_invitation_changelist"))
    assert b"x@corp.example" in listing.content and b"pending" in listing.content
    assert accept not in listing.content  # the link was shown once
    client.post(reverse("admin:rules_invitation_delete", args=[invitation.pk]), {"post": "yes"})
    assert not Invitation.objects.exists()
    assert client.get(accept.decode()).status_code == 404


def test_invitations_are_for_tenant_admins_only(tenant, author):
    client = signed_in(author)
    assert client.get(reverse("admin:rules_invitation_changelist")).status_code == 403
    response = client.post(
        INVITE, {"tenant": str(tenant.pk), "email": "x@y.example", "role": "admin"}
    )
    assert response.status_code == 403 and not Invitation.objects.exists()


def pending_invitation_link(admin_user, tenant, email) -> str:
    page = signed_in(admin_user).post(
        INVITE, {"tenant": str(tenant.pk), "email": email, "role": "viewer"}
    )
    return re.search(rb"/admin/rules/invitation/accept/[\w-]+/", page.content).group(0).decode()


def test_repro_the_accept_page_refuses_an_account_whose_password_its_tenant_admin_chose(
    tenant, other_tenant, acme_admin, globex_admin
):
    form = {**member_form(tenant, "carol", PASSWORD), "email": "carol@corp.example"}
    assert signed_in(acme_admin).post(ADD, form).status_code == 302
    carol = Membership.objects.get(user__username="carol@acme").user
    accept = pending_invitation_link(globex_admin, other_tenant, "carol@corp.example")

    as_carol = signed_in(carol)
    page = as_carol.get(accept)
    assert page.status_code == 400 and b"chosen by the admins of acme" in page.content
    refused = as_carol.post(accept)
    assert refused.status_code == 400 and b"change it first" in refused.content
    assert not Membership.objects.filter(user=carol, tenant=other_tenant).exists()

    changed = as_carol.post(
        reverse("admin:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "carols-own-secret-2026",
            "new_password2": "carols-own-secret-2026",
        },
    )
    assert changed.status_code == 302
    assert as_carol.get(accept).status_code == 200
    as_carol.post(accept)
    assert Membership.objects.get(user=carol, tenant=other_tenant).role == Role.VIEWER


def test_the_accept_page_says_what_the_tenant_admins_can_and_cannot_do(
    other_tenant, acme_admin, globex_admin
):
    acme_admin.email = "ada@corp.example"
    acme_admin.save(update_fields=["email"])
    page = signed_in(acme_admin).get(
        pending_invitation_link(globex_admin, other_tenant, "ada@corp.example")
    )
    assert page.status_code == 200
    assert b"They cannot change your password" not in page.content
    assert b"whoever knows your password" in page.content


def test_repro_the_accept_page_refuses_an_account_of_another_address(
    other_tenant, acme_admin, globex_admin
):
    acme_admin.email = "ada@corp.example"
    acme_admin.save(update_fields=["email"])
    accept = pending_invitation_link(globex_admin, other_tenant, "jane@corp.example")
    refused = signed_in(acme_admin).post(accept)
    assert refused.status_code == 400 and b"sent to another e-mail address" in refused.content
    assert not Membership.objects.filter(user=acme_admin, tenant=other_tenant).exists()
    assert Invitation.objects.get().accepted_at is None


def test_repro_an_accepted_invitation_cannot_be_deleted(other_tenant, acme_admin, globex_admin):
    """Review B1: the delete page of an accepted invitation was a 500."""
    acme_admin.email = "ada@corp.example"
    acme_admin.save(update_fields=["email"])
    accept = pending_invitation_link(globex_admin, other_tenant, "ada@corp.example")
    signed_in(acme_admin).post(accept)
    invitation = Invitation.objects.get()
    assert invitation.accepted_at is not None

    gus = signed_in(globex_admin)
    delete = reverse("admin:rules_invitation_delete", args=[invitation.pk])
    assert gus.get(delete).status_code == 403
    assert gus.post(delete, {"post": "yes"}).status_code == 403
    assert Invitation.objects.filter(pk=invitation.pk).exists()

    pending_invitation_link(globex_admin, other_tenant, "x@corp.example")
    pending = Invitation.objects.get(accepted_at=None)
    response = gus.post(
        reverse("admin:rules_invitation_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [str(invitation.pk), str(pending.pk)],
            "post": "yes",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert b"was accepted" in response.content
    assert list(Invitation.objects.all()) == [invitation]
