"""Deleting, deactivating, moving and adding rules rewrites the version's pattern keys and test
expectations so each position keeps meaning the same rule (services/pattern_rewrite.py)."""

import pytest

from rules.choices import ItemStatus, RulesetSemantics
from rules.models import Pattern, Rule, RulesetTestCase
from rules.services import editing
from rules.services.compilation import ruleset_compile, ruleset_validation_problems
from rules.services.pattern_rewrite import COLLAPSE_NOTE, REWRITE_REASON
from rules.services.test_cases import ruleset_tests_run
from rules.services.validation import ruleset_validation_report
from tests.factories import PatternFactory, RuleFactory, RulesetFactory, RulesetTestCaseFactory

pytestmark = pytest.mark.django_db


def three_rules(tenant, *, semantics=RulesetSemantics.STRICT):
    """R1 credit_score > 700 (Y), R2 income >= 50000 (I), R3 age >= 18 (A), in this order."""
    ruleset = RulesetFactory(tenant=tenant, name="credit", semantics=semantics)
    for rule_id, priority, attribute, operator, constant, result in (
        ("R1", 1, "credit_score", "greater_than", "700", "Y"),
        ("R2", 2, "income", "greater_than_or_equal", "50000", "I"),
        ("R3", 3, "age", "greater_than_or_equal", "18", "A"),
    ):
        RuleFactory(
            ruleset=ruleset,
            rule_id=rule_id,
            priority=priority,
            attribute=attribute,
            operator=operator,
            constant=constant,
            action_result=result,
        )
    return ruleset


def keys(ruleset) -> dict[str, str]:
    return dict(
        Pattern.objects.filter(ruleset=ruleset).values_list("pattern_key", "action_recommendation")
    )


def rule(ruleset, rule_id) -> Rule:
    return Rule.objects.select_related("ruleset").get(ruleset=ruleset, rule_id=rule_id)


def test_deleting_a_rule_removes_its_position_from_keys_and_expectations(tenant, author):
    ruleset = three_rules(tenant)
    for key, recommendation in (("YIA", "APPROVE"), ("Y-*", "REVIEW"), ("-I-", "DECLINE")):
        PatternFactory(ruleset=ruleset, pattern_key=key, action_recommendation=recommendation)
    case = RulesetTestCaseFactory(
        ruleset=ruleset,
        name="rich",
        input_data={"credit_score": 750, "age": 30},
        expected_pattern_result="Y-A",
        expected_matched_rules=["R1", "R3"],
        expected_action_recommendation="REVIEW",
    )

    editing.ruleset_part_delete(part=rule(ruleset, "R1"), actor=author)

    assert keys(ruleset) == {"IA": "APPROVE", "-*": "REVIEW", "I-": "DECLINE"}
    case.refresh_from_db()
    assert (case.expected_pattern_result, case.expected_matched_rules) == ("-A", ["R3"])
    record = Pattern.history.filter(pattern_key="IA").latest("history_date")
    assert record.history_change_reason == f"{REWRITE_REASON}: rule R1 deleted"
    assert record.history_user == author
    assert case.history.latest("history_date").history_change_reason == record.history_change_reason


def test_deactivating_a_rule_removes_its_position_and_activating_it_again_inserts_a_wildcard(
    tenant, author
):
    ruleset = three_rules(tenant)
    PatternFactory(ruleset=ruleset, pattern_key="YIA", action_recommendation="APPROVE")
    case = RulesetTestCaseFactory(
        ruleset=ruleset,
        name="all",
        input_data={"credit_score": 750, "income": 60000, "age": 30},
        expected_pattern_result="YIA",
        expected_action_recommendation=None,
    )
    middle = rule(ruleset, "R2")
    middle.status = ItemStatus.INACTIVE
    editing.ruleset_part_save(part=middle, actor=author)
    assert keys(ruleset) == {"YA": "APPROVE"}
    assert RulesetTestCase.objects.get(pk=case.pk).expected_pattern_result == "YA"
    assert "rule R2 deactivated" in str(middle.pattern_rewrite)

    middle.status = ItemStatus.ACTIVE
    editing.ruleset_part_save(part=middle, actor=author)
    # Nothing said what R2 should yield: the key and the expectation accept anything there.
    assert keys(ruleset) == {"Y*A": "APPROVE"}
    assert RulesetTestCase.objects.get(pk=case.pk).expected_pattern_result == "Y*A"
    report = ruleset_tests_run(ruleset=ruleset)
    assert report.passed, report.as_dict()


def test_a_new_active_rule_gets_a_wildcard_in_every_key(tenant, author):
    ruleset = three_rules(tenant)
    PatternFactory(ruleset=ruleset, pattern_key="YIA", action_recommendation="APPROVE")
    editing.rule_create(
        ruleset=ruleset,
        actor=author,
        rule_id="R0",
        priority=0,
        attribute="country",
        operator="equal",
        constant="DE",
        action_result="C",
    )
    assert keys(ruleset) == {"*YIA": "APPROVE"}


