"""Writes to rulesets, their parts (rules, catalog links, patterns) and the catalogs.

Only drafts are editable. Every write validates the object (field errors as ValidationError),
checks the actor's role, records history with the actor, and bumps the ruleset's revision so
caches of compiled rulesets see the change.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from rules.change_notifications import change_record
from rules.choices import (
    Capability,
    InputValidation,
    RulesetKind,
    RulesetSemantics,
    RulesetStatus,
)
from rules.errors import CatalogEntryInUse, RulesetReadOnly
from rules.models import (
    RULESET_AUTHORED_FIELDS,
    Action,
    Condition,
    Pattern,
    Rule,
    RuleCondition,
    Ruleset,
    RulesetTestCase,
)
from rules.services.pattern_rewrite import active_rule_order, pattern_rewrite, rule_edit_describe
from rules.services.tenancy import capability_require
from rules.tenant_roles import caller_capabilities

# Rows per INSERT of the bulk writes (imports): well under PostgreSQL's 65,535 parameters.
BULK_BATCH_SIZE = 1000

RULESET_EDITABLE_FIELDS = ("name", "version", *RULESET_AUTHORED_FIELDS)


def ruleset_editable_by(ruleset: Ruleset, user) -> bool:
    """Whether `user` may change the version now: a draft, and `edit` in its tenant (what the
    admin shows as editable; the services check the same on every write)."""
    return ruleset.status == RulesetStatus.DRAFT and Capability.EDIT in caller_capabilities(
        user, ruleset.tenant_id
    )


def ruleset_editable_check(ruleset: Ruleset) -> None:
    if ruleset.status != RulesetStatus.DRAFT:
        raise RulesetReadOnly(
            f"{ruleset.name} {ruleset.version} is {ruleset.status} and therefore read-only; "
            "create a new draft version to change it."
        )


def ruleset_touch(ruleset_id: int, actor) -> None:
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
    semantics: str = RulesetSemantics.STRICT,
    default_recommendation: str = "",
    input_validation: str = InputValidation.OFF,
) -> Ruleset:
    """Create a draft ruleset version."""
    ruleset = Ruleset(
        default_recommendation=default_recommendation,
        input_validation=input_validation,
        tenant=tenant,
        name=name,
        version=version,
        description=description,
        tags=tags or [],
        metadata=metadata or {},
        semantics=semantics,
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


def scoring_parts_check(ruleset: Ruleset, parts) -> None:
    """Rules, their condition links and patterns belong to scoring rulesets only: a decision
    table's logic is its DMN model (ValidationError on `ruleset`, so forms and the API name it)."""
    if ruleset.kind != RulesetKind.DECISION_TABLE:
        return
    if any(isinstance(part, Rule | RuleCondition | Pattern) for part in parts):
        raise ValidationError(
            {
                "ruleset": f"{ruleset.name} {ruleset.version} is a decision table: it has no "
                "rules or patterns; edit its DMN model"
            }
        )


def _part_ruleset(part) -> Ruleset:
    if isinstance(part, RuleCondition):
        return part.rule.ruleset
    return part.ruleset


@transaction.atomic
def ruleset_part_save(*, part, actor):
    """Create or update a Rule, Pattern or RuleCondition of a draft ruleset.

    A rule whose change alters the order of the active rules has the version's pattern keys and
    test expectations rewritten with it (pattern_rewrite); the report is `part.pattern_rewrite`.
    """
    ruleset = (
        Ruleset.objects.select_for_update().select_related("tenant").get(pk=_part_ruleset(part).pk)
    )
    capability_require(actor=actor, tenant=ruleset.tenant, capability=Capability.EDIT)
    ruleset_editable_check(ruleset)
    scoring_parts_check(ruleset, [part])
    _same_tenant_check(part, ruleset)
    if isinstance(part, Rule) and part.pk:
        part.version = (Rule.objects.values_list("version", flat=True).get(pk=part.pk) or 0) + 1
    elif isinstance(part, Rule) and not part.position:
        part.position = _rule_position_next(ruleset.pk)
    part.full_clean()
    before = active_rule_order(ruleset.pk) if isinstance(part, Rule) else None
    part._history_user = actor
    part.save()
    if before is not None:
        after = active_rule_order(ruleset.pk)
        part.pattern_rewrite = pattern_rewrite(
            ruleset=ruleset,
            before=before,
            after=after,
            actor=actor,
            edit=rule_edit_describe(before, after, part),
        )
    ruleset_touch(ruleset.pk, actor)
    return part


