import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from executions import backtest as backtest_module
from executions.backtest import BacktestRefused, backtest_run
from executions.models import ExecutionLog, ExecutionSource
from executions.services.log_rows import execution_log_row
from rules.choices import RulesetStatus
from rules.errors import RulesetInvalid
from rules.services.compilation import ruleset_compile
from tests.factories import TenantFactory, credit_ruleset

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)

# Logged under the baseline (credit_score > 700) and replayed with the candidate (> 600):
#   input                  baseline          candidate
#   750 / 60000            YY 20 APPROVE     YY 20 APPROVE
#   650 / 60000            -Y 10 REVIEW      YY 20 APPROVE   changed
#   650 / 0                -- 0  DECLINE     Y- 10 REVIEW    changed
#   550 / 0                -- 0  DECLINE     -- 0  DECLINE
#   800 / 0                Y- 10 REVIEW      Y- 10 REVIEW
KNOWN_INPUTS = [(750, 60000), (650, 60000), (650, 0), (550, 0), (800, 0)]


@pytest.fixture
def versions():
    tenant = TenantFactory(slug="acme")
    baseline = credit_ruleset(tenant, version="1.0", threshold=700, status=RulesetStatus.ACTIVE)
    candidate = credit_ruleset(tenant, version="1.1", threshold=600, status=RulesetStatus.DRAFT)
    return baseline, candidate


def write_logs(ruleset, inputs, *, at, step=timedelta(minutes=1), **overrides) -> list:
    """Log each (credit_score, income) as evaluated by `ruleset`, newest at `at`, going back."""
    compiled = ruleset_compile(ruleset)
    identity = {"ruleset_id": ruleset.pk, "name": ruleset.name, "version": ruleset.version}
    rows = []
    for number, (score, income) in enumerate(inputs):
        data = {"credit_score": score, "income": income}
        row = execution_log_row(
            tenant_id=ruleset.tenant_id,
            ruleset=identity,
            data=data,
            evaluation=compiled.evaluate(data),
            elapsed_ms=0.01,
            source=ExecutionSource.API,
        )
        row.timestamp = at - step * number
        for field, value in overrides.items():
            setattr(row, field, value)
        rows.append(row)
    ExecutionLog.objects.bulk_create(rows)
    return rows


def known_report_checks(report, rows):
    assert report["inputs_replayed"] == 5
    assert report["capped"] is False
    assert report["decisions_changed"] == {"count": 2, "percent": 40.0}
    assert report["patterns_changed"] == {"count": 2, "percent": 40.0}
    assert [(t["from"], t["to"], t["count"], t["changed"]) for t in report["transitions"]] == [
        ("APPROVE", "APPROVE", 1, False),
        ("DECLINE", "DECLINE", 1, False),
        ("DECLINE", "REVIEW", 1, True),
        ("REVIEW", "APPROVE", 1, True),
        ("REVIEW", "REVIEW", 1, False),
    ]
    points = report["total_points"]
    assert points["before"] == {"mean": 8.0, "p50": 10.0, "p95": 20.0}
    assert points["after"] == {"mean": 12.0, "p50": 10.0, "p95": 20.0}
    assert points["mean_shift"] == 4.0
    histogram = points["histogram"]
    assert [(b["from"], b["to"]) for b in histogram] == [(i * 2.0, i * 2.0 + 2) for i in range(10)]
    assert [b["before"] for b in histogram] == [2, 0, 0, 0, 0, 2, 0, 0, 0, 1]
    assert [b["after"] for b in histogram] == [1, 0, 0, 0, 0, 2, 0, 0, 0, 2]
    assert report["rule_match_rates"] == [
        {"rule_id": "R1", "before": 0.4, "after": 0.8, "change": 0.4}
    ]
    examples = {(group["from"], group["to"]): group["examples"] for group in report["examples"]}
    assert examples[("REVIEW", "APPROVE")] == [
        {
            "execution_id": str(rows[1].execution_id),
            "timestamp": rows[1].timestamp.isoformat(),
            "pattern_before": "-Y",
            "pattern_after": "YY",
            "points_before": 10.0,
            "points_after": 20.0,
        }
    ]
    assert [e["execution_id"] for e in examples[("DECLINE", "REVIEW")]] == [
        str(rows[2].execution_id)
    ]
    assert report["window"]["replayed_until"] == rows[0].timestamp.isoformat()
    assert report["window"]["replayed_from"] == rows[-1].timestamp.isoformat()


@pytest.mark.smoke
def test_backtest_reports_exact_numbers_on_a_known_data_set(versions):
    baseline, candidate = versions
    rows = write_logs(baseline, KNOWN_INPUTS, at=NOW - timedelta(hours=1))
    report = backtest_run(candidate=candidate, baseline=baseline, until=NOW)
    known_report_checks(report, rows)
    assert report["read_strategy"] == "one query, streamed"
    assert (report["candidate"]["version"], report["baseline"]["version"]) == ("1.1", "1.0")
    json.dumps(report)  # plain JSON, ready for the API


