"""/api/v1/rules: the inline and the catalog form, through the part services."""

import pytest

from rules.choices import Role, RulesetStatus
from rules.models import Rule, RuleCondition
from tests.factories import ConditionFactory, RuleFactory, RulesetFactory
from tests.rules.api.conftest import error_of


@pytest.fixture
def author_api(api, tenant):
    return api(Role.AUTHOR, tenant)


@pytest.fixture
def draft(tenant):
    return RulesetFactory(tenant=tenant, name="scoring")


def links(rule_pk) -> list[str]:
    return [
        link.condition.condition_id
        for link in RuleCondition.objects.filter(rule_id=rule_pk).order_by("position")
    ]


def test_create_inline_rule(author_api, draft):
    response = author_api.post(
        "/api/v1/rules",
        {
            "ruleset": draft.pk,
            "rule_id": "R1",
            "rule_name": "High score",
            "attribute": "credit_score",
            "condition": "greater_than",
            "constant": "700",
            "rule_point": 100,
            "priority": 1,
            "tags": ["score"],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    rule = Rule.objects.get(pk=body["id"])
    assert body == {
        "id": rule.pk,
        "ruleset": draft.pk,
        "tenant": "acme",
        "rule_id": "R1",
        "rule_name": "High score",
        "attribute": "credit_score",
        "condition": "greater_than",
        "constant": "700",
        "condition_mode": "",
        "catalog_conditions": [],
        "message": "",
        "weight": 1.0,
        "rule_point": 100.0,
        "priority": 1,
        "position": 0,
        "action_result": "Y",
        "status": "active",
        "version": 1,
        "tags": ["score"],
        "metadata": {},
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    draft.refresh_from_db()
    assert draft.revision == 2 and draft.updated_by == author_api.user


def test_create_catalog_rule_keeps_the_order_of_its_conditions(author_api, draft, tenant):
    adult = ConditionFactory(tenant=tenant, condition_id="ADULT")
    income = ConditionFactory(tenant=tenant, condition_id="INCOME", attribute="income")

    response = author_api.post(
        "/api/v1/rules",
        {
            "ruleset": draft.pk,
            "rule_id": "R2",
            "condition_mode": "any",
            "catalog_conditions": [income.pk, adult.pk],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["catalog_conditions"] == [income.pk, adult.pk]
    assert response.json()["condition_mode"] == "any"
    assert links(response.json()["id"]) == ["INCOME", "ADULT"]


def test_update_replaces_reorders_and_removes_catalog_conditions(author_api, draft, tenant):
    first, second, third = (ConditionFactory(tenant=tenant, condition_id=c) for c in "ABC")
    rule = RuleFactory(ruleset=draft, attribute="", operator="", constant="", condition_mode="all")
    RuleCondition.objects.create(rule=rule, condition=first, position=0)
    RuleCondition.objects.create(rule=rule, condition=second, position=1)
    url = f"/api/v1/rules/{rule.pk}"

    reordered = author_api.patch(url, {"catalog_conditions": [third.pk, first.pk]}, format="json")
    assert reordered.status_code == 200, reordered.json()
    assert reordered.json()["catalog_conditions"] == [third.pk, first.pk]
    assert links(rule.pk) == ["C", "A"]
    assert reordered.json()["version"] == 2

    inline = author_api.patch(
        url,
        {"condition_mode": "", "attribute": "age", "condition": "less_than", "constant": "30"},
        format="json",
    )
    assert inline.status_code == 200, inline.json()
    assert inline.json()["catalog_conditions"] == [] and links(rule.pk) == []
    assert Rule.objects.get(pk=rule.pk).attribute == "age"


def test_retrieve_replace_and_delete_a_draft_rule(author_api, draft):
    rule = RuleFactory(ruleset=draft, rule_id="R1")
    url = f"/api/v1/rules/{rule.pk}"

    assert author_api.get(url).json()["rule_id"] == "R1"
    replaced = author_api.put(
        url,
        {
            "ruleset": draft.pk,
            "rule_id": "R1b",
            "attribute": "country",
            "condition": "in",
            "constant": "['US', 'CA']",
            "action_result": "N",
        },
        format="json",
    )
    assert replaced.status_code == 200, replaced.json()
    assert (replaced.json()["rule_id"], replaced.json()["action_result"]) == ("R1b", "N")
    assert Rule.objects.get(pk=rule.pk).history.first().history_user == author_api.user
    assert author_api.delete(url).status_code == 204
    assert not Rule.objects.filter(pk=rule.pk).exists()
    draft.refresh_from_db()
    assert draft.revision == 3  # one per write


def test_rule_field_errors(author_api, draft, tenant):
    condition = ConditionFactory(tenant=tenant)

    def create(**fields):
        return author_api.post(
            "/api/v1/rules", {"ruleset": draft.pk, "rule_id": "R1", **fields}, format="json"
        )

    bad_constant = create(attribute="age", condition="greater_than", constant="[1, 2]")
    no_condition = create(attribute="age")
    no_items = create(condition_mode="all", catalog_conditions=[])
    no_mode = create(attribute="age", condition="equal", catalog_conditions=[condition.pk])
    both = create(
        condition_mode="all", catalog_conditions=[condition.pk], attribute="age", condition="equal"
    )

    assert bad_constant.status_code == 400
    assert error_of(bad_constant) == {
        "code": "invalid",
        "message": "The request is not valid.",
        "details": {"constant": ["'greater_than' needs a number or a string, not list [1, 2]"]},
    }
    assert error_of(no_condition)["details"] == {
        "condition": ["Choose an operator, or catalog conditions."]
    }
    assert error_of(no_items)["details"] == {
        "catalog_conditions": ["Choose the catalog conditions to combine with all."]
    }
    assert error_of(no_mode)["details"] == {
        "condition_mode": ["Choose all or any to combine catalog conditions."]
    }
    assert error_of(both)["details"] == {
        "non_field_errors": [
            "A rule uses either an inline condition (attribute, operator, constant) or catalog "
            "conditions, not both."
        ]
    }
    assert not Rule.objects.exists()


def test_rule_of_a_published_version_is_read_only(author_api, tenant):
    active = RulesetFactory(tenant=tenant, name="scoring", status=RulesetStatus.ACTIVE)
    rule = RuleFactory(ruleset=active)

    update = author_api.patch(f"/api/v1/rules/{rule.pk}", {"rule_point": 5}, format="json")
    create = author_api.post(
        "/api/v1/rules",
        {"ruleset": active.pk, "rule_id": "NEW", "attribute": "a", "condition": "exists"},
        format="json",
    )
    delete = author_api.delete(f"/api/v1/rules/{rule.pk}")

    for response in (update, create, delete):
        assert response.status_code == 409
        assert error_of(response)["code"] == "read_only"
        assert "scoring 1.0 is active and therefore read-only" in error_of(response)["message"]
    assert Rule.objects.get(pk=rule.pk).rule_point == 10


def test_rule_cannot_move_to_another_ruleset(author_api, draft, tenant):
    rule = RuleFactory(ruleset=draft)
    other_draft = RulesetFactory(tenant=tenant, name="other")

    response = author_api.patch(
        f"/api/v1/rules/{rule.pk}", {"ruleset": other_draft.pk}, format="json"
    )

    assert response.status_code == 400
    assert error_of(response)["details"] == {
        "ruleset": ["A rule cannot move to another ruleset; create it there instead."]
    }


def test_payload_links_only_objects_of_the_callers_tenant(author_api, draft, other_tenant):
    foreign_ruleset = RulesetFactory(tenant=other_tenant, name="theirs")
    foreign_condition = ConditionFactory(tenant=other_tenant)

    into_foreign = author_api.post(
        "/api/v1/rules",
        {"ruleset": foreign_ruleset.pk, "rule_id": "R1", "attribute": "a", "condition": "exists"},
        format="json",
    )
    foreign_link = author_api.post(
        "/api/v1/rules",
        {
            "ruleset": draft.pk,
            "rule_id": "R1",
            "condition_mode": "all",
            "catalog_conditions": [foreign_condition.pk],
        },
        format="json",
    )

    assert into_foreign.status_code == 400
    assert error_of(into_foreign)["details"] == {
        "ruleset": [f'Invalid pk "{foreign_ruleset.pk}" - object does not exist.']
    }
    assert foreign_link.status_code == 400
    assert error_of(foreign_link)["details"] == {
        "catalog_conditions": [f'Invalid pk "{foreign_condition.pk}" - object does not exist.']
    }
    assert not Rule.objects.exists()


def test_rule_list_filters_by_ruleset_catalog_condition_and_search(author_api, draft, tenant):
    other = RulesetFactory(tenant=tenant, name="other")
    RuleFactory(ruleset=draft, rule_id="R1", rule_name="Adult", priority=2)
    RuleFactory(ruleset=draft, rule_id="R2", rule_name="Income", priority=1, status="inactive")
    linked = RuleFactory(
        ruleset=other, rule_id="R3", attribute="", operator="", constant="", condition_mode="all"
    )
    condition = ConditionFactory(tenant=tenant)
    RuleCondition.objects.create(rule=linked, condition=condition)

    def rule_ids(query):
        response = author_api.get(f"/api/v1/rules?{query}")
        assert response.status_code == 200, response.json()
        return [r["rule_id"] for r in response.json()["results"]]

    assert rule_ids(f"ruleset={draft.pk}") == ["R2", "R1"]  # priority order
    assert rule_ids(f"ruleset={draft.pk}&ordering=rule_id") == ["R1", "R2"]
    assert rule_ids("status=inactive") == ["R2"]
    assert rule_ids(f"catalog_condition={condition.pk}") == ["R3"]
    assert rule_ids("condition_mode=all") == ["R3"]
    assert rule_ids("search=adult") == ["R1"]


def test_rule_list_queries_do_not_grow_with_the_rules(
    author_api, draft, tenant, django_assert_num_queries
):
    conditions = [ConditionFactory(tenant=tenant) for _ in range(2)]
    for _ in range(20):
        rule = RuleFactory(
            ruleset=draft, attribute="", operator="", constant="", condition_mode="all"
        )
        for position, condition in enumerate(conditions):
            RuleCondition.objects.create(rule=rule, condition=condition, position=position)
    author_api.get("/api/v1/rules")  # token and roles are cached from here on

    # The count, the rules with their ruleset and tenant, and the links of all of them.
    with django_assert_num_queries(3):
        response = author_api.get("/api/v1/rules")

    assert response.json()["count"] == 20
    assert response.json()["results"][0]["catalog_conditions"] == [c.pk for c in conditions]
