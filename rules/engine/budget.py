"""The time budget of one evaluation: engine CPU time, checked where it can matter.

The generated evaluation code reads the clock only before a rule whose time grows with the input
(a regex, `contains`: Operator.scans_input), at least every BUDGET_CHECK_UNITS condition units
(a comparison is one unit, plus one per element of a list constant), and once at the end. A
ruleset of a few hundred plain comparisons has no check at all: its time is bounded by its size.

The fast check compares the wall clock (perf_counter, tens of nanoseconds) with a deadline. Only
when the deadline has passed is the thread's CPU time read (a system call, ~0.5 µs): a worker that
was preempted or waited for the GIL has spent wall time but not engine time, and gets the rest of
its budget instead of a failure. Python's garbage collector, which may run a full collection of
the process's objects in the middle of any evaluation, does not count either.
"""

from __future__ import annotations

import gc
from time import perf_counter, thread_time

# The engine's default when a caller names none (the service passes EVALUATION_BUDGET_MS).
DEFAULT_EVALUATION_BUDGET_SECONDS = 0.005
# Condition units between two clock reads: a unit costs well under a microsecond.
BUDGET_CHECK_UNITS = 256


def constant_units(constant) -> int:
    """Budget units of a condition whose time is bounded by its constant: 1 + its elements."""
    units = 1
    pending = [constant]
    while pending:
        value = pending.pop()
        if type(value) is list:
            units += len(value)
            pending.extend(value)
        elif type(value) is dict:
            units += len(value)
            pending.extend(value.values())
    return units


def budget_checks(rules: tuple) -> frozenset:
    """Positions of the rules before which the generated code checks the evaluation budget.

    Before every rule that scans its input, and after at most BUDGET_CHECK_UNITS units of other
    rules; never before the first rule, since nothing has run yet.
    """
    checks = set()
    units = 0
    for position, rule in enumerate(rules):
        if rule.scans_input or units + rule.units > BUDGET_CHECK_UNITS:
            if position > 0:
                checks.add(position)
            units = 0
        units += rule.units
    return frozenset(checks)


class EvaluationBudgetExceeded(Exception):
    """An evaluation used more engine time than its budget and was stopped; nothing is returned.

    `used_ms` and `budget_ms` are CPU milliseconds; `rules_run` of `rule_count` rules had run,
    and `next_rule_id` is the rule it stopped before (None when it stopped after the last one).
    """

    def __init__(
        self,
        *,
        budget_ms: float,
        used_ms: float,
        rules_run: int,
        rule_count: int,
        next_rule_id: str | None,
    ):
        self.budget_ms = budget_ms
        self.used_ms = used_ms
        self.rules_run = rules_run
        self.rule_count = rule_count
        self.next_rule_id = next_rule_id
        where = (
            f"after {rules_run} of {rule_count} rules, before rule {next_rule_id}"
            if next_rule_id is not None
            else f"after all {rule_count} rules"
        )
        super().__init__(
            f"the evaluation used {used_ms:.2f} ms of engine time, more than its budget of "
            f"{budget_ms:g} ms, and was stopped {where}"
        )


class BudgetSpent(Exception):
    """Raised inside the generated code; the ruleset turns it into EvaluationBudgetExceeded."""

    def __init__(self, position: int, used_seconds: float):
        self.position = position
        self.used_seconds = used_seconds


class _CollectorClock:
    """Seconds the garbage collector has run, in any thread (a gc.callbacks entry)."""

    __slots__ = ("seconds", "_started")

    def __init__(self):
        self.seconds = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = perf_counter()
        else:
            self.seconds += perf_counter() - self._started


_COLLECTOR = _CollectorClock()
gc.callbacks.append(_COLLECTOR)


class EvaluationBudget:
    """The clock of one evaluation: created when it starts, consulted once its deadline passes."""

    __slots__ = ("seconds", "cpu_start", "collector_start", "deadline")

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.cpu_start = thread_time()
        self.collector_start = _COLLECTOR.seconds
        self.deadline = perf_counter() + seconds

    def overrun(self, position: int) -> float:
        """The wall-clock deadline has passed before rule `position`: fail, or a new deadline."""
        collecting = _COLLECTOR.seconds - self.collector_start
        used = thread_time() - self.cpu_start - collecting
        if used >= self.seconds:
            raise BudgetSpent(position, used)
        # Wall time ran on while this thread did not: what is left of the budget is CPU time.
        self.deadline = perf_counter() + (self.seconds - used)
        return self.deadline
