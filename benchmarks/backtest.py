"""Benchmark: inputs per second and peak memory of a backtest over 100,000 logged inputs.

Run from the repository root:  python benchmarks/backtest.py [--database-url URL] [--rows N]

Creates its own PostgreSQL database (default
postgres://postgres@127.0.0.1:5432/ruleengine_bench_backtest, or --database-url / $DATABASE_URL
with the database name replaced unless --keep-name), migrates it, imports the 50-rule flat
ruleset of benchmarks/data/ as the active baseline, makes a candidate version with two changed
rules, logs the 1,000 benchmark inputs cycled to N rows over the last 7 days (with the baseline's
outcomes), then times `backtest_run` and drops the database. A timescale:// URL benchmarks the
TimescaleDB path (time chunks).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT_BENCH_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/ruleengine_bench_backtest"
BENCH_DATABASE = "ruleengine_bench_backtest"
WRITE_BATCH = 10_000
# The candidate's changes: rule id -> new constant.
CANDIDATE_CHANGES = {"B003": "30", "B010": "50"}


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def database_recreate(url: str, *, drop_only: bool = False) -> None:
    """Drop and (unless drop_only) create the database named in `url` via the server's postgres."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            connection.execute(f'CREATE DATABASE "{name}"')


def django_setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-0123456789-abcdefghijklmnop")
    os.environ.setdefault("CACHE_INVALIDATION", "query")
    os.environ.setdefault("EXECUTION_LOG_WRITER", "inline")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ruleengine.settings")
    import django

    django.setup()


def prepare(bench_dir: Path, rows: int):
    """Migrate, import the baseline, make the candidate and log `rows` inputs; returns both."""
    import orjson
    from django.core.management import call_command
    from django.utils import timezone

    from executions.models import ExecutionSource
    from executions.services.log_rows import execution_log_row
    from executions.services.log_writes import execution_logs_write
    from rules.models import Rule, Ruleset
    from rules.services import editing, lifecycle
    from rules.services.compilation import ruleset_compile
    from rules.services.ruleset_import import ruleset_import
    from rules.services.tenancy import tenant_create

    call_command("migrate", verbosity=0)
    tenant, _ = tenant_create(slug="bench")
    report = ruleset_import(
        tenant=tenant,
        actor=None,
        document=(bench_dir / "ruleset_50_flat.json").read_bytes(),
        name="bench",
        version="1.0",
        activate=True,
        # An original-format file; measured with the product's own semantics, as benchmarks/api.py.
        semantics="strict",
    )
    baseline = Ruleset.objects.get(tenant=tenant, name="bench", version=report.version)
    candidate = lifecycle.ruleset_new_version(ruleset_id=baseline.pk, actor=None)
    for rule in Rule.objects.filter(ruleset=candidate, rule_id__in=CANDIDATE_CHANGES):
        rule.constant = CANDIDATE_CHANGES[rule.rule_id]
        editing.ruleset_part_save(part=rule, actor=None)

    with (bench_dir / "inputs_1000.jsonl").open("rb") as lines:
        inputs = [orjson.loads(line) for line in lines if line.strip()]
    compiled = ruleset_compile(baseline)
    identity = {"ruleset_id": baseline.pk, "name": baseline.name, "version": baseline.version}
    evaluations = [compiled.evaluate(data) for data in inputs]
    now = timezone.now()
    spacing = timedelta(days=7) / rows
    started = time.perf_counter()
    batch = []
    for number in range(rows):
        row = execution_log_row(
            tenant_id=tenant.pk,
            ruleset=identity,
            data=inputs[number % len(inputs)],
            evaluation=evaluations[number % len(inputs)],
            elapsed_ms=0.004,
            source=ExecutionSource.API,
        )
        row.timestamp = now - spacing * (number + 1)
        batch.append(row)
        if len(batch) == WRITE_BATCH:
            execution_logs_write(batch)
            batch = []
    execution_logs_write(batch)
    print(f"wrote {rows:,} logged inputs in {time.perf_counter() - started:.1f} s")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE executions_executionlog")
    return baseline, candidate


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def measure(baseline, candidate, rows: int, repeat: int) -> None:
    from django.utils import timezone

    from executions.backtest import backtest_run

    def run():
        return backtest_run(
            candidate=candidate,
            baseline=baseline,
            since=timezone.now() - timedelta(days=8),
            max_inputs=rows,
        )

    rss_before = maxrss_mib()
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        report = run()
        timings.append(time.perf_counter() - started)
    rss_after = maxrss_mib()
    best = min(timings)
    replayed = report["inputs_replayed"]
    tracemalloc.start()
    run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    print(
        f"backtest: {replayed:,} inputs replayed ({report['read_strategy']}), "
        f"{report['decisions_changed']['count']:,} decisions changed "
        f"({report['decisions_changed']['percent']}%)"
    )
    print(
        f"best of {repeat}: {best:.2f} s, {replayed / best:,.0f} inputs/s "
        f"(all runs: {', '.join(f'{t:.2f}' for t in timings)} s)"
    )
    print(f"peak Python memory during a backtest (tracemalloc): {peak / 2**20:.1f} MiB")
    print(
        f"process max RSS: {rss_before:.0f} MiB before the backtests, {rss_after:.0f} MiB after "
        f"(growth {rss_after - rss_before:.0f} MiB)"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench-dir", type=Path, default=DEFAULT_BENCH_DIR)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or DEFAULT_URL,
        help="server to use; its database name is replaced by ruleengine_bench_backtest",
    )
    parser.add_argument("--keep-name", action="store_true", help="use the URL's database name")
    parser.add_argument("--rows", type=int, default=100_000, help="logged inputs to write")
    parser.add_argument("--repeat", type=int, default=3, help="timed backtests (best is kept)")
    parser.add_argument("--keep", action="store_true", help="do not drop the database afterwards")
    args = parser.parse_args(argv)

    url = args.database_url if args.keep_name else with_database(args.database_url, BENCH_DATABASE)
    if not url.startswith(("postgres://", "postgresql://", "timescale://")):
        parser.error("the benchmark needs a PostgreSQL or TimescaleDB server")
    database_recreate(url)
    try:
        django_setup(url)
        baseline, candidate = prepare(args.bench_dir, args.rows)
        measure(baseline, candidate, args.rows, args.repeat)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            database_recreate(url, drop_only=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
