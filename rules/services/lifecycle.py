"""The ruleset lifecycle: transitions, activation checks and new draft versions.

Every function takes the acting user (None = the system) and ids or objects, never a request, so the
admin, the API and manage.py call the same code. Lifecycle changes lock every version of the
ruleset's name, so two approvers cannot activate two versions at once.
"""

import logging
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from rules.change_notifications import change_record
from rules.choices import TRANSITIONS, Capability, RulesetStatus
from rules.engine import Problem
from rules.errors import RulesetInvalid, TransitionNotAllowed, problem_text
from rules.models import Pattern, Rule, RuleCondition, Ruleset, RulesetTestCase
from rules.selectors.version_history import version_part_histories
from rules.selectors.versions import REVIEW_REQUESTED
from rules.services.compilation import ruleset_validation_problems, ruleset_validation_warnings
from rules.services.decision_models import decision_model_copy
from rules.services.snapshots import snapshot_publish
from rules.services.tenancy import capability_require
from rules.services.test_cases import ruleset_tests_run

log = logging.getLogger(__name__)


def transition_check(current: str, target: str) -> None:
    """Raise TransitionNotAllowed naming both states and the allowed targets."""
    allowed = TRANSITIONS.get(current, frozenset())
    if target not in allowed:
        options = ", ".join(sorted(allowed)) or "none (archived is final)"
        raise TransitionNotAllowed(
            f"A ruleset cannot go from {current} to {target}. From {current} it can go to: "
            f"{options}."
        )


def _lock_versions(*, tenant_id: int, name: str) -> dict[int, Ruleset]:
    """Lock every version of (tenant, name) in primary-key order, so lockers never deadlock."""
    versions = Ruleset.objects.select_for_update().filter(tenant_id=tenant_id, name=name)
    return {r.pk: r for r in versions.order_by("pk")}


def _save_status(ruleset: Ruleset, status: str, actor) -> None:
    ruleset.status = status
    ruleset.revision = F("revision") + 1
    ruleset._history_user = actor
    if actor is not None:
        ruleset.updated_by = actor
    ruleset.save()
    ruleset.refresh_from_db(fields=["revision", "updated_at"])
    change_record()


@transaction.atomic
def ruleset_transition(*, ruleset_id: int, target: str, actor) -> Ruleset:
    """Move a ruleset version to `target`, enforcing TRANSITIONS and activation checks."""
    ruleset = Ruleset.objects.select_related("tenant").get(pk=ruleset_id)
    capability_require(actor=actor, tenant=ruleset.tenant, capability=Capability.TRANSITION)
    versions = _lock_versions(tenant_id=ruleset.tenant_id, name=ruleset.name)
    ruleset = versions[ruleset.pk]
    transition_check(ruleset.status, target)
    leaves_active = ruleset.status == RulesetStatus.ACTIVE
    if target == RulesetStatus.ACTIVE:
        _activation_check(ruleset, actor)
        for other in versions.values():
            if other.pk != ruleset.pk and other.status == RulesetStatus.ACTIVE:
                # The previous active version steps down in the same transaction.
                _save_status(other, RulesetStatus.DEPRECATED, actor)
                if other.is_default:
                    Ruleset.objects.filter(pk=other.pk).update(is_default=False)
                    ruleset.is_default = True
    _save_status(ruleset, target, actor)
    if target == RulesetStatus.ACTIVE or leaves_active:
        # After commit, and robust: a snapshot store that fails never undoes the transition.
        # Leaving `active` withdraws active.json, so snapshot readers stop serving the version.
        transaction.on_commit(partial(snapshot_publish, ruleset_id=ruleset.pk), robust=True)
    return ruleset


def ruleset_editors(ruleset: Ruleset) -> set[int]:
    """Ids of everyone in the version's history since it was created: the version itself, its
    rules, catalog links, patterns, test cases and (a decision table) its DMN model."""
    sources = (Ruleset.history.filter(id=ruleset.pk), *version_part_histories(ruleset.pk))
    editors = set()
    for records in sources:
        editors.update(
            records.exclude(history_user__isnull=True).values_list("history_user_id", flat=True)
        )
    for user_id in (ruleset.created_by_id, ruleset.updated_by_id):
        if user_id is not None:
            editors.add(user_id)
    return editors


