"""The tenant's attributes catalog: writes, the checks of rule constants against an attribute's
type, and the per-ruleset input validator the evaluation step asks for.

The validator is cached per process like compiled rulesets (rules.change_notifications): the
evaluate path costs one dict lookup, and every write here clears the caches at once and, by a
NOTIFY delivered at commit, on every other node.
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from rules.change_notifications import (
    ProcessCache,
    caches_generation,
    change_record,
)
from rules.choices import Capability, InputValidation
from rules.engine import WARNING, Problem, parse_constant
from rules.engine.attribute_types import (
    LIST,
    NUMERIC_TYPES,
    AttributeCheck,
    InputValidator,
    type_problem,
    value_problem,
    value_shown,
)
from rules.engine.values import kind
from rules.models import Attribute, Ruleset
from rules.selectors.attributes import tenant_attributes, version_attributes_read
from rules.services.tenancy import capability_require

# An input key or a dotted path into nested objects (applicant.income), as rules read them.
ATTRIBUTE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z_][A-Za-z0-9_\-]*)*\Z")
NUMERIC_OPERATORS = frozenset(
    (
        "greater_than",
        "greater_than_or_equal",
        "less_than",
        "less_than_or_equal",
        "between",
        "range",
    )
)
EQUALITY_OPERATORS = frozenset(("equal", "not_equal"))
MEMBERSHIP_OPERATORS = frozenset(("in", "not_in"))


# Writes -------------------------------------------------------------------------------------


def attribute_field_errors(attribute: Attribute) -> dict[str, list[str]]:
    """Field errors beyond the model's own: the name's shape, allowed values and example that
    do not fit the type."""
    errors: dict[str, list[str]] = {}
    if attribute.name and not ATTRIBUTE_NAME.match(attribute.name):
        errors["name"] = [
            "Use an input key or a dotted path such as applicant.income: letters, digits, '_' "
            "and '-', each part starting with a letter or '_'."
        ]
    allowed = attribute.allowed_values
    if not isinstance(allowed, list):
        errors["allowed_values"] = ['Give a JSON list, e.g. ["A", "B"]; [] for any value.']
        allowed = []
    else:
        # A list attribute's allowed values are the members its lists may hold.
        member_type = None if attribute.data_type == LIST else attribute.data_type
        for index, value in enumerate(allowed):
            problem = type_problem(member_type, value) if member_type else ""
            if not problem and kind(value) in ("list", "object", "null"):
                problem = f"expected a plain value, got {kind(value)} {value_shown(value)}"
            if problem:
                errors.setdefault("allowed_values", []).append(f"Entry {index + 1}: {problem}.")
        if len({repr(v) for v in allowed}) != len(allowed):
            errors.setdefault("allowed_values", []).append("A value is listed twice.")
    if attribute.example is not None and "allowed_values" not in errors:
        problem = value_problem(attribute.data_type, allowed, attribute.example)
        if problem:
            errors["example"] = [f"The example does not fit: {problem}."]
    return errors


def _announce() -> None:
    # Other nodes hear of the change from the table's NOTIFY trigger (migration 0010).
    change_record()


@transaction.atomic
def attribute_save(*, attribute: Attribute, actor) -> Attribute:
    """Create or update an entry of the tenant's attributes catalog."""
    capability_require(actor=actor, tenant=attribute.tenant, capability=Capability.EDIT)
    if attribute.pk:
        stored = Attribute.objects.select_for_update().get(pk=attribute.pk)
        if stored.tenant_id != attribute.tenant_id:
            raise ValidationError({"tenant": ["An attribute cannot move to another tenant."]})
    errors = {}
    try:
        attribute.full_clean()
    except ValidationError as error:
        errors = error.message_dict
    for field, messages in attribute_field_errors(attribute).items():
        if field not in errors:
            errors[field] = messages
    if errors:
        raise ValidationError(errors)
    attribute._history_user = actor
    attribute.save()
    _announce()
    return attribute


def attribute_create(*, tenant, actor, **fields) -> Attribute:
    return attribute_save(attribute=Attribute(tenant=tenant, **fields), actor=actor)


