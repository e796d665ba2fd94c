"""Reads of the API's hot path, cached per process (see rules.change_notifications).

Who a caller is (their token) and what they may do in which tenant (their memberships) are read on
every request and change rarely.
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AuthToken

from rules.change_notifications import ProcessCache, caches_generation, change_listener_start
from rules.choices import ROLE_CAPABILITIES, Role
from rules.models import Membership, Tenant

_token_cache = ProcessCache("api tokens", lambda: settings.API_AUTH_CACHE_SECONDS)
_roles_cache = ProcessCache("tenant roles", lambda: settings.API_AUTH_CACHE_SECONDS)


@dataclass(frozen=True)
class TenantRole:
    tenant: Tenant
    role: str

    @property
    def capabilities(self) -> frozenset[str]:
        return ROLE_CAPABILITIES.get(self.role, frozenset())


class TokenRefused(Exception):
    """The token is unknown, expired, or its account is inactive; `str()` says which."""


def token_owner(token: str) -> tuple:
    """(user, AuthToken) for a valid API token; raises TokenRefused otherwise."""
    change_listener_start()
    digest = hash_token(token)
    cached = _token_cache.get(digest)
    if cached is None:
        generation = caches_generation()
        # The digest is the AuthToken's primary key: one indexed lookup, user joined.
        auth_token = (
            AuthToken.objects.select_related("user").filter(digest=digest).first()
            if len(token) <= 256
            else None
        )
        if auth_token is None:
            raise TokenRefused("unknown or revoked token")
        cached = (auth_token.user, auth_token)
        _token_cache.put(digest, cached, generation)
    user, auth_token = cached
    if auth_token.expiry is not None and auth_token.expiry < timezone.now():
        raise TokenRefused("expired token")
    if not user.is_active:
        raise TokenRefused("inactive or revoked account")
    return user, auth_token


def caller_tenant_roles(user) -> dict[str, TenantRole]:
    """The tenants `user` acts in, by slug, with their role; superusers: every active tenant."""
    if not user or not user.is_authenticated or not user.is_active:
        return {}
    change_listener_start()
    key = user.pk
    roles = _roles_cache.get(key)
    if roles is None:
        generation = caches_generation()
        if user.is_superuser:
            roles = {t.slug: TenantRole(t, Role.ADMIN) for t in Tenant.objects.filter(active=True)}
        else:
            roles = {
                m.tenant.slug: TenantRole(m.tenant, m.role)
                for m in Membership.objects.filter(user=user, tenant__active=True).select_related(
                    "tenant"
                )
            }
        _roles_cache.put(key, roles, generation)
    return roles


def caller_capabilities(user, tenant_id: int) -> frozenset[str]:
    """What `user` may do in the tenant `tenant_id` (superusers: everything)."""
    if user.is_active and user.is_superuser:
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
    if user.is_active and user.is_superuser:
        return None
    return [r.tenant.pk for r in caller_tenant_roles(user).values() if capability in r.capabilities]
