"""Which pattern results of a ruleset version no key answers, and which keys nothing produced.

Reads the results logged for the version (ExecutionLog.pattern_result over the last N days, as
the dashboard counts them: successes, try-it runs left out) and the results of its test cases
(their inputs evaluated now when the version compiles, else their expected results), and
matches each against the version's keys the way the engine does (rules/engine/patterns.py).
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count
from django.utils import timezone

from executions.models import ExecutionLog, ExecutionSource
from rules.choices import RulesetSemantics
from rules.engine import (
    DEFAULT,
    WILDCARD,
    EvaluationBudgetExceeded,
    PatternTable,
    RulesetCompileError,
)
from rules.models import Pattern, Ruleset, RulesetTestCase
from rules.services.compilation import ruleset_compile

DEFAULT_DAYS = 30
# Distinct results listed per table; the totals count every one.
RESULTS_SHOWN = 200


@dataclass
class ResultCount:
    result: str
    traffic: int = 0
    tests: int = 0

    @property
    def total(self) -> int:
        return self.traffic + self.tests


@dataclass
class KeyUse:
    pattern_key: str
    action_recommendation: str
    traffic: int = 0
    tests: int = 0


@dataclass
class PatternCoverage:
    ruleset: Ruleset
    days: int
    since: object
    uncovered: list[ResultCount] = field(default_factory=list)
    by_default: list[ResultCount] = field(default_factory=list)
    keys: list[KeyUse] = field(default_factory=list)
    traffic_total: int = 0
    tests_total: int = 0
    # Whether the test cases' results are their evaluation now (True) or their expectations.
    tests_evaluated: bool = True

    @property
    def never_produced(self) -> list[KeyUse]:
        return [key for key in self.keys if key.traffic == 0 and key.tests == 0]

    @property
    def uncovered_traffic(self) -> int:
        return sum(item.traffic for item in self.uncovered)


def pattern_coverage(*, ruleset: Ruleset, days: int = DEFAULT_DAYS, now=None) -> PatternCoverage:
    """The coverage of `ruleset`'s keys over the last `days` days of its traffic and its tests."""
    now = now or timezone.now()
    since = now - timedelta(days=days)
    coverage = PatternCoverage(ruleset=ruleset, days=days, since=since)
    counts: dict[str, ResultCount] = {}
    logged = (
        ExecutionLog.objects.filter(
            tenant_id=ruleset.tenant_id, ruleset_id=ruleset.pk, success=True, timestamp__gte=since
        )
        .exclude(source=ExecutionSource.ADMIN)
        .values("pattern_result")
        .annotate(count=Count("execution_id"))
    )
    for row in logged:
        counts.setdefault(row["pattern_result"], ResultCount(row["pattern_result"])).traffic += row[
            "count"
        ]
    for result in _test_case_results(ruleset, coverage):
        counts.setdefault(result, ResultCount(result)).tests += 1

    patterns = list(Pattern.objects.filter(ruleset=ruleset).order_by("pattern_key"))
    table = PatternTable(
        {p.pattern_key: (p.action_recommendation, None) for p in patterns},
        ruleset.default_recommendation,
        wildcards=ruleset.semantics != RulesetSemantics.ORIGINAL,
    )
    uses = {p.pattern_key: KeyUse(p.pattern_key, p.action_recommendation) for p in patterns}
    for item in counts.values():
        _, _, key, kind = table.match(item.result)
        if key is not None:
            uses[key].traffic += item.traffic
            uses[key].tests += item.tests
        elif kind == DEFAULT:
            coverage.by_default.append(item)
        else:
            coverage.uncovered.append(item)
    coverage.traffic_total = sum(item.traffic for item in counts.values())
    coverage.tests_total = sum(item.tests for item in counts.values())
    for listed in (coverage.uncovered, coverage.by_default):
        listed.sort(key=lambda item: (-item.total, item.result))
    coverage.keys = list(uses.values())
    return coverage


def _test_case_results(ruleset: Ruleset, coverage: PatternCoverage) -> list[str]:
    test_cases = list(RulesetTestCase.objects.filter(ruleset=ruleset).order_by("name"))
    if not test_cases:
        return []
    try:
        compiled = ruleset_compile(ruleset)
    except RulesetCompileError:
        coverage.tests_evaluated = False
        return [
            t.expected_pattern_result
            for t in test_cases
            if t.expected_pattern_result is not None and WILDCARD not in t.expected_pattern_result
        ]
    results = []
    for test_case in test_cases:
        try:
            results.append(compiled.evaluate(test_case.input_data).pattern_result)
        except EvaluationBudgetExceeded:
            continue  # the test run reports it; it produced no result
    return results
