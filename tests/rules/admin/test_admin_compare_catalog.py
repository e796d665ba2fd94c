"""Compare of scoring versions beyond rules, patterns and test cases (issue #14): the version's
own fields, each rule's catalog conditions, and the tenant's catalog conditions, actions and
attributes the version uses; now on the compare and activation pages, as they stood on the
history's point-in-time page."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rules.choices import RulesetStatus
from rules.models import Condition, Rule, RuleCondition, Ruleset
from rules.selectors.version_diff import ruleset_versions_diff
from rules.services import attributes as attribute_services
from rules.services import editing, lifecycle
from tests.factories import (
    ActionFactory,
    AttributeFactory,
    ConditionFactory,
    PatternFactory,
    RuleConditionFactory,
    RuleFactory,
    RulesetFactory,
    large_ruleset,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(tenant):
    """The tenant's catalog: a condition on age, two actions, and the attributes age and income."""
    return {
        "age": ConditionFactory(tenant=tenant, condition_id="C_AGE", attribute="age", value="18"),
        "years": ConditionFactory(
            tenant=tenant, condition_id="C_YEARS", attribute="years_employed", value="2"
        ),
        "ok": ActionFactory(tenant=tenant, action_id="A_OK"),
        "review": ActionFactory(tenant=tenant, action_id="A_REVIEW"),
        "age attribute": AttributeFactory(tenant=tenant, name="age", data_type="integer"),
        "income attribute": AttributeFactory(tenant=tenant, name="income", data_type="number"),
        "years attribute": AttributeFactory(tenant=tenant, name="years_employed"),
    }


def loans(tenant, catalog, *, status=RulesetStatus.ACTIVE) -> Ruleset:
    """R1 uses the catalog condition C_AGE, R2 reads income inline; YY -> APPROVE with A_OK."""
    ruleset = RulesetFactory(
        tenant=tenant,
        name="loans",
        status=status,
        description="Loans for adults",
        default_recommendation="DECLINE",
    )
    RuleConditionFactory(rule__ruleset=ruleset, rule__rule_id="R1", condition=catalog["age"])
    RuleFactory(
        ruleset=ruleset, rule_id="R2", attribute="income", operator="greater_than", constant="1"
    )
    PatternFactory(ruleset=ruleset, pattern_key="YY", action=catalog["ok"])
    return ruleset


def diff_by_kind(old, new) -> dict:
    return {part.kind: part for part in ruleset_versions_diff(old=old, new=new)}


def compare_page(client, ruleset, **query):
    url = reverse("admin:rules_ruleset_compare", args=[ruleset.pk])
    return client.get(url, query)


def point_in_time_page(client, ruleset, entry):
    url = reverse("admin:rules_ruleset_history", args=[ruleset.pk]) + f"{entry.history_id}/"
    return client.get(url)


# --- The version's own fields ---------------------------------------------------------------


def test_a_changed_description_and_default_recommendation_show_as_the_version_fields(
    client, tenant, author, catalog
):
    active = loans(tenant, catalog)
    draft = lifecycle.ruleset_new_version(ruleset_id=active.pk, actor=author)
    editing.ruleset_update(
        ruleset=draft, actor=author, description="Loans for all", default_recommendation="REVIEW"
    )

    assert diff_by_kind(active, draft)["ruleset"].changed == [
        (
            "loans",
            [
                ("description", "Loans for adults", "Loans for all"),
                ("default_recommendation", "DECLINE", "REVIEW"),
            ],
        )
    ]
    client.force_login(author)
    content = compare_page(client, draft).content.decode()
    assert "Ruleset fields" in content
    assert "<del>DECLINE</del> &rarr; <ins>REVIEW</ins>" in content


