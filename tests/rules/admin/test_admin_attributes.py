"""The attributes catalog in the admin, and its side of the rule forms: completion, constants
checked against the attribute's type, warnings in the validation panel, input validation on the
ruleset form, try-it's example input. Another tenant's attribute pages: test_admin_tenancy.py."""

import json

import pytest
from django.urls import reverse

from rules.choices import Role
from rules.models import Attribute, Rule, Ruleset
from tests.factories import AttributeFactory, ruleset_with_rules
from tests.rules.admin.test_ruleset_admin import management_form, new_ruleset_post, rule_row

pytestmark = pytest.mark.django_db


def add_url():
    return reverse("admin:rules_attribute_add")


def attribute_post(tenant, **fields) -> dict:
    return {
        "tenant": str(tenant.pk),
        "name": "country",
        "data_type": "string",
        "description": "",
        "allowed_values": '["DE", "FR"]',
        "example": '"DE"',
        **fields,
    }


def test_an_author_adds_an_attribute_through_the_service(client, tenant, author):
    client.force_login(author)

    response = client.post(add_url(), attribute_post(tenant))

    assert response.status_code == 302
    attribute = Attribute.objects.get()
    assert (attribute.allowed_values, attribute.example) == (["DE", "FR"], "DE")
    assert attribute.history.get().history_user == author


