"""Compare two ruleset versions part by part: rules added, removed and changed field by field,
patterns and test cases the same way (by rule id, pattern key and test case name)."""

from dataclasses import dataclass, field

from rules.models import Pattern, Rule, Ruleset, RulesetTestCase

RULE_FIELDS = (
    "rule_name",
    "attribute",
    "operator",
    "constant",
    "condition_mode",
    "message",
    "weight",
    "rule_point",
    "priority",
    "action_result",
    "status",
)
PATTERN_FIELDS = ("action_recommendation", "action_id", "description")
TEST_CASE_FIELDS = (
    "description",
    "input_data",
    "expected_pattern_result",
    "expected_action_recommendation",
    "expected_total_points",
    "total_points_tolerance",
    "expected_matched_rules",
)


@dataclass
class PartsDiff:
    kind: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    # (key, [(field, old, new), ...])
    changed: list[tuple[str, list[tuple[str, object, object]]]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def parts_diff(kind: str, old: dict[str, dict], new: dict[str, dict], fields) -> PartsDiff:
    """Diff of two {key: {field: value}} maps."""
    diff = PartsDiff(kind=kind)
    diff.added = sorted(set(new) - set(old))
    diff.removed = sorted(set(old) - set(new))
    for key in sorted(set(old) & set(new)):
        changes = [
            (name, old[key].get(name), new[key].get(name))
            for name in fields
            if old[key].get(name) != new[key].get(name)
        ]
        if changes:
            diff.changed.append((key, changes))
    return diff


def ruleset_parts_state(ruleset: Ruleset) -> dict[str, dict[str, dict]]:
    """The version's parts as plain data, keyed the way diffs compare them."""
    return {
        "rules": {
            row["rule_id"]: row
            for row in Rule.objects.filter(ruleset=ruleset).values("rule_id", *RULE_FIELDS)
        },
        "patterns": {
            row["pattern_key"]: row
            for row in Pattern.objects.filter(ruleset=ruleset).values(
                "pattern_key", *PATTERN_FIELDS
            )
        },
        "test cases": {
            row["name"]: row
            for row in RulesetTestCase.objects.filter(ruleset=ruleset).values(
                "name", *TEST_CASE_FIELDS
            )
        },
    }


def states_diff(old: dict, new: dict) -> list[PartsDiff]:
    fields = {"rules": RULE_FIELDS, "patterns": PATTERN_FIELDS, "test cases": TEST_CASE_FIELDS}
    return [parts_diff(kind, old[kind], new[kind], fields[kind]) for kind in fields]


def ruleset_versions_diff(*, old: Ruleset, new: Ruleset) -> list[PartsDiff]:
    """What changes from `old` to `new`: one PartsDiff each for rules, patterns, test cases."""
    return states_diff(ruleset_parts_state(old), ruleset_parts_state(new))
