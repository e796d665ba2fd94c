"""The attributes catalog's services: validation, constants against types, the validation panel,
try-it's example input, the per-ruleset validator and its cache, import and export."""

import pytest
from django.core.exceptions import ValidationError

from rules.choices import InputValidation, Role
from rules.errors import NotAllowed, RulesetInvalid
from rules.models import Attribute, Ruleset
from rules.selectors.input_example import version_input_example
from rules.services import editing
from rules.services.attributes import (
    attribute_create,
    attribute_delete,
    attribute_save,
    rule_constant_error,
    ruleset_input_validator,
)
from rules.services.ruleset_export import ruleset_export
from rules.services.ruleset_import import ruleset_import
from rules.services.validation import ruleset_validation_report
from tests.factories import AttributeFactory, credit_ruleset

pytestmark = pytest.mark.django_db


def test_an_attribute_is_created_with_history_by_an_author(tenant, author):
    attribute = attribute_create(
        tenant=tenant,
        actor=author,
        name="applicant.country",
        data_type="string",
        allowed_values=["DE", "FR"],
        example="DE",
    )

    assert attribute.history.get().history_user == author
    assert Attribute.objects.for_tenant(tenant).get().name == "applicant.country"


def test_a_viewer_may_not_write_the_catalog(tenant, member):
    with pytest.raises(NotAllowed):
        attribute_create(tenant=tenant, actor=member(Role.VIEWER), name="age")


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": "1st"}, "name", "Use an input key or a dotted path"),
        ({"name": "a..b"}, "name", "Use an input key or a dotted path"),
        ({"data_type": "number", "allowed_values": [1, "two"]}, "allowed_values", "Entry 2:"),
        ({"data_type": "string", "allowed_values": ["A", "A"]}, "allowed_values", "twice"),
        ({"allowed_values": {"A": 1}}, "allowed_values", "Give a JSON list"),
        ({"data_type": "integer", "example": 2.5}, "example", "expected an integer"),
        ({"allowed_values": ["DE"], "example": "FR"}, "example", "not one of the allowed"),
        ({"data_type": "date", "example": "31.01.2026"}, "example", "expected a date"),
    ],
)
def test_bad_entries_are_refused_naming_the_field(tenant, author, fields, field, message):
    values = {"name": "country", "data_type": "string", **fields}

    with pytest.raises(ValidationError) as refused:
        attribute_create(tenant=tenant, actor=author, **values)

    assert message in " ".join(refused.value.message_dict[field])
    assert not Attribute.objects.exists()


def test_names_are_unique_per_tenant_not_across_tenants(tenant, other_tenant, author, member):
    attribute_create(tenant=tenant, actor=author, name="age", data_type="integer")
    other_author = member(Role.AUTHOR, in_tenant=other_tenant)
    attribute_create(tenant=other_tenant, actor=other_author, name="age", data_type="string")

    with pytest.raises(ValidationError) as refused:
        attribute_create(tenant=tenant, actor=author, name="age")

    assert "already exists" in str(refused.value)


@pytest.mark.parametrize(
    ("data_type", "allowed", "operator", "constant", "error"),
    [
        ("number", [], "greater_than", "abc", "'abc' is not a number"),
        ("integer", [], "between", '[1, "x"]', "'x' is not a number"),
        ("number", [], "greater_than", "700", ""),
        ("string", ["DE", "FR"], "equal", "XX", "not one of the allowed values"),
        ("string", ["DE", "FR"], "equal", "DE", ""),
        ("boolean", [], "equal", "yes", "expected a boolean"),
        ("number", [], "equal", "abc", "expected a number"),
        ("string", [], "starts_with", "A", ""),
    ],
)
def test_constants_are_checked_against_the_attribute_type(
    tenant, data_type, allowed, operator, constant, error
):
    AttributeFactory(
        tenant=tenant, name="x", data_type=data_type, allowed_values=allowed, example=None
    )

    found = rule_constant_error(
        tenant_id=tenant.pk, attribute="x", operator=operator, constant=constant
    )

    assert (error in found) if error else found == ""


def test_validation_panel_lists_catalog_errors_and_unknown_attributes(tenant, author):
    ruleset = credit_ruleset(tenant)
    AttributeFactory(tenant=tenant, name="income", data_type="number", example=None)
    report = ruleset_validation_report(ruleset)
    assert report.warnings == ["R1: attribute 'credit_score' is not in the attributes catalog."]

    AttributeFactory(tenant=tenant, name="credit_score", data_type="string", allowed_values=["A"])
    rule = ruleset.rules.get(rule_id="R2")
    rule.operator, rule.constant = "equal", "many"
    editing.ruleset_part_save(part=rule, actor=author)

    report = ruleset_validation_report(ruleset)
    assert report.warnings == []
    assert "R2: The constant does not fit (income is number): expected a number" in (
        " ".join(report.errors)
    )