def _rule_position_next(ruleset_pk: int) -> int:
    """After the ruleset's last rule, so rules of equal priority run in the order they were
    added (the admin's forms and the API's create without a position leave it at the model's
    default 0, which would order them by rule id). The ruleset row is locked by the caller, so
    concurrent creates get distinct positions."""
    last = Rule.objects.filter(ruleset_id=ruleset_pk).aggregate(last=Max("position"))["last"]
    return 0 if last is None else last + 1


def bulk_field_errors(part, *, exclude=()) -> dict[str, list[str]]:
    """The field errors of a part or catalog entry that a bulk write creates, found without a query.

    Each field's validators, lengths and choices, and the model's own checks where they need
    neither the database nor the engine (test cases). Left to the caller: uniqueness, foreign keys
    (Django checks each with a query; a bulk caller sets them to rows it has just read or made),
    and the engine's checks of conditions (Rule.clean, Condition.clean), which an import makes
    once for the whole ruleset spec instead of once per rule. `exclude` names more fields not to
    check.
    """
    errors: dict[str, list[str]] = {}
    relations = [field.name for field in part._meta.concrete_fields if field.is_relation]
    try:
        part.clean_fields(exclude=[*relations, *exclude])
    except ValidationError as error:
        errors.update(error.message_dict)
    if isinstance(part, RulesetTestCase) and not errors:
        try:
            part.clean()
        except ValidationError as error:
            errors.update(error.message_dict)
    return errors


def _field_errors_raise(parts) -> None:
    for part in parts:
        errors = bulk_field_errors(part)
        if errors:
            raise ValidationError(errors)


@transaction.atomic
def ruleset_parts_bulk_create(
    *,
    ruleset: Ruleset,
    actor,
    rules: list[Rule] = (),
    rule_conditions: list[RuleCondition] = (),
    patterns: list[Pattern] = (),
    test_cases: list[RulesetTestCase] = (),
    change_reason: str = "",
    checked: bool = False,
) -> None:
    """Create many parts of one draft at once, with one role check, one lock and one revision.

    For imports: thousands of rules in bulk INSERTs instead of a dozen queries each. History is
    written in bulk too, one record per part (simple-history's design) with one date, user and
    `change_reason` for the whole batch, so the history pages show it as one change. The links'
    `rule` may be unsaved rules of `rules`. Raises ValidationError on the first part with field
    errors (bulk_field_errors) unless `checked` says the caller has run that check on every part
    itself, to place each error in its own terms; the engine's checks of the rules' conditions
    are the caller's, made once for the whole ruleset spec.
    """
    locked = Ruleset.objects.select_for_update().select_related("tenant").get(pk=ruleset.pk)
    capability_require(actor=actor, tenant=locked.tenant, capability=Capability.EDIT)
    ruleset_editable_check(locked)
    scoring_parts_check(locked, (*rules, *rule_conditions, *patterns))
    for part in (*rules, *patterns, *test_cases):
        if part.ruleset_id != locked.pk:
            raise ValueError(f"{part} is not a part of {locked.name} {locked.version}")
    for link in rule_conditions:
        if link.rule.ruleset_id != locked.pk:
            raise ValueError(f"{link.rule} is not a rule of {locked.name} {locked.version}")
    if not checked:
        _field_errors_raise((*rules, *rule_conditions, *patterns, *test_cases))
    for part in (*rule_conditions, *patterns):
        _same_tenant_check(part, locked)
    history = {"actor": actor, "change_reason": change_reason, "date": timezone.now()}
    _bulk_create(rules, Rule, "rule_id", {"ruleset": locked}, **history)
    _bulk_create(rule_conditions, RuleCondition, None, {}, **history)
    _bulk_create(patterns, Pattern, None, {}, **history)
    _bulk_create(test_cases, RulesetTestCase, None, {}, **history)
    ruleset_touch(locked.pk, actor)


