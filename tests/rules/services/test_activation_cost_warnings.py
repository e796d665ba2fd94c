"""A ruleset whose cost estimate is far above normal is warned about before activation."""

import pytest

from rules.services.lifecycle import ruleset_activation_warnings
from tests.factories import RuleFactory, RulesetFactory

pytestmark = pytest.mark.django_db


def test_a_ruleset_of_many_regex_rules_gets_a_cost_warning_at_activation(tenant):
    ruleset = RulesetFactory(tenant=tenant)
    for _ in range(150):
        RuleFactory(ruleset=ruleset, attribute="name", operator="regex", constant="^a+b$")
    warnings = ruleset_activation_warnings(ruleset=ruleset)
    assert any(w.startswith("warning: ") and "150 regex conditions" in w for w in warnings)


def test_an_ordinary_ruleset_gets_no_cost_warning(tenant):
    ruleset = RulesetFactory(tenant=tenant)
    RuleFactory.create_batch(5, ruleset=ruleset)
    warnings = ruleset_activation_warnings(ruleset=ruleset)
    assert not any(w.startswith("warning: ") for w in warnings)
