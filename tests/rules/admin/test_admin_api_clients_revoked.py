"""The admin's revoke and rotate actions on API clients revoked before (issue 17).

Before, revoking again said "<name> is revoked" and overwrote the revocation time; rotating a
revoked client said only "<name>: API client <name> is revoked".
"""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from knox.models import AuthToken

from rules.choices import Role
from rules.models import ApiClient
from rules.services.api_clients import api_client_create, api_client_revoke

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:rules_apiclient_changelist"


@pytest.fixture
def tenant_admin_client(client, member):
    client.force_login(member(Role.ADMIN, username="ada"))
    return client


def action_post(http, action: str, *clients) -> list[tuple[str, str]]:
    response = http.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [c.pk for c in clients]},
    )
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def test_revoking_revoked_and_active_clients_warns_for_the_first_and_revokes_the_second(
    tenant_admin_client, tenant
):
    old, _ = api_client_create(tenant=tenant, name="old-app", role=Role.VIEWER)
    new, _ = api_client_create(tenant=tenant, name="new-app", role=Role.VIEWER)
    api_client_revoke(client=old)
    revoked_at = ApiClient.objects.get(pk=old.pk).revoked_at

    shown = action_post(tenant_admin_client, "revoke_selected", old, new)

    assert ("info", "new-app is revoked; its tokens no longer work.") in shown
    (warning,) = [text for level, text in shown if level == "warning"]
    assert "old-app" in warning and "already revoked" in warning and "nothing changed" in warning
    assert ApiClient.objects.get(pk=old.pk).revoked_at == revoked_at
    assert ApiClient.objects.get(pk=new.pk).revoked_at is not None


def test_rotating_a_revoked_client_is_an_error_that_says_what_to_do(tenant_admin_client, tenant):
    old, _ = api_client_create(tenant=tenant, name="old-app", role=Role.VIEWER)
    api_client_revoke(client=old)

    shown = action_post(tenant_admin_client, "rotate_selected", old)

    (error,) = [text for level, text in shown if level == "error"]
    assert error.startswith("API client old-app") and "create a new client" in error
    assert not AuthToken.objects.filter(user=old.user).exists()
