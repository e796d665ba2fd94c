"""Issue 17's bugs of the management API: each test failed before its fix.

- Revoking a revoked API client answered 200 and overwrote `revoked_at`; now 409
  `already_revoked` with `revoked_at` as it was. Rotating one answered 400; now the same 409.
- Rules created through the API all got `position=0`, so rules of equal priority ran in rule id
  order instead of the order they were created in; now each goes after the version's last rule.
- `POST /rulesets/import?version=2.0` of a document with the latest version's content answered
  200 `unchanged` and created nothing, so the version asked for was silently dropped; now the
  draft 2.0 is created (and reported).
"""

import json

import pytest
from knox.models import AuthToken

from rules.choices import Role, RulesetStatus
from rules.engine import compile_ruleset
from rules.models import ApiClient, Rule, Ruleset
from rules.services.api_clients import api_client_create
from rules.services.compilation import ruleset_spec
from rules.services.ruleset_export import ruleset_export
from tests.factories import PatternFactory, RuleFactory, RulesetFactory
from tests.rules.api.conftest import error_of

pytestmark = pytest.mark.django_db
CLIENTS = "/api/v1/api-clients"


# --- API clients: revoke and rotate -----------------------------------------------------------
@pytest.fixture
def admin_api(api, tenant):
    return api(Role.ADMIN, tenant)


@pytest.fixture
def loan_app(tenant):
    client, _ = api_client_create(tenant=tenant, name="loan-app", role=Role.VIEWER)
    return client


@pytest.mark.smoke
def test_revoking_a_revoked_client_is_409_and_keeps_its_revocation_time(admin_api, loan_app):
    first = admin_api.post(f"{CLIENTS}/{loan_app.pk}/revoke")
    assert first.status_code == 200, first.content
    loan_app.refresh_from_db()
    revoked_at = loan_app.revoked_at
    assert revoked_at is not None and first.json()["revoked_at"] is not None

    again = admin_api.post(f"{CLIENTS}/{loan_app.pk}/revoke")

    assert again.status_code == 409, again.content
    error = error_of(again)
    assert error["code"] == "already_revoked"
    assert "loan-app" in error["message"] and "already revoked" in error["message"]
    loan_app.refresh_from_db()
    assert loan_app.revoked_at == revoked_at


def test_rotating_a_revoked_client_is_409_and_issues_no_token(admin_api, loan_app):
    assert admin_api.post(f"{CLIENTS}/{loan_app.pk}/revoke").status_code == 200

    response = admin_api.post(f"{CLIENTS}/{loan_app.pk}/rotate", {}, format="json")

    assert response.status_code == 409, response.content
    error = error_of(response)
    assert error["code"] == "already_revoked"
    assert "create a new client" in error["message"]
    assert "token" not in response.json()
    assert not AuthToken.objects.filter(user=loan_app.user).exists()


def test_rotating_and_revoking_an_active_client_still_work(admin_api, loan_app):
    rotated = admin_api.post(f"{CLIENTS}/{loan_app.pk}/rotate", {}, format="json")
    assert rotated.status_code == 200, rotated.content
    assert rotated.json()["token"]
    revoked = admin_api.post(f"{CLIENTS}/{loan_app.pk}/revoke")
    assert revoked.status_code == 200, revoked.content
    assert ApiClient.objects.get(pk=loan_app.pk).revoked_at is not None


# --- Rules: creation order among equal priorities --------------------------------------------
@pytest.fixture
def author_api(api, tenant):
    return api(Role.AUTHOR, tenant)