def test_an_example_that_does_not_fit_is_an_error_on_its_field(client, tenant, author):
    client.force_login(author)

    response = client.post(add_url(), attribute_post(tenant, example='"IT"'))
    typed = client.post(add_url(), attribute_post(tenant, data_type="integer", example="1.5"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["example"] == [
        "The example does not fit: 'IT' is not one of the allowed values ['DE', 'FR']."
    ]
    assert "allowed_values" in typed.context["adminform"].form.errors
    assert not Attribute.objects.exists()


def test_a_viewer_reads_the_catalog_and_changes_nothing(client, tenant, member):
    attribute = AttributeFactory(tenant=tenant, name="income")
    client.force_login(member(Role.VIEWER))

    listing = client.get(reverse("admin:rules_attribute_changelist"))
    page = client.get(reverse("admin:rules_attribute_change", args=[attribute.pk]))
    add = client.get(add_url())
    post = client.post(
        reverse("admin:rules_attribute_change", args=[attribute.pk]),
        attribute_post(tenant, name="renamed", allowed_values="[]", example="1"),
    )

    assert listing.status_code == 200 and b"income" in listing.content
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert add.status_code == 403
    assert post.status_code == 403
    assert Attribute.objects.get().name == "income"


def test_the_rule_form_completes_attribute_names_from_the_catalog(client, tenant, author):
    ruleset = ruleset_with_rules(tenant=tenant, rules=2)
    AttributeFactory(tenant=tenant, name="credit_score", data_type="integer", description="FICO")
    AttributeFactory(tenant=tenant, name="applicant.country", data_type="string", description="")
    client.force_login(author)

    content = client.get(reverse("admin:rules_ruleset_change", args=[ruleset.pk])).content.decode()

    datalist = f'<datalist id="attribute-catalog-{tenant.pk}">'
    assert content.count(datalist) == 1
    assert '<option value="credit_score" label="integer: FICO"></option>' in content
    assert '<option value="applicant.country" label="string"></option>' in content
    assert content.count(f'list="attribute-catalog-{tenant.pk}"') >= 2  # every rule row


def test_a_constant_that_cannot_match_its_attribute_is_refused_on_its_field(client, tenant, author):
    ruleset = ruleset_with_rules(tenant=tenant, rules=1)
    rule = ruleset.rules.get()
    AttributeFactory(tenant=tenant, name=rule.attribute, data_type="number", example=None)
    pattern = ruleset.patterns.get()
    data = {
        "name": ruleset.name,
        "version": ruleset.version,
        "description": "",
        "tags": "",
        "metadata": "{}",
        **management_form("rules", 1, 1),
        **management_form("patterns", 1, 1),
        **management_form("test_cases", 0, 0),
        "rules-0-id": str(rule.pk),
        "rules-0-ruleset": str(ruleset.pk),
        # An ISO date passes the operator check; it is no number for a number attribute.
        **rule_row(0, rule_id=rule.rule_id, attribute=rule.attribute, constant="2026-01-31"),
        "patterns-0-id": str(pattern.pk),
        "patterns-0-ruleset": str(ruleset.pk),
        "patterns-0-pattern_key": pattern.pattern_key,
        "patterns-0-action_recommendation": pattern.action_recommendation,
        "patterns-0-action": "",
        "patterns-0-description": "",
    }
    client.force_login(author)

    response = client.post(reverse("admin:rules_ruleset_change", args=[ruleset.pk]), data)

    assert response.status_code == 200
    rule_form = response.context["inline_admin_formsets"][0].formset.forms[0]
    assert rule_form.errors["constant"] == [
        f"'2026-01-31' is not a number, and {rule.attribute} is number: 'greater_than' can "
        "never match."
    ]
    assert Rule.objects.get(pk=rule.pk).constant == rule.constant


def test_a_new_rulesets_rules_are_checked_against_the_chosen_tenants_catalog(
    client, tenant, author
):
    AttributeFactory(tenant=tenant, name="country", data_type="string", allowed_values=["DE"])
    data = new_ruleset_post(tenant, {"attribute": "country", "operator": "equal", "constant": "XX"})
    client.force_login(author)

    response = client.post(reverse("admin:rules_ruleset_add"), data)

    assert response.status_code == 200
    rule_form = response.context["inline_admin_formsets"][0].formset.forms[0]
    assert "not one of the allowed values" in rule_form.errors["constant"][0]
    assert not Ruleset.objects.exists()


def test_the_rule_page_of_the_rules_list_checks_constants_too(client, tenant, author):
    ruleset = ruleset_with_rules(tenant=tenant, rules=1)
    rule = ruleset.rules.get()
    AttributeFactory(tenant=tenant, name=rule.attribute, data_type="integer", example=None)
    client.force_login(author)
    url = reverse("admin:rules_rule_change", args=[rule.pk])
    fields = {
        key.removeprefix("rules-0-"): value
        for key, value in rule_row(0, rule_id=rule.rule_id, attribute=rule.attribute).items()
    }

    page = client.get(url).content.decode()
    refused = client.post(url, {**fields, "constant": "1.5e", "message": ""})

    assert f'list="attribute-catalog-{tenant.pk}"' in page
    assert refused.status_code == 200
    assert "constant" in refused.context["adminform"].form.errors


def test_the_validation_panel_warns_of_attributes_the_catalog_lacks(client, tenant, author):
    ruleset = ruleset_with_rules(tenant=tenant, rules=1)
    AttributeFactory(tenant=tenant, name="something_else")
    client.force_login(author)

    page = client.get(reverse("admin:rules_ruleset_change", args=[ruleset.pk]))

    rule = ruleset.rules.get()
    assert (
        f"{rule.rule_id}: attribute &#x27;{rule.attribute}&#x27; is not in the attributes catalog."
        in page.content.decode()
    )


def test_input_validation_is_chosen_on_the_ruleset_form(client, tenant, author):
    data = new_ruleset_post(tenant, {})
    data["input_validation"] = "warn"
    client.force_login(author)

    response = client.post(reverse("admin:rules_ruleset_add"), data)
    kept = new_ruleset_post(tenant, {})  # a form posted without it keeps the default
    kept["name"] = "other"
    client.post(reverse("admin:rules_ruleset_add"), kept)

    assert response.status_code == 302
    assert Ruleset.objects.get(name="scoring").input_validation == "warn"
    assert Ruleset.objects.get(name="other").input_validation == "off"


def test_try_it_starts_from_the_catalog_examples(client, tenant, author):
    ruleset = ruleset_with_rules(tenant=tenant, rules=1)
    rule = ruleset.rules.get()
    AttributeFactory(tenant=tenant, name=rule.attribute, data_type="integer", example=815)
    client.force_login(author)

    page = client.get(reverse("admin:executions_executionlog_try_it", args=[ruleset.pk]))

    assert json.loads(page.context["form"].initial["input"]) == {rule.attribute: 815}
