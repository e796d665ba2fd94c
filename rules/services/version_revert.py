"""Revert a draft to one of its history entries: its fields, rules, catalog links, patterns and
test cases, or a decision table's DMN model, in one transaction, recorded as one history entry
(one date, user and reason)."""

from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from rules.change_notifications import change_record
from rules.choices import Capability, RulesetKind
from rules.models import DecisionModel, Pattern, Rule, RuleCondition, Ruleset, RulesetTestCase
from rules.selectors.version_history import ruleset_entry_moment, ruleset_state_at
from rules.services.editing import RULESET_EDITABLE_FIELDS, ruleset_editable_check
from rules.services.tenancy import capability_require

PART_MODELS = (RuleCondition, Rule, Pattern, RulesetTestCase)


@transaction.atomic
def ruleset_revert(*, ruleset_id: int, history_id: int, actor) -> Ruleset:
    """Make the draft hold exactly what it held at history entry `history_id`."""
    ruleset = Ruleset.objects.select_for_update().select_related("tenant").get(pk=ruleset_id)
    capability_require(actor=actor, tenant=ruleset.tenant, capability=Capability.EDIT)
    ruleset_editable_check(ruleset)
    moment = ruleset_entry_moment(ruleset_id=ruleset_id, history_id=history_id)
    state = ruleset_state_at(ruleset_id=ruleset_id, at=moment)
    entry = Ruleset.history.get(history_id=history_id)
    reason = f"Reverted to the entry of {entry.history_date:%Y-%m-%d %H:%M:%S} (#{history_id})"
    now = timezone.now()

    # Every current part goes (deletions recorded), and the parts of that moment come back with
    # their own primary keys, so their history continues where it was.
    started = timezone.now()
    RuleCondition.objects.filter(rule__ruleset_id=ruleset_id).delete()
    for model in (Rule, Pattern, RulesetTestCase):
        model.objects.filter(ruleset_id=ruleset_id).delete()
    history = {"default_user": actor, "default_change_reason": reason, "default_date": now}
    for objects, model in (
        (state.rules, Rule),
        (state.links, RuleCondition),
        (state.patterns, Pattern),
        (state.test_cases, RulesetTestCase),
    ):
        instances = list(objects)  # as_of gives model instances, primary keys kept
        if instances:
            bulk_create_with_history(instances, model, batch_size=1000, **history)
    # The deletions above are part of the same entry.
    for model in PART_MODELS:
        model.history.filter(history_type="-", history_date__gte=started).filter(
            **_of_ruleset(model, ruleset_id)
        ).update(history_user=actor, history_change_reason=reason, history_date=now)

    if ruleset.kind == RulesetKind.DECISION_TABLE and state.definitions is not None:
        _model_restore(ruleset_id, state.definitions.as_dict(), actor=actor, reason=reason)
        DecisionModel.history.filter(ruleset_id=ruleset_id, history_date__gte=started).update(
            history_date=now
        )
    if state.ruleset is not None:
        for name in RULESET_EDITABLE_FIELDS:
            setattr(ruleset, name, getattr(state.ruleset, name))
    ruleset.full_clean(exclude=["revision"])
    ruleset.updated_by = actor
    ruleset.revision = ruleset.revision + 1
    ruleset._history_user = actor
    ruleset._change_reason = reason
    ruleset.save()
    Ruleset.history.filter(id=ruleset_id).order_by("-history_date", "-history_id").filter(
        history_date__gte=started
    ).update(history_date=now)
    change_record()
    return ruleset


def _model_restore(ruleset_id: int, definitions: dict, *, actor, reason: str) -> None:
    model = DecisionModel.objects.filter(ruleset_id=ruleset_id).first()
    if model is None or model.definitions == definitions:
        return
    model.definitions = definitions
    model._history_user = actor
    model._change_reason = reason
    model.save()


def _of_ruleset(model, ruleset_id: int) -> dict:
    if model is RuleCondition:
        return {"rule_id__in": Rule.history.filter(ruleset_id=ruleset_id).values("id")}
    return {"ruleset_id": ruleset_id}
