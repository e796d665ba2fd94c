"""What a user may do in which tenant: the one place roles are read, cached per process.

The admin, the API, the services' role check and `TenantQuerySet.visible_to` all ask here, so a
role means the same everywhere and costs no query on the hot path (rules.change_notifications
keeps the cache fresh). The models are looked up by name because `rules.models` itself uses this
module for scoping.
"""

from dataclasses import dataclass

from django.apps import apps
from django.conf import settings

from rules.change_notifications import ProcessCache, caches_generation, change_listener_start
from rules.choices import ROLE_CAPABILITIES, Role

_roles_cache = ProcessCache("tenant roles", lambda: settings.API_AUTH_CACHE_SECONDS)


@dataclass(frozen=True)
class TenantRole:
    tenant: object  # rules.models.Tenant
    role: str

    @property
    def capabilities(self) -> frozenset[str]:
        return ROLE_CAPABILITIES.get(self.role, frozenset())


def _signed_in(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def caller_tenant_roles(user) -> dict[str, TenantRole]:
    """The tenants `user` acts in, by slug, with their role; superusers: every active tenant."""
    if not _signed_in(user):
        return {}
    change_listener_start()
    key = user.pk
    roles = _roles_cache.get(key)
    if roles is None:
        generation = caches_generation()
        tenant_model = apps.get_model("rules", "Tenant")
        membership_model = apps.get_model("rules", "Membership")
        if user.is_superuser:
            roles = {
                t.slug: TenantRole(t, Role.ADMIN) for t in tenant_model.objects.filter(active=True)
            }
        else:
            memberships = membership_model.objects.filter(user=user, tenant__active=True)
            roles = {
                m.tenant.slug: TenantRole(m.tenant, m.role)
                for m in memberships.select_related("tenant")
            }
        _roles_cache.put(key, roles, generation)
    return roles


def caller_capabilities(user, tenant_id: int) -> frozenset[str]:
    """What `user` may do in the tenant `tenant_id` (superusers: everything)."""
    if not _signed_in(user):
        return frozenset()
    if user.is_superuser:
        return ROLE_CAPABILITIES[Role.ADMIN]
    for tenant_role in caller_tenant_roles(user).values():
        if tenant_role.tenant.pk == tenant_id:
            return tenant_role.capabilities
    return frozenset()


def caller_tenant_ids(user, capability: str) -> list[int] | None:
    """Ids of the tenants where `user` has `capability`; None for a superuser (all of them).

    A list of ids rather than a membership subquery, so PostgreSQL can walk a (tenant, time)
    index in order instead of sorting a joined result.
    """
    if not _signed_in(user):
        return []
    if user.is_superuser:
        return None
    return [r.tenant.pk for r in caller_tenant_roles(user).values() if capability in r.capabilities]


def caller_may_anywhere(user, capability: str) -> bool:
    """Whether `user` holds `capability` in at least one tenant (superusers: always)."""
    tenant_ids = caller_tenant_ids(user, capability)
    return tenant_ids is None or bool(tenant_ids)
