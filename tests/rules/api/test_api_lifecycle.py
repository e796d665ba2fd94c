"""POST /api/v1/rulesets/{id}/activate|deactivate|deprecate|archive|set-default|new-version."""

import pytest

from rules.choices import Role, RulesetStatus
from rules.models import Pattern, Rule, Ruleset
from tests.factories import PatternFactory, RuleFactory, RulesetFactory, ruleset_with_rules
from tests.rules.api.conftest import error_of


@pytest.fixture
def approver_api(api, tenant):
    return api(Role.APPROVER, tenant)


def post(client, ruleset, action, data=None):
    return client.post(f"/api/v1/rulesets/{ruleset.pk}/{action}", data, format="json")


def status_of(ruleset) -> str:
    return Ruleset.objects.get(pk=ruleset.pk).status


def test_activate_deprecates_the_previous_active_version_and_moves_the_default(
    approver_api, tenant
):
    previous = ruleset_with_rules(
        tenant=tenant, name="scoring", version="1.0", status=RulesetStatus.ACTIVE, is_default=True
    )
    draft = ruleset_with_rules(tenant=tenant, name="scoring", version="1.1")

    response = post(approver_api, draft, "activate")

    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["is_default"]) == ("active", True)
    assert response.json()["updated_by"] == approver_api.user.username
    assert status_of(previous) == RulesetStatus.DEPRECATED
    assert not Ruleset.objects.get(pk=previous.pk).is_default


@pytest.mark.parametrize(
    ("start", "action", "end"),
    [
        (RulesetStatus.ACTIVE, "deactivate", RulesetStatus.INACTIVE),
        (RulesetStatus.INACTIVE, "activate", RulesetStatus.ACTIVE),
        (RulesetStatus.ACTIVE, "deprecate", RulesetStatus.DEPRECATED),
        (RulesetStatus.INACTIVE, "deprecate", RulesetStatus.DEPRECATED),
        (RulesetStatus.DEPRECATED, "archive", RulesetStatus.ARCHIVED),
        (RulesetStatus.DRAFT, "archive", RulesetStatus.ARCHIVED),
    ],
)
def test_each_transition(approver_api, tenant, start, action, end):
    ruleset = ruleset_with_rules(tenant=tenant, status=start)

    response = post(approver_api, ruleset, action)

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == end and status_of(ruleset) == end


def test_transition_not_in_the_table_is_refused_naming_the_allowed_targets(approver_api, tenant):
    ruleset = ruleset_with_rules(tenant=tenant, status=RulesetStatus.ARCHIVED)

    response = post(approver_api, ruleset, "activate")

    assert response.status_code == 409
    assert error_of(response) == {
        "code": "transition_not_allowed",
        "message": "A ruleset cannot go from archived to active. From archived it can go to: "
        "none (archived is final).",
        "details": None,
    }


def test_refused_activation_lists_every_problem_with_rule_ids(approver_api, tenant):
    draft = RulesetFactory(tenant=tenant, name="scoring")
    RuleFactory(ruleset=draft, rule_id="R1", operator="greather_than", priority=1)
    RuleFactory(ruleset=draft, rule_id="R2", constant="[1, 2]", priority=2)
    PatternFactory(ruleset=draft, pattern_key="YYY")

    response = post(approver_api, draft, "activate")

    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "invalid_ruleset"
    assert error["message"].startswith("scoring 1.0 cannot be activated (3):")
    problems = error["details"]["problems"]
    assert [(p["rule_id"], p["path"]) for p in problems] == [
        ("R1", "rules[0].condition"),
        ("R2", "rules[1].constant"),
        (None, "patterns[0].pattern_key"),
    ]
    assert problems[0]["message"].startswith("unknown operator 'greather_than'")
    assert problems[2]["text"] == (
        "pattern key 'YYY' has length 3 but the ruleset produces patterns of length 2 "
        "[patterns[0].pattern_key]"
    )
    assert status_of(draft) == RulesetStatus.DRAFT


def test_set_default(approver_api, tenant):
    old_default = ruleset_with_rules(tenant=tenant, status=RulesetStatus.ACTIVE, is_default=True)
    other = ruleset_with_rules(tenant=tenant, status=RulesetStatus.ACTIVE)

    response = post(approver_api, other, "set-default")

    assert response.status_code == 200 and response.json()["is_default"] is True
    assert list(Ruleset.objects.filter(is_default=True)) == [other]
    assert not Ruleset.objects.get(pk=old_default.pk).is_default


def test_new_version_clones_into_the_next_free_draft_version(api, tenant):
    author_api = api(Role.AUTHOR, tenant)
    source = ruleset_with_rules(tenant=tenant, name="scoring", status=RulesetStatus.ACTIVE)
    RulesetFactory(tenant=tenant, name="scoring", version="1.1", status=RulesetStatus.ARCHIVED)

    response = post(author_api, source, "new-version")
    chosen = post(author_api, source, "new-version", {"version": "2.0"})
    taken = post(author_api, source, "new-version", {"version": "2.0"})
    malformed = post(author_api, source, "new-version", {"version": "two"})

    assert response.status_code == 201, response.json()
    draft = Ruleset.objects.get(pk=response.json()["id"])
    assert (response.json()["version"], response.json()["status"]) == ("1.2", "draft")
    assert response.json()["metadata"] == {"cloned_from": "1.0"}
    assert Rule.objects.filter(ruleset=draft).count() == 2
    assert Pattern.objects.filter(ruleset=draft).count() == 1
    assert chosen.status_code == 201 and chosen.json()["version"] == "2.0"
    assert taken.status_code == 409
    assert error_of(taken)["message"] == "scoring already has a version 2.0"
    assert malformed.status_code == 400
    assert list(error_of(malformed)["details"]) == ["version"]


def test_author_cannot_transition_and_approver_cannot_edit(api, tenant):
    author_api = api(Role.AUTHOR, tenant)
    approver_api = api(Role.APPROVER, tenant)
    draft = ruleset_with_rules(tenant=tenant, name="scoring")

    refused = post(author_api, draft, "activate")
    not_an_editor = approver_api.patch(
        f"/api/v1/rulesets/{draft.pk}", {"description": "x"}, format="json"
    )
    no_new_version = post(approver_api, draft, "new-version")

    assert refused.status_code == 403
    assert error_of(refused) == {
        "code": "permission_denied",
        "message": "Your role 'author' in tenant acme does not allow transition.",
        "details": None,
    }
    assert not_an_editor.status_code == 403 and no_new_version.status_code == 403
    assert status_of(draft) == RulesetStatus.DRAFT
    assert post(approver_api, draft, "activate").status_code == 200
    assert status_of(draft) == RulesetStatus.ACTIVE
