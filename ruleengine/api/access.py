"""Which tenant a request acts in and what the caller may do there; the API's one entry point.

A caller with one tenant acts in it; a caller in several names one with the `X-Tenant` header.
Objects are scoped with the models' `visible_to` / `for_tenant`, the same code the admin uses.
"""

from rest_framework import permissions, status

from ruleengine.api.errors import ApiError
from rules.choices import Capability
from rules.models import Tenant
from rules.tenant_roles import TenantRole, caller_tenant_roles

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
    return request_tenant_role(request).tenant


def request_visible_tenant_ids(request, capability: str = Capability.VIEW) -> list[int]:
    """Tenants whose objects a list may show: the X-Tenant one, else all where the role allows."""
    if request.META.get(TENANT_HEADER, "").strip():
        tenant_role = request_tenant_role(request)
        return [tenant_role.tenant.pk] if capability in tenant_role.capabilities else []
    roles = caller_tenant_roles(request.user).values()
    return [r.tenant.pk for r in roles if capability in r.capabilities]


def capability_check(request, tenant: Tenant, capability: str) -> None:
    """403 unless the caller's role in `tenant` grants `capability`."""
    roles = caller_tenant_roles(request.user)
    tenant_role = roles.get(tenant.slug)
    if tenant_role is None:
        raise ApiError(status_code=404, code="not_found", message="Not found.")
    if capability not in tenant_role.capabilities:
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
