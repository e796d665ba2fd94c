"""Test cases of a ruleset version: editing them, running them, saving an outcome as one.

A test case is part of a draft like a rule or a pattern: only drafts' test cases change (through
the editing service, which checks the role, records history and bumps the revision), new draft
versions copy them, and activation refuses a version whose test cases fail
(`rules.services.lifecycle`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from django.conf import settings

from rules.choices import RulesetStatus
from rules.engine import (
    WILDCARD,
    EvaluationBudgetExceeded,
    Problem,
    RulesetCompileError,
    dmn,
    key_covers,
)
from rules.errors import ServiceError
from rules.models import Ruleset, RulesetTestCase
from rules.selectors.rulesets import ruleset_lookup, version_key
from rules.services.compilation import ruleset_compile
from rules.services.decision_test_cases import decision_actuals, decision_checks
from rules.services.editing import ruleset_part_delete, ruleset_part_save

CHECKED_FIELDS = (
    "pattern_result",
    "action_recommendation",
    "total_points",
    "matched_rules",
    "outputs",
)


@dataclass(frozen=True)
class FieldCheck:
    """One checked field of a test case: expected against actual."""

    field: str
    expected: object
    actual: object
    passed: bool
    difference: str = ""  # for people; empty when passed


@dataclass
class TestCaseResult:
    """The outcome of one test case; `diff` says every difference in one readable text."""

    __test__ = False  # not a pytest class, despite the name

    test_case_id: int
    name: str
    passed: bool
    checks: list[FieldCheck]
    error: str = ""

    @property
    def diff(self) -> str:
        if self.error:
            return self.error
        return "; ".join(check.difference for check in self.checks if not check.passed)

    def as_dict(self) -> dict:
        return {
            "test_case_id": self.test_case_id,
            "name": self.name,
            "passed": self.passed,
            "diff": self.diff,
            "checks": [
                {
                    "field": check.field,
                    "expected": check.expected,
                    "actual": check.actual,
                    "passed": check.passed,
                    "difference": check.difference,
                }
                for check in self.checks
            ],
        }


@dataclass
class TestRunReport:
    """Every test case of one ruleset version run with the engine."""

    __test__ = False  # not a pytest class, despite the name

    ruleset_id: int
    name: str
    version: str
    results: list[TestCaseResult] = field(default_factory=list)
    # When the version does not compile, no test can run and every test case fails.
    compile_problems: list[Problem] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def failures(self) -> list[TestCaseResult]:
        return [result for result in self.results if not result.passed]

    @property
    def passed(self) -> bool:
        """Every test case passed (True when there are none; see `total`)."""
        return not self.compile_problems and not self.failures

    def as_dict(self) -> dict:
        return {
            "ruleset_id": self.ruleset_id,
            "name": self.name,
            "version": self.version,
            "total": self.total,
            "failed": len(self.failures),
            "passed": self.passed,
            "compile_problems": [problem.as_dict() for problem in self.compile_problems],
            "results": [result.as_dict() for result in self.results],
        }


def test_case_save(*, test_case: RulesetTestCase, actor) -> RulesetTestCase:
    """Create or update a test case of a draft version (raises RulesetReadOnly otherwise)."""
    return ruleset_part_save(part=test_case, actor=actor)


def test_case_delete(*, test_case: RulesetTestCase, actor) -> None:
    """Delete a test case of a draft version."""
    ruleset_part_delete(part=test_case, actor=actor)


def test_case_from_evaluation(
    *, ruleset: Ruleset, name: str, input: dict, outcome: dict, actor, description: str = ""
) -> RulesetTestCase:
    """Save an evaluation as a test case of the draft `ruleset` ("Save as test case").

    `outcome` is an evaluation as JSON (try-it's `Evaluation.as_dict()`, or a logged execution's
    `output_data`); its pattern result, recommendation, total points and matched rules become
    the expectations. A missing or null field is not checked.
    """
    matched = outcome.get("matched_rules")
    if isinstance(matched, dict):  # a decision table's: row ids per decision
        matched = [rule_id for ids in matched.values() for rule_id in ids]
    test_case = RulesetTestCase(
        ruleset=ruleset,
        name=name,
        description=description,
        input_data=input,
        expected_pattern_result=outcome.get("pattern_result"),
        expected_action_recommendation=outcome.get("action_recommendation"),
        expected_total_points=outcome.get("total_points"),
        expected_matched_rules=list(matched) if matched is not None else None,
        expected_outputs=outcome.get("outputs"),
    )
    return test_case_save(test_case=test_case, actor=actor)


# The names start with "test": tell pytest they are not tests when a test module imports them.
test_case_save.__test__ = test_case_delete.__test__ = test_case_from_evaluation.__test__ = False


def ruleset_tests_run(*, ruleset: Ruleset) -> TestRunReport:
    """Run every test case of the version with the engine; never raises on failing tests."""
    report = TestRunReport(ruleset_id=ruleset.pk, name=ruleset.name, version=ruleset.version)
    test_cases = list(RulesetTestCase.objects.filter(ruleset=ruleset).order_by("name", "pk"))
    try:
        compiled = ruleset_compile(ruleset)
    except RulesetCompileError as error:
        report.compile_problems = error.problems
        report.results = [
            TestCaseResult(
                test_case_id=test_case.pk,
                name=test_case.name,
                passed=False,
                checks=[],
                error=f"{ruleset.name} {ruleset.version} does not compile",
            )
            for test_case in test_cases
        ]
        return report
    budget_seconds = settings.EVALUATION_BUDGET_MS / 1000
    for test_case in test_cases:
        if isinstance(compiled, dmn.CompiledDefinitions):
            report.results.append(_decision_result(test_case, compiled))
            continue
        try:
            evaluation = compiled.evaluate(test_case.input_data, budget_seconds=budget_seconds)
        except EvaluationBudgetExceeded as error:
            report.results.append(
                TestCaseResult(
                    test_case_id=test_case.pk,
                    name=test_case.name,
                    passed=False,
                    checks=[],
                    error=f"{error} (EVALUATION_BUDGET_MS)",
                )
            )
            continue
        checks = [
            _check(name, expected, evaluation, test_case, compiled.rule_ids)
            for name, expected in test_case.expectations.items()
        ]
        report.results.append(
            TestCaseResult(
                test_case_id=test_case.pk,
                name=test_case.name,
                passed=all(check.passed for check in checks),
                checks=checks,
            )
        )
    return report


def _decision_result(test_case: RulesetTestCase, compiled) -> TestCaseResult:
    """A test case of a decision-table ruleset (services/decision_test_cases.py)."""
    evaluation = compiled.evaluate(test_case.input_data)
    checks = [FieldCheck(**check) for check in decision_checks(test_case.expectations, evaluation)]
    return TestCaseResult(
        test_case_id=test_case.pk,
        name=test_case.name,
        passed=all(check.passed for check in checks),
        checks=checks,
    )


def ruleset_tests_target(*, tenant, name: str, version: str | None = None) -> Ruleset:
    """The version whose tests to run: the given one, else the active one, else the newest draft."""
    ruleset = ruleset_lookup(tenant=tenant, name=name, version=version)
    if version is not None or ruleset.status == RulesetStatus.ACTIVE:
        return ruleset
    drafts = Ruleset.objects.for_tenant(tenant).filter(name=name, status=RulesetStatus.DRAFT)
    newest = max(drafts, key=lambda v: version_key(v.version), default=None)
    if newest is None:
        raise ServiceError(f"{name} has no active or draft version; name one with --version")
    return newest


def _check(name: str, expected, evaluation, test_case, rule_ids) -> FieldCheck:
    actual = getattr(evaluation, name)
    if name == "total_points":
        tolerance = test_case.total_points_tolerance or 0.0
        passed = math.isclose(actual, expected, rel_tol=0.0, abs_tol=tolerance)
        difference = (
            f"total_points: expected {_number(expected)} ± {_number(tolerance)}, got "
            f"{_number(actual)} ({_number(actual - expected, sign=True)})"
        )
    elif name == "matched_rules":
        actual = list(actual)
        missing = [rule for rule in expected if rule not in actual]
        unexpected = [rule for rule in actual if rule not in expected]
        passed = not missing and not unexpected
        parts = []
        if missing:
            parts.append(f"expected but not matched {', '.join(missing)}")
        if unexpected:
            parts.append(f"matched but not expected {', '.join(unexpected)}")
        difference = "matched_rules: " + "; ".join(parts)
    elif name == "pattern_result":
        # A `*` expects any result at its position: what a pattern rewrite writes for a rule
        # added after the expectation (services/pattern_rewrite.py).
        passed = actual == expected or (WILDCARD in expected and key_covers(expected, actual))
        difference = f"pattern_result: expected {expected!r}, got {actual!r}"
        positions = _pattern_differences(expected, actual, rule_ids)
        if positions:
            difference += f" (differs at {positions})"
    else:
        passed = actual == expected
        difference = f"{name}: expected {expected!r}, got {actual!r}"
    return FieldCheck(
        field=name,
        expected=expected,
        actual=actual,
        passed=passed,
        difference="" if passed else difference,
    )


def _pattern_differences(expected: str, actual: str, rule_ids) -> str:
    """Positions where the patterns differ, each with the rule running there."""
    if len(expected) != len(actual):
        return ""
    differing = [
        f"{position + 1} ({rule_ids[position]})" if position < len(rule_ids) else str(position + 1)
        for position, (want, got) in enumerate(zip(expected, actual, strict=True))
        if want != got and want != WILDCARD
    ]
    return "position " + ", ".join(differing) if differing else ""


def _number(value: float, sign: bool = False) -> str:
    """Up to six decimals without trailing zeros, never in exponent notation."""
    text = f"{value:+.6f}" if sign else f"{value:.6f}"
    return text.rstrip("0").rstrip(".")


def test_case_accept_actual(*, test_case: RulesetTestCase, actor) -> RulesetTestCase:
    """Make what the version produces now the test case's expectation ("accept the actual").

    Only the fields the test case checks change; a version that does not compile is refused.
    """
    ruleset = test_case.ruleset
    try:
        compiled = ruleset_compile(ruleset)
    except RulesetCompileError as error:
        raise ServiceError(
            f"{ruleset.name} {ruleset.version} does not compile, so there is no actual result "
            "to accept"
        ) from error
    if isinstance(compiled, dmn.CompiledDefinitions):
        evaluation = compiled.evaluate(test_case.input_data)
        for name, actual in decision_actuals(test_case.expectations, evaluation).items():
            setattr(test_case, f"expected_{name}", actual)
        return test_case_save(test_case=test_case, actor=actor)
    evaluation = compiled.evaluate(
        test_case.input_data, budget_seconds=settings.EVALUATION_BUDGET_MS / 1000
    )
    for name in test_case.expectations:
        actual = getattr(evaluation, name)
        setattr(test_case, f"expected_{name}", list(actual) if name == "matched_rules" else actual)
    return test_case_save(test_case=test_case, actor=actor)


def drafts_tests_run(*, rulesets) -> list[TestRunReport]:
    """Run the test cases of every draft among `rulesets` (already scoped to the caller)."""
    drafts = rulesets.filter(status=RulesetStatus.DRAFT).order_by("name", "version")
    return [ruleset_tests_run(ruleset=ruleset) for ruleset in drafts]


test_case_accept_actual.__test__ = drafts_tests_run.__test__ = False
