"""A new rule's position (issue 17): after the version's last rule, in the one service that the
API's create, the admin's forms and the demo use, so equal priorities run in creation order.

Before, every rule created through the API or the admin kept the model's default 0.
"""

import pytest
from django.urls import reverse

from rules.models import Rule, Ruleset
from rules.services.compilation import ruleset_spec
from rules.services.demo import demo_seed
from rules.services.editing import rule_create, ruleset_part_save
from tests.factories import RuleFactory, RulesetFactory

pytestmark = pytest.mark.django_db
RULE = {"attribute": "score", "operator": "greater_than", "constant": "10", "priority": 1}


def positions(ruleset) -> dict[str, int]:
    return dict(Rule.objects.filter(ruleset=ruleset).values_list("rule_id", "position"))


def test_rule_create_appends_each_rule_after_the_last(tenant, author):
    draft = RulesetFactory(tenant=tenant)
    for rule_id in ("Z1", "A1", "M1"):
        rule_create(ruleset=draft, actor=author, rule_id=rule_id, **RULE)

    assert positions(draft) == {"Z1": 0, "A1": 1, "M1": 2}
    assert [r["rule_id"] for r in ruleset_spec(draft)["rules"]] == ["Z1", "A1", "M1"]


def test_a_new_rule_saved_with_the_default_position_is_appended(tenant, author):
    draft = RulesetFactory(tenant=tenant)
    RuleFactory(ruleset=draft, rule_id="FIRST", position=3)

    rule = ruleset_part_save(part=Rule(ruleset=draft, rule_id="SECOND", **RULE), actor=author)

    assert rule.position == 4


def test_saving_an_existing_rule_keeps_its_position(tenant, author):
    draft = RulesetFactory(tenant=tenant)
    first = rule_create(ruleset=draft, actor=author, rule_id="R1", **RULE)
    rule_create(ruleset=draft, actor=author, rule_id="R2", **RULE)

    first.constant = "20"
    ruleset_part_save(part=first, actor=author)

    assert positions(draft) == {"R1": 0, "R2": 1}


def test_positions_count_per_version(tenant, author):
    one, other = RulesetFactory(tenant=tenant), RulesetFactory(tenant=tenant)
    rule_create(ruleset=one, actor=author, rule_id="R1", **RULE)
    rule_create(ruleset=one, actor=author, rule_id="R2", **RULE)

    assert rule_create(ruleset=other, actor=author, rule_id="R1", **RULE).position == 0


def test_rules_added_in_the_admin_go_after_the_last_in_the_order_of_the_form(
    client, tenant, author
):
    draft = RulesetFactory(tenant=tenant, name="scoring")
    rule_create(ruleset=draft, actor=author, rule_id="R_EXISTING", **RULE)
    data = {"name": "scoring", "version": "1.0", "description": "", "tags": "", "metadata": "{}"}
    for prefix, total in (("rules", 2), ("patterns", 0), ("test_cases", 0)):
        data |= {
            f"{prefix}-TOTAL_FORMS": str(total),
            f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
        }
    for index, rule_id in enumerate(("Z_NEW", "A_NEW")):
        fields = {
            "ruleset": str(draft.pk),
            "rule_id": rule_id,
            "rule_name": "",
            "attribute": "score",
            "operator": "greater_than",
            "constant": "10",
            "weight": "1",
            "rule_point": "10",
            "priority": "1",
            "action_result": "Y",
            "status": "active",
        }
        data |= {f"rules-{index}-{name}": value for name, value in fields.items()}
    client.force_login(author)

    response = client.post(reverse("admin:rules_ruleset_change", args=[draft.pk]), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    assert positions(draft) == {"R_EXISTING": 0, "Z_NEW": 1, "A_NEW": 2}
    assert [r["rule_id"] for r in ruleset_spec(draft)["rules"]] == ["R_EXISTING", "Z_NEW", "A_NEW"]


def test_the_demo_rules_keep_their_order(db):
    demo_seed(password="pw-for-tests-2026")
    ruleset = Ruleset.objects.get(tenant__slug="demo", name="credit_scoring")
    assert sorted(positions(ruleset).values()) == [0, 1, 2]
