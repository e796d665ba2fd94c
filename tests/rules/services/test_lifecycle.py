import itertools

import pytest
from django.db import IntegrityError, transaction

from rules.choices import TRANSITIONS, Role, RulesetStatus
from rules.errors import (
    NotAllowed,
    RulesetInvalid,
    RulesetReadOnly,
    TransitionNotAllowed,
)
from rules.models import Pattern, Rule, RuleCondition, Ruleset
from rules.services import editing, lifecycle
from tests.factories import (
    ActionFactory,
    ConditionFactory,
    PatternFactory,
    RuleConditionFactory,
    RuleFactory,
    RulesetFactory,
    TenantFactory,
    ruleset_with_rules,
)

pytestmark = pytest.mark.django_db

ALLOWED = [
    ("draft", "active"),
    ("active", "inactive"),
    ("inactive", "active"),
    ("active", "deprecated"),
    ("inactive", "deprecated"),
    ("deprecated", "archived"),
    ("draft", "archived"),
    ("inactive", "archived"),
]
ALL_PAIRS = [(a, b) for a, b in itertools.product(RulesetStatus.values, repeat=2) if a != b]
REFUSED = [pair for pair in ALL_PAIRS if pair not in ALLOWED]


def test_transition_table_is_exactly_the_documented_one():
    table = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert table == set(ALLOWED)


@pytest.mark.parametrize(("current", "target"), ALLOWED)
def test_allowed_transition(tenant, approver, current, target):
    ruleset = ruleset_with_rules(tenant=tenant, status=current)
    result = lifecycle.ruleset_transition(ruleset_id=ruleset.pk, target=target, actor=approver)
    assert result.status == target
    assert Ruleset.objects.get(pk=ruleset.pk).status == target


@pytest.mark.parametrize(("current", "target"), REFUSED)
def test_refused_transition_names_both_states(tenant, approver, current, target):
    ruleset = ruleset_with_rules(tenant=tenant, status=current)
    with pytest.raises(TransitionNotAllowed) as refused:
        lifecycle.ruleset_transition(ruleset_id=ruleset.pk, target=target, actor=approver)
    assert f"from {current} to {target}" in str(refused.value)
    assert Ruleset.objects.get(pk=ruleset.pk).status == current


def test_activation_deprecates_previous_active_version_in_same_transaction(tenant, approver):
    old = ruleset_with_rules(tenant=tenant, name="credit", version="1.0", status="active")
    new = ruleset_with_rules(tenant=tenant, name="credit", version="1.1")
    lifecycle.ruleset_activate(ruleset_id=new.pk, actor=approver)
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.status, new.status) == ("deprecated", "active")


def test_activation_moves_the_default_flag_to_the_new_version(tenant, approver):
    old = ruleset_with_rules(tenant=tenant, name="credit", status="active", is_default=True)
    new = ruleset_with_rules(tenant=tenant, name="credit", version="1.1")
    lifecycle.ruleset_activate(ruleset_id=new.pk, actor=approver)
    assert Ruleset.objects.get(pk=new.pk).is_default
    assert not Ruleset.objects.get(pk=old.pk).is_default


def test_activation_leaves_other_names_alone(tenant, approver):
    other = ruleset_with_rules(tenant=tenant, name="fraud", status="active")
    new = ruleset_with_rules(tenant=tenant, name="credit")
    lifecycle.ruleset_activate(ruleset_id=new.pk, actor=approver)
    assert Ruleset.objects.get(pk=other.pk).status == "active"


