"""Which tenant a request acts in and what the caller may do there; the API's one entry point.

A caller with one tenant acts in it; a caller in several names one with the `X-Tenant` header.
Querysets are scoped with the models' `visible_to(user, capability, tenant=...)`, narrowed to
`request_narrowing_tenant(request)`, and roles come from rules.tenant_roles: the same code and
the same cached roles the admin and the services use.
"""

from rest_framework import permissions, status

from ruleengine.api.errors import ApiError
from rules.choices import Capability
from rules.models import Tenant
from rules.tenant_roles import TenantRole, caller_capabilities, caller_tenant_roles

TENANT_HEADER = "HTTP_X_TENANT"


def request_tenant_role(request) -> TenantRole:
    """The (tenant, role) the request acts as; 400/404 when it cannot be told."""
    cached = getattr(request, "_tenant_role", None)
    if cached is not None:
        return cached
    roles = caller_tenant_roles(request.user)
    wanted = request.META.get(TENANT_HEADER, "").strip()
    if wanted:
        tenant_role = roles.get(wanted)
        if tenant_role is None:
            # Not 403: another tenant's existence is not revealed.
            raise ApiError(
                status_code=status.HTTP_404_NOT_FOUND,
                code="tenant_not_found",
                message=f"No tenant {wanted!r} for this caller.",
            )
    elif len(roles) == 1:
        (tenant_role,) = roles.values()
    elif not roles:
        raise ApiError(
            status_code=status.HTTP_403_FORBIDDEN,
            code="permission_denied",
            message="The caller is not a member of any active tenant.",
        )
    else:
        raise ApiError(
            status_code=status.HTTP_400_BAD_REQUEST,
            code="tenant_required",
            message="The caller belongs to several tenants: name one with the X-Tenant header.",
            details={"tenants": sorted(roles)},
        )
    request._tenant_role = tenant_role
    return tenant_role


def request_tenant(request) -> Tenant:
    """The tenant a write (or a lookup in one tenant) acts in."""
    return request_tenant_role(request).tenant


def request_narrowing_tenant(request) -> Tenant | None:
    """The tenant `X-Tenant` names, to pass to `visible_to(..., tenant=)`; None without it.

    404 for a tenant that is not the caller's. A tenant where the caller lacks the capability is
    returned all the same: `visible_to` then finds nothing, so such a list is empty, not a 403.
    """
    if not request.META.get(TENANT_HEADER, "").strip():
        return None
    return request_tenant(request)


def capability_check(request, tenant: Tenant, capability: str) -> None:
    """404 unless `tenant` is one of the caller's, 403 unless their role there grants `capability`.

    What a role allows comes from `caller_capabilities`, as in the services' `capability_require`
    and in `visible_to`, so a superuser reaches what their lists show (inactive tenants too).
    """
    capabilities = caller_capabilities(request.user, tenant.pk)
    if not capabilities:
        raise ApiError(
            status_code=status.HTTP_404_NOT_FOUND, code="not_found", message="Not found."
        )
    if capability not in capabilities:
        tenant_role = caller_tenant_roles(request.user)[tenant.slug]
        raise ApiError(
            status_code=status.HTTP_403_FORBIDDEN,
            code="permission_denied",
            message=f"Your role {tenant_role.role!r} in tenant {tenant.slug} does not allow "
            f"{capability.replace('_', ' ')}.",
        )


class TenantCapability(permissions.BasePermission):
    """Reads need `view`; a view sets `write_capability` (default `edit`) for writes.

    Object-level checks run on the object's tenant; the queryset already hides other tenants.
    """

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request, view, obj):
        capability = (
            Capability.VIEW
            if request.method in permissions.SAFE_METHODS
            else getattr(view, "write_capability", Capability.EDIT)
        )
        tenant = view.object_tenant(obj) if hasattr(view, "object_tenant") else obj.tenant
        capability_check(request, tenant, capability)
        return True
