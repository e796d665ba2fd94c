"""A ruleset version as it stood at one of its history entries: its own fields, rules, catalog
links, patterns and test cases, and the tenant's catalog entries and attributes they used as
those stood then (simple-history's `as_of`)."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rules.choices import RulesetKind
from rules.engine import dmn
from rules.models import (
    Action,
    Attribute,
    Condition,
    DecisionModel,
    Pattern,
    Rule,
    RuleCondition,
    Ruleset,
    RulesetTestCase,
)
from rules.selectors.version_diff import (
    TEST_CASE_FIELDS,
    attribute_names_read,
    decision_table_parts,
    scoring_parts,
)

# One save of a form writes the ruleset and then each of its parts, milliseconds apart: an entry
# stands for its whole save, so records that follow it with no pause longer than this belong to it.
SAVE_BURST = timedelta(seconds=1)


@dataclass
class VersionState:
    """Plain instances (not saved) of what the version held at `at`."""

    at: datetime
    ruleset: Ruleset | None
    rules: list[Rule] = field(default_factory=list)
    links: list[RuleCondition] = field(default_factory=list)
    patterns: list[Pattern] = field(default_factory=list)
    test_cases: list[RulesetTestCase] = field(default_factory=list)
    # The tenant's catalog rows the links, patterns and rules used, as they stood at `at`.
    conditions: list[Condition] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    attributes: list[Attribute] = field(default_factory=list)
    # A decision table's DMN model as it stood (None: none, or a scoring version).
    definitions: dmn.Definitions | None = None

    def as_diffable(self) -> dict[str, dict[str, dict]]:
        """The shape of version_diff.ruleset_parts_state, to diff a point against now."""
        test_cases = {
            case.name: {name: getattr(case, name) for name in TEST_CASE_FIELDS}
            for case in self.test_cases
        }
        if self.ruleset is not None and self.ruleset.kind == RulesetKind.DECISION_TABLE:
            return decision_table_parts(
                ruleset=self.ruleset, definitions=self.definitions, test_cases=test_cases
            )
        return scoring_parts(
            ruleset=self.ruleset,
            rules=self.rules,
            links=self.links,
            patterns=self.patterns,
            conditions=self.conditions,
            actions=self.actions,
            attributes=self.attributes,
            test_cases=test_cases,
        )


def version_part_histories(ruleset_id: int) -> tuple:
    """The history records of a version's parts, one queryset per kind: rules, catalog links,
    patterns, test cases and a decision table's DMN model (four-eyes and entry moments)."""
    rule_ids = Rule.history.filter(ruleset_id=ruleset_id).values("id")
    return (
        Rule.history.filter(ruleset_id=ruleset_id),
        RuleCondition.history.filter(rule_id__in=rule_ids),
        Pattern.history.filter(ruleset_id=ruleset_id),
        RulesetTestCase.history.filter(ruleset_id=ruleset_id),
        DecisionModel.history.filter(ruleset_id=ruleset_id),
    )


def _part_records(ruleset_id: int) -> list[tuple[datetime, int | None]]:
    """(date, user id) of every history record of the version's parts, oldest first."""
    records = []
    for history in version_part_histories(ruleset_id):
        records += history.values_list("history_date", "history_user_id")
    return sorted(records, key=lambda record: record[0])


def ruleset_entry_moment(*, ruleset_id: int, history_id: int) -> datetime:
    """The moment a ruleset history entry stands for: the end of the save that wrote it.

    A form save writes the ruleset, then its parts: the parts' records that follow the entry
    by the same user, each within SAVE_BURST of the one before and before the version's next
    entry, belong to it (the rules of the "Created" entry, for one).
    """
    entry = Ruleset.history.get(id=ruleset_id, history_id=history_id)
    following = (
        Ruleset.history.filter(id=ruleset_id, history_date__gt=entry.history_date)
        .order_by("history_date")
        .values_list("history_date", flat=True)
        .first()
    )
    moment = entry.history_date
    for date, user_id in _part_records(ruleset_id):
        if date <= moment:
            continue
        if following is not None and date >= following:
            break
        if user_id != entry.history_user_id or date - moment > SAVE_BURST:
            break
        moment = date
    return moment


def ruleset_state_at(*, ruleset_id: int, at: datetime) -> VersionState:
    """What the version held at `at`: parts deleted since come back, later ones are left out."""
    ruleset = (
        Ruleset.history.filter(id=ruleset_id, history_date__lte=at)
        .order_by("-history_date", "-history_id")
        .first()
    )
    rules = list(
        Rule.history.as_of(at)
        .filter(ruleset_id=ruleset_id)
        .order_by("priority", "position", "rule_id")
    )
    links = list(
        RuleCondition.history.as_of(at)
        .filter(rule_id__in=[r.pk for r in rules])
        .order_by("rule_id", "position")
    )
    patterns = list(Pattern.history.as_of(at).filter(ruleset_id=ruleset_id).order_by("pattern_key"))
    # Catalog entries are edited apart from any version: read each as it stood at `at` too.
    conditions = list(
        Condition.history.as_of(at).filter(id__in={link.condition_id for link in links})
    )
    actions = list(
        Action.history.as_of(at).filter(
            id__in={p.action_id for p in patterns if p.action_id is not None}
        )
    )
    names = attribute_names_read(rules, conditions)
    attributes = (
        list(Attribute.history.as_of(at).filter(tenant_id=ruleset.tenant_id, name__in=names))
        if ruleset is not None and names
        else []
    )
    return VersionState(
        at=at,
        ruleset=ruleset.instance if ruleset is not None else None,
        rules=rules,
        links=links,
        patterns=patterns,
        test_cases=list(
            RulesetTestCase.history.as_of(at).filter(ruleset_id=ruleset_id).order_by("name")
        ),
        conditions=conditions,
        actions=actions,
        attributes=attributes,
        definitions=_definitions_at(ruleset_id, at),
    )


def _definitions_at(ruleset_id: int, at: datetime) -> dmn.Definitions | None:
    model = DecisionModel.history.as_of(at).filter(ruleset_id=ruleset_id).first()
    if model is None or not model.definitions:
        return None
    return dmn.definitions_from_dict(model.definitions)
