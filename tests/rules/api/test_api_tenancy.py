"""Tenancy and roles of the management API: scoping, X-Tenant, and what each role may do."""

import pytest
from django.urls import reverse

from rules.api.urls import urlpatterns
from rules.choices import Role
from rules.models import (
    Action,
    ApiClient,
    Attribute,
    Condition,
    Pattern,
    Rule,
    Ruleset,
    RulesetTestCase,
)
from rules.services.api_clients import api_client_create
from tests.factories import (
    ActionFactory,
    AttributeFactory,
    ConditionFactory,
    RulesetFactory,
    ruleset_with_rules,
)
from tests.rules.api.conftest import error_of


def test_caller_in_two_tenants_names_one_with_x_tenant_for_writes(api, tenant, other_tenant):
    caller = api(Role.AUTHOR, tenant, also=[(other_tenant, Role.VIEWER)])
    RulesetFactory(tenant=tenant, name="ours")
    RulesetFactory(tenant=other_tenant, name="theirs")
    payload = {"name": "new"}

    unnamed = caller.post("/api/v1/rulesets", payload, format="json")
    in_acme = caller.post("/api/v1/rulesets", payload, format="json", HTTP_X_TENANT="acme")
    as_viewer = caller.post("/api/v1/rulesets", payload, format="json", HTTP_X_TENANT="globex")
    stranger = caller.get("/api/v1/rulesets", HTTP_X_TENANT="initech")

    assert unnamed.status_code == 400
    assert error_of(unnamed) == {
        "code": "tenant_required",
        "message": "The caller belongs to several tenants: name one with the X-Tenant header.",
        "details": {"tenants": ["acme", "globex"]},
    }
    assert in_acme.status_code == 201 and in_acme.json()["tenant"] == "acme"
    assert as_viewer.status_code == 403
    assert stranger.status_code == 404 and error_of(stranger)["code"] == "tenant_not_found"
    everything = caller.get("/api/v1/rulesets").json()["results"]
    assert sorted(r["name"] for r in everything) == ["new", "ours", "theirs"]
    narrowed = caller.get("/api/v1/rulesets", HTTP_X_TENANT="globex").json()["results"]
    assert [r["name"] for r in narrowed] == ["theirs"]


def test_a_list_narrowed_to_a_tenant_where_the_role_does_not_reach_is_empty_not_refused(
    api, tenant, other_tenant
):
    # API clients need `manage_members`: this caller is an admin of acme, a viewer of globex.
    caller = api(Role.ADMIN, tenant, also=[(other_tenant, Role.VIEWER)])
    theirs, _ = api_client_create(tenant=other_tenant, name="globex-app", role=Role.VIEWER)

    narrowed = caller.get("/api/v1/api-clients", HTTP_X_TENANT="globex")
    everything = caller.get("/api/v1/api-clients")
    rotate = caller.post(f"/api/v1/api-clients/{theirs.pk}/rotate", {}, format="json")
    create = caller.post(
        "/api/v1/api-clients", {"name": "x", "role": Role.VIEWER}, HTTP_X_TENANT="globex"
    )

    assert narrowed.status_code == 200 and narrowed.json()["results"] == []
    assert {c["tenant"] for c in everything.json()["results"]} == {"acme"}
    assert rotate.status_code == 404
    assert create.status_code == 403
    assert error_of(create)["message"] == (
        "Your role 'viewer' in tenant globex does not allow manage members."
    )


@pytest.fixture
def acme_objects(tenant):
    ruleset = ruleset_with_rules(tenant=tenant, name="scoring", rules=1)
    return {
        "ruleset": ruleset,
        "rule": Rule.objects.get(ruleset=ruleset),
        "pattern": Pattern.objects.get(ruleset=ruleset),
        "condition": ConditionFactory(tenant=tenant),
        "action": ActionFactory(tenant=tenant),
        "attribute": AttributeFactory(tenant=tenant, name="income"),
        "test-case": RulesetTestCase.objects.create(
            ruleset=ruleset, name="acme case", input_data={}, expected_pattern_result="Y"
        ),
        "api-client": api_client_create(tenant=tenant, name="acme-app", role=Role.VIEWER)[0],
    }


def create_payloads(objects) -> dict:
    return {
        "rulesets": {"name": "x"},
        "rules": {
            "ruleset": objects["ruleset"].pk,
            "rule_id": "NEW",
            "attribute": "age",
            "condition": "exists",
        },
        "patterns": {
            "ruleset": objects["ruleset"].pk,
            "pattern_key": "N",
            "action_recommendation": "X",
        },
        "conditions": {"condition_id": "NEW", "name": "n", "attribute": "a", "operator": "exists"},
        "actions": {"action_id": "NEW", "name": "n"},
        "attributes": {"name": "new_attribute", "data_type": "integer", "example": 3},
        "test-cases": {
            "ruleset": objects["ruleset"].pk,
            "name": "new case",
            "input_data": {"age": 30},
            "expected_pattern_result": "Y",
        },
        "api-clients": {"name": "new-app", "role": Role.VIEWER},
    }