def test_backtest_replays_only_successful_non_admin_logs_of_the_baseline(versions):
    baseline, candidate = versions
    at = NOW - timedelta(hours=1)
    write_logs(baseline, KNOWN_INPUTS, at=at)
    write_logs(baseline, [(650, 0)] * 3, at=at, source=ExecutionSource.ADMIN)
    write_logs(baseline, [(650, 0)] * 3, at=at, success=False)
    write_logs(candidate, [(650, 0)] * 3, at=at)
    write_logs(baseline, [(650, 0)] * 3, at=at, source=ExecutionSource.BATCH)
    report = backtest_run(candidate=candidate, baseline=baseline, until=NOW)
    assert report["inputs_replayed"] == 8
    assert report["decisions_changed"]["count"] == 5


def test_backtest_never_writes_execution_logs(versions):
    baseline, candidate = versions
    write_logs(baseline, KNOWN_INPUTS, at=NOW - timedelta(hours=1))
    before = list(ExecutionLog.objects.order_by("execution_id").values_list("execution_id"))
    backtest_run(candidate=candidate, baseline=baseline, until=NOW)
    assert list(ExecutionLog.objects.order_by("execution_id").values_list("execution_id")) == (
        before
    )


def test_backtest_keeps_at_most_fifty_examples_per_transition(versions):
    baseline, candidate = versions
    write_logs(baseline, [(650, 60000)] * 60, at=NOW - timedelta(hours=1), step=timedelta(0))
    report = backtest_run(candidate=candidate, baseline=baseline, until=NOW)
    (group,) = report["examples"]
    assert (group["from"], group["to"], group["count"]) == ("REVIEW", "APPROVE", 60)
    assert len(group["examples"]) == 50


def test_backtest_respects_the_window(versions):
    baseline, candidate = versions
    since, until = NOW - timedelta(days=2), NOW - timedelta(days=1)
    write_logs(baseline, [(650, 0)], at=since - timedelta(seconds=1))  # before the window
    write_logs(baseline, [(650, 0)], at=since)  # the start is inclusive
    write_logs(baseline, [(650, 0)], at=until - timedelta(seconds=1))
    write_logs(baseline, [(650, 0)], at=until)  # the end is exclusive
    report = backtest_run(candidate=candidate, baseline=baseline, since=since, until=until)
    assert report["inputs_replayed"] == 2
    assert report["window"]["since"] == since.isoformat()


def test_backtest_window_defaults_to_the_configured_days(versions, settings):
    baseline, candidate = versions
    settings.BACKTEST_DEFAULT_DAYS = 2
    write_logs(baseline, [(650, 0)], at=timezone.now() - timedelta(days=1))
    write_logs(baseline, [(650, 0)], at=timezone.now() - timedelta(days=3))
    assert backtest_run(candidate=candidate, baseline=baseline)["inputs_replayed"] == 1


def test_backtest_caps_the_inputs_newest_first(versions, settings):
    baseline, candidate = versions
    rows = write_logs(baseline, KNOWN_INPUTS, at=NOW - timedelta(hours=1))
    report = backtest_run(candidate=candidate, baseline=baseline, until=NOW, max_inputs=3)
    assert (report["inputs_replayed"], report["capped"], report["max_inputs"]) == (3, True, 3)
    assert report["window"]["replayed_from"] == rows[2].timestamp.isoformat()
    exact = backtest_run(candidate=candidate, baseline=baseline, until=NOW, max_inputs=5)
    assert (exact["inputs_replayed"], exact["capped"]) == (5, False)
    settings.BACKTEST_MAX_INPUTS = 4
    assert backtest_run(candidate=candidate, baseline=baseline, until=NOW)["capped"] is True


def test_percentiles_are_estimated_from_a_bounded_reservoir(versions, monkeypatch):
    baseline, candidate = versions
    monkeypatch.setattr(backtest_module, "RESERVOIR_SIZE", 3)
    write_logs(baseline, KNOWN_INPUTS * 4, at=NOW - timedelta(hours=1))
    report = backtest_run(candidate=candidate, baseline=baseline, until=NOW)
    assert report["inputs_replayed"] == 20
    assert report["total_points"]["before"]["mean"] == 8.0  # means stay exact
    assert report["total_points"]["before"]["p95"] in (0.0, 10.0, 20.0)


def test_an_empty_window_reports_nothing_replayed(versions):
    baseline, candidate = versions
    report = backtest_run(candidate=candidate, baseline=baseline, until=NOW)
    assert report["inputs_replayed"] == 0
    assert report["decisions_changed"] == {"count": 0, "percent": 0.0}
    assert report["total_points"]["before"] == {"mean": None, "p50": None, "p95": None}