def test_a_new_version_alone_changes_no_field_of_the_version(tenant, author, catalog):
    """The copy's metadata says where it came from; that is no author's change."""
    active = loans(tenant, catalog)
    draft = lifecycle.ruleset_new_version(ruleset_id=active.pk, actor=author)

    assert draft.metadata == {"cloned_from": "1.0"}
    assert draft.default_recommendation == "DECLINE"  # the copy keeps the version's fields
    assert all(part.empty for part in diff_by_kind(active, draft).values())


def test_the_activation_page_lists_the_version_fields_against_the_active_version(
    client, tenant, author, approver, catalog
):
    active = loans(tenant, catalog)
    draft = lifecycle.ruleset_new_version(ruleset_id=active.pk, actor=author)
    editing.ruleset_update(ruleset=draft, actor=author, semantics="original")

    client.force_login(approver)
    page = client.get(reverse("admin:rules_ruleset_transition", args=[draft.pk, "active"]))

    changed = {part.kind: part for part in page.context["diff"]}["ruleset"].changed
    assert ("semantics", "strict", "original") in changed[0][1]
    assert "both sides show today's entries" in page.content.decode()


# --- Catalog links and the catalog entries used ----------------------------------------------


def test_a_rule_that_uses_another_catalog_condition_shows_the_link_the_entry_and_attribute(
    client, tenant, author, catalog
):
    active = loans(tenant, catalog)
    draft = lifecycle.ruleset_new_version(ruleset_id=active.pk, actor=author)
    editing.rule_catalog_conditions_set(
        rule=draft.rules.get(rule_id="R1"),
        conditions=[catalog["age"], catalog["years"]],
        actor=author,
    )

    diff = diff_by_kind(active, draft)
    assert diff["rules"].changed == [("R1", [("catalog_conditions", "C_AGE", "C_AGE, C_YEARS")])]
    conditions = diff["catalog conditions used"]
    assert conditions.added == ["C_YEARS"] and not conditions.removed and not conditions.changed
    assert diff["attributes used"].added == ["years_employed"]
    client.force_login(author)
    content = compare_page(client, draft, **{"with": active.pk}).content.decode()
    assert "Catalog conditions used" in content and "Attributes used" in content
    assert "<del>C_AGE</del> &rarr; <ins>C_AGE, C_YEARS</ins>" in content


def test_a_pattern_that_points_to_another_action_shows_the_action_ids(tenant, author, catalog):
    active = loans(tenant, catalog)
    draft = lifecycle.ruleset_new_version(ruleset_id=active.pk, actor=author)
    pattern = draft.patterns.get(pattern_key="YY")
    pattern.action = catalog["review"]
    editing.ruleset_part_save(part=pattern, actor=author)

    diff = diff_by_kind(active, draft)
    assert diff["patterns"].changed == [("YY", [("action", "A_OK", "A_REVIEW")])]
    actions = diff["catalog actions used"]
    assert (actions.added, actions.removed) == (["A_REVIEW"], ["A_OK"])


def test_compared_now_both_versions_read_the_catalog_as_it_is(tenant, author, catalog):
    """Catalog entries are the tenant's: a definition changed since the active version was
    made is the same on both sides now; only which entries each version uses can differ."""
    active = loans(tenant, catalog)
    draft = lifecycle.ruleset_new_version(ruleset_id=active.pk, actor=author)
    Condition.objects.filter(pk=catalog["age"].pk).update(value="21")

    diff = diff_by_kind(active, draft)
    assert diff["catalog conditions used"].empty and diff["attributes used"].empty
    assert not diff["catalog conditions used"].added  # used by both


# --- The point-in-time view: the catalog as it stood ----------------------------------------


