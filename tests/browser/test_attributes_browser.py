"""The attributes catalog in a real browser (issue #14): an author adds an attribute, the rule
form completes names from the catalog (a <datalist>, no script), a constant of the wrong type is
refused with the message on its field, and try-it starts from the catalog's example."""

import json

import pytest

from rules.choices import Role
from rules.models import Attribute
from rules.services.tenancy import member_add, tenant_create
from tests.browser.conftest import PASSWORD
from tests.factories import ruleset_with_rules

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture
def acme(db):
    tenant, _ = tenant_create(slug="acme", name="Acme Bank")
    member_add(username="ana.author", tenant=tenant, role=Role.AUTHOR, password=PASSWORD)
    return tenant


def test_the_catalog_completes_attribute_names_and_refuses_constants_of_the_wrong_type(
    acme, signed_in, live_server, screenshot
):
    ruleset = ruleset_with_rules(tenant=acme, rules=2, name="catalog_check")
    rule = ruleset.rules.order_by("rule_id").first()
    author = signed_in("ana.author")

    # Add an attribute through the admin's form: the rules read credit_score.
    author.goto(f"{live_server.url}/admin/rules/attribute/add/")
    author.fill("#id_name", rule.attribute)
    author.select_option("#id_data_type", "integer")
    author.fill("#id_description", "Bureau score, 300-850")
    author.fill("#id_example", "735")
    author.click("input[name=_save]")
    author.wait_for_selector("#result_list")
    assert Attribute.objects.get(tenant=acme).example == 735

    # The rule inputs of the draft complete from the catalog.
    author.goto(f"{live_server.url}/admin/rules/ruleset/{ruleset.pk}/change/")
    first_input = author.locator("#rules-group input.attribute-input").first
    offered = first_input.evaluate(
        "input => Array.from(input.list ? input.list.options : []).map(o => [o.value, o.label])"
    )
    assert offered == [[rule.attribute, "integer: Bureau score, 300-850"]]
    screenshot(author, "attributes-rule-form-datalist")

    # A constant that can never be an integer is refused on its field.
    author.goto(f"{live_server.url}/admin/rules/rule/{rule.pk}/change/")
    author.fill("#id_constant", "2026-01-31")
    author.click("input[name=_save]")
    message = author.inner_text(".field-constant")
    assert f"'2026-01-31' is not a number, and {rule.attribute} is integer" in message
    screenshot(author, "attributes-constant-refused")
    rule.refresh_from_db()
    assert rule.constant == "700"

    # Try-it starts from the catalog's example for what the version reads.
    author.goto(f"{live_server.url}/admin/executions/executionlog/try-it/{ruleset.pk}/")
    assert json.loads(author.input_value("textarea[name=input]")) == {rule.attribute: 735}
