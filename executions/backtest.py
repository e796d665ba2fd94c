"""Backtests: replay the inputs logged for one ruleset version through another, and compare.

The old outcome of each input is the one that was logged; the new one comes from evaluating the
candidate version now. Nothing is written: no execution logs, no ruleset changes.

Memory stays bounded whatever the window:

* Rows are streamed, never loaded at once: on PostgreSQL one query read through a server-side
  cursor; on TimescaleDB one query per day of the window, newest day first, each read through a
  server-side cursor too, so every query touches one chunk of the hypertable (compressed or not)
  and no snapshot is held across the whole window.
* Only the needed columns are read, and the JSON documents as text, decoded with orjson (several
  times faster than the stdlib decoder Django's JSONField uses).
* Everything reported is aggregated on the fly: counters, sums, a fixed-bin histogram, and for
  the percentiles a reservoir sample (Vitter's algorithm R) of RESERVOIR_SIZE paired
  (before, after) totals. Percentiles are exact when at most RESERVOIR_SIZE inputs are replayed
  and an unbiased estimate above that; the reservoir's random generator has a fixed seed, so a
  backtest of the same rows reports the same numbers.
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import orjson
from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import TextField
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Cast
from django.utils import timezone

from executions.models import ExecutionLog, ExecutionSource
from executions.services.evaluation import BUDGET_EXCEEDED, evaluation_run
from rules.engine import RulesetCompileError
from rules.errors import RulesetInvalid, ServiceError
from rules.models import Ruleset
from rules.selectors.decision_models import ruleset_is_decision_table
from rules.services.compilation import ruleset_compile, ruleset_spec
from rules.services.decision_models import decision_top_output_text

TIMESCALE_ENGINE = "timescale.db.backends.postgresql"
# Rows fetched per round trip of the server-side cursor.
FETCH_ROWS = 5000
# The TimescaleDB path queries the window one time chunk at a time (the hypertable's chunk size).
TIME_CHUNK = timedelta(days=1)
RESERVOIR_SIZE = 10_000
RESERVOIR_SEED = 20_260_101
HISTOGRAM_BINS = 10
EXAMPLES_PER_TRANSITION = 50
TOP_RULES = 10

PERCENTILE_METHOD = (
    f"nearest rank over a reservoir sample of {RESERVOIR_SIZE} paired inputs "
    f"(exact up to {RESERVOIR_SIZE} inputs)"
)


class BacktestRefused(ServiceError):
    code = "backtest_refused"


def backtest_run(
    *,
    candidate: Ruleset,
    baseline: Ruleset,
    since: datetime | None = None,
    until: datetime | None = None,
    max_inputs: int | None = None,
) -> dict:
    """Replay the inputs logged for `baseline` in [since, until) through `candidate`.

    Defaults: `until` now, `since` settings.BACKTEST_DEFAULT_DAYS before `until`, `max_inputs`
    settings.BACKTEST_MAX_INPUTS (the newest inputs are replayed first). Only successful
    evaluations are replayed, and not the admin's try-it runs; each goes through the evaluation
    step (executions.services.evaluation) without a log row, and one it refuses (logged by the
    command line before it checked inputs) is skipped. Returns the report as plain JSON.
    Raises RulesetInvalid when the candidate does not compile, BacktestRefused on bad arguments.
    """
    started = time.perf_counter()
    until = until or timezone.now()
    since = since or until - timedelta(days=settings.BACKTEST_DEFAULT_DAYS)
    if max_inputs is None:
        max_inputs = settings.BACKTEST_MAX_INPUTS
    if since >= until:
        raise BacktestRefused(f"the window is empty: since {since} is not before until {until}")
    if max_inputs < 1:
        raise BacktestRefused("max_inputs must be at least 1")
    if candidate.tenant_id != baseline.tenant_id:
        raise BacktestRefused("the candidate and the baseline belong to different tenants")
    decision_tables = ruleset_is_decision_table(candidate)
    if decision_tables != ruleset_is_decision_table(baseline):
        raise BacktestRefused(
            "a decision-table ruleset is compared only with a decision-table ruleset, and a "
            "scoring ruleset only with a scoring ruleset"
        )
    try:
        compiled = ruleset_compile(candidate)
    except RulesetCompileError as error:
        raise RulesetInvalid(
            error.problems, heading=f"{candidate.name} {candidate.version} does not compile"
        ) from error

    # Decision tables have no points: one bin, and the transition matrix is over the top
    # decision's output (what the log records as the recommendation).
    bins = [0.0, 0.0] if decision_tables else _histogram_edges(candidate, baseline)
    aggregate = _Aggregate(bins=bins)
    identity = {"ruleset_id": candidate.pk, "name": candidate.name, "version": candidate.version}
    tenant_id = candidate.tenant_id
    loads = orjson.loads
    capped = False
    over_budget = 0  # inputs the candidate could not evaluate within EVALUATION_BUDGET_MS
    strategy, rows = _logged_rows(
        ruleset_id=baseline.pk, since=since, until=until, limit=max_inputs + 1
    )
    try:
        for row in rows:
            if aggregate.count == max_inputs:
                capped = True  # a limit+1st row exists: the window holds more than was replayed
                break
            execution_id, timestamp, input_text, points, recommendation, pattern, matched = row
            outcome = evaluation_run(
                compiled=compiled,
                identity=identity,
                tenant_id=tenant_id,
                data=loads(input_text) if input_text is not None else None,
                source=None,  # nothing is logged
            )
            if outcome.code == BUDGET_EXCEEDED:
                over_budget += 1
                continue
            if outcome.problem is not None:
                continue  # logged before its entry point checked inputs: not replayable
            evaluation = outcome.evaluation
            matched = loads(matched) if matched is not None else ()
            if decision_tables:
                evaluation = _DecisionReplay(evaluation)
                matched = _rows_matched(matched)
            aggregate.add(
                execution_id, timestamp, points, recommendation, pattern, matched, evaluation
            )
    finally:
        rows.close()  # ends the server-side cursor and its transaction now, not at collection

    report = {
        "candidate": _identity(candidate),
        "baseline": _identity(baseline),
        "window": {
            "since": since.isoformat(),
            "until": until.isoformat(),
            "replayed_from": _iso(aggregate.oldest),
            "replayed_until": _iso(aggregate.newest),
        },
        "max_inputs": max_inputs,
        "capped": capped,
        "read_strategy": strategy,
        "inputs_over_budget": over_budget,
        **aggregate.report(),
    }
    report["seconds"] = round(time.perf_counter() - started, 3)
    return report


def _logged_rows(*, ruleset_id: int, since, until, limit: int) -> tuple[str, Iterator[tuple]]:
    """(how the rows are read, the rows newest first): at most `limit`, needed columns only."""
    logs = (
        ExecutionLog.objects.filter(ruleset_id=ruleset_id, success=True)
        .exclude(source=ExecutionSource.ADMIN)
        # Identity and time as text, parsed only for the few rows the report names: Django's
        # time-zone-aware timestamp loader costs more per row than evaluating the input.
        .annotate(
            id_text=Cast("execution_id", TextField()),
            timestamp_text=Cast("timestamp", TextField()),
            input_text=Cast("input_data", TextField()),
            matched_text=Cast(KeyTransform("matched_rules", "output_data"), TextField()),
        )
        .order_by("-timestamp")
        .values_list(
            "id_text",
            "timestamp_text",
            "input_text",
            "total_points",
            "action_recommendation",
            "pattern_result",
            "matched_text",
        )
    )
    connection = connections[router.db_for_read(ExecutionLog)]
    if connection.settings_dict["ENGINE"] == TIMESCALE_ENGINE:
        return "time chunks of 1 day, newest first", _rows_by_time_chunk(
            logs, since=since, until=until, limit=limit
        )
    return "one query, streamed", _rows_streamed(
        logs.filter(timestamp__gte=since, timestamp__lt=until)[:limit]
    )


def _rows_streamed(logs) -> Iterator[tuple]:
    # Inside a transaction, Django's server-side cursor is not WITH HOLD: the server does not
    # materialise the whole result when the statement's transaction ends.
    with transaction.atomic(using=logs.db):
        yield from logs.iterator(chunk_size=FETCH_ROWS)


def _rows_by_time_chunk(logs, *, since, until, limit: int) -> Iterator[tuple]:
    end = until
    remaining = limit
    while end > since and remaining > 0:
        start = max(since, end - TIME_CHUNK)
        for row in _rows_streamed(logs.filter(timestamp__gte=start, timestamp__lt=end)[:remaining]):
            remaining -= 1
            yield row
        end = start


class _DecisionReplay:
    """A decision-table evaluation in the report's terms: the top decision's output is the
    recommendation, the matched rows are the matched rules, and there are no points or
    patterns."""

    __slots__ = ("action_recommendation", "total_points", "pattern_result", "matched_rules")

    def __init__(self, evaluation):
        self.action_recommendation = decision_top_output_text(evaluation)
        self.total_points = 0.0
        self.pattern_result = ""
        self.matched_rules = _rows_matched(evaluation.matched_rules)


def _rows_matched(matched) -> list:
    # Logged and evaluated alike: {decision name: [row ids]}.
    if isinstance(matched, dict):
        return [row for rows in matched.values() for row in rows]
    return list(matched)


class _Aggregate:
    """Everything the report says, updated one input at a time in bounded memory."""

    def __init__(self, bins: list[float]):
        self.count = 0
        self.oldest = self.newest = None
        self.decisions_changed = 0
        self.patterns_changed = 0
        self.transitions: Counter = Counter()
        self.examples: dict[tuple, list] = {}
        self.sum_before = 0.0
        self.sum_after = 0.0
        self.reservoir: list[tuple[float, float]] = []
        self.random = random.Random(RESERVOIR_SEED)
        self.edges = bins
        self.low = bins[0]
        self.width = (bins[-1] - bins[0]) / (len(bins) - 1)
        self.last_bin = len(bins) - 2
        self.histogram_before = [0] * (len(bins) - 1)
        self.histogram_after = [0] * (len(bins) - 1)
        self.matched_before: Counter = Counter()
        self.matched_after: Counter = Counter()

    def add(self, execution_id, timestamp, points, recommendation, pattern, matched, evaluation):
        # The hot path: called once per replayed input.
        self.count += 1
        if self.newest is None:
            self.newest = timestamp
        self.oldest = timestamp
        new_recommendation = evaluation.action_recommendation
        new_points = evaluation.total_points
        if points is None:
            points = 0.0
        self.transitions[(recommendation, new_recommendation)] += 1
        if evaluation.pattern_result != pattern:
            self.patterns_changed += 1
        if new_recommendation != recommendation:
            self.decisions_changed += 1
            examples = self.examples.setdefault((recommendation, new_recommendation), [])
            if len(examples) < EXAMPLES_PER_TRANSITION:
                examples.append(
                    {
                        "execution_id": str(uuid.UUID(execution_id)),
                        "timestamp": _iso(timestamp),
                        "pattern_before": pattern,
                        "pattern_after": evaluation.pattern_result,
                        "points_before": points,
                        "points_after": new_points,
                    }
                )
        self.sum_before += points
        self.sum_after += new_points
        self.histogram_before[self._bin(points)] += 1
        self.histogram_after[self._bin(new_points)] += 1
        self.matched_before.update(matched)
        self.matched_after.update(evaluation.matched_rules)
        if self.count <= RESERVOIR_SIZE:
            self.reservoir.append((points, new_points))
        else:
            slot = self.random.randrange(self.count)
            if slot < RESERVOIR_SIZE:
                self.reservoir[slot] = (points, new_points)

    def _bin(self, value: float) -> int:
        # Values outside the rulesets' possible range (a changed log?) count in the end bins.
        index = int((value - self.low) // self.width) if self.width else 0
        return 0 if index < 0 else (self.last_bin if index > self.last_bin else index)

    def report(self) -> dict:
        count = self.count
        return {
            "inputs_replayed": count,
            "decisions_changed": _share(self.decisions_changed, count),
            "patterns_changed": _share(self.patterns_changed, count),
            "transitions": [
                {
                    "from": before,
                    "to": after,
                    "count": n,
                    "percent": _percent(n, count),
                    "changed": before != after,
                }
                for (before, after), n in sorted(
                    self.transitions.items(), key=lambda item: (-item[1], str(item[0]))
                )
            ],
            "total_points": self._points_report(),
            "rule_match_rates": self._rule_rates(),
            "examples": [
                {
                    "from": before,
                    "to": after,
                    "count": self.transitions[(before, after)],
                    "examples": found,
                }
                for (before, after), found in sorted(
                    self.examples.items(),
                    key=lambda item: (-self.transitions[item[0]], str(item[0])),
                )
            ],
        }

    def _points_report(self) -> dict:
        count = self.count
        before = sorted(pair[0] for pair in self.reservoir)
        after = sorted(pair[1] for pair in self.reservoir)
        mean_before = self.sum_before / count if count else None
        mean_after = self.sum_after / count if count else None
        return {
            "before": _summary(mean_before, before),
            "after": _summary(mean_after, after),
            "mean_shift": _round(mean_after - mean_before) if count else None,
            "percentile_method": PERCENTILE_METHOD,
            "histogram": [
                {
                    "from": _round(self.edges[i]),
                    "to": _round(self.edges[i + 1]),
                    "before": self.histogram_before[i],
                    "after": self.histogram_after[i],
                }
                for i in range(len(self.edges) - 1)
            ],
        }

    def _rule_rates(self) -> list[dict]:
        count = self.count
        if not count:
            return []
        rates = []
        for rule_id in set(self.matched_before) | set(self.matched_after):
            before = self.matched_before[rule_id] / count
            after = self.matched_after[rule_id] / count
            if before != after:
                rates.append(
                    {
                        "rule_id": rule_id,
                        "before": _round(before),
                        "after": _round(after),
                        "change": _round(after - before),
                    }
                )
        rates.sort(key=lambda rate: (-abs(rate["change"]), rate["rule_id"]))
        return rates[:TOP_RULES]


def _histogram_edges(*rulesets: Ruleset) -> list[float]:
    """HISTOGRAM_BINS equal bins over every total the rulesets can produce, fixed in advance."""
    low = high = 0.0
    for ruleset in rulesets:
        contributions = [
            float(rule["rule_point"]) * float(rule["weight"])
            for rule in ruleset_spec(ruleset)["rules"]
            if rule["status"] == "active"
        ]
        low = min(low, sum(c for c in contributions if c < 0))
        high = max(high, sum(c for c in contributions if c > 0))
    if high == low:
        return [low, high]
    width = (high - low) / HISTOGRAM_BINS
    return [low + width * i for i in range(HISTOGRAM_BINS)] + [high]


def _summary(mean, ordered: list[float]) -> dict:
    return {
        "mean": _round(mean) if mean is not None else None,
        "p50": _round(_nearest_rank(ordered, 0.50)),
        "p95": _round(_nearest_rank(ordered, 0.95)),
    }


def _nearest_rank(ordered: list[float], quantile: float):
    if not ordered:
        return None
    return ordered[max(0, math.ceil(quantile * len(ordered)) - 1)]


def _share(part: int, whole: int) -> dict:
    return {"count": part, "percent": _percent(part, whole)}


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def _round(value):
    return round(value, 6) if value is not None else None


def _iso(text: str | None) -> str | None:
    """A timestamp read as text (PostgreSQL's or SQLite's form) in ISO 8601 with its offset."""
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:  # SQLite stores UTC without an offset
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


def _identity(ruleset: Ruleset) -> dict:
    return {
        "id": ruleset.pk,
        "name": ruleset.name,
        "version": ruleset.version,
        "status": ruleset.status,
    }