def rule_post(author_api, ruleset, rule_id: str, **fields):
    response = author_api.post(
        "/api/v1/rules",
        {
            "ruleset": ruleset.pk,
            "rule_id": rule_id,
            "attribute": "score",
            "condition": "greater_than",
            "constant": "10",
            "priority": 1,
            **fields,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


@pytest.mark.smoke
def test_rules_created_through_the_api_run_in_creation_order_among_equal_priorities(
    author_api, tenant
):
    draft = RulesetFactory(tenant=tenant, name="scoring")
    # Created Z1 first: it must run first although "A1" sorts before it.
    bodies = [
        rule_post(author_api, draft, "Z1", constant="10"),  # matches score 50
        rule_post(author_api, draft, "A1", constant="90"),  # does not
        rule_post(author_api, draft, "M1", constant="20"),  # matches
    ]

    assert [body["position"] for body in bodies] == [0, 1, 2]
    spec = ruleset_spec(draft)
    assert [rule["rule_id"] for rule in spec["rules"]] == ["Z1", "A1", "M1"]
    assert compile_ruleset(spec).evaluate({"score": 50}).pattern_result == "Y-Y"


def test_a_new_rule_goes_after_the_last_one_even_after_gaps(author_api, tenant):
    draft = RulesetFactory(tenant=tenant, name="scoring")
    RuleFactory(ruleset=draft, rule_id="OLD1", position=0)
    RuleFactory(ruleset=draft, rule_id="OLD2", position=7)

    body = rule_post(author_api, draft, "NEW")

    assert body["position"] == 8


def test_an_explicit_position_is_kept(author_api, tenant):
    draft = RulesetFactory(tenant=tenant, name="scoring")
    rule_post(author_api, draft, "R1")

    body = rule_post(author_api, draft, "R2", position=5)

    assert body["position"] == 5
    assert Rule.objects.get(pk=body["id"]).position == 5


# --- Import: ?version= is honoured -------------------------------------------------------------
@pytest.fixture
def published(tenant):
    ruleset = RulesetFactory(tenant=tenant, name="scoring", status=RulesetStatus.ACTIVE)
    RuleFactory(ruleset=ruleset, rule_id="R1", priority=1, rule_point=100)
    PatternFactory(ruleset=ruleset, pattern_key="Y")
    return ruleset


def exported(ruleset) -> dict:
    return json.loads(json.dumps(ruleset_export(ruleset=ruleset)))


def import_post(author_api, document, query: str = ""):
    return author_api.post(f"/api/v1/rulesets/import{query}", document, format="json")


@pytest.mark.smoke
def test_import_with_a_new_version_creates_it_even_with_the_latest_content(
    author_api, tenant, published
):
    document = exported(published)
    assert document["ruleset"]["version"] == published.version == "1.0"

    response = import_post(author_api, document, "?version=2.0")

    assert response.status_code == 201, response.content
    report = response.json()
    assert (report["version"], report["unchanged"]) == ("2.0", False)
    assert report["created"]["version"] == "2.0" and report["created"]["status"] == "draft"
    versions = Ruleset.objects.filter(tenant=tenant, name="scoring")
    assert sorted(versions.values_list("version", flat=True)) == ["1.0", "2.0"]
    assert ruleset_spec(versions.get(version="2.0"))["rules"] == ruleset_spec(published)["rules"]


def test_import_with_an_existing_version_of_equal_content_stays_unchanged(author_api, published):
    document = exported(published)
    assert import_post(author_api, document, "?version=2.0").status_code == 201

    again = import_post(author_api, document, "?version=2.0")

    assert again.status_code == 200, again.content
    assert again.json()["unchanged"] is True and again.json()["created"] is None
    assert Ruleset.objects.filter(name="scoring").count() == 2


def test_import_without_a_version_of_equal_content_stays_unchanged(author_api, published):
    response = import_post(author_api, exported(published))

    assert response.status_code == 200, response.content
    assert response.json()["unchanged"] is True
    assert Ruleset.objects.filter(name="scoring").count() == 1


def test_import_dry_run_with_a_new_version_reports_it_and_writes_nothing(author_api, published):
    response = import_post(author_api, exported(published), "?version=2.0&dry_run=true")

    assert response.status_code == 200, response.content
    assert (response.json()["version"], response.json()["unchanged"]) == ("2.0", False)
    assert response.json()["created"] is None
    assert Ruleset.objects.filter(name="scoring").count() == 1


@pytest.mark.parametrize("version", ["two", "2.0-beta", "1." + "0" * 30])
def test_import_with_a_malformed_version_is_400_naming_the_parameter(
    author_api, published, version
):
    response = import_post(author_api, exported(published), f"?version={version}")

    assert response.status_code == 400, response.content
    error = error_of(response)
    assert error["code"] == "invalid" and list(error["details"]) == ["version"]
    assert Ruleset.objects.filter(name="scoring").count() == 1
