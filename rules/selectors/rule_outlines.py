"""What the original system's dry run lists about each rule: its name, points and weight."""

from dataclasses import dataclass

from rules.models import Rule


@dataclass(frozen=True, slots=True)
class RuleOutline:
    rule_name: str
    rule_point: float
    weight: float
    action_result: str


def rule_outlines(*, ruleset_id: int | None) -> dict[str, RuleOutline]:
    """{rule_id: outline} of one ruleset version; empty without a database row (snapshots)."""
    if ruleset_id is None:
        return {}
    rows = Rule.objects.filter(ruleset_id=ruleset_id).values_list(
        "rule_id", "rule_name", "rule_point", "weight", "action_result"
    )
    return {
        rule_id: RuleOutline(name or rule_id, point, weight, result)
        for rule_id, name, point, weight, result in rows
    }
