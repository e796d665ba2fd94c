"""Service accounts for applications: create one with a token, revoke it, rotate its token."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from knox.models import AuthToken

from rules.change_notifications import caches_clear
from rules.choices import Capability, Role
from rules.errors import ServiceError
from rules.models import ApiClient, Membership, Tenant, identifier_validator
from rules.services.tenancy import capability_require


class ApiClientError(ServiceError):
    code = "invalid"


class ApiClientRevoked(ServiceError):
    """The client is revoked already: revoking it again or giving it a token changes nothing."""

    code = "already_revoked"


def _username(tenant: Tenant, name: str) -> str:
    return f"api.{tenant.slug}.{name}"[:150]


def _expiry(expires_days: int | None):
    return timedelta(days=expires_days) if expires_days else None


def _revoked_at_locked(client: ApiClient):
    """The stored revocation time, with the client's row locked: two concurrent revocations
    (two admins, the admin and a script) then see each other, and the first one's time stays."""
    locked = ApiClient.objects.select_for_update().filter(pk=client.pk)
    return locked.values_list("revoked_at", flat=True).get()


def _moment(moment) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


@transaction.atomic
def api_client_create(
    *, tenant: Tenant, name: str, role: str, actor=None, expires_days: int | None = None
) -> tuple[ApiClient, str]:
    """Create the service account `name` in `tenant` and its first token; returns (client, token).

    The token is returned once and never stored: only its digest is.
    """
    capability_require(actor=actor, tenant=tenant, capability=Capability.MANAGE_MEMBERS)
    if role not in Role.values:
        raise ApiClientError(f"unknown role {role!r}; choose one of {', '.join(Role.values)}")
    try:
        identifier_validator(name)
    except Exception as error:
        raise ApiClientError(f"client name {name!r}: {' '.join(error.messages)}") from error
    if ApiClient.objects.filter(tenant=tenant, name=name).exists():
        raise ApiClientError(
            f"tenant {tenant.slug} already has an API client {name!r}; "
            "revoke it or choose another name"
        )
    user_model = get_user_model()
    username = _username(tenant, name)
    if user_model.objects.filter(username=username).exists():
        raise ApiClientError(f"a user {username!r} already exists")
    user = user_model(username=username, is_staff=False)
    user.set_unusable_password()
    user.save()
    Membership.objects.create(user=user, tenant=tenant, role=role)
    client = ApiClient.objects.create(tenant=tenant, name=name, user=user, created_by=actor)
    _, token = AuthToken.objects.create(user=user, expiry=_expiry(expires_days))
    return client, token


@transaction.atomic
def api_client_token_rotate(
    *, client: ApiClient, actor=None, expires_days: int | None = None
) -> str:
    """Replace every token of `client` with a new one; the old ones stop working at commit."""
    capability_require(actor=actor, tenant=client.tenant, capability=Capability.MANAGE_MEMBERS)
    revoked_at = _revoked_at_locked(client)
    if revoked_at is not None:
        raise ApiClientRevoked(
            f"API client {client.name} of tenant {client.tenant.slug} was revoked at "
            f"{_moment(revoked_at)}; a revoked client gets no new token: create a new client"
        )
    AuthToken.objects.filter(user=client.user).delete()
    _, token = AuthToken.objects.create(user=client.user, expiry=_expiry(expires_days))
    transaction.on_commit(caches_clear)
    return token


@transaction.atomic
def api_client_revoke(*, client: ApiClient, actor=None) -> ApiClient:
    """Revoke `client`: its tokens are deleted and its account deactivated (kept for the logs).

    Raises ApiClientRevoked if it is revoked already; its `revoked_at` then stays as it was.
    """
    capability_require(actor=actor, tenant=client.tenant, capability=Capability.MANAGE_MEMBERS)
    revoked_at = _revoked_at_locked(client)
    if revoked_at is not None:
        raise ApiClientRevoked(
            f"API client {client.name} of tenant {client.tenant.slug} was already revoked at "
            f"{_moment(revoked_at)}; nothing changed"
        )
    AuthToken.objects.filter(user=client.user).delete()
    user = client.user
    user.is_active = False
    user.save(update_fields=["is_active"])
    client.revoked_at = timezone.now()
    client.save(update_fields=["revoked_at"])
    caches_clear()
    transaction.on_commit(caches_clear)
    return client
