"""A rule's catalog mode and catalog conditions go together: one rule for the admin and the API."""

import pytest
from django.core.exceptions import ValidationError

from rules.services.editing import rule_catalog_form_check


def refusal(**arguments) -> dict:
    with pytest.raises(ValidationError) as refused:
        rule_catalog_form_check(**arguments)
    return refused.value.message_dict


def test_catalog_mode_needs_conditions():
    assert refusal(condition_mode="all", conditions=[]) == {
        "conditions": ["Choose the catalog conditions to combine with all."]
    }


def test_catalog_conditions_need_a_mode():
    assert refusal(condition_mode="", conditions=["3"]) == {
        "condition_mode": ["Choose all or any to combine catalog conditions."]
    }


def test_a_catalog_condition_is_not_listed_twice():
    assert refusal(condition_mode="any", conditions=["3", "3"]) == {
        "conditions": ["A catalog condition is listed twice."]
    }


@pytest.mark.parametrize(
    ("condition_mode", "conditions"),
    [("", []), ("", None), ("all", ["3", "4"]), ("any", None)],
    ids=["inline rule", "inline rule, links unchanged", "catalog rule", "links unchanged"],
)
def test_whole_forms_pass(condition_mode, conditions):
    rule_catalog_form_check(condition_mode=condition_mode, conditions=conditions)
