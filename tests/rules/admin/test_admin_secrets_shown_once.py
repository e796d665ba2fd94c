"""Tokens and invitation links are shown once, on the page that made them, and stored nowhere.

Issue 19, point 4: the new token was a success message, which Django's default message storage
put in a signed but readable `messages` cookie.
"""

import re

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from knox.models import AuthToken

from rules.choices import Role
from rules.models import ApiClient

pytestmark = pytest.mark.django_db

SHOWN = re.compile(r'<code class="shown-once-value">([^<]+)</code>')


class RecordingClient(Client):
    """A test client that keeps every cookie any response set, besides its own cookie jar."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cookies_seen: list[str] = []

    def request(self, **request):
        response = super().request(**request)
        self.cookies_seen += [f"{c.key}={c.value}" for c in response.cookies.values()]
        return response

    def every_cookie(self) -> str:
        jar = [f"{c.key}={c.value}" for c in self.cookies.values()]
        return "\n".join(self.cookies_seen + jar)


def session_contents() -> str:
    return "\n".join(str(s.get_decoded()) + s.session_data for s in Session.objects.all())


@pytest.fixture
def browser(member):
    client = RecordingClient()
    client.force_login(member(Role.ADMIN, username="ada"))
    return client


def assert_stored_nowhere(browser, secret):
    browser.get(reverse("admin:rules_apiclient_changelist"))  # where a message would show
    assert secret not in browser.every_cookie()
    assert secret not in session_contents()
    assert "messages" not in browser.cookies


def test_created_and_rotated_tokens_are_in_no_cookie_and_no_session(browser, tenant):
    created = browser.post(
        reverse("admin:rules_apiclient_add"),
        {"tenant": str(tenant.pk), "name": "scoring-app", "role": Role.VIEWER, "expires_days": ""},
    )
    assert created.status_code == 200 and "no-store" in created["Cache-Control"]
    (token,) = SHOWN.findall(created.content.decode())
    client = ApiClient.objects.get(name="scoring-app")
    assert AuthToken.objects.filter(user=client.user, token_key=token[:15]).exists()
    assert_stored_nowhere(browser, token)
    assert token.encode() not in browser.get(reverse("admin:rules_apiclient_changelist")).content

    rotated = browser.post(
        reverse("admin:rules_apiclient_changelist"),
        {"action": "rotate_selected", "_selected_action": [client.pk]},
    )
    assert rotated.status_code == 200
    (new_token,) = SHOWN.findall(rotated.content.decode())
    assert new_token != token
    assert AuthToken.objects.filter(user=client.user, token_key=new_token[:15]).exists()
    assert_stored_nowhere(browser, new_token)


def test_the_invitation_link_is_in_no_cookie_and_no_session(browser, tenant):
    page = browser.post(
        reverse("admin:rules_invitation_add"),
        {"tenant": str(tenant.pk), "email": "jane@corp.example", "role": Role.VIEWER},
    )
    assert page.status_code == 200
    (link,) = SHOWN.findall(page.content.decode())
    token = link.rstrip("/").split("/")[-1]
    assert len(token) >= 40
    assert_stored_nowhere(browser, token)


def test_other_admin_messages_live_in_the_session_not_in_a_cookie(browser, tenant):
    from rules.services.api_clients import api_client_create

    client, _ = api_client_create(tenant=tenant, name="old-app", role=Role.VIEWER)
    browser.post(
        reverse("admin:rules_apiclient_changelist"),
        {"action": "revoke_selected", "_selected_action": [client.pk]},
    )
    assert "old-app is revoked" in session_contents()
    assert "messages" not in browser.every_cookie()
