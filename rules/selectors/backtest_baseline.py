"""The version a backtest compares its candidate with when none is named."""

from rules.choices import RulesetStatus
from rules.models import Ruleset


def backtest_baseline(*, candidate: Ruleset) -> Ruleset | None:
    """The active version of the candidate's name in its tenant; None when it has none.

    The admin's backtest form, the API's backtest endpoint and `manage.py backtest` default to it.
    """
    return Ruleset.objects.filter(
        tenant_id=candidate.tenant_id, name=candidate.name, status=RulesetStatus.ACTIVE
    ).first()
