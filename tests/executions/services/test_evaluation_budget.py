"""The evaluation step under EVALUATION_BUDGET_MS: a stopped evaluation is a logged failure.

Issue 19, point 2: one tenant's slow rules stalled every worker (5.2 s per evaluation, a killed
worker at 700 rules), through evaluate, batches, dry runs, the command line and backtests. Each
of them evaluates through executions.services.evaluation.evaluation_run, per input.
"""

import json
import time
from datetime import timedelta

import pytest

from executions.backtest import backtest_run
from executions.models import ExecutionLog
from executions.services.evaluation import (
    BUDGET_EXCEEDED,
    INPUT_INVALID,
    evaluation_run,
    evaluations_stream,
)
from executions.services.log_writes import execution_logs_commit
from rules.choices import RulesetStatus
from rules.services.compilation import ruleset_compile
from rules.services.test_cases import ruleset_tests_run
from tests.executions.test_backtest import KNOWN_INPUTS, NOW, credit_ruleset, write_logs
from tests.factories import (
    PatternFactory,
    RuleFactory,
    RulesetFactory,
    RulesetTestCaseFactory,
    TenantFactory,
)

pytestmark = pytest.mark.django_db

# Nothing fits in it: a ruleset with a regex rule always runs out of it, deterministically.
NO_TIME_MS = 1e-9


def regex_ruleset(tenant, *, rules=2, pattern="^a", **fields):
    ruleset = RulesetFactory(tenant=tenant, **fields)
    for number in range(rules):
        RuleFactory(
            ruleset=ruleset,
            rule_id=f"R{number:03d}",
            attribute="s",
            operator="regex",
            constant=pattern,
            priority=number,
        )
    PatternFactory(ruleset=ruleset, pattern_key="-" * rules, action_recommendation="REVIEW")
    return ruleset


def identity_of(ruleset) -> dict:
    return {"ruleset_id": ruleset.pk, "name": ruleset.name, "version": ruleset.version}


def test_an_evaluation_over_its_budget_is_a_logged_failure_with_its_input(settings):
    settings.EVALUATION_BUDGET_MS = NO_TIME_MS
    ruleset = regex_ruleset(TenantFactory(slug="acme"))
    outcome = evaluation_run(
        compiled=ruleset_compile(ruleset),
        identity=identity_of(ruleset),
        tenant_id=ruleset.tenant_id,
        data={"s": "abc"},
        source="api",
        caller="loan-app",
    )
    assert outcome.evaluation is None
    assert outcome.code == BUDGET_EXCEEDED
    assert outcome.problem.startswith("data: the evaluation used ")
    assert outcome.problem.endswith(
        "more than its budget of 1e-09 ms, and was stopped after 1 of 2 rules, before rule R001 "
        "(EVALUATION_BUDGET_MS)"
    )
    assert outcome.details == {
        "budget_ms": NO_TIME_MS,
        "used_ms": outcome.details["used_ms"],
        "rules_run": 1,
        "rule_count": 2,
        "next_rule_id": "R001",
    }
    assert execution_logs_commit([outcome.row], deadline=None) == 1
    row = ExecutionLog.objects.get(execution_id=outcome.row.execution_id)
    assert (row.success, row.error_message, row.source) == (False, outcome.problem, "api")
    assert row.input_data == {"s": "abc"}  # it passed the input check: kept, to reproduce
    assert row.execution_time_ms == pytest.approx(outcome.elapsed_ms)


def test_the_budget_comes_from_the_setting_unless_given(settings):
    ruleset = regex_ruleset(TenantFactory(slug="acme"))
    common = dict(
        compiled=ruleset_compile(ruleset),
        identity=identity_of(ruleset),
        tenant_id=ruleset.tenant_id,
        data={"s": "abc"},
        source=None,
    )
    assert evaluation_run(**common).evaluation.pattern_result == "YY"
    assert evaluation_run(**common, budget_ms=NO_TIME_MS).code == BUDGET_EXCEEDED
    settings.EVALUATION_BUDGET_MS = NO_TIME_MS
    assert evaluation_run(**common).code == BUDGET_EXCEEDED
    refused = evaluation_run(**{**common, "data": {"s": "\x00"}})
    assert refused.code == INPUT_INVALID


def test_the_issue_stall_of_100_backtracking_rules_now_takes_milliseconds():
    ruleset = regex_ruleset(TenantFactory(slug="acme"), rules=100, pattern="(a|aa)+$")
    compiled = ruleset_compile(ruleset)
    started = time.perf_counter()
    outcome = evaluation_run(
        compiled=compiled,
        identity=identity_of(ruleset),
        tenant_id=ruleset.tenant_id,
        data={"s": "a" * 40 + "!"},
        source="api",
    )
    assert time.perf_counter() - started < 0.1  # 5.2 s before
    assert outcome.problem is None
    assert (outcome.row.success, outcome.row.pattern_result) == (True, "-" * 100)


def test_the_command_line_stream_reports_and_logs_each_stopped_line(settings):
    settings.EVALUATION_BUDGET_MS = NO_TIME_MS
    ruleset = regex_ruleset(TenantFactory(slug="acme"))
    written = []
    report = evaluations_stream(
        compiled=ruleset_compile(ruleset),
        ruleset=identity_of(ruleset),
        tenant_id=ruleset.tenant_id,
        lines=[b'{"s": "a"}', b'{"s": "b"}'],
        write=written.append,
        log_source="cli",
    )
    lines = [json.loads(line) for line in "".join(written).splitlines()]
    assert [line["line"] for line in lines] == [1, 2]
    assert all("budget" in line["error"] for line in lines)
    assert (report.evaluated, report.errors, report.logged) == (0, 2, 2)
    assert list(ExecutionLog.objects.values_list("success", flat=True)) == [False, False]


@pytest.mark.postgres
def test_backtests_apply_the_budget_per_input_and_count_the_stopped_ones(settings):
    tenant = TenantFactory(slug="acme")
    baseline = credit_ruleset(tenant, version="1.0", threshold=700, status=RulesetStatus.ACTIVE)
    candidate = credit_ruleset(tenant, version="1.1", threshold=600)
    RuleFactory(ruleset=candidate, rule_id="R3", attribute="note", operator="regex", constant="x")
    candidate.patterns.all().delete()
    write_logs(baseline, KNOWN_INPUTS, at=NOW - timedelta(hours=1))
    settings.EVALUATION_BUDGET_MS = NO_TIME_MS
    report = backtest_run(candidate=candidate, baseline=baseline, until=NOW)
    assert report["inputs_over_budget"] == len(KNOWN_INPUTS)
    assert report["inputs_replayed"] == 0
    settings.EVALUATION_BUDGET_MS = 5.0
    report = backtest_run(candidate=candidate, baseline=baseline, until=NOW)
    assert (report["inputs_over_budget"], report["inputs_replayed"]) == (0, len(KNOWN_INPUTS))


def test_test_case_runs_apply_the_budget_and_report_the_stop(settings):
    ruleset = regex_ruleset(TenantFactory(slug="acme"))
    RulesetTestCaseFactory(ruleset=ruleset, name="slow", input_data={"s": "abc"})
    settings.EVALUATION_BUDGET_MS = NO_TIME_MS
    (result,) = ruleset_tests_run(ruleset=ruleset).results
    assert not result.passed
    assert result.error.startswith("the evaluation used ")
    assert result.error.endswith("(EVALUATION_BUDGET_MS)")