def four_eyes_refusal(ruleset: Ruleset, actor) -> str:
    """Why `actor` may not activate `ruleset` under the four-eyes rule, or "" if they may."""
    if not settings.RULESET_FOUR_EYES or actor is None:
        return ""
    if actor.pk in ruleset_editors(ruleset):
        return (
            f"Four-eyes rule: {actor} changed {ruleset.name} {ruleset.version}, so another "
            "approver must activate it."
        )
    return ""


def ruleset_activation_refusals(*, ruleset: Ruleset, actor) -> dict[str, list[str]]:
    """Every reason activating `ruleset` by `actor` would be refused, by kind (empty: none).

    Kinds: `problems` (compile and reference problems), `tests` (failing test cases),
    `four_eyes`. The confirmation page shows them all before anyone presses Activate.
    """
    report = ruleset_tests_run(ruleset=ruleset)
    four_eyes = four_eyes_refusal(ruleset, actor)
    return {
        "problems": [problem_text(p) for p in ruleset_validation_problems(ruleset)],
        "tests": [f"test {r.name!r} fails: {r.diff}" for r in report.failures],
        "four_eyes": [four_eyes] if four_eyes else [],
    }


def _activation_check(ruleset: Ruleset, actor) -> None:
    heading = f"{ruleset.name} {ruleset.version} cannot be activated"
    problems = ruleset_validation_problems(ruleset)
    if problems:
        raise RulesetInvalid(problems, heading=heading)
    failures = ruleset_tests_run(ruleset=ruleset).failures
    if failures:
        raise RulesetInvalid(
            [
                Problem(rule_id=None, message=f"test {r.name!r} fails: {r.diff}", path="test_cases")
                for r in failures
            ],
            heading=f"{heading}: test cases fail",
        )
    for warning in ruleset_activation_warnings(ruleset=ruleset):
        log.warning("activating %s %s: %s", ruleset.name, ruleset.version, warning)
    refusal = four_eyes_refusal(ruleset, actor)
    if refusal:
        raise TransitionNotAllowed(refusal)


def ruleset_activation_warnings(*, ruleset: Ruleset) -> list[str]:
    """What does not block activating `ruleset` but should be shown to whoever activates it.

    The admin and the API call it before activating (to ask for confirmation) or after (to show
    it with the result); activation itself only logs these.
    """
    warnings = []
    if not RulesetTestCase.objects.filter(ruleset=ruleset).exists():
        warnings.append(
            f"{ruleset.name} {ruleset.version} has no test cases, so nothing checked its "
            "outcomes; add test cases (or save try-it results as test cases) before activating."
        )
    warnings += [str(problem) for problem in ruleset_validation_warnings(ruleset)]
    return warnings


def ruleset_activate(*, ruleset_id: int, actor) -> Ruleset:
    return ruleset_transition(ruleset_id=ruleset_id, target=RulesetStatus.ACTIVE, actor=actor)


def ruleset_deactivate(*, ruleset_id: int, actor) -> Ruleset:
    return ruleset_transition(ruleset_id=ruleset_id, target=RulesetStatus.INACTIVE, actor=actor)


def ruleset_deprecate(*, ruleset_id: int, actor) -> Ruleset:
    return ruleset_transition(ruleset_id=ruleset_id, target=RulesetStatus.DEPRECATED, actor=actor)


def ruleset_archive(*, ruleset_id: int, actor) -> Ruleset:
    return ruleset_transition(ruleset_id=ruleset_id, target=RulesetStatus.ARCHIVED, actor=actor)


def next_free_version(version: str, taken: set[str]) -> str:
    """'1.0' -> '1.1', skipping versions that exist ('1.1' taken -> '1.2')."""
    parts = [int(p) for p in version.split(".")]
    if len(parts) == 1:
        parts.append(0)
    while True:
        parts[-1] += 1
        candidate = ".".join(str(p) for p in parts)
        if candidate not in taken:
            return candidate


