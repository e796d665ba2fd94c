"""Tenants, memberships and the role check every write goes through."""

from django.contrib.auth import get_user_model
from django.db import transaction

from rules.change_notifications import change_record
from rules.choices import Capability, Role
from rules.errors import NotAllowed, ServiceError
from rules.models import ApiClient, Membership, Tenant
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
    """Give `username` the `role` in `tenant`, creating the user if needed (idempotent).

    Members can sign in to the admin (is_staff); a new user without a password cannot log in
    until one is set. Returns (membership, user_created).
    """
    capability_require(actor=actor, tenant=tenant, capability=Capability.MANAGE_MEMBERS)
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(Role.values)}")
    user_model = get_user_model()
    user, user_created = user_model.objects.get_or_create(
        username=username, defaults={"email": email, "is_staff": True}
    )
    if user_created or password:
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