@transaction.atomic
def attribute_delete(*, attribute: Attribute, actor) -> None:
    """Delete a catalog entry; rules that read it keep working (the catalog only describes)."""
    capability_require(actor=actor, tenant=attribute.tenant, capability=Capability.EDIT)
    attribute._history_user = actor
    attribute.delete()
    _announce()


def attributes_bulk_create(*, tenant, attributes: list[Attribute], actor, change_reason: str = ""):
    """New entries of one tenant (an import's), checked like single saves, history per entry."""
    for attribute in attributes:
        attribute.tenant = tenant
        attribute._change_reason = change_reason
        attribute_save(attribute=attribute, actor=actor)


# Rule constants against the catalog ---------------------------------------------------------


def constant_attribute_problems(*, attribute: Attribute, operator: str, constant) -> tuple:
    """(error, warning) for a rule constant read against the attribute's type; "" for none.

    Errors are what can never match: a constant that is not a number on a numeric operator for a
    number or integer attribute, a constant of another type or not among the allowed values on
    equal / not_equal. Members of an in / not_in list that do not fit are a warning.
    """
    if not operator or not isinstance(constant, str):
        return "", ""
    data_type = attribute.data_type
    value = parse_constant(constant)
    where = f"{attribute.name} is {data_type}"
    if operator in NUMERIC_OPERATORS and data_type in NUMERIC_TYPES:
        members = value if isinstance(value, list) else [value]
        for member in members:
            if kind(member) != "number":
                return (
                    f"{value_shown(member)} is not a number, and {where}: '{operator}' can "
                    "never match.",
                    "",
                )
        return "", ""
    if operator in EQUALITY_OPERATORS and data_type != LIST:
        problem = value_problem(data_type, attribute.allowed_values, value)
        if problem:
            return f"The constant does not fit ({where}): {problem}.", ""
        return "", ""
    if operator in MEMBERSHIP_OPERATORS and isinstance(value, list):
        for member in value:
            problem = value_problem(data_type, attribute.allowed_values, member)
            if problem:
                return "", f"a member of the list does not fit ({where}): {problem}"
    return "", ""


def rule_constant_error(
    *, tenant_id: int, attribute: str, operator: str, constant, catalog: dict | None = None
) -> str:
    """The certain error of an inline rule's constant against the tenant's catalog, or "".

    `catalog` ({name: Attribute}, loaded once for many rules) saves the query.
    """
    if not attribute:
        return ""
    if catalog is None:
        catalog = tenant_attributes(tenant_id, [attribute])
    entry = catalog.get(attribute)
    if entry is None:
        return ""
    return constant_attribute_problems(attribute=entry, operator=operator, constant=constant)[0]


def ruleset_attribute_findings(ruleset: Ruleset) -> tuple[list[str], list[str]]:
    """(errors, warnings) of the version's inline rules against the tenant's catalog, for the
    validation panel. Attributes the catalog does not list are a warning when it lists any."""
    catalog = tenant_attributes(ruleset.tenant_id)
    if not catalog:
        return [], []
    errors, warnings = [], []
    rules = ruleset.rules.filter(condition_mode="").order_by("priority", "position", "rule_id")
    for rule_id, name, operator, constant in rules.values_list(
        "rule_id", "attribute", "operator", "constant"
    ):
        entry = catalog.get(name)
        if entry is None:
            warnings.append(f"{rule_id}: attribute {name!r} is not in the attributes catalog.")
            continue
        error, warning = constant_attribute_problems(
            attribute=entry, operator=operator, constant=constant
        )
        if error:
            errors.append(f"{rule_id}: {error}")
        if warning:
            warnings.append(f"{rule_id}: {warning}.")
    return errors, warnings


# The evaluation step's input validation -----------------------------------------------------

# (tenant id, ruleset id) -> (mode, InputValidator | None). Only drafts change what they read or
# their mode, and every write clears the caches; without notifications an entry lives
# API_AUTH_CACHE_SECONDS, as roles do.
_validators = ProcessCache("input validators", lambda: settings.API_AUTH_CACHE_SECONDS)


