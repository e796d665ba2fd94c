"""History pages find their object through the tenant-scoped queryset: 404 for anything not
visible and for malformed ids, never 403 (an existence oracle) or 500.

Issue 19, point 7: the check filtered revisions by their own primary key (`history_id`) instead of
the object's id, so another tenant's id answered 403 or 404 depending on unrelated revisions, and a
non-numeric id raised a 500.
"""

import pytest
from django.db.models import Max
from django.test import Client
from django.urls import reverse

from rules.choices import Role
from rules.models import Ruleset
from rules.services import editing
from tests.factories import RulesetFactory, TenantFactory

pytestmark = pytest.mark.django_db


def history_url(pk) -> str:
    return f"/admin/rules/ruleset/{pk}/history/"


@pytest.fixture
def outsider(member, other_tenant):
    user = member(Role.ADMIN, username="gus", in_tenant=other_tenant)
    client = Client()
    client.force_login(user)
    client.user = user
    return client


def test_another_tenants_ruleset_answers_404_like_a_missing_one(outsider, other_tenant):
    own = RulesetFactory(tenant=other_tenant, name="own_scoring")
    for description in ("one", "two", "three"):
        editing.ruleset_update(ruleset=own, actor=outsider.user, description=description)
    # Another tenant's ruleset whose id equals the history_id of one of the outsider's own
    # revisions: the old check found that revision, and the page answered 403.
    own_revision = own.history.order_by("-history_id").first().history_id
    assert not Ruleset.objects.filter(pk=own_revision).exists()
    secret = RulesetFactory(pk=own_revision, tenant=TenantFactory(slug="secretcorp"))
    editing.ruleset_update(ruleset=secret, actor=None, description="secret")
    missing = (Ruleset.objects.aggregate(Max("pk"))["pk__max"] or 0) + 1000

    assert outsider.get(history_url(own.pk)).status_code == 200
    for pk in (secret.pk, missing):
        response = outsider.get(history_url(pk))
        assert response.status_code == 404, pk
        assert b"secretcorp" not in response.content


@pytest.mark.parametrize("object_id", ["abc", "1.5", "-", "99999999999999999999"])
def test_a_malformed_id_answers_404(outsider, object_id):
    assert outsider.get(history_url(object_id)).status_code == 404
    assert outsider.get(f"/admin/rules/condition/{object_id}/history/").status_code == 404
    assert outsider.get(f"/admin/rules/ruleset/{object_id}/history/1/").status_code == 404


def test_a_deleted_draft_keeps_its_history_for_its_own_tenant_only(tenant, author, outsider):
    ruleset = RulesetFactory(tenant=tenant, name="gone")
    editing.ruleset_update(ruleset=ruleset, actor=author, description="before deletion")
    pk = ruleset.pk
    editing.ruleset_delete(ruleset=ruleset, actor=author)
    owner = Client()
    owner.force_login(author)
    assert owner.get(history_url(pk)).status_code == 200
    assert outsider.get(history_url(pk)).status_code == 404


def test_a_revision_page_of_another_tenants_object_answers_404(outsider, tenant, author):
    ruleset = RulesetFactory(tenant=tenant, name="scoring")
    editing.ruleset_update(ruleset=ruleset, actor=author, description="x")
    revision = ruleset.history.first().history_id
    url = reverse("admin:rules_ruleset_simple_history", args=[ruleset.pk, revision])
    assert outsider.get(url).status_code == 404
