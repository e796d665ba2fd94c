"""The POST data of the admin's forms, built from a saved object (a test changes a few fields)."""


def rule_post(rule, **changes) -> dict:
    """A rule's own change form, as the admin renders it for `rule`, with `changes` applied."""
    values = {
        "rule_id": rule.rule_id,
        "rule_name": rule.rule_name,
        "attribute": rule.attribute,
        "operator": rule.operator,
        "constant": rule.constant,
        "weight": str(rule.weight),
        "rule_point": str(rule.rule_point),
        "priority": str(rule.priority),
        "action_result": rule.action_result,
        "status": rule.status,
        "message": rule.message,
        "catalog_condition_ids": [str(link.condition_id) for link in rule.condition_links.all()],
    }
    return {**values, **changes}
