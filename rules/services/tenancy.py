"""Tenants, memberships and the role check every write goes through."""

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from rules.change_notifications import change_record
from rules.choices import Capability, Role
from rules.errors import NotAllowed, ServiceError
from rules.models import ApiClient, Membership, Tenant, identifier_validator
from rules.tenant_roles import caller_capabilities


def capability_require(*, actor, tenant, capability: str) -> None:
    """Raise NotAllowed unless `actor` has `capability` in `tenant`.

    `actor=None` means the system itself (migrations, operator commands run on the server).
    """
    if actor is None:
        return
    if capability not in caller_capabilities(actor, tenant.pk):
        raise NotAllowed(f"{actor} may not {capability.replace('_', ' ')} in tenant {tenant.slug}")


def operator_require(*, actor, action: str) -> None:
    """Raise NotAllowed unless `actor` is an operator: the system (None) or a superuser."""
    if actor is not None and not (actor.is_active and actor.is_superuser):
        raise NotAllowed(f"{actor} may not {action}: only operators may")


@transaction.atomic
def tenant_create(*, slug: str, name: str = "", actor=None) -> tuple[Tenant, bool]:
    """Create the tenant `slug` unless it exists; returns (tenant, created)."""
    operator_require(actor=actor, action="create tenants")
    tenant, created = Tenant.objects.get_or_create(slug=slug, defaults={"name": name or slug})
    if not created and name and tenant.name != name:
        tenant.name = name
        tenant.save(update_fields=["name"])
    return tenant, created


@transaction.atomic
def tenant_update(*, tenant: Tenant, actor, name: str, active: bool) -> Tenant:
    """Rename a tenant or switch it on and off; its members' cached roles follow at once."""
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    capability_require(actor=actor, tenant=locked, capability=Capability.MANAGE_MEMBERS)
    if active != locked.active:
        # Switched off, a tenant locks out every member, its admins too: only operators may.
        operator_require(actor=actor, action=f"switch tenant {locked.slug} on or off")
    locked.name, locked.active = name, active
    locked.full_clean()
    locked.save(update_fields=["name", "active"])
    change_record()
    tenant.name, tenant.active = locked.name, locked.active
    return tenant


@transaction.atomic
def tenant_delete(*, tenant: Tenant, actor) -> None:
    """Delete a tenant with its memberships and API clients; operators only.

    Its rulesets and catalog entries protect it (ProtectedError): they are archived, not lost.
    """
    operator_require(actor=actor, action=f"delete tenant {tenant.slug}")
    tenant.delete()
    change_record()


class MemberInvalid(ServiceError):
    code = "invalid"


def role_check(role: str) -> None:
    if role not in Role.values:
        raise MemberInvalid(f"unknown role {role!r}; choose one of {', '.join(Role.values)}")


def tenant_username(*, tenant: Tenant, name: str) -> str:
    """The username of an account that `tenant`'s admins create: `name@slug`.

    Tenant admins create accounts only under their tenant's name, so nothing they are told can
    reveal whether a username exists elsewhere, and no tenant picks an account another uses.
    """
    return f"{name}@{tenant.slug}"


def member_create_problems(
    *, tenant: Tenant, name: str, password: str | None = None, email: str = ""
) -> dict[str, list[str]]:
    """What stands in the way of creating the account `name@slug`, by field (name, email, ...).

    "Taken" can only mean taken under this tenant's name, so it reveals nothing of other tenants.
    """
    try:
        identifier_validator(name)
    except ValidationError as error:
        return {"name": error.messages}
    user_model = get_user_model()
    username = tenant_username(tenant=tenant, name=name)
    max_length = user_model._meta.get_field("username").max_length
    if len(username) > max_length:
        return {"name": [f"{username} is longer than {max_length} characters; shorten the name."]}
    if user_model.objects.filter(username__iexact=username).exists():
        return {"name": [f"{username} is taken; choose another name."]}
    if email:
        try:
            validate_email(email)
        except ValidationError as error:
            return {"email": error.messages}
    if password:
        try:
            password_validation.validate_password(
                password, user_model(username=username, email=email)
            )
        except ValidationError as error:
            return {"password": error.messages}
    return {}


