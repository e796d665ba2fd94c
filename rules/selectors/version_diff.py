"""Compare two ruleset versions part by part: the version's own fields; rules added, removed and
changed field by field (their catalog conditions included), patterns and test cases the same way
(by rule id, pattern key and test case name); the tenant's catalog conditions, actions and
attributes the version uses; a decision table's decisions and rows cell by cell
(rules.selectors.decision_diff)."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from rules.models import (
    RULESET_AUTHORED_FIELDS,
    Action,
    Attribute,
    Condition,
    Pattern,
    Rule,
    RuleCondition,
    Ruleset,
    RulesetTestCase,
)
from rules.selectors.decision_diff import decision_model_parts
from rules.selectors.decision_models import decision_definitions, ruleset_is_decision_table

# The fields an author sets on the version itself. Left out: name (the key), version (the page
# names both), kind (fixed at creation), is_default (moved by "set default" across versions, not
# authored in one), status, revision and timestamps (the lifecycle's, not the author's).
RULESET_FIELDS = RULESET_AUTHORED_FIELDS
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
# The metadata key ruleset_new_version sets on each copy (left out of the comparison).
CLONED_FROM = "cloned_from"
# A rule's catalog links (RuleCondition), shown as one field: the condition ids in link order.
RULE_LINKS_FIELD = "catalog_conditions"
# `action` is the linked catalog action's action_id (the row's pk would say nothing).
PATTERN_FIELDS = ("action_recommendation", "action", "description")
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
CONDITION_FIELDS = ("name", "description", "attribute", "operator", "value", "status", "tags")
ACTION_FIELDS = ("name", "description", "action_type", "configuration", "status", "tags")
ATTRIBUTE_FIELDS = ("data_type", "description", "allowed_values", "example")
# Kinds read from the tenant's catalogs, which no version owns (pages say so above them).
CATALOG_KINDS = ("catalog conditions used", "catalog actions used", "attributes used")
SCORING_FIELDS = {
    "ruleset": RULESET_FIELDS,
    "rules": (*RULE_FIELDS, RULE_LINKS_FIELD),
    "patterns": PATTERN_FIELDS,
    "catalog conditions used": CONDITION_FIELDS,
    "catalog actions used": ACTION_FIELDS,
    "attributes used": ATTRIBUTE_FIELDS,
}


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

    @property
    def of_tenant_catalog(self) -> bool:
        return self.kind in CATALOG_KINDS


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


def _row(instance, fields) -> dict:
    return {name: getattr(instance, name) for name in fields}


def _ruleset_row(ruleset: Ruleset) -> dict:
    row = _row(ruleset, RULESET_FIELDS)
    # Every copy says where it came from: a difference there is bookkeeping, not an edit.
    row["metadata"] = {k: v for k, v in (ruleset.metadata or {}).items() if k != CLONED_FROM}
    return row


def attribute_names_read(rules: Iterable[Rule], conditions: Iterable[Condition]) -> set[str]:
    """The input attributes the rules read: inline conditions' and their catalog conditions'.
    Every rule counts, inactive ones too: the diff is of what the version holds."""
    return {r.attribute for r in rules if r.attribute} | {c.attribute for c in conditions}


def scoring_parts(
    *,
    ruleset: Ruleset | None,
    rules: list[Rule],
    links: list[RuleCondition],
    patterns: list[Pattern],
    conditions: list[Condition],
    actions: list[Action],
    attributes: list[Attribute],
    test_cases: dict[str, dict],
) -> dict[str, dict[str, dict]]:
    """A scoring version's parts keyed the way diffs compare them, from instances: the stored
    rows (ruleset_parts_state) or those simple-history rebuilt for a moment (VersionState).
    `conditions` and `actions` are the catalog entries `links` and `patterns` point to. Rules,
    patterns and test cases come first, in the order pages and callers have always had them."""
    condition_codes = {condition.pk: condition.condition_id for condition in conditions}
    action_codes = {action.pk: action.action_id for action in actions}
    codes_by_rule: dict[int, list[str]] = {}
    for link in sorted(links, key=lambda link: (link.position, link.pk)):
        codes_by_rule.setdefault(link.rule_id, []).append(
            condition_codes.get(link.condition_id, "?")
        )
    return {
        "rules": {
            rule.rule_id: {
                **_row(rule, RULE_FIELDS),
                RULE_LINKS_FIELD: ", ".join(codes_by_rule.get(rule.pk, ())),
            }
            for rule in rules
        },
        "patterns": {
            pattern.pattern_key: {
                "action_recommendation": pattern.action_recommendation,
                "action": action_codes.get(pattern.action_id, ""),
                "description": pattern.description,
            }
            for pattern in patterns
        },
        "test cases": test_cases,
        "ruleset": {ruleset.name: _ruleset_row(ruleset)} if ruleset is not None else {},
        "catalog conditions used": {c.condition_id: _row(c, CONDITION_FIELDS) for c in conditions},
        "catalog actions used": {a.action_id: _row(a, ACTION_FIELDS) for a in actions},
        "attributes used": {a.name: _row(a, ATTRIBUTE_FIELDS) for a in attributes},
    }


def _test_cases_state(ruleset: Ruleset) -> dict[str, dict]:
    return {
        row["name"]: row
        for row in RulesetTestCase.objects.filter(ruleset=ruleset).values("name", *TEST_CASE_FIELDS)
    }


def _scoring_parts_now(ruleset: Ruleset) -> dict[str, dict[str, dict]]:
    """Seven queries whatever the size: rules, links, patterns, test cases and the catalog rows
    they use. The catalogs are the tenant's, not the version's: every version reads today's
    rows, so two versions compared now differ only in which entries they use."""
    rules = list(Rule.objects.filter(ruleset=ruleset))
    links = list(RuleCondition.objects.filter(rule__ruleset=ruleset))
    patterns = list(Pattern.objects.filter(ruleset=ruleset))
    conditions = list(Condition.objects.filter(pk__in={link.condition_id for link in links}))
    actions = list(
        Action.objects.filter(pk__in={p.action_id for p in patterns if p.action_id is not None})
    )
    attributes = list(
        Attribute.objects.filter(
            tenant_id=ruleset.tenant_id, name__in=attribute_names_read(rules, conditions)
        )
    )
    return scoring_parts(
        ruleset=ruleset,
        rules=rules,
        links=links,
        patterns=patterns,
        conditions=conditions,
        actions=actions,
        attributes=attributes,
        test_cases=_test_cases_state(ruleset),
    )


def ruleset_parts_state(ruleset: Ruleset) -> dict[str, dict[str, dict]]:
    """The version's parts as plain data, keyed the way diffs compare them: a scoring version's
    own fields, rules (with their catalog conditions), patterns and the catalog entries and
    attributes they use; a decision table's decisions and rows; the test cases of either."""
    if ruleset_is_decision_table(ruleset):
        return decision_table_parts(
            ruleset=ruleset,
            definitions=decision_definitions(ruleset),
            test_cases=_test_cases_state(ruleset),
        )
    return _scoring_parts_now(ruleset)


def decision_table_parts(*, ruleset, definitions, test_cases: dict) -> dict[str, dict[str, dict]]:
    """A decision-table version's diffable parts: its decisions and rows, test cases and own
    fields (the same kinds, now or at a history entry)."""
    return {
        **decision_model_parts(definitions),
        "test cases": test_cases,
        "ruleset": {ruleset.name: _ruleset_row(ruleset)} if ruleset is not None else {},
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
    """One PartsDiff per kind either state has (the version's fields, rules, patterns, catalog
    entries and attributes used, test cases; decisions and the rows of each decision table), in
    the order the states list them."""
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
    """What changes from `old` to `new`: one PartsDiff per kind of part (the version's fields,
    rules, patterns, catalog entries and attributes used, test cases; for decision tables the
    decisions and each table's rows, cell by cell)."""
    return states_diff(ruleset_parts_state(old), ruleset_parts_state(new))