def test_moving_a_rule_moves_its_character_even_when_keys_swap(tenant, author):
    ruleset = three_rules(tenant)
    # Exchanging R1 and R2 turns each key into the other: the unique constraint is row by row.
    PatternFactory(ruleset=ruleset, pattern_key="YIA", action_recommendation="APPROVE")
    PatternFactory(ruleset=ruleset, pattern_key="Y-A", action_recommendation="ONLY_SCORE")
    PatternFactory(ruleset=ruleset, pattern_key="-IA", action_recommendation="ONLY_INCOME")
    case = RulesetTestCaseFactory(
        ruleset=ruleset,
        name="score",
        input_data={"credit_score": 750, "age": 30},
        expected_pattern_result="Y-A",
        expected_action_recommendation="ONLY_SCORE",
    )
    first = rule(ruleset, "R1")
    first.priority = 5  # now after R2 and R3
    editing.ruleset_part_save(part=first, actor=author)

    assert keys(ruleset) == {"IAY": "APPROVE", "-AY": "ONLY_SCORE", "IA-": "ONLY_INCOME"}
    case.refresh_from_db()
    assert case.expected_pattern_result == "-AY"
    assert ruleset_tests_run(ruleset=ruleset).passed
    reasons = set(
        Pattern.history.filter(ruleset_id=ruleset.pk, history_type="~").values_list(
            "history_change_reason", flat=True
        )
    )
    assert reasons == {f"{REWRITE_REASON}: rule R1 moved"}


def test_an_edit_that_keeps_the_order_rewrites_nothing(tenant, author):
    ruleset = three_rules(tenant)
    PatternFactory(ruleset=ruleset, pattern_key="YIA", action_recommendation="APPROVE")
    first = rule(ruleset, "R1")
    first.constant = "710"
    editing.ruleset_part_save(part=first, actor=author)
    assert first.pattern_rewrite is None
    assert keys(ruleset) == {"YIA": "APPROVE"}
    assert Pattern.history.filter(ruleset_id=ruleset.pk).count() == 1


def test_keys_collapsing_with_the_same_answer_merge(tenant, author):
    ruleset = three_rules(tenant)
    PatternFactory(ruleset=ruleset, pattern_key="YIA", action_recommendation="APPROVE")
    PatternFactory(ruleset=ruleset, pattern_key="YI-", action_recommendation="APPROVE")
    last = rule(ruleset, "R3")
    editing.ruleset_part_delete(part=last, actor=author)
    assert keys(ruleset) == {"YI": "APPROVE"}
    assert last.pattern_rewrite.merged == ["'YIA' → APPROVE into 'YI-'"]
    assert ruleset_validation_problems(ruleset) == []


def test_keys_collapsing_with_different_answers_keep_the_more_specific_and_are_a_problem(
    tenant, author
):
    ruleset = three_rules(tenant)
    PatternFactory(ruleset=ruleset, pattern_key="YI*", action_recommendation="REVIEW")
    PatternFactory(ruleset=ruleset, pattern_key="YIA", action_recommendation="APPROVE")
    last = rule(ruleset, "R3")
    editing.ruleset_part_delete(part=last, actor=author)

    survivor = Pattern.objects.get(ruleset=ruleset)
    assert (survivor.pattern_key, survivor.action_recommendation) == ("YI", "APPROVE")
    assert COLLAPSE_NOTE in survivor.description and "'YI*' → REVIEW" in survivor.description
    dropped = Pattern.history.filter(ruleset_id=ruleset.pk, history_type="-").get()
    assert (dropped.pattern_key, dropped.action_recommendation) == ("YI*", "REVIEW")
    assert dropped.history_change_reason.startswith(f"{REWRITE_REASON}: rule R3 deleted")
    assert last.pattern_rewrite.collapsed == ["'YI*' → REVIEW dropped, 'YIA' → APPROVE kept"]

    problems = [p.message for p in ruleset_validation_problems(ruleset)]
    assert len(problems) == 1 and "pattern key 'YI' (APPROVE) absorbed" in problems[0]
    assert "'YI*' → REVIEW" in problems[0]

    # The analyst decides (edits the description): the problem is gone.
    survivor.description = ""
    editing.ruleset_part_save(part=survivor, actor=author)
    assert ruleset_validation_problems(ruleset) == []


def test_original_semantics_has_no_positions_to_rewrite(tenant, author):
    ruleset = three_rules(tenant, semantics=RulesetSemantics.ORIGINAL)
    PatternFactory(ruleset=ruleset, pattern_key="YIA", action_recommendation="APPROVE")
    editing.ruleset_part_delete(part=rule(ruleset, "R1"), actor=author)
    assert keys(ruleset) == {"YIA": "APPROVE"}


def test_the_validation_panel_lists_unproducible_and_ambiguous_keys(tenant):
    ruleset = three_rules(tenant)
    PatternFactory(ruleset=ruleset, pattern_key="YQA", action_recommendation="NEVER")
    PatternFactory(ruleset=ruleset, pattern_key="Y**", action_recommendation="SCORE")
    PatternFactory(ruleset=ruleset, pattern_key="*I*", action_recommendation="INCOME")
    errors = ruleset_validation_report(ruleset).errors
    assert len(errors) == 2, errors
    assert any("'YQA' can never be produced: position 2 is 'Q'" in error for error in errors)
    assert any("'*I*' and 'Y**' are ambiguous" in e or "'Y**' and '*I*'" in e for e in errors)


def test_the_default_recommendation_reaches_the_engine(tenant):
    ruleset = three_rules(tenant)
    ruleset.default_recommendation = "MANUAL_REVIEW"
    ruleset.save()
    assert ruleset_compile(ruleset).evaluate({}).action_recommendation == "MANUAL_REVIEW"
