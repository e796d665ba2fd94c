"""A draft's parts may only link catalog entries of the draft's own tenant (API and admin alike)."""

import pytest
from django.core.exceptions import ValidationError

from rules.models import Pattern, RuleCondition
from rules.services import editing
from tests.factories import ActionFactory, ConditionFactory, RuleFactory, ruleset_with_rules


def test_a_rule_cannot_link_another_tenants_catalog_condition(tenant, other_tenant):
    ruleset = ruleset_with_rules(tenant=tenant)
    rule = RuleFactory(ruleset=ruleset, attribute="", operator="", constant="")
    foreign = ConditionFactory(tenant=other_tenant)
    with pytest.raises(ValidationError) as refused:
        editing.ruleset_part_save(part=RuleCondition(rule=rule, condition=foreign), actor=None)
    assert "another tenant" in str(refused.value.message_dict["condition"])
    assert not RuleCondition.objects.filter(rule=rule).exists()
    own = ConditionFactory(tenant=tenant)
    editing.rule_catalog_conditions_set(rule=rule, conditions=[own], actor=None)
    assert list(RuleCondition.objects.filter(rule=rule).values_list("condition_id", flat=True)) == [
        own.pk
    ]


def test_a_pattern_cannot_link_another_tenants_action(tenant, other_tenant):
    ruleset = ruleset_with_rules(tenant=tenant)
    foreign = ActionFactory(tenant=other_tenant)
    pattern = Pattern(ruleset=ruleset, pattern_key="--", action_recommendation="X", action=foreign)
    with pytest.raises(ValidationError) as refused:
        editing.ruleset_part_save(part=pattern, actor=None)
    assert "another tenant" in str(refused.value.message_dict["action"])