def test_activation_lists_every_problem_with_rule_ids(tenant, other_tenant, approver):
    ruleset = RulesetFactory(tenant=tenant, name="broken")
    # Bypass the services' field validation to store what a careless import might.
    RuleFactory(ruleset=ruleset, rule_id="R-OP", operator="greater_thn", constant="1")
    RuleFactory(ruleset=ruleset, rule_id="R-RGX", operator="regex", constant="(unclosed")
    RuleFactory(ruleset=ruleset, rule_id="R-CONST", operator="between", constant="abc")
    RuleFactory(ruleset=ruleset, rule_id="R-NONE", attribute="", operator="", constant="")
    foreign = RuleConditionFactory(
        rule__ruleset=ruleset,
        rule__rule_id="R-FOREIGN",
        condition=ConditionFactory(tenant=other_tenant, condition_id="C-OTHER"),
    )
    assert foreign.condition.tenant != tenant
    PatternFactory(ruleset=ruleset, pattern_key="YY", action_recommendation="X")
    with pytest.raises(RulesetInvalid) as invalid:
        lifecycle.ruleset_activate(ruleset_id=ruleset.pk, actor=approver)
    message = str(invalid.value)
    for rule_id in ("R-OP", "R-RGX", "R-CONST", "R-NONE", "R-FOREIGN"):
        assert f"rule {rule_id}:" in message, message
    assert "greater_thn" in message
    assert "C-OTHER" in message and "another tenant" in message
    assert "'YY'" in message or "YY" in message
    assert len(invalid.value.problems) >= 6
    assert Ruleset.objects.get(pk=ruleset.pk).status == "draft"


def test_activation_refuses_pattern_key_of_wrong_length(tenant, approver):
    ruleset = ruleset_with_rules(tenant=tenant, rules=3)
    PatternFactory(ruleset=ruleset, pattern_key="Y-", action_recommendation="REVIEW")
    with pytest.raises(RulesetInvalid, match="Y-"):
        lifecycle.ruleset_activate(ruleset_id=ruleset.pk, actor=approver)


def test_four_eyes_rule_refuses_activation_by_last_editor(tenant, member, settings):
    settings.RULESET_FOUR_EYES = True
    both = member(Role.ADMIN, username="carol")
    ruleset = ruleset_with_rules(tenant=tenant)
    editing.ruleset_update(ruleset=ruleset, actor=both, description="changed by carol")
    with pytest.raises(TransitionNotAllowed, match="Four-eyes"):
        lifecycle.ruleset_activate(ruleset_id=ruleset.pk, actor=both)
    other = member(Role.APPROVER, username="dave")
    assert lifecycle.ruleset_activate(ruleset_id=ruleset.pk, actor=other).status == "active"


def test_author_cannot_activate_and_approver_cannot_edit(tenant, author, approver):
    ruleset = ruleset_with_rules(tenant=tenant)
    with pytest.raises(NotAllowed):
        lifecycle.ruleset_activate(ruleset_id=ruleset.pk, actor=author)
    with pytest.raises(NotAllowed):
        editing.ruleset_update(ruleset=ruleset, actor=approver, description="x")


def test_member_of_another_tenant_cannot_transition(tenant, other_tenant, member):
    outsider = member(Role.ADMIN, username="eve", in_tenant=other_tenant)
    ruleset = ruleset_with_rules(tenant=tenant)
    with pytest.raises(NotAllowed):
        lifecycle.ruleset_activate(ruleset_id=ruleset.pk, actor=outsider)


@pytest.mark.parametrize("status", ["active", "inactive", "deprecated", "archived"])
def test_published_versions_are_read_only(tenant, author, status):
    ruleset = ruleset_with_rules(tenant=tenant, status=status)
    rule = ruleset.rules.first()
    rule.constant = "800"
    with pytest.raises(RulesetReadOnly, match="read-only"):
        editing.ruleset_part_save(part=rule, actor=author)
    with pytest.raises(RulesetReadOnly):
        editing.ruleset_part_delete(part=rule, actor=author)
    with pytest.raises(RulesetReadOnly):
        editing.ruleset_update(ruleset=ruleset, actor=author, description="new")
    with pytest.raises(RulesetReadOnly):
        editing.pattern_create(
            ruleset=ruleset, actor=author, pattern_key="N" * 2, action_recommendation="X"
        )
    assert Rule.objects.get(pk=rule.pk).constant == "700"


