"""Compare two ruleset versions part by part: rules added, removed and changed field by field,
patterns and test cases the same way (by rule id, pattern key and test case name); a decision
table's decisions and rows cell by cell (rules.selectors.decision_diff)."""

from dataclasses import dataclass, field

from rules.models import Pattern, Rule, Ruleset, RulesetTestCase
from rules.selectors.decision_diff import decision_model_parts
from rules.selectors.decision_models import decision_definitions, ruleset_is_decision_table

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
    "expected_outputs",
)
SCORING_FIELDS = {"rules": RULE_FIELDS, "patterns": PATTERN_FIELDS}


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


def _test_cases_state(ruleset: Ruleset) -> dict[str, dict]:
    return {
        row["name"]: row
        for row in RulesetTestCase.objects.filter(ruleset=ruleset).values("name", *TEST_CASE_FIELDS)
    }


def ruleset_parts_state(ruleset: Ruleset) -> dict[str, dict[str, dict]]:
    """The version's parts as plain data, keyed the way diffs compare them: a scoring version's
    rules and patterns, a decision table's decisions and rows; the test cases of either."""
    if ruleset_is_decision_table(ruleset):
        return {
            **decision_model_parts(decision_definitions(ruleset)),
            "test cases": _test_cases_state(ruleset),
        }
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
        "test cases": _test_cases_state(ruleset),
    }


def _kind_fields(kind: str, old: dict[str, dict], new: dict[str, dict]):
    if kind in SCORING_FIELDS:
        return SCORING_FIELDS[kind]
    if kind == "test cases":
        return TEST_CASE_FIELDS
    # A decision's settings or a table's rows: the fields (columns) either side has, in order.
    names = {}
    for rows in (old, new):
        for row in rows.values():
            names.update(dict.fromkeys(row))
    return tuple(names)


def states_diff(old: dict, new: dict) -> list[PartsDiff]:
    """One PartsDiff per kind either state has (rules, patterns, test cases; decisions and the
    rows of each decision table), in the order the states list them."""
    kinds = list(dict.fromkeys([*old, *new]))
    return [
        parts_diff(
            kind,
            old.get(kind, {}),
            new.get(kind, {}),
            _kind_fields(kind, old.get(kind, {}), new.get(kind, {})),
        )
        for kind in kinds
    ]


def ruleset_versions_diff(*, old: Ruleset, new: Ruleset) -> list[PartsDiff]:
    """What changes from `old` to `new`: one PartsDiff per kind of part (rules, patterns and
    test cases; for decision tables the decisions and each table's rows, cell by cell)."""
    return states_diff(ruleset_parts_state(old), ruleset_parts_state(new))
