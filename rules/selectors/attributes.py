"""Reads of the attributes catalog: a tenant's entries and the attributes a version reads."""

from rules.choices import ItemStatus
from rules.models import Attribute, Condition, Rule


def version_attribute_constants(ruleset_id: int) -> list[tuple[str, str]]:
    """(attribute, constant) of the version's active rules, inline ones in rule order, then
    catalog conditions."""
    pairs = list(
        Rule.objects.filter(ruleset_id=ruleset_id, status=ItemStatus.ACTIVE)
        .exclude(attribute="")
        .order_by("priority", "position", "pk")
        .values_list("attribute", "constant")
    )
    pairs += Condition.objects.filter(
        rule_links__rule__ruleset_id=ruleset_id, rule_links__rule__status=ItemStatus.ACTIVE
    ).values_list("attribute", "value")
    return pairs


def version_attributes_read(ruleset_id: int) -> list[str]:
    """The attributes the version's active rules read (inline and catalog conditions), in rule
    order, each once."""
    return list(
        dict.fromkeys(attribute for attribute, _ in version_attribute_constants(ruleset_id))
    )


def tenant_attributes(tenant_id: int, names=None) -> dict[str, Attribute]:
    """{name: Attribute} of the tenant's catalog, or of the entries among `names`."""
    attributes = Attribute.objects.filter(tenant_id=tenant_id)
    if names is not None:
        attributes = attributes.filter(name__in=list(names))
    return {attribute.name: attribute for attribute in attributes.order_by("name")}
