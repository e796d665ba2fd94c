"""An example input for a version: the attributes its active rules read, for try-it to start from.

Each attribute gets the example of the tenant's attributes catalog, or without one the constant
of the first rule that reads it (JSON where the constant is JSON, text otherwise), so the analyst
starts from an input the version can evaluate, not from another ruleset's example. Dotted
attributes (`applicant.income`) become nested objects.
"""

import json

from rules.selectors.attributes import tenant_attributes, version_attribute_constants
from rules.selectors.decision_models import decision_input_example, ruleset_is_decision_table


def version_input_example(ruleset) -> dict:
    """{attribute: example value} for the attributes `ruleset`'s active rules read."""
    if ruleset_is_decision_table(ruleset):
        return decision_input_example(ruleset)
    pairs = version_attribute_constants(ruleset.pk)
    catalog = tenant_attributes(ruleset.tenant_id, {attribute for attribute, _ in pairs})
    example: dict = {}
    for attribute, constant in pairs:
        entry = catalog.get(attribute)
        value = entry.example if entry is not None and entry.example is not None else None
        _place(example, attribute.split("."), _value(constant) if value is None else value)
    return example


def _value(constant: str):
    try:
        value = json.loads(constant)
    except (TypeError, ValueError):
        return constant
    # A list constant belongs to in/not_in: its first member is an input that can match.
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _place(example: dict, path: list[str], value) -> None:
    node = example
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            if part in node:
                return  # a scalar already sits here: keep the first rule's
            child = node[part] = {}
        node = child
    node.setdefault(path[-1], value)