def test_new_version_clones_rules_patterns_and_catalog_links(tenant, author):
    ruleset = ruleset_with_rules(tenant=tenant, name="credit", status="active", rules=2)
    link = RuleConditionFactory(rule__ruleset=ruleset, rule__rule_id="R-CAT")
    action = ActionFactory(tenant=tenant)
    PatternFactory(
        ruleset=ruleset, pattern_key="Y-Y", action_recommendation="REVIEW", action=action
    )
    draft = lifecycle.ruleset_new_version(ruleset_id=ruleset.pk, actor=author)
    assert (draft.version, draft.status, draft.name) == ("1.1", "draft", "credit")
    assert sorted(draft.rules.values_list("rule_id", flat=True)) == sorted(
        ruleset.rules.values_list("rule_id", flat=True)
    )
    cloned_link = RuleCondition.objects.get(rule__ruleset=draft)
    assert cloned_link.condition_id == link.condition_id
    assert cloned_link.rule.rule_id == "R-CAT"
    assert set(draft.patterns.values_list("pattern_key", "action_id")) == set(
        ruleset.patterns.values_list("pattern_key", "action_id")
    )
    # the source is untouched
    assert Rule.objects.filter(ruleset=ruleset).count() == 3
    assert Pattern.objects.filter(ruleset=ruleset).count() == 2


def test_new_version_takes_next_free_number(tenant, author):
    ruleset_with_rules(tenant=tenant, name="credit", version="1.1", status="draft")
    source = ruleset_with_rules(tenant=tenant, name="credit", version="1.0", status="active")
    draft = lifecycle.ruleset_new_version(ruleset_id=source.pk, actor=author)
    assert draft.version == "1.2"


@pytest.mark.parametrize(
    ("version", "taken", "expected"),
    [
        ("1.0", set(), "1.1"),
        ("1.9", set(), "1.10"),
        ("2", set(), "2.1"),
        ("1.0", {"1.1", "1.2"}, "1.3"),
        ("1.2.3", set(), "1.2.4"),
    ],
)
def test_next_free_version(version, taken, expected):
    assert lifecycle.next_free_version(version, taken) == expected


def test_history_records_the_acting_user_for_every_write(tenant, author, approver):
    ruleset = editing.ruleset_create(tenant=tenant, actor=author, name="credit")
    rule = editing.rule_create(
        ruleset=ruleset,
        actor=author,
        rule_id="R1",
        attribute="score",
        operator="greater_than",
        constant="10",
        rule_point=5,
    )
    rule.constant = "20"
    editing.ruleset_part_save(part=rule, actor=author)
    editing.pattern_create(
        ruleset=ruleset, actor=author, pattern_key="Y", action_recommendation="OK"
    )
    lifecycle.ruleset_activate(ruleset_id=ruleset.pk, actor=approver)

    rule_history = list(rule.history.order_by("history_date"))
    assert [h.history_type for h in rule_history] == ["+", "~"]
    assert {h.history_user for h in rule_history} == {author}
    delta = rule_history[1].diff_against(rule_history[0])
    assert [(c.field, c.old, c.new) for c in delta.changes if c.field == "constant"] == [
        ("constant", "10", "20")
    ]
    assert Rule.objects.get(pk=rule.pk).version == 2
    ruleset_history = list(ruleset.history.order_by("history_date"))
    assert ruleset_history[0].history_user == author
    assert ruleset_history[-1].history_user == approver
    assert ruleset_history[-1].status == "active"


def test_history_records_deletes_with_the_actor(tenant, author):
    ruleset = ruleset_with_rules(tenant=tenant)
    rule = ruleset.rules.first()
    rule_pk = rule.pk
    editing.ruleset_part_delete(part=rule, actor=author)
    last = Rule.history.filter(id=rule_pk).latest("history_date")
    assert (last.history_type, last.history_user) == ("-", author)


def test_every_write_bumps_the_revision(tenant, author):
    ruleset = editing.ruleset_create(tenant=tenant, actor=author, name="credit")
    start = Ruleset.objects.get(pk=ruleset.pk).revision
    rule = editing.rule_create(
        ruleset=ruleset, actor=author, rule_id="R1", attribute="a", operator="equal", constant="1"
    )
    after_create = Ruleset.objects.get(pk=ruleset.pk).revision
    editing.ruleset_part_delete(part=rule, actor=author)
    after_delete = Ruleset.objects.get(pk=ruleset.pk).revision
    assert start < after_create < after_delete


