"""manage.py revoke_api_client on a client revoked before (issue 17).

Before, revoking again exited 0, and `--rotate` of a revoked client ended in a traceback of the
service's error; both now exit 1 with the service's message, and nothing changes.
"""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from knox.models import AuthToken

from rules.choices import Role
from rules.models import ApiClient
from rules.services.api_clients import api_client_create

pytestmark = pytest.mark.django_db


def revoke(*options) -> str:
    out = StringIO()
    call_command(
        "revoke_api_client",
        "--tenant",
        "acme",
        "--name",
        "loan-app",
        *options,
        stdout=out,
        stderr=StringIO(),
    )
    return out.getvalue()


@pytest.fixture
def loan_app(tenant):
    return api_client_create(tenant=tenant, name="loan-app", role=Role.VIEWER)[0]


def test_revoking_twice_is_refused_and_keeps_the_first_revocation_time(loan_app):
    assert "API client loan-app in acme is revoked" in revoke()
    revoked_at = ApiClient.objects.get(pk=loan_app.pk).revoked_at

    with pytest.raises(CommandError, match="loan-app of tenant acme was already revoked at"):
        revoke()

    assert ApiClient.objects.get(pk=loan_app.pk).revoked_at == revoked_at


def test_rotating_a_revoked_client_is_refused_with_what_to_do(loan_app):
    revoke()

    with pytest.raises(CommandError, match="create a new client"):
        revoke("--rotate")

    assert not AuthToken.objects.filter(user=loan_app.user).exists()


def test_rotating_an_active_client_prints_only_the_new_token(loan_app):
    token = revoke("--rotate").strip()
    assert AuthToken.objects.filter(user=loan_app.user, token_key=token[:15]).exists()