def test_a_condition_changed_since_an_entry_shows_on_its_point_in_time_page(
    client, tenant, author, catalog
):
    draft = loans(tenant, catalog, status=RulesetStatus.DRAFT)
    created = Ruleset.history.filter(id=draft.pk).earliest("history_date")
    condition = catalog["age"]
    condition.value = "21"
    editing.catalog_entry_save(entry=condition, actor=author)

    client.force_login(author)
    page = point_in_time_page(client, draft, created)

    diff = {part.kind: part for part in page.context["state_diff"]}
    # The page diffs today's version (old) against the one at the entry (new).
    assert diff["catalog conditions used"].changed == [("C_AGE", [("value", "21", "18")])]
    assert diff["rules"].empty, "the rule's link did not change, only the catalog entry"
    assert "<del>21</del> &rarr; <ins>18</ins>" in page.content.decode()


def test_an_attribute_type_changed_since_an_entry_shows_on_its_point_in_time_page(
    client, tenant, author, catalog
):
    draft = loans(tenant, catalog, status=RulesetStatus.DRAFT)
    created = Ruleset.history.filter(id=draft.pk).earliest("history_date")
    income = catalog["income attribute"]
    income.data_type = "integer"
    income.example = 40000
    attribute_services.attribute_save(attribute=income, actor=author)

    client.force_login(author)
    page = point_in_time_page(client, draft, created)

    changed = {part.kind: part for part in page.context["state_diff"]}["attributes used"].changed
    assert changed == [("income", [("data_type", "integer", "number"), ("example", 40000, 42)])]
    assert "The tenant's catalog: today's entries against those" in (page.content.decode())


def test_the_point_in_time_view_shows_the_catalog_links_and_fields_as_they_stood(
    client, tenant, author, catalog
):
    draft = loans(tenant, catalog, status=RulesetStatus.DRAFT)
    created = Ruleset.history.filter(id=draft.pk).earliest("history_date")
    editing.rule_catalog_conditions_set(
        rule=draft.rules.get(rule_id="R1"), conditions=[catalog["years"]], actor=author
    )
    editing.ruleset_update(ruleset=draft, actor=author, input_validation="warn")

    client.force_login(author)
    diff = {
        part.kind: part for part in point_in_time_page(client, draft, created).context["state_diff"]
    }

    assert diff["rules"].changed == [("R1", [("catalog_conditions", "C_YEARS", "C_AGE")])]
    conditions = diff["catalog conditions used"]
    assert (conditions.added, conditions.removed) == (["C_AGE"], ["C_YEARS"])
    assert diff["ruleset"].changed == [("loans", [("input_validation", "warn", "off")])]


# --- Bounded queries --------------------------------------------------------------------------


def versions_with_catalog_links(tenant, catalog, *, rules: int) -> tuple[Ruleset, Ruleset]:
    """An active version and a draft of `rules` rules each, the draft's linked to C_AGE."""
    active = large_ruleset(
        tenant=tenant, rules=rules, name=f"big{rules}", version="1.0", status=RulesetStatus.ACTIVE
    )
    draft = large_ruleset(tenant=tenant, rules=rules, name=f"big{rules}", version="1.1")
    RuleCondition.objects.bulk_create(
        RuleCondition(rule=rule, condition=catalog["age"])
        for rule in Rule.objects.filter(ruleset=draft)
    )
    return active, draft


def test_a_thousand_rule_compare_stays_a_handful_of_queries(
    client, tenant, author, catalog, django_assert_max_num_queries
):
    active, draft = versions_with_catalog_links(tenant, catalog, rules=1000)

    # Seven reads a side: rules, links, patterns, test cases, conditions, actions, attributes.
    with django_assert_max_num_queries(14):
        diff = diff_by_kind(active, draft)
    assert len(diff["rules"].changed) == 1000
    assert diff["catalog conditions used"].added == ["C_AGE"]

    # The page costs what a two-rule version's page costs.
    _, small_draft = versions_with_catalog_links(tenant, catalog, rules=2)
    client.force_login(author)
    with CaptureQueriesContext(connection) as small:
        assert compare_page(client, small_draft).status_code == 200
    with django_assert_max_num_queries(len(small)):
        page = compare_page(client, draft)
    assert page.status_code == 200 and page.context["diff_against"] == active
