"""Tenants, memberships and the role check every write goes through."""

from django.contrib.auth import get_user_model
from django.db import transaction

from rules.change_notifications import change_record
from rules.choices import Role
from rules.errors import NotAllowed
from rules.models import Membership, Tenant
from rules.tenant_roles import caller_capabilities


def capability_require(*, actor, tenant, capability: str) -> None:
    """Raise NotAllowed unless `actor` has `capability` in `tenant`.

    `actor=None` means the system itself (migrations, operator commands run on the server).
    """
    if actor is None:
        return
    if capability not in caller_capabilities(actor, tenant.pk):
        raise NotAllowed(f"{actor} may not {capability.replace('_', ' ')} in tenant {tenant.slug}")


@transaction.atomic
def tenant_create(*, slug: str, name: str = "") -> tuple[Tenant, bool]:
    """Create the tenant `slug` unless it exists; returns (tenant, created)."""
    tenant, created = Tenant.objects.get_or_create(slug=slug, defaults={"name": name or slug})
    if not created and name and tenant.name != name:
        tenant.name = name
        tenant.save(update_fields=["name"])
    return tenant, created


@transaction.atomic
def member_add(
    *, username: str, tenant: Tenant, role: str, password: str | None = None, email: str = ""
) -> tuple[Membership, bool]:
    """Give `username` the `role` in `tenant`, creating the user if needed (idempotent).

    Members can sign in to the admin (is_staff); a new user without a password cannot log in
    until one is set. Returns (membership, user_created).
    """
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