@transaction.atomic
def member_create(
    *,
    tenant: Tenant,
    name: str,
    role: str,
    actor,
    password: str | None = None,
    email: str = "",
) -> Membership:
    """Create the new account `name@slug` with `role` in `tenant`: how tenant admins add people.

    Its password is set here or never by a tenant admin: the account may join other tenants
    later (by accepting their invitations), and no tenant may then change how it signs in.
    A password set here is recorded (its hash) on the membership: the account cannot accept an
    invitation until its owner has changed it, since this tenant's admin knows it.
    Without a password the account cannot sign in until an operator sets one.
    """
    capability_require(actor=actor, tenant=tenant, capability=Capability.MANAGE_MEMBERS)
    role_check(role)
    problems = member_create_problems(tenant=tenant, name=name, password=password, email=email)
    if problems:
        raise MemberInvalid(
            "; ".join(f"{field}: {' '.join(texts)}" for field, texts in problems.items())
        )
    username = tenant_username(tenant=tenant, name=name)
    user = get_user_model()(username=username, email=email, is_staff=True)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as error:  # created by a concurrent request since the check above
        raise MemberInvalid(f"{username} is taken; choose another name") from error
    membership = Membership.objects.create(
        user=user, tenant=tenant, role=role, password_set_by_admin=user.password if password else ""
    )
    change_record()
    return membership


@transaction.atomic
def member_role_change(*, membership: Membership, role: str, actor) -> Membership:
    """Give a member another role in the same tenant (nothing else of the account changes)."""
    capability_require(actor=actor, tenant=membership.tenant, capability=Capability.MANAGE_MEMBERS)
    role_check(role)
    if ApiClient.objects.filter(user_id=membership.user_id).exists():
        raise ServiceError(
            f"{membership.user} is an API client's account; its role is the client's."
        )
    membership.role = role
    membership.save(update_fields=["role"])
    change_record()
    return membership


@transaction.atomic
def member_add(
    *,
    username: str,
    tenant: Tenant,
    role: str,
    password: str | None = None,
    email: str = "",
    actor=None,
) -> tuple[Membership, bool]:
    """Give the account `username` the `role` in `tenant`, creating it if needed (idempotent).

    Operators only (`manage.py add_member`, the demo data): adding an existing account by its
    username, or setting its password, would let one tenant's admin take over an account that
    other tenants use. Tenant admins use member_create or an invitation instead.
    Members can sign in to the admin (is_staff); a new user without a password cannot log in
    until one is set. Returns (membership, user_created).
    """
    operator_require(actor=actor, action="add accounts to tenants by username")
    role_check(role)
    user_model = get_user_model()
    user, user_created = user_model.objects.get_or_create(
        username=username, defaults={"email": email, "is_staff": True}
    )
    if password:
        user.set_password(password)
    elif user_created:
        user.set_unusable_password()
    if not user.is_staff:
        user.is_staff = True
    user.save()
    membership, _ = Membership.objects.update_or_create(
        user=user, tenant=tenant, defaults={"role": role}
    )
    change_record()
    return membership, user_created


@transaction.atomic
def member_remove(*, membership: Membership, actor) -> None:
    """Take a user's role in a tenant away; the user account stays (it may be in other tenants).

    An API client's membership is its role: it goes with the client's revocation, never alone.
    """
    capability_require(actor=actor, tenant=membership.tenant, capability=Capability.MANAGE_MEMBERS)
    if ApiClient.objects.filter(user_id=membership.user_id).exists():
        raise ServiceError(
            f"{membership.user} is an API client's account; revoke it under API clients instead."
        )
    membership.delete()
    change_record()  # cached role maps of this process forget the member now