def test_rule_validation_reports_field_errors(tenant, author):
    from django.core.exceptions import ValidationError

    ruleset = RulesetFactory(tenant=tenant)
    with pytest.raises(ValidationError) as invalid:
        editing.rule_create(
            ruleset=ruleset,
            actor=author,
            rule_id="R1",
            attribute="a",
            operator="no_such_op",
            constant="1",
        )
    assert "operator" in invalid.value.message_dict
    with pytest.raises(ValidationError) as invalid:
        editing.rule_create(
            ruleset=ruleset,
            actor=author,
            rule_id="R2",
            attribute="a",
            operator="regex",
            constant="(unclosed",
        )
    assert "constant" in invalid.value.message_dict
    with pytest.raises(ValidationError) as invalid:
        editing.rule_create(ruleset=ruleset, actor=author, rule_id="R3")
    assert {"attribute", "operator"} <= set(invalid.value.message_dict)
    assert not Rule.objects.filter(ruleset=ruleset).exists()


def test_catalog_condition_used_by_published_version_is_read_only(tenant, author):
    ruleset = RulesetFactory(tenant=tenant, status="active")
    link = RuleConditionFactory(rule__ruleset=ruleset)
    condition = link.condition
    condition.value = "21"
    from rules.errors import CatalogEntryInUse

    with pytest.raises(CatalogEntryInUse, match=ruleset.name):
        editing.catalog_entry_save(entry=condition, actor=author)


class TestDatabaseConstraints:
    """The database itself guarantees the invariants, not only the services."""

    def test_two_active_versions_of_one_name_violate_a_constraint(self, tenant):
        RulesetFactory(tenant=tenant, name="credit", version="1.0", status="active")
        with pytest.raises(IntegrityError), transaction.atomic():
            RulesetFactory(tenant=tenant, name="credit", version="1.1", status="active")

    def test_active_versions_of_different_tenants_or_names_are_fine(self, tenant):
        RulesetFactory(tenant=tenant, name="credit", version="1.0", status="active")
        RulesetFactory(tenant=tenant, name="fraud", version="1.0", status="active")
        RulesetFactory(tenant=TenantFactory(), name="credit", version="1.0", status="active")
        RulesetFactory(tenant=tenant, name="credit", version="1.1", status="inactive")

    def test_two_default_rulesets_in_a_tenant_violate_a_constraint(self, tenant):
        RulesetFactory(tenant=tenant, name="credit", is_default=True)
        with pytest.raises(IntegrityError), transaction.atomic():
            RulesetFactory(tenant=tenant, name="fraud", is_default=True)

    def test_duplicate_version_violates_a_constraint(self, tenant):
        RulesetFactory(tenant=tenant, name="credit", version="1.0")
        with pytest.raises(IntegrityError), transaction.atomic():
            RulesetFactory(tenant=tenant, name="credit", version="1.0")

    def test_duplicate_rule_id_in_a_ruleset_violates_a_constraint(self, tenant):
        ruleset = RulesetFactory(tenant=tenant)
        RuleFactory(ruleset=ruleset, rule_id="R1")
        with pytest.raises(IntegrityError), transaction.atomic():
            RuleFactory(ruleset=ruleset, rule_id="R1")

    def test_duplicate_pattern_key_violates_a_constraint(self, tenant):
        ruleset = RulesetFactory(tenant=tenant)
        PatternFactory(ruleset=ruleset, pattern_key="Y")
        with pytest.raises(IntegrityError), transaction.atomic():
            PatternFactory(ruleset=ruleset, pattern_key="Y")


def test_four_eyes_counts_an_edit_of_a_decision_tables_model(tenant, member, settings):
    """An admin who changed a draft's DMN model (the admin's editor) may not activate it."""
    from rules.services.decision_models import decision_model_replace, decision_model_xml
    from rules.services.ruleset_import import ruleset_import
    from tests.support import TEST_DATA

    settings.RULESET_FOUR_EYES = True
    document = (TEST_DATA / "dmn" / "loan_offer.dmn").read_bytes()
    loans = ruleset_import(tenant=tenant, actor=None, document=document, name="loans").created
    both = member(Role.ADMIN, username="carol")
    decision_model_replace(ruleset=loans, xml=decision_model_xml(loans), actor=both)
    with pytest.raises(TransitionNotAllowed, match="Four-eyes"):
        lifecycle.ruleset_activate(ruleset_id=loans.pk, actor=both)
    other = member(Role.APPROVER, username="dave")
    assert lifecycle.ruleset_activate(ruleset_id=loans.pk, actor=other).status == "active"
