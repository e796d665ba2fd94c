"""Invitations: how an existing account joins another tenant, by its own choice.

A tenant admin invites an e-mail address with a role; the link goes to that address (and is
shown once to the admin). The link alone is not enough: it is accepted by a signed-in account
whose e-mail address is the invited one, and only then does the membership exist. An account
whose password a tenant admin chose (member_create) accepts only once its owner has changed it.
Only a SHA-256 digest of the link's token is stored.
"""

import hashlib
import logging
import secrets
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from rules.change_notifications import change_record
from rules.choices import Capability
from rules.errors import ServiceError
from rules.models import ApiClient, Invitation, Membership
from rules.services.tenancy import capability_require, role_check

logger = logging.getLogger(__name__)

TOKEN_BYTES = 32  # 256 random bits, URL-safe: unguessable, so a digest lookup is enough


class InvitationInvalid(ServiceError):
    """The link is unknown, used, expired, or cannot be accepted by this account."""

    code = "invitation_invalid"


class InvitationNotFound(InvitationInvalid):
    code = "not_found"


def invitation_token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def invitation_create(
    *, tenant, email: str, role: str, actor, accept_url_for: Callable[[str], str]
) -> tuple[Invitation, str]:
    """Invite `email` into `tenant` as `role`; returns (invitation, accept link), the link once.

    `accept_url_for(token)` makes the absolute link. The e-mail leaves after commit; a failure to
    send it is logged (without the link), since the inviting admin sees the link anyway. A new
    invitation of the same address replaces its pending ones.
    """
    capability_require(actor=actor, tenant=tenant, capability=Capability.MANAGE_MEMBERS)
    role_check(role)
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError as error:
        raise InvitationInvalid(f"e-mail {email!r}: {' '.join(error.messages)}") from error
    Invitation.objects.filter(tenant=tenant, email__iexact=email, accepted_at=None).delete()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    invitation = Invitation.objects.create(
        tenant=tenant,
        email=email,
        role=role,
        token_digest=invitation_token_digest(token),
        invited_by=actor,
        expires_at=timezone.now() + timedelta(days=settings.INVITATION_EXPIRY_DAYS),
    )
    accept_url = accept_url_for(token)
    transaction.on_commit(lambda: _invitation_mail_send(invitation, accept_url))
    return invitation, accept_url


def _invitation_mail_send(invitation: Invitation, accept_url: str) -> None:
    inviter = invitation.invited_by.get_username() if invitation.invited_by else "An operator"
    body = (
        f"{inviter} invites you to tenant {invitation.tenant.name} ({invitation.tenant.slug}) "
        f"as {invitation.role}.\n\n"
        f"Sign in with your existing account, then open this link to accept:\n{accept_url}\n\n"
        f"The link works once, until {invitation.expires_at:%Y-%m-%d %H:%M} UTC. If you did not "
        "expect it, ignore this message: nothing happens unless you accept."
    )
    try:
        send_mail(
            f"Invitation to {invitation.tenant.name} as {invitation.role}",
            body,
            None,
            [invitation.email],
        )
    except Exception as error:  # SMTP or network: the admin has the link on screen
        logger.warning(
            "invitation e-mail to %s (invitation %s) not sent: %s",
            invitation.email,
            invitation.pk,
            error,
        )


def invitation_for_token(token: str, *, lock: bool = False) -> Invitation:
    """The usable invitation behind `token`, or InvitationInvalid saying why it is not usable."""
    queryset = Invitation.objects.select_for_update() if lock else Invitation.objects
    invitation = queryset.filter(token_digest=invitation_token_digest(token)).first()
    if invitation is None:
        raise InvitationNotFound("This invitation link is not valid; ask for a new invitation.")
    if invitation.accepted_at is not None:
        raise InvitationInvalid(
            f"This invitation was accepted on {invitation.accepted_at:%Y-%m-%d %H:%M} UTC; "
            "a link works once."
        )
    if invitation.expires_at <= timezone.now():
        raise InvitationInvalid(
            f"This invitation expired on {invitation.expires_at:%Y-%m-%d %H:%M} UTC; "
            f"ask an admin of {invitation.tenant.slug} for a new one."
        )
    if not invitation.tenant.active:
        raise InvitationInvalid(f"Tenant {invitation.tenant.slug} is switched off.")
    return invitation


def _address(email: str) -> str:
    return (email or "").strip().casefold()


def invitation_accept_check(*, invitation: Invitation, user) -> None:
    """Raise InvitationInvalid if `user` may not accept the (usable) `invitation`."""
    if not (user and user.is_authenticated and user.is_active):
        raise InvitationInvalid("Sign in to accept an invitation.")
    if ApiClient.objects.filter(user_id=user.pk).exists():
        raise InvitationInvalid("An API client's account cannot join tenants.")
    if not _address(user.email) or _address(user.email) != _address(invitation.email):
        # The link holder sees the invited address on the page already; the message adds nothing.
        raise InvitationInvalid(
            "This invitation was sent to another e-mail address than your account's. Sign in "
            "with the account of the address it was sent to, or ask the tenant's admins to "
            "invite your own address."
        )
    existing = Membership.objects.filter(user=user, tenant=invitation.tenant).first()
    if existing is not None:
        raise InvitationInvalid(
            f"You are already a member of {invitation.tenant.slug} as {existing.role}; "
            "ask its admins to change your role."
        )
    # The hash a tenant admin set is still the account's: they know the password, and would
    # reach this tenant too by signing in with it.
    chosen_by = (
        Membership.objects.filter(user=user, password_set_by_admin=user.password)
        .exclude(password_set_by_admin="")
        .select_related("tenant")
        .first()
    )
    if chosen_by is not None:
        raise InvitationInvalid(
            f"Your password was chosen by the admins of {chosen_by.tenant.slug} when they made "
            "this account; change it first (Change password, top right) and then accept."
        )


@transaction.atomic
def invitation_accept(*, token: str, user) -> Membership:
    """Make the signed-in `user` a member of the invitation's tenant with its role."""
    invitation = invitation_for_token(token, lock=True)
    invitation_accept_check(invitation=invitation, user=user)
    membership = Membership.objects.create(
        user=user, tenant=invitation.tenant, role=invitation.role
    )
    invitation.accepted_at, invitation.accepted_by = timezone.now(), user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    change_record()  # cached role maps of this process learn the new member now
    return membership


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor) -> None:
    """Withdraw a pending invitation: its link stops working. An accepted one stays (audit)."""
    capability_require(actor=actor, tenant=invitation.tenant, capability=Capability.MANAGE_MEMBERS)
    if invitation.accepted_at is not None:
        raise InvitationInvalid(
            f"The invitation of {invitation.email} was accepted; remove the membership instead."
        )
    invitation.delete()
