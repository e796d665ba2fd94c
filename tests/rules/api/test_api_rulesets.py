"""/api/v1/rulesets: CRUD through the editing services, filters, search, ordering, pagination."""

import pytest

from rules.choices import Role, RulesetStatus
from rules.models import Ruleset
from tests.factories import RulesetFactory
from tests.rules.api.conftest import error_of


@pytest.fixture
def author_api(api, tenant):
    return api(Role.AUTHOR, tenant)


def test_create_makes_a_draft_in_the_callers_tenant(author_api, tenant):
    response = author_api.post(
        "/api/v1/rulesets",
        {"name": "credit_scoring", "description": "Scores", "tags": ["retail"], "status": "active"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    ruleset = Ruleset.objects.get(pk=body["id"])
    assert ruleset.tenant == tenant and ruleset.status == RulesetStatus.DRAFT
    assert ruleset.created_by == author_api.user and ruleset.history.first().history_user_id
    assert body == {
        "id": ruleset.pk,
        "tenant": "acme",
        "name": "credit_scoring",
        "version": "1.0",
        "description": "Scores",
        "status": "draft",  # read-only: the payload's "active" is ignored
        "kind": "scoring",
        "is_default": False,
        "tags": ["retail"],
        "metadata": {},
        "semantics": "strict",
        "default_recommendation": "",
        "input_validation": "off",
        "revision": 1,
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
        "created_by": author_api.user.username,
        "updated_by": author_api.user.username,
    }


def test_retrieve_update_and_delete_a_draft(author_api, tenant):
    ruleset = RulesetFactory(tenant=tenant, name="scoring", description="old")
    url = f"/api/v1/rulesets/{ruleset.pk}"

    assert author_api.get(url).json()["description"] == "old"
    response = author_api.patch(url, {"description": "new", "version": "1.1"}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["description"], response.json()["version"]) == ("new", "1.1")
    assert response.json()["revision"] == 2
    put = author_api.put(url, {"name": "scoring2", "version": "2.0"}, format="json")
    assert put.status_code == 200 and put.json()["name"] == "scoring2"

    assert author_api.delete(url).status_code == 204
    assert not Ruleset.objects.filter(pk=ruleset.pk).exists()


def test_model_validation_errors_are_field_errors(author_api, tenant):
    RulesetFactory(tenant=tenant, name="scoring", version="1.0")

    bad_version = author_api.post(
        "/api/v1/rulesets", {"name": "scoring", "version": "one"}, format="json"
    )
    duplicate = author_api.post(
        "/api/v1/rulesets", {"name": "scoring", "version": "1.0"}, format="json"
    )
    bad_tags = author_api.post("/api/v1/rulesets", {"name": "x", "tags": "retail"}, format="json")

    assert bad_version.status_code == 400
    assert error_of(bad_version) == {
        "code": "invalid",
        "message": "The request is not valid.",
        "details": {"version": ["A version is numbers separated by dots, such as 1.0 or 2.3.1."]},
    }
    # Raised by the service's full_clean (a django ValidationError), answered the same way.
    assert duplicate.status_code == 400
    assert error_of(duplicate)["details"] == {
        "non_field_errors": ["Ruleset with this Tenant, Name and Version already exists."]
    }
    assert error_of(bad_tags)["details"] == {
        "tags": ['Expected a list of items but got type "str".']
    }


@pytest.mark.parametrize(
    "status", [RulesetStatus.ACTIVE, RulesetStatus.INACTIVE, RulesetStatus.DEPRECATED]
)
def test_published_versions_are_read_only_409(author_api, tenant, status):
    ruleset = RulesetFactory(tenant=tenant, name="scoring", status=status)
    url = f"/api/v1/rulesets/{ruleset.pk}"

    update = author_api.patch(url, {"description": "changed"}, format="json")
    delete = author_api.delete(url)

    assert update.status_code == 409
    assert error_of(update) == {
        "code": "read_only",
        "message": f"scoring 1.0 is {status} and therefore read-only; create a new draft "
        "version to change it.",
        "details": None,
    }
    assert delete.status_code == 409
    assert error_of(delete)["message"] == (
        f"scoring 1.0 is {status}; only drafts and archived versions can be deleted."
    )
    assert Ruleset.objects.get(pk=ruleset.pk).description == ""


def test_list_filters_by_status_name_tags_and_tenant(api, tenant, other_tenant):
    caller = api(Role.VIEWER, tenant, also=[(other_tenant, Role.VIEWER)])
    RulesetFactory(tenant=tenant, name="a", tags=["retail", "risk"])
    RulesetFactory(tenant=tenant, name="b", tags=["retail"], status=RulesetStatus.ACTIVE)
    RulesetFactory(tenant=other_tenant, name="c", tags=["risk"])

    def names(query):
        response = caller.get(f"/api/v1/rulesets?{query}")
        assert response.status_code == 200, response.json()
        return [r["name"] for r in response.json()["results"]]

    assert names("") == ["a", "b", "c"]
    assert names("status=active") == ["b"]
    assert names("name=a") == ["a"]
    assert names("tags=retail") == ["a", "b"]
    assert names("tags=retail,risk") == ["a"]
    assert names("tenant=globex") == ["c"]
    assert names("search=c") == ["c"]
    bad = caller.get("/api/v1/rulesets?status=published")
    assert bad.status_code == 400 and list(error_of(bad)["details"]) == ["status"]


def test_list_orders_and_paginates(author_api, tenant):
    for name in ["b", "d", "a", "c"]:
        RulesetFactory(tenant=tenant, name=name)

    first = author_api.get("/api/v1/rulesets?ordering=-name&page_size=3").json()
    second = author_api.get("/api/v1/rulesets?ordering=-name&page_size=3&page=2").json()

    assert first["count"] == 4
    assert [r["name"] for r in first["results"]] == ["d", "c", "b"]
    assert first["next"].endswith("/api/v1/rulesets?ordering=-name&page=2&page_size=3")
    assert [r["name"] for r in second["results"]] == ["a"] and second["next"] is None
