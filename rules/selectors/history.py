"""Reads of the change history of a ruleset version and of its parts (simple-history records)."""

from rules.engine import dmn
from rules.models import (
    Condition,
    DecisionModel,
    Pattern,
    Rule,
    RuleCondition,
    Ruleset,
    RulesetTestCase,
)
from rules.selectors.decision_diff import decision_model_parts
from rules.selectors.version_diff import states_diff

# Fields every revision touches; a diff that lists them says nothing.
HISTORY_NOISE_FIELDS = ("updated_at", "updated_by", "created_at")
PART_HISTORY_NOISE_FIELDS = (*HISTORY_NOISE_FIELDS, "version", "position")


def ruleset_stored_status(ruleset_id: int) -> str | None:
    """The status stored now; a revision shown by the history pages carries its old one."""
    return Ruleset.objects.filter(pk=ruleset_id).values_list("status", flat=True).first()


def ruleset_part_changes(ruleset_id, limit: int = 100) -> list[dict]:
    """The latest changes of a ruleset's rules, patterns, catalog links, test cases and DMN model,
    newest first, each with its field-by-field diff against the part's previous revision (a DMN
    model's by decision, row and cell)."""
    rule_names = dict(Rule.history.filter(ruleset_id=ruleset_id).values_list("id", "rule_id"))
    sources = (
        (Rule, "rule", {"ruleset_id": ruleset_id}),
        (Pattern, "pattern", {"ruleset_id": ruleset_id}),
        (RuleCondition, "catalog link", {"rule_id__in": list(rule_names)}),
        (RulesetTestCase, "test case", {"ruleset_id": ruleset_id}),
        (DecisionModel, "DMN model", {"ruleset_id": ruleset_id}),
    )
    changes = []
    for model, kind, lookup in sources:
        latest = list(
            model.history.filter(**lookup)
            .select_related("history_user")
            .order_by("-history_date", "-history_id")[:limit]
        )
        # Every revision of those parts, once, to diff each change against the one before it.
        revisions: dict[int, list] = {}
        for record in model.history.filter(id__in={r.id for r in latest}).order_by(
            "history_date", "history_id"
        ):
            revisions.setdefault(record.id, []).append(record.history_id)
        by_history_id = {r.history_id: r for r in latest}
        previous_ids = {
            later: earlier
            for history_ids in revisions.values()
            for earlier, later in zip(history_ids, history_ids[1:], strict=False)
        }
        earlier_records = {
            r.history_id: r
            for r in model.history.filter(
                history_id__in=[previous_ids[h] for h in by_history_id if h in previous_ids]
            )
        }
        for record in latest:
            diff = []
            before = earlier_records.get(previous_ids.get(record.history_id))
            if before is not None and record.history_type == "~" and model is DecisionModel:
                diff = _model_changes(before.definitions, record.definitions)
            elif before is not None and record.history_type == "~":
                delta = record.diff_against(before, excluded_fields=PART_HISTORY_NOISE_FIELDS)
                diff = [(change.field, change.old, change.new) for change in delta.changes]
            changes.append(
                {
                    "kind": kind,
                    "record": record,
                    "label": _part_label(model, record, rule_names),
                    "diff": diff,
                }
            )
    changes.sort(key=lambda change: change["record"].history_date, reverse=True)
    return changes[:limit]


def _model_changes(old: dict, new: dict) -> list[tuple[str, object, object]]:
    """A DMN model's change as (where, old, new): each changed setting and cell, each row or
    decision added ("" → key) or removed (key → "")."""

    def parts(definitions):
        return decision_model_parts(dmn.definitions_from_dict(definitions) if definitions else None)

    changes = []
    for part in states_diff(parts(old), parts(new)):
        changes += [(f"{part.kind}: added", "", key) for key in part.added]
        changes += [(f"{part.kind}: removed", key, "") for key in part.removed]
        changes += [
            (f"{part.kind}: {key}, {name}", before, after)
            for key, fields in part.changed
            for name, before, after in fields
        ]
    return changes


def _part_label(model, record, rule_names) -> str:
    if model is Rule:
        return f"{record.rule_id} {record.rule_name}".strip()
    if model is Pattern:
        return f"{record.pattern_key} → {record.action_recommendation}"
    if model is RulesetTestCase:
        return record.name
    if model is DecisionModel:
        return (record.definitions or {}).get("name") or "decisions"
    condition = Condition.objects.filter(pk=record.condition_id).values_list(
        "condition_id", flat=True
    )
    return f"{rule_names.get(record.rule_id, record.rule_id)} uses {condition.first() or '?'}"
