"""Admin login lockout counts failures per username AND client address together.

Issue 19, point 7: locked by username alone, anyone could lock the superuser out for 15 minutes,
from anywhere, with five bad passwords.
"""

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db

ROOT_PASSWORD = "root-password-2026"
ATTACKER, OPERATOR = "203.0.113.7", "198.51.100.20"


@pytest.fixture
def root(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", ROOT_PASSWORD)


def login(username, password, address):
    return Client().post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


def test_bad_passwords_from_one_address_do_not_lock_the_superuser_out_elsewhere(root):
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login("root", "wrong", ATTACKER).status_code == 200  # the form again
    assert login("root", "wrong", ATTACKER).status_code == 429  # the last failure locks

    assert login("root", ROOT_PASSWORD, OPERATOR).status_code == 302  # signed in elsewhere
    # The attacker's address stays locked for root, even with the right password...
    assert login("root", ROOT_PASSWORD, ATTACKER).status_code == 429


def test_the_lockout_of_a_pair_leaves_other_usernames_at_that_address_alone(root, member):
    member("viewer", username="vera")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login("root", "wrong", ATTACKER)
    assert login("vera", "pw-for-tests-1", ATTACKER).status_code == 302


def test_recorded_attempts_keep_no_invitation_link(root):
    accept = "/admin/rules/invitation/accept/a-secret-invitation-token/"
    Client().post(
        f"/admin/login/?next={accept}",
        {"username": "root", "password": "wrong", "next": accept},
        REMOTE_ADDR=ATTACKER,
    )
    (attempt,) = AccessAttempt.objects.all()
    assert "a-secret-invitation-token" not in f"{attempt.get_data} {attempt.post_data}"


def test_a_forged_forwarded_for_header_does_not_escape_the_lockout(root):
    """Without a counted proxy chain (AXES_IPWARE_PROXY_COUNT) the address is REMOTE_ADDR."""
    import ipware  # noqa: F401  - axes reads addresses through ipware; without it, it ignores it

    for number in range(settings.AXES_FAILURE_LIMIT):
        Client().post(
            "/admin/login/?next=/admin/",
            {"username": "root", "password": "wrong"},
            REMOTE_ADDR=ATTACKER,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{number + 1}",
        )
    forged = Client().post(
        "/admin/login/?next=/admin/",
        {"username": "root", "password": ROOT_PASSWORD},
        REMOTE_ADDR=ATTACKER,
        HTTP_X_FORWARDED_FOR="192.0.2.99",
    )
    assert forged.status_code == 429


def test_behind_a_counted_proxy_the_client_address_comes_from_forwarded_for(root, settings):
    settings.AXES_IPWARE_PROXY_COUNT = 1
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
    proxy = "10.0.0.2"

    def through_proxy(password, client_address):
        return Client().post(
            "/admin/login/?next=/admin/",
            {"username": "root", "password": password},
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=f"{client_address}, {proxy}",
        )

    for _ in range(settings.AXES_FAILURE_LIMIT):
        through_proxy("wrong", ATTACKER)
    assert through_proxy(ROOT_PASSWORD, ATTACKER).status_code == 429
    # Another client behind the same proxy is not locked out by the attacker's failures.
    assert through_proxy(ROOT_PASSWORD, OPERATOR).status_code == 302