def _bulk_create(objects, model, key: str | None, scope: dict, *, actor, change_reason, date):
    """bulk_create_with_history, and the new ids set on `objects` for what refers to them."""
    if not objects:
        return
    bulk_create_with_history(
        list(objects),
        model,
        batch_size=BULK_BATCH_SIZE,
        default_user=actor,
        default_change_reason=change_reason,
        default_date=date,
    )
    if key is not None and any(obj.pk is None for obj in objects):
        # Backends that return no ids from bulk inserts: read them back by their natural key.
        pks = dict(model.objects.filter(**scope).values_list(key, "pk"))
        for obj in objects:
            obj.pk = pks[getattr(obj, key)]


def catalog_entries_bulk_create(
    *, tenant, entries: list, actor, change_reason: str = "", checked: bool = False
) -> None:
    """Create new catalog Conditions or Actions of one tenant at once (an import's new ones).

    Checked like ruleset_parts_bulk_create's parts (`checked` too): fields here, the engine's
    checks of the conditions by the caller for the whole ruleset spec. New entries are used by no
    version yet, so no revision changes.
    """
    if not entries:
        return
    capability_require(actor=actor, tenant=tenant, capability=Capability.EDIT)
    for entry in entries:
        if entry.tenant_id != tenant.pk:
            raise ValueError(f"{entry} is not an entry of tenant {tenant.slug}")
    if not checked:
        _field_errors_raise(entries)
    history = {"actor": actor, "change_reason": change_reason, "date": timezone.now()}
    for model, key in ((Condition, "condition_id"), (Action, "action_id")):
        of_model = [entry for entry in entries if type(entry) is model]
        _bulk_create(of_model, model, key, {"tenant": tenant}, **history)


def _same_tenant_check(part, ruleset: Ruleset) -> None:
    """A part may only link catalog entries of its own ruleset's tenant."""
    entry = None
    if isinstance(part, RuleCondition):
        entry = part.condition
    elif isinstance(part, Pattern):
        entry = part.action  # None without a query when there is none
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
    """Delete a Rule, Pattern or RuleCondition of a draft ruleset (a rule's deletion rewrites
    the pattern keys and test expectations, as ruleset_part_save does)."""
    ruleset = (
        Ruleset.objects.select_for_update().select_related("tenant").get(pk=_part_ruleset(part).pk)
    )
    capability_require(actor=actor, tenant=ruleset.tenant, capability=Capability.EDIT)
    ruleset_editable_check(ruleset)
    before = active_rule_order(ruleset.pk) if isinstance(part, Rule) else None
    part._history_user = actor
    part.delete()
    if before is not None:
        after = active_rule_order(ruleset.pk)
        part.pattern_rewrite = pattern_rewrite(
            ruleset=ruleset,
            before=before,
            after=after,
            actor=actor,
            edit=rule_edit_describe(before, after, part, deleted=True),
        )
    ruleset_touch(ruleset.pk, actor)


def rule_create(*, ruleset: Ruleset, actor, conditions: list[Condition] = (), **fields) -> Rule:
    """Create a rule; `conditions` (catalog form) are linked in the given order.

    Without a `position` (or with 0) the rule goes after the ruleset's last rule.
    """
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
        ruleset_touch(ruleset.pk, None)
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
