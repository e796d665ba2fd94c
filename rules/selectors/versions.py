"""Reads about one ruleset version for the pages that act on it: what its activation replaces and
its test cases."""

from rules.choices import RulesetStatus
from rules.models import Ruleset, RulesetTestCase


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