def ruleset_input_validator(*, tenant_id: int, ruleset_id) -> tuple[str, InputValidator | None]:
    """(input_validation mode, validator) of a ruleset; ("off", None) without checks to make.

    Snapshots (no ruleset id) are not validated: their tenant's catalog is in the database of
    the node that published them, not necessarily here.
    """
    if ruleset_id is None:
        return InputValidation.OFF, None
    # No change_listener_start() here: the ruleset sources start it, and without it an entry
    # lives API_AUTH_CACHE_SECONDS; this runs on every evaluation.
    key = (tenant_id, ruleset_id)
    cached = _validators.get(key)
    if cached is not None:
        return cached
    generation = caches_generation()
    mode = (
        Ruleset.objects.filter(pk=ruleset_id).values_list("input_validation", flat=True).first()
        or InputValidation.OFF
    )
    validator = None
    if mode != InputValidation.OFF:
        read = version_attributes_read(ruleset_id)
        catalog = tenant_attributes(tenant_id, read)
        checks = [
            AttributeCheck(
                name=name,
                data_type=catalog[name].data_type,
                allowed_values=tuple(catalog[name].allowed_values or ()),
            )
            for name in read
            if name in catalog
        ]
        validator = InputValidator(checks) if checks else None
    entry = (str(mode), validator)
    _validators.put(key, entry, generation)
    return entry


# Import and export: attributes travel with the ruleset document --------------------------

ATTRIBUTE_DOCUMENT_FIELDS = ("name", "data_type", "description", "allowed_values", "example")


def attribute_document(attribute: Attribute) -> dict:
    return {name: getattr(attribute, name) for name in ATTRIBUTE_DOCUMENT_FIELDS}


def ruleset_attributes_export(ruleset: Ruleset) -> list[dict]:
    """The catalog entries of the attributes the version reads, for its export document."""
    read = version_attributes_read(ruleset.pk)
    catalog = tenant_attributes(ruleset.tenant_id, read)
    return [attribute_document(catalog[name]) for name in sorted(catalog)]


def attributes_import_plan(*, tenant, entries) -> tuple[list[Attribute], list, list]:
    """(new unsaved attributes, warnings, problems) for a document's `attributes` section.

    Entries the tenant's catalog lacks are created; an entry that exists with other content is
    a warning and the tenant's entry is kept (rules of published versions may rely on it).
    Problems are Problem records at `attributes[i]` paths.
    """
    if entries is None:
        return [], [], []
    if not isinstance(entries, list):
        return [], [], [Problem(None, "'attributes' must be a list of objects", "attributes")]
    problems, warnings, new = [], [], []
    names = [e.get("name") for e in entries if isinstance(e, dict)]
    existing = tenant_attributes(tenant.pk, [n for n in names if isinstance(n, str)])
    seen = set()
    for index, entry in enumerate(entries):
        path = f"attributes[{index}]"
        if not isinstance(entry, dict):
            problems.append(Problem(None, "an attribute must be an object", path))
            continue
        unknown = sorted(set(entry) - set(ATTRIBUTE_DOCUMENT_FIELDS))
        if unknown:
            problems.append(Problem(None, f"unknown field(s): {', '.join(unknown)}", path))
            continue
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            problems.append(Problem(None, "'name' is required (a text)", f"{path}.name"))
            continue
        if name in seen:
            problems.append(Problem(None, f"attribute {name} is listed twice", f"{path}.name"))
            continue
        seen.add(name)
        fields = {
            "data_type": entry.get("data_type") or "string",
            "description": entry.get("description") or "",
            "allowed_values": entry.get("allowed_values") or [],
            "example": entry.get("example"),
        }
        current = existing.get(name)
        if current is not None:
            differing = [f for f, value in fields.items() if getattr(current, f) != value]
            if differing:
                warnings.append(
                    Problem(
                        None,
                        f"attribute {name} exists in tenant {tenant.slug} with different "
                        f"{', '.join(differing)}; the tenant's entry is kept",
                        path,
                        severity=WARNING,
                    )
                )
            continue
        candidate = Attribute(tenant=tenant, name=name, **fields)
        errors = {}
        try:
            candidate.clean_fields(exclude=["tenant"])
        except ValidationError as error:
            errors = error.message_dict
        for field, messages in attribute_field_errors(candidate).items():
            errors.setdefault(field, messages)
        for field, messages in errors.items():
            problems += [Problem(None, message, f"{path}.{field}") for message in messages]
        if not errors:
            new.append(candidate)
    return new, warnings, problems