@pytest.mark.parametrize(
    "resource",
    ["rulesets", "rules", "patterns", "conditions", "actions", "attributes", "test-cases"],
)
def test_viewer_cannot_write(api, tenant, acme_objects, resource):
    viewer_api = api(Role.VIEWER, tenant)
    obj = acme_objects[resource.removesuffix("s")]
    url = f"/api/v1/{resource}/{obj.pk}"

    payload = create_payloads(acme_objects)[resource]
    create = viewer_api.post(f"/api/v1/{resource}", payload, format="json")
    update = viewer_api.patch(url, {}, format="json")
    delete = viewer_api.delete(url)

    assert viewer_api.get(url).status_code == 200
    for response in (create, update, delete):
        assert response.status_code == 403
        assert error_of(response) == {
            "code": "permission_denied",
            "message": "Your role 'viewer' in tenant acme does not allow edit.",
            "details": None,
        }
    assert type(obj).objects.filter(pk=obj.pk).exists()


# Every route of rules/api/urls.py: (method, url name, object it addresses or None).
BASENAMES = [
    "ruleset",
    "rule",
    "pattern",
    "condition",
    "action",
    "attribute",
    "test-case",
    "api-client",
]
MANAGE_ROUTES = [
    *[
        route
        for basename in BASENAMES[:-1]
        for route in [
            ("get", f"{basename}-list", None),
            ("post", f"{basename}-list", None),
            ("get", f"{basename}-detail", basename),
            ("put", f"{basename}-detail", basename),
            ("patch", f"{basename}-detail", basename),
            ("delete", f"{basename}-detail", basename),
        ]
    ],
    *[
        ("post", f"ruleset-{name}", "ruleset")
        for name in [
            "activate",
            "deactivate",
            "deprecate",
            "archive",
            "set-default",
            "new-version",
            "test",
        ]
    ],
    ("get", "ruleset-export", "ruleset"),
    ("post", "ruleset-import", None),
    # API clients are listed, created, read, rotated and revoked; never changed or deleted.
    ("get", "api-client-list", None),
    ("post", "api-client-list", None),
    ("get", "api-client-detail", "api-client"),
    ("post", "api-client-rotate", "api-client"),
    ("post", "api-client-revoke", "api-client"),
]


def resource_of(url_name: str) -> str:
    """The route's resource, plural: test-case-list -> test-cases."""
    basename = next(b for b in BASENAMES if url_name.startswith(f"{b}-"))
    return f"{basename}s"


def test_the_walk_covers_every_route():
    assert {name for _, name, _ in MANAGE_ROUTES} == {p.name for p in urlpatterns}


@pytest.mark.parametrize(("method", "url_name", "target"), MANAGE_ROUTES)
def test_another_tenants_member_sees_nothing_on_any_route(
    api, tenant, other_tenant, acme_objects, method, url_name, target
):
    # An admin of globex: only the scoping, not the role, keeps acme's objects away.
    outsider = api(Role.ADMIN, other_tenant)
    RulesetFactory(tenant=other_tenant, name="theirs")
    before = acme_snapshot(tenant)
    url = reverse(url_name, kwargs={"pk": acme_objects[target].pk} if target else {})
    writes_fields = url_name.endswith("-list") or method == "put"
    payload = create_payloads(acme_objects)[resource_of(url_name)] if writes_fields else {}
    if url_name == "ruleset-import":
        payload = {
            "ruleset": {"name": "imported"},
            **{section: [] for section in ("rules", "conditions", "actions", "patterns")},
        }

    response = getattr(outsider, method)(url, payload, format="json")

    if url_name.endswith("-list") and method == "get":
        assert response.status_code == 200
        assert {r["tenant"] for r in response.json()["results"]} <= {"globex"}
    elif url_name in ("rule-list", "pattern-list", "test-case-list"):
        # A part of an acme ruleset cannot be created: that ruleset id does not exist here.
        assert response.status_code == 400
        assert error_of(response)["details"] == {
            "ruleset": [f'Invalid pk "{acme_objects["ruleset"].pk}" - object does not exist.']
        }
    elif url_name == "api-client-list":
        assert response.status_code == 201 and response.json()["client"]["tenant"] == "globex"
    elif url_name.endswith("-list"):
        # A catalog entry or ruleset is created in the caller's own tenant, never in acme.
        assert response.status_code == 201 and response.json()["tenant"] == "globex"
    elif url_name == "ruleset-import":
        assert response.status_code == 201 and response.json()["created"]["tenant"] == "globex"
    else:
        assert response.status_code == 404, response.json()
        assert error_of(response) == {"code": "not_found", "message": "Not found.", "details": None}
    assert acme_snapshot(tenant) == before


def acme_snapshot(tenant) -> dict:
    return {
        model.__name__: list(model.objects.for_tenant(tenant).order_by("pk").values())
        for model in (
            Ruleset,
            Rule,
            Pattern,
            Condition,
            Action,
            Attribute,
            RulesetTestCase,
            ApiClient,
        )
    }