@transaction.atomic
def ruleset_new_version(*, ruleset_id: int, actor, version: str | None = None) -> Ruleset:
    """Clone a version (rules, catalog links, patterns, test cases) into a new draft version."""
    source = Ruleset.objects.select_related("tenant").get(pk=ruleset_id)
    capability_require(actor=actor, tenant=source.tenant, capability=Capability.EDIT)
    versions = _lock_versions(tenant_id=source.tenant_id, name=source.name)
    taken = {v.version for v in versions.values()}
    if version is None:
        version = next_free_version(source.version, taken)
    elif version in taken:
        raise TransitionNotAllowed(f"{source.name} already has a version {version}")
    draft = Ruleset(
        tenant=source.tenant,
        name=source.name,
        description=source.description,
        version=version,
        status=RulesetStatus.DRAFT,
        is_default=False,
        tags=list(source.tags),
        metadata={**source.metadata, "cloned_from": source.version},
        semantics=source.semantics,
        input_validation=source.input_validation,
        default_recommendation=source.default_recommendation,
        kind=source.kind,
        created_by=actor,
        updated_by=actor,
    )
    draft.full_clean()
    draft._history_user = actor
    draft.save()
    now = timezone.now()
    rules = list(Rule.objects.filter(ruleset=source).order_by("pk"))
    links = list(RuleCondition.objects.filter(rule__ruleset=source).order_by("pk"))
    patterns = list(Pattern.objects.filter(ruleset=source).order_by("pk"))
    old_rule_pk = {}
    for rule in rules:
        old_rule_pk[rule.rule_id] = rule.pk
        rule.pk = None
        rule.ruleset = draft
        rule.version = 1
        rule.created_at = rule.updated_at = now
    new_rules = bulk_create_with_history(rules, Rule, default_user=actor)
    if any(r.pk is None for r in new_rules):  # backends that do not return ids from bulk inserts
        new_rules = list(Rule.objects.filter(ruleset=draft))
    new_rule_pk = {old_rule_pk[r.rule_id]: r.pk for r in new_rules}
    for link in links:
        link.pk = None
        link.rule_id = new_rule_pk[link.rule_id]
    bulk_create_with_history(links, RuleCondition, default_user=actor)
    for pattern in patterns:
        pattern.pk = None
        pattern.ruleset = draft
        pattern.created_at = pattern.updated_at = now
    bulk_create_with_history(patterns, Pattern, default_user=actor)
    test_cases = list(RulesetTestCase.objects.filter(ruleset=source).order_by("pk"))
    for test_case in test_cases:
        test_case.pk = None
        test_case.ruleset = draft
        test_case.created_at = test_case.updated_at = now
    bulk_create_with_history(test_cases, RulesetTestCase, default_user=actor)
    decision_model_copy(source=source, draft=draft, actor=actor)
    return draft


@transaction.atomic
def ruleset_set_default(*, ruleset_id: int, actor) -> Ruleset:
    """Make this ruleset the tenant's default (the one evaluated when a request names none)."""
    ruleset = Ruleset.objects.select_related("tenant").get(pk=ruleset_id)
    capability_require(actor=actor, tenant=ruleset.tenant, capability=Capability.TRANSITION)
    for previous in Ruleset.objects.select_for_update().filter(
        tenant_id=ruleset.tenant_id, is_default=True
    ):
        if previous.pk != ruleset.pk:
            previous.is_default = False
            previous._history_user = actor
            previous.save(update_fields=["is_default", "updated_at"])
    ruleset.is_default = True
    ruleset._history_user = actor
    ruleset.save(update_fields=["is_default", "updated_at"])
    return ruleset


@transaction.atomic
def ruleset_review_request(*, ruleset_id: int, actor, note: str = "") -> Ruleset:
    """Ask an approver to review a draft: recorded as an entry of the draft's history."""
    ruleset = Ruleset.objects.select_for_update().select_related("tenant").get(pk=ruleset_id)
    capability_require(actor=actor, tenant=ruleset.tenant, capability=Capability.EDIT)
    if ruleset.status != RulesetStatus.DRAFT:
        raise TransitionNotAllowed(
            f"{ruleset.name} {ruleset.version} is {ruleset.status}; only drafts are reviewed."
        )
    ruleset._history_user = actor
    ruleset._change_reason = f"{REVIEW_REQUESTED}: {note}" if note else REVIEW_REQUESTED
    ruleset.save(update_fields=["updated_at"])
    return ruleset
