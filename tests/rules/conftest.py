import pytest

from rules.choices import Role
from tests.factories import MembershipFactory, TenantFactory


@pytest.fixture
def tenant(db):
    return TenantFactory(slug="acme")


@pytest.fixture
def other_tenant(db):
    return TenantFactory(slug="globex")


@pytest.fixture
def member(tenant):
    """member(role) -> a user with that role in `tenant`."""

    def make(role, *, username=None, in_tenant=None):
        membership = MembershipFactory(
            tenant=in_tenant or tenant,
            role=role,
            **({"user__username": username} if username else {}),
        )
        return membership.user

    return make


@pytest.fixture
def author(member):
    return member(Role.AUTHOR, username="alice")


@pytest.fixture
def approver(member):
    return member(Role.APPROVER, username="bob")
