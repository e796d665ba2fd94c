"""Writes to rulesets, their parts (rules, catalog links, patterns) and the catalogs.

Only drafts are editable. Every write validates the object (field errors as ValidationError),
checks the actor's role, records history with the actor, and bumps the ruleset's revision so
caches of compiled rulesets see the change.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from rules.change_notifications import change_record
from rules.choices import Capability, RulesetStatus
from rules.errors import CatalogEntryInUse, RulesetReadOnly
from rules.models import Condition, Pattern, Rule, RuleCondition, Ruleset
from rules.services.tenancy import capability_require

RULESET_EDITABLE_FIELDS = ("name", "description", "version", "tags", "metadata")


def ruleset_editable_check(ruleset: Ruleset) -> None:
    if ruleset.status != RulesetStatus.DRAFT:
        raise RulesetReadOnly(
            f"{ruleset.name} {ruleset.version} is {ruleset.status} and therefore read-only; "
            "create a new draft version to change it."
        )


def _ruleset_touch(ruleset_id: int, actor) -> None:
    """Record that a ruleset changed: new revision (cache key), last editor, time."""
    changes = {"revision": F("revision") + 1, "updated_at": timezone.now()}
    if actor is not None:
        changes["updated_by"] = actor
    Ruleset.objects.filter(pk=ruleset_id).update(**changes)
    change_record()


def ruleset_create(
    *,
    tenant,
    actor,
    name: str,
    version: str = "1.0",
    description: str = "",
    tags: list | None = None,
    metadata: dict | None = None,
) -> Ruleset:
    """Create a draft ruleset version."""
    ruleset = Ruleset(
        tenant=tenant,
        name=name,
        version=version,
        description=description,
        tags=tags or [],
        metadata=metadata or {},
    )
    return ruleset_save(ruleset=ruleset, actor=actor)


def ruleset_update(*, ruleset: Ruleset, actor, **changes) -> Ruleset:
    """Change a draft's own fields (name, description, version, tags, metadata)."""
    unknown = set(changes) - set(RULESET_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable here: {', '.join(sorted(unknown))}")
    return ruleset_save(ruleset=ruleset, actor=actor, changes=changes)


@transaction.atomic
def ruleset_save(*, ruleset: Ruleset, actor, changes: dict | None = None) -> Ruleset:
    """Validate and save a draft ruleset already changed in memory (the admin's form path)."""
    for field, value in (changes or {}).items():
        setattr(ruleset, field, value)
    if ruleset.pk:
        # The stored row decides, not the in-memory copy a form may have changed.
        ruleset_editable_check(Ruleset.objects.select_for_update().get(pk=ruleset.pk))
        ruleset.revision = F("revision") + 1
    else:
        ruleset.status = RulesetStatus.DRAFT
        ruleset.created_by = actor
    capability_require(actor=actor, tenant=ruleset.tenant, capability=Capability.EDIT)
    ruleset.full_clean(exclude=["revision"])
    ruleset.updated_by = actor
    ruleset._history_user = actor
    ruleset.save()
    ruleset.refresh_from_db(fields=["revision"])
    change_record()
    return ruleset


@transaction.atomic
def ruleset_delete(*, ruleset: Ruleset, actor) -> None:
    """Delete a draft or archived version (execution logs keep their copy of its identity)."""
    capability_require(actor=actor, tenant=ruleset.tenant, capability=Capability.EDIT)
    locked = Ruleset.objects.select_for_update().get(pk=ruleset.pk)
    if locked.status not in (RulesetStatus.DRAFT, RulesetStatus.ARCHIVED):
        raise RulesetReadOnly(
            f"{locked.name} {locked.version} is {locked.status}; only drafts and archived "
            "versions can be deleted."
        )
    locked._history_user = actor
    locked.delete()


def _part_ruleset(part) -> Ruleset:
    if isinstance(part, RuleCondition):
        return part.rule.ruleset
    return part.ruleset


@transaction.atomic
def ruleset_part_save(*, part, actor):
    """Create or update a Rule, Pattern or RuleCondition of a draft ruleset."""
    ruleset = (
        Ruleset.objects.select_for_update().select_related("tenant").get(pk=_part_ruleset(part).pk)
    )
    capability_require(actor=actor, tenant=ruleset.tenant, capability=Capability.EDIT)
    ruleset_editable_check(ruleset)
    _same_tenant_check(part, ruleset)
    if isinstance(part, Rule) and part.pk:
        part.version = (Rule.objects.values_list("version", flat=True).get(pk=part.pk) or 0) + 1
    part.full_clean()
    part._history_user = actor
    part.save()
    _ruleset_touch(ruleset.pk, actor)
    return part


def _same_tenant_check(part, ruleset: Ruleset) -> None:
    """A part may only link catalog entries of its own ruleset's tenant."""
    entry = None
    if isinstance(part, RuleCondition):
        entry = part.condition
    elif isinstance(part, Pattern) and part.action_id:
        entry = part.action
    if entry is not None and entry.tenant_id != ruleset.tenant_id:
        raise ValidationError(
            {
                "condition" if isinstance(part, RuleCondition) else "action": [
                    f"{entry} belongs to another tenant than {ruleset.name} {ruleset.version}."
                ]
            }
        )


def rule_catalog_form_check(*, condition_mode: str, conditions) -> None:
    """Raise ValidationError unless a rule's catalog mode and catalog conditions go together.

    A mode (all / any) needs conditions, conditions need a mode, and none is listed twice.
    `conditions` are Condition objects or their ids; None means they are not being changed.
    Errors are keyed `condition_mode` and `conditions`; each caller names its own fields.
    """
    if condition_mode and conditions is not None and not conditions:
        message = f"Choose the catalog conditions to combine with {condition_mode}."
        raise ValidationError({"conditions": [message]})
    if not condition_mode and conditions:
        raise ValidationError(
            {"condition_mode": ["Choose all or any to combine catalog conditions."]}
        )
    if conditions and len({getattr(c, "pk", c) for c in conditions}) != len(conditions):
        raise ValidationError({"conditions": ["A catalog condition is listed twice."]})


@transaction.atomic
def rule_catalog_conditions_set(*, rule: Rule, conditions: list, actor) -> None:
    """Make the rule's catalog links exactly `conditions`, in this order (delete, add, reorder)."""
    links = {link.condition_id: link for link in RuleCondition.objects.filter(rule=rule)}
    wanted = [condition.pk for condition in conditions]
    for condition_pk, link in links.items():
        if condition_pk not in wanted:
            ruleset_part_delete(part=link, actor=actor)
    for position, condition in enumerate(conditions):
        link = links.get(condition.pk) or RuleCondition(rule=rule, condition=condition)
        if link.pk is None or link.position != position:
            link.position = position
            ruleset_part_save(part=link, actor=actor)


@transaction.atomic
def ruleset_part_delete(*, part, actor) -> None:
    """Delete a Rule, Pattern or RuleCondition of a draft ruleset."""
    ruleset = (
        Ruleset.objects.select_for_update().select_related("tenant").get(pk=_part_ruleset(part).pk)
    )
    capability_require(actor=actor, tenant=ruleset.tenant, capability=Capability.EDIT)
    ruleset_editable_check(ruleset)
    part._history_user = actor
    part.delete()
    _ruleset_touch(ruleset.pk, actor)


def rule_create(*, ruleset: Ruleset, actor, conditions: list[Condition] = (), **fields) -> Rule:
    """Create a rule; `conditions` (catalog form) are linked in the given order."""
    with transaction.atomic():
        rule = ruleset_part_save(part=Rule(ruleset=ruleset, **fields), actor=actor)
        for position, condition in enumerate(conditions):
            ruleset_part_save(
                part=RuleCondition(rule=rule, condition=condition, position=position), actor=actor
            )
    return rule


def pattern_create(*, ruleset: Ruleset, actor, **fields) -> Pattern:
    return ruleset_part_save(part=Pattern(ruleset=ruleset, **fields), actor=actor)


def catalog_entry_users(entry) -> list[Ruleset]:
    """The ruleset versions that use a catalog condition or action."""
    if isinstance(entry, Condition):
        rulesets = Ruleset.objects.filter(rules__condition_links__condition=entry)
    else:
        rulesets = Ruleset.objects.filter(patterns__action=entry)
    return list(rulesets.distinct().order_by("name", "version"))


def _catalog_in_use_check(entry, verb: str) -> None:
    published = [r for r in catalog_entry_users(entry) if r.status != RulesetStatus.DRAFT]
    if published:
        names = ", ".join(f"{r.name} {r.version} ({r.status})" for r in published)
        raise CatalogEntryInUse(
            f"{entry} is used by published versions and cannot be {verb}: {names}. "
            "Create a new catalog entry and use it in a new draft version."
        )


@transaction.atomic
def catalog_entry_save(*, entry, actor):
    """Create or update a catalog Condition or Action (read-only once published versions use it)."""
    capability_require(actor=actor, tenant=entry.tenant, capability=Capability.EDIT)
    if entry.pk:
        type(entry).objects.select_for_update().get(pk=entry.pk)
        _catalog_in_use_check(entry, "changed")
    entry.full_clean()
    entry._history_user = actor
    entry.save()
    for ruleset in catalog_entry_users(entry):
        _ruleset_touch(ruleset.pk, None)
    return entry


@transaction.atomic
def catalog_entry_delete(*, entry, actor) -> None:
    capability_require(actor=actor, tenant=entry.tenant, capability=Capability.EDIT)
    users = catalog_entry_users(entry)
    if users:
        names = ", ".join(f"{r.name} {r.version} ({r.status})" for r in users)
        raise CatalogEntryInUse(f"{entry} is still used by {names}; remove it from them first.")
    entry._history_user = actor
    entry.delete()
