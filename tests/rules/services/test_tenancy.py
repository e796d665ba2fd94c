"""Tenants and members change only through the tenancy services: roles checked, caches cleared."""

import pytest

from rules.change_notifications import caches_generation
from rules.choices import Capability, Role
from rules.errors import NotAllowed, ServiceError
from rules.models import Membership, Tenant
from rules.services.api_clients import api_client_create
from rules.services.tenancy import (
    member_add,
    member_remove,
    tenant_create,
    tenant_delete,
    tenant_update,
)
from rules.tenant_roles import caller_capabilities, caller_tenant_roles

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-2026")


def test_tenant_update_refuses_a_role_without_member_management(tenant, author):
    with pytest.raises(NotAllowed):
        tenant_update(tenant=tenant, actor=author, name="Renamed", active=True)
    assert Tenant.objects.get(pk=tenant.pk).name == tenant.name


def test_tenant_update_by_the_tenants_admin_renames_it_and_clears_cached_roles(tenant, member):
    admin_user = member(Role.ADMIN, username="ada")
    assert caller_tenant_roles(admin_user)["acme"].tenant.name == tenant.name  # cached now
    generation = caches_generation()

    tenant_update(tenant=tenant, actor=admin_user, name="Acme Bank", active=True)

    assert Tenant.objects.get(pk=tenant.pk).name == "Acme Bank"
    assert caches_generation() > generation
    assert caller_tenant_roles(admin_user)["acme"].tenant.name == "Acme Bank"


def test_only_operators_switch_a_tenant_off(tenant, member, root):
    admin_user = member(Role.ADMIN, username="ada")
    with pytest.raises(NotAllowed):
        tenant_update(tenant=tenant, actor=admin_user, name=tenant.name, active=False)
    assert Capability.EDIT in caller_capabilities(admin_user, tenant.pk)

    tenant_update(tenant=tenant, actor=root, name=tenant.name, active=False)

    assert Tenant.objects.get(pk=tenant.pk).active is False
    # The cached roles forget the switched-off tenant at once, without waiting for a notification.
    assert caller_capabilities(admin_user, tenant.pk) == frozenset()


def test_tenant_create_is_for_operators(author, root):
    with pytest.raises(NotAllowed):
        tenant_create(slug="initech", actor=author)
    assert not Tenant.objects.filter(slug="initech").exists()
    assert tenant_create(slug="initech", name="Initech", actor=root)[1] is True


def test_member_remove_refuses_a_role_without_member_management(tenant, member):
    approver = member(Role.APPROVER, username="bob")
    viewer = member(Role.VIEWER, username="vera")
    with pytest.raises(NotAllowed):
        member_remove(membership=viewer.memberships.get(), actor=approver)
    assert Membership.objects.filter(user=viewer, tenant=tenant).exists()


def test_member_remove_takes_the_role_away_at_once(tenant, member):
    admin_user = member(Role.ADMIN, username="ada")
    viewer = member(Role.VIEWER, username="vera")
    assert Capability.VIEW in caller_capabilities(viewer, tenant.pk)  # cached now
    generation = caches_generation()

    member_remove(membership=viewer.memberships.get(), actor=admin_user)

    assert not Membership.objects.filter(user=viewer).exists()
    assert caches_generation() > generation
    assert caller_capabilities(viewer, tenant.pk) == frozenset()
    viewer.refresh_from_db()  # the account stays; it may be a member elsewhere


def test_member_remove_leaves_an_api_clients_role_to_its_revocation(tenant, member):
    admin_user = member(Role.ADMIN, username="ada")
    client, _ = api_client_create(tenant=tenant, name="scoring-app", role=Role.VIEWER)
    with pytest.raises(ServiceError, match="API client"):
        member_remove(membership=client.user.memberships.get(), actor=admin_user)
    assert client.user.memberships.exists()


def test_member_add_checks_the_actors_role(tenant, author):
    with pytest.raises(NotAllowed):
        member_add(username="mallory", tenant=tenant, role=Role.ADMIN, actor=author)
    assert not Membership.objects.filter(user__username="mallory").exists()


def test_tenant_delete_is_for_operators_and_takes_memberships_with_it(tenant, member, root):
    admin_user = member(Role.ADMIN, username="ada")
    with pytest.raises(NotAllowed):
        tenant_delete(tenant=tenant, actor=admin_user)
    assert Tenant.objects.filter(pk=tenant.pk).exists()
    generation = caches_generation()
    tenant_delete(tenant=tenant, actor=root)
    assert not Tenant.objects.filter(pk=tenant.pk).exists()
    assert not Membership.objects.filter(user=admin_user).exists()
    assert caches_generation() > generation