def test_backtest_refuses_a_candidate_that_does_not_compile(versions):
    baseline, candidate = versions
    candidate.rules.filter(rule_id="R1").update(operator="greater_than_ish")
    with pytest.raises(RulesetInvalid, match="credit 1.1 does not compile"):
        backtest_run(candidate=candidate, baseline=baseline, until=NOW)


def test_backtest_refuses_versions_of_different_tenants_and_bad_arguments(versions):
    baseline, candidate = versions
    foreign = credit_ruleset(
        TenantFactory(slug="globex"), version="1.0", threshold=1, status="draft"
    )
    with pytest.raises(BacktestRefused, match="different tenants"):
        backtest_run(candidate=foreign, baseline=baseline)
    with pytest.raises(BacktestRefused, match="window is empty"):
        backtest_run(candidate=candidate, baseline=baseline, since=NOW, until=NOW)
    with pytest.raises(BacktestRefused, match="at least 1"):
        backtest_run(candidate=candidate, baseline=baseline, max_inputs=0)


# --- the command ---------------------------------------------------------------------------
def run_backtest(*args) -> str:
    out = StringIO()
    call_command("backtest", "credit", "--tenant", "acme", *args, stdout=out)
    return out.getvalue()


def test_command_prints_a_readable_report_against_the_active_version(versions):
    baseline, _ = versions
    write_logs(baseline, KNOWN_INPUTS, at=timezone.now() - timedelta(hours=1))
    out = run_backtest("--candidate-version", "1.1", "--days", "1")
    assert "Backtest of credit 1.1 (draft) against the logs of 1.0 (active)" in out
    assert "inputs replayed: 5" in out
    assert "decisions changed: 2 (40.0%)" in out
    assert " * REVIEW -> APPROVE: 1 (20.0%)" in out
    assert "R1: 40.00% -> 80.00% (+40.00%)" in out


def test_command_prints_json_and_takes_an_explicit_window(versions):
    baseline, _ = versions
    write_logs(baseline, KNOWN_INPUTS, at=NOW - timedelta(days=3))
    since = (NOW - timedelta(days=4)).isoformat()
    until = (NOW - timedelta(days=2)).isoformat()
    out = run_backtest(
        "--candidate-version",
        "1.1",
        "--since",
        since,
        "--until",
        until,
        "--max-inputs",
        "2",
        "--json",
    )
    report = json.loads(out)
    assert (report["inputs_replayed"], report["capped"]) == (2, True)
    assert report["window"]["since"] == since


def test_command_fails_clearly(versions):
    baseline, candidate = versions
    with pytest.raises(CommandError, match="--days or --since"):
        run_backtest("--candidate-version", "1.1", "--days", "1", "--since", "2026-01-01")
    with pytest.raises(CommandError, match="no version 9.9"):
        run_backtest("--candidate-version", "9.9")
    with pytest.raises(CommandError, match="not an ISO date"):
        run_backtest("--candidate-version", "1.1", "--since", "yesterday")
    baseline.status = RulesetStatus.DEPRECATED
    baseline.save()
    with pytest.raises(CommandError, match="no active version; give --baseline-version"):
        run_backtest("--candidate-version", "1.1")
    assert "inputs replayed: 0" in run_backtest(
        "--candidate-version", "1.1", "--baseline-version", "1.0"
    )


# --- TimescaleDB -----------------------------------------------------------------------------
@pytest.mark.timescaledb
class TestTimeChunkedReading:
    def test_known_data_set_gives_the_same_report_read_one_day_at_a_time(self, versions):
        baseline, candidate = versions
        # One input per day, so the rows sit in five chunks of the hypertable.
        rows = write_logs(
            baseline, KNOWN_INPUTS, at=NOW - timedelta(hours=1), step=timedelta(days=1)
        )
        report = backtest_run(
            candidate=candidate, baseline=baseline, since=NOW - timedelta(days=7), until=NOW
        )
        assert report["read_strategy"] == "time chunks of 1 day, newest first"
        known_report_checks(report, rows)

    def test_the_cap_holds_across_chunks_and_keeps_the_newest(self, versions):
        baseline, candidate = versions
        rows = write_logs(
            baseline, KNOWN_INPUTS, at=NOW - timedelta(hours=1), step=timedelta(days=1)
        )
        write_logs(baseline, [(650, 0)], at=NOW - timedelta(days=9))  # outside the window
        report = backtest_run(
            candidate=candidate,
            baseline=baseline,
            since=NOW - timedelta(days=8),
            until=NOW,
            max_inputs=3,
        )
        assert (report["inputs_replayed"], report["capped"]) == (3, True)
        assert report["window"]["replayed_from"] == rows[2].timestamp.isoformat()
        everything = backtest_run(
            candidate=candidate, baseline=baseline, since=NOW - timedelta(days=8), until=NOW
        )
        assert (everything["inputs_replayed"], everything["capped"]) == (5, False)
