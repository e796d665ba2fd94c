"""Reads about one ruleset version for the pages that act on it: what its activation replaces and
its test cases."""

from rules.choices import RulesetStatus
from rules.models import Pattern, Rule, Ruleset, RulesetTestCase


def active_version_replaced(ruleset: Ruleset) -> Ruleset | None:
    """The active version of the same name that activating `ruleset` would deprecate."""
    return (
        Ruleset.objects.filter(
            tenant_id=ruleset.tenant_id, name=ruleset.name, status=RulesetStatus.ACTIVE
        )
        .exclude(pk=ruleset.pk)
        .first()
    )


def ruleset_test_cases_by_id(ruleset: Ruleset) -> dict[int, RulesetTestCase]:
    return {case.pk: case for case in RulesetTestCase.objects.filter(ruleset=ruleset).order_by()}


def ruleset_part_counts(ruleset: Ruleset) -> dict[str, int]:
    """How many rules, patterns and test cases the version has, keyed by model name."""
    return {
        model._meta.model_name: model.objects.filter(ruleset_id=ruleset.pk).count()
        for model in (Rule, Pattern, RulesetTestCase)
    }


# A review request is a history entry of the draft (who asked, when), not a model of its own.
REVIEW_REQUESTED = "Review requested"


def rulesets_waiting_for_review(rulesets) -> list[dict]:
    """Drafts of `rulesets` (already scoped) whose review was requested: who asked and when,
    the latest request first."""
    drafts = {r.pk: r for r in rulesets.filter(status=RulesetStatus.DRAFT)}
    requests = (
        Ruleset.history.filter(
            id__in=list(drafts), history_change_reason__startswith=REVIEW_REQUESTED
        )
        .select_related("history_user")
        .order_by("-history_date")
    )
    waiting = {}
    for record in requests:
        if record.id not in waiting:
            waiting[record.id] = {
                "ruleset": drafts[record.id],
                "requested_by": record.history_user,
                "requested_at": record.history_date,
                "note": record.history_change_reason.removeprefix(REVIEW_REQUESTED).lstrip(": "),
            }
    return list(waiting.values())
