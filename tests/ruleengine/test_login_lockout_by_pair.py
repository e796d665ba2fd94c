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