def test_without_a_catalog_the_panel_says_nothing_about_attributes(tenant):
    assert ruleset_validation_report(credit_ruleset(tenant)).warnings == []


def test_try_it_starts_from_the_catalog_examples_then_the_constants(tenant):
    ruleset = credit_ruleset(tenant)
    AttributeFactory(tenant=tenant, name="income", data_type="number", example=61000)

    assert version_input_example(ruleset) == {"credit_score": 700, "income": 61000}


def test_the_validator_checks_only_what_the_ruleset_reads_and_is_cached(
    tenant, author, django_assert_num_queries
):
    ruleset = credit_ruleset(tenant)
    AttributeFactory(tenant=tenant, name="income", data_type="number", example=None)
    AttributeFactory(tenant=tenant, name="unread", data_type="number", example=None)

    assert ruleset_input_validator(tenant_id=tenant.pk, ruleset_id=ruleset.pk) == ("off", None)
    editing.ruleset_update(ruleset=ruleset, actor=author, input_validation=InputValidation.WARN)
    mode, validator = ruleset_input_validator(tenant_id=tenant.pk, ruleset_id=ruleset.pk)

    assert mode == "warn"
    assert [check.name for check in validator.checks] == ["income"]
    with django_assert_num_queries(0):
        ruleset_input_validator(tenant_id=tenant.pk, ruleset_id=ruleset.pk)

    # A catalog write clears the cache at once: the next call sees the new entry.
    attribute_create(tenant=tenant, actor=author, name="credit_score", data_type="integer")
    _, validator = ruleset_input_validator(tenant_id=tenant.pk, ruleset_id=ruleset.pk)
    assert [check.name for check in validator.checks] == ["credit_score", "income"]
    attribute_delete(attribute=Attribute.objects.get(name="income"), actor=author)
    _, validator = ruleset_input_validator(tenant_id=tenant.pk, ruleset_id=ruleset.pk)
    assert [check.name for check in validator.checks] == ["credit_score"]


def test_export_carries_the_attributes_read_and_import_creates_the_missing_ones(
    tenant, other_tenant, author, member
):
    ruleset = credit_ruleset(tenant)
    editing.ruleset_update(ruleset=ruleset, actor=author, input_validation=InputValidation.STRICT)
    AttributeFactory(
        tenant=tenant, name="income", data_type="number", description="Yearly", example=50000
    )
    AttributeFactory(tenant=tenant, name="unread", data_type="string", example=None)

    document = ruleset_export(ruleset=ruleset)

    assert document["ruleset"]["input_validation"] == "strict"
    assert document["attributes"] == [
        {
            "name": "income",
            "data_type": "number",
            "description": "Yearly",
            "allowed_values": [],
            "example": 50000,
        }
    ]
    other_author = member(Role.AUTHOR, in_tenant=other_tenant)
    AttributeFactory(
        tenant=other_tenant, name="kept", data_type="string", description="", example=None
    )
    document["attributes"].append(
        {"name": "kept", "data_type": "integer", "description": "", "allowed_values": []}
    )
    report = ruleset_import(tenant=other_tenant, actor=other_author, document=document)

    imported = Attribute.objects.for_tenant(other_tenant)
    assert {a.name: a.data_type for a in imported} == {"income": "number", "kept": "string"}
    assert imported.get(name="income").history.get().history_change_reason == "import (spec format)"
    assert report.created.input_validation == "strict"
    assert report.counts["attributes"] == 1 and report.counts["attributes_reused"] == 1
    assert [w.message for w in report.warnings] == [
        "attribute kept exists in tenant globex with different data_type; the tenant's entry "
        "is kept"
    ]


def test_an_import_with_a_bad_attribute_writes_nothing(tenant, author):
    document = ruleset_export(ruleset=credit_ruleset(tenant, name="source"))
    document["ruleset"]["name"] = "copy"
    document["attributes"] = [{"name": "income", "data_type": "number", "example": "lots"}]

    with pytest.raises(RulesetInvalid) as refused:
        ruleset_import(tenant=tenant, actor=author, document=document)

    assert [p.path for p in refused.value.problems] == ["attributes[0].example"]
    assert not Attribute.objects.exists()
    assert not Ruleset.objects.filter(name="copy").exists()


def test_an_attribute_cannot_move_to_another_tenant(tenant, other_tenant, author):
    attribute = AttributeFactory(tenant=tenant, name="age")
    attribute.tenant = other_tenant

    with pytest.raises((ValidationError, NotAllowed)):
        attribute_save(attribute=attribute, actor=author)
