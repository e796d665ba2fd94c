"""The browsable API (HTML) of the management routes, as people signed in to the admin see it."""

import pytest

from rules.choices import Role
from tests.factories import MembershipFactory, RuleFactory, RulesetFactory


@pytest.mark.parametrize("route", ["rulesets", "rules", "patterns", "conditions", "actions"])
def test_html_pages_render_for_a_member_of_two_tenants(client, tenant, other_tenant, route):
    membership = MembershipFactory(tenant=tenant, role=Role.AUTHOR)
    MembershipFactory(tenant=other_tenant, role=Role.AUTHOR, user=membership.user)
    rule = RuleFactory(ruleset=RulesetFactory(tenant=tenant))
    client.force_login(membership.user)

    listing = client.get(f"/api/v1/{route}", HTTP_ACCEPT="text/html")
    detail = client.get(f"/api/v1/rules/{rule.pk}", HTTP_ACCEPT="text/html")

    assert listing.status_code == 200
    assert detail.status_code == 200
