"""The cost estimate of a ruleset, and its warnings (which block nothing) when far above normal.

Kept simple on purpose: conditions weighted by their operator's measured relative cost, and the
size of list constants. The evaluation budget (budget.py) is what bounds an evaluation; the
estimate tells the author in advance that a ruleset is heading there.
"""

from __future__ import annotations

from dataclasses import dataclass

from .problems import WARNING, Problem
from .regexes import REGEX_MAX_MEMORY_BYTES, BoundedRegex

# The cost estimate (RulesetCost) above which a ruleset gets a warning: the 50-rule benchmark
# ruleset of comparisons costs 50 units and evaluates in about 5 µs.
COST_WARNING_UNITS = 2_000
# Elements of all list constants (`in`, `not_in`, ...) above which a ruleset gets a warning.
LIST_WARNING_ELEMENTS = 10_000


@dataclass(frozen=True)
class RulesetCost:
    """The cost estimate of a ruleset, over its active rules (a catalog condition per use).

    `units`: one per condition times its operator's Operator.cost (a comparison 1, `contains` 5,
    a regex 20: measured relative costs); `list_elements`: elements of all list constants.
    """

    rules: int = 0
    conditions: int = 0
    regex_conditions: int = 0
    list_elements: int = 0
    units: int = 0

    @property
    def regex_memory_bound_bytes(self) -> int:
        """The most memory the ruleset's regexes may take in one process (their RE2 max_mem)."""
        return self.regex_conditions * REGEX_MAX_MEMORY_BYTES

    def as_dict(self) -> dict:
        """The estimate as plain JSON."""
        return {
            "rules": self.rules,
            "conditions": self.conditions,
            "regex_conditions": self.regex_conditions,
            "list_elements": self.list_elements,
            "units": self.units,
        }


def _active_conditions(rules) -> list:
    plans = []
    for rule in rules:
        if not rule["active"] or rule["form"] is None:
            continue
        mode, payload = rule["form"]
        plans.extend((payload,) if mode == "inline" else payload)
    return plans


def ruleset_cost(rules) -> RulesetCost:
    plans = _active_conditions(rules)
    return RulesetCost(
        rules=sum(1 for rule in rules if rule["active"]),
        conditions=len(plans),
        regex_conditions=sum(1 for plan in plans if type(plan.prepared) is BoundedRegex),
        list_elements=sum(len(plan.constant) for plan in plans if type(plan.constant) is list),
        units=sum(plan.operator.cost for plan in plans),
    )


def cost_warnings(cost: RulesetCost) -> list[Problem]:
    warnings = []
    if cost.units > COST_WARNING_UNITS:
        warnings.append(
            Problem(
                None,
                f"the cost estimate is {cost.units:,} units, far above normal (a 50-rule "
                f"ruleset of comparisons costs 50; warned above {COST_WARNING_UNITS:,}): "
                f"{cost.regex_conditions:,} regex conditions at 20 units each among "
                f"{cost.conditions:,} conditions. Evaluations may run out of the evaluation "
                f"budget, and the regexes may use up to "
                f"{cost.regex_memory_bound_bytes // (1 << 20):,} MiB per process",
                "rules",
                WARNING,
            )
        )
    if cost.list_elements > LIST_WARNING_ELEMENTS:
        warnings.append(
            Problem(
                None,
                f"the list constants hold {cost.list_elements:,} elements in all, far above "
                f"normal (warned above {LIST_WARNING_ELEMENTS:,}); each process keeps them in "
                "memory",
                "rules",
                WARNING,
            )
        )
    return warnings
