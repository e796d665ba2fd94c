"""Benchmark: /api/v1/stats, the dashboard and the admin log list on a large execution log.

Run from the repository root:

    python benchmarks/stats.py [--rows 10000000] [--database-url URL] [--keep] [--reuse]
                               [--log-only] [--insert-cost]

Creates its own PostgreSQL database (default
postgres://postgres@127.0.0.1:5432/ruleengine_bench_stats; --database-url / $DATABASE_URL with
the database name replaced), migrates it, and writes N log rows of one tenant over the last 30
days on the server (`INSERT ... SELECT generate_series`, indexes built afterwards): two versions
of one ruleset, three recommendations, 2% failures, log-uniform times from 0.05 to 2.7 ms with a
1% tail ten times slower, 20% batch rows, 0.1% admin try-it rows. Then it runs
`rollup_execution_logs` (timed), and times each request through Django's test client (full
middleware, authentication and rendering; no network), warm, median of 3: `/stats` over 24 h,
7 d, 30 d and 90 d, the dashboard of a member and of a superuser, the admin log list of both. It
prints a table and drops the database unless --keep (--reuse skips the build on a kept one).

--log-only adds the same requests with the rollup's watermark removed (statistics from the log
alone, as before the rollup) for the 24 h and 7 d windows, once each. --insert-cost times
INSERT ... SELECT of 200,000 rows into a scratch copy of the log table with today's indexes, and
with each one left out, median of 3.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/ruleengine_bench_stats"
BENCH_DATABASE = "ruleengine_bench_stats"
DAYS = 30
BUILD_CHUNK = 2_000_000
TABLE = "executions_executionlog"
TIMESCALE_ENGINE = "timescale.db.backends.postgresql"

ROWS_SQL = f"""
INSERT INTO {TABLE} (
    execution_id, "timestamp", tenant_id, ruleset_id, ruleset_name, ruleset_version, input_data,
    output_data, total_points, pattern_result, action_recommendation, execution_time_ms, success,
    error_message, source, caller, request_id, correlation_id
)
SELECT gen_random_uuid(), t, %(tenant)s, CASE WHEN t < %(half)s THEN %(v1)s ELSE %(v2)s END,
    'credit_scoring', CASE WHEN t < %(half)s THEN '1.0' ELSE '1.1' END,
    jsonb_build_object('age', 18 + i %% 60, 'income', (i * 37) %% 200000, 'country', 'US',
                       'credit_score', 300 + i %% 550),
    CASE WHEN ok THEN jsonb_build_object('pattern_result', pattern, 'total_points', points,
                                         'action_recommendation', recommendation)
         ELSE '{{}}'::jsonb END,
    CASE WHEN ok THEN points END, CASE WHEN ok THEN pattern ELSE '' END,
    CASE WHEN ok THEN recommendation END,
    0.05 * exp(r2 * 4) * CASE WHEN r3 < 0.01 THEN 10 ELSE 1 END,
    ok, CASE WHEN ok THEN '' ELSE 'evaluation_budget_exceeded' END,
    CASE WHEN r3 < 0.001 THEN 'admin' WHEN r3 < 0.2 THEN 'batch' ELSE 'api' END,
    'client-1', '', ''
FROM (
    SELECT i, %(start)s::timestamptz + make_interval(secs => i * %(step)s) AS t,
        random() >= 0.02 AS ok, random() AS r2, random() AS r3,
        (ARRAY['APPROVE', 'APPROVE', 'REVIEW', 'DECLINE'])[1 + (i %% 4)] AS recommendation,
        (ARRAY['Y-Y', 'Y--', '-Y-', '---'])[1 + (i %% 4)] AS pattern,
        (i %% 100)::float8 AS points
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS i
) AS generated
"""


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def database_recreate(url: str, *, drop_only: bool = False) -> None:
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
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
    os.environ.setdefault("STATIC_MANIFEST", "false")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ruleengine.settings")
    import django

    django.setup()


def timed(label: str, function) -> float:
    began = time.perf_counter()
    function()
    seconds = time.perf_counter() - began
    print(f"  {label}: {seconds:.1f} s", flush=True)
    return seconds


def build(rows: int) -> dict:
    """Migrate, create the tenant, users and rulesets, write `rows` log rows; returns ids."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from rules.models import Membership, Ruleset, Tenant

    call_command("migrate", verbosity=0, skip_checks=True)
    tenant = Tenant.objects.create(slug="bench", name="Bench")
    versions = [
        Ruleset.objects.create(tenant=tenant, name="credit_scoring", version=v, status=s)
        for v, s in (("1.0", "deprecated"), ("1.1", "active"))
    ]
    now = timezone.now()
    start = now - timedelta(days=DAYS)
    step = DAYS * 86400 / rows
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('p', 'u')",
            [TABLE],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            [TABLE],
        )
        indexes = cursor.fetchall()
        if connection.settings_dict["ENGINE"] == TIMESCALE_ENGINE:
            constraints = indexes = []  # a hypertable's chunks carry their own indexes
        # Faster to build the indexes once than to maintain them row by row.
        for name, _ in constraints:
            cursor.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT {name}")
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        for first in range(0, rows, BUILD_CHUNK):
            last = min(first + BUILD_CHUNK, rows) - 1
            timed(
                f"rows {first:,} to {last:,}",
                lambda first=first, last=last: cursor.execute(
                    ROWS_SQL,
                    {
                        "tenant": tenant.pk,
                        "half": start + timedelta(days=DAYS / 2),
                        "v1": versions[0].pk,
                        "v2": versions[1].pk,
                        "start": start,
                        "step": step,
                        "first": first,
                        "last": last,
                    },
                ),
            )
        for name, definition in constraints:
            sql = f"ALTER TABLE {TABLE} ADD CONSTRAINT {name} {definition}"
            timed(f"constraint {name}", lambda sql=sql: cursor.execute(sql))
        for name, definition in indexes:
            timed(f"index {name}", lambda sql=definition: cursor.execute(sql))
        timed("ANALYZE", lambda: cursor.execute(f"ANALYZE {TABLE}"))
    users = get_user_model()
    users.objects.create_superuser("bench-admin", "admin@example.com", "x")
    member = users.objects.create_user("bench-member", is_staff=True)
    Membership.objects.create(user=member, tenant=tenant, role="viewer")
    return {"tenant": tenant.pk}


def token_for(tenant_id: int) -> str:
    from rules.models import Tenant
    from rules.services.api_clients import api_client_create

    name = f"bench-{int(time.time())}"
    _, token = api_client_create(tenant=Tenant.objects.get(pk=tenant_id), name=name, role="viewer")
    return token


def median_ms(function, repeat: int = 3) -> float:
    function()  # warm
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        function()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


def requests(tenant_id: int):
    """(label, callable) pairs, each one request that must answer 200."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    token = token_for(tenant_id)
    api = Client(HTTP_AUTHORIZATION=f"Token {token}")
    users = get_user_model()
    member = Client()
    member.force_login(users.objects.get(username="bench-member"))
    superuser = Client()
    superuser.force_login(users.objects.get(username="bench-admin"))
    dashboard = reverse("admin:executions_executionlog_dashboard")
    changelist = reverse("admin:executions_executionlog_changelist")

    def get(client, url, **params):
        def call():
            response = client.get(url, params)
            assert response.status_code == 200, (url, response.status_code, response.content[:300])

        return call

    def stats(days: float, bucket: str):
        now = timezone.now()
        since = (now - timedelta(days=days)).isoformat()
        return get(api, "/api/v1/stats", since=since, until=now.isoformat(), bucket=bucket)

    return [
        ("/api/v1/stats 24 h, 1 h buckets", stats(1, "1h")),
        ("/api/v1/stats 7 d, 1 d buckets", stats(7, "1d")),
        ("/api/v1/stats 7 d, 1 h buckets", stats(7, "1h")),
        ("/api/v1/stats 30 d, 1 d buckets", stats(30, "1d")),
        ("/api/v1/stats 90 d, 1 d buckets", stats(90, "1d")),
        ("/api/v1/stats 90 d, 6 h buckets", stats(90, "6h")),
        ("admin dashboard 24 h (a member)", get(member, dashboard, window="24h")),
        ("admin dashboard 7 d (a member)", get(member, dashboard, window="7d")),
        ("admin dashboard 7 d (a superuser)", get(superuser, dashboard, window="7d")),
        ("admin log list (a superuser)", get(superuser, changelist)),
        ("admin log list, page 5 (a superuser)", get(superuser, changelist, p=5)),
        ("admin log list (a member)", get(member, changelist)),
        ("admin log list, failures only (a member)", get(member, changelist, success__exact=0)),
    ]


def insert_cost() -> None:
    """ms per 200,000 rows inserted with each index set (INSERT ... SELECT, server side)."""
    from django.db import connection
    from django.utils import timezone

    rows = 200_000
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s ORDER BY 1", [TABLE]
        )
        indexes = cursor.fetchall()
    sets = [("every index of today", [name for name, _ in indexes]), ("no index", [])]
    sets += [
        (f"without {name}", [other for other, _ in indexes if other != name]) for name, _ in indexes
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id) FROM rules_tenant")
        (tenant_id,) = cursor.fetchone()
    print(f"\nINSERT ... SELECT of {rows:,} rows into a copy of the log table (median of 3)")
    print(f"| indexes | ms per {rows:,} rows | µs per row |\n|---|---:|---:|")
    for label, names in sets:
        samples = []
        for _ in range(3):
            with connection.cursor() as cursor:
                cursor.execute("DROP TABLE IF EXISTS bench_insert_cost")
                cursor.execute(f"CREATE TABLE bench_insert_cost (LIKE {TABLE} INCLUDING DEFAULTS)")
                for name, definition in indexes:
                    if name in names:
                        cursor.execute(
                            definition.replace(f"INDEX {name} ON", "INDEX ON", 1)
                            .replace(f"public.{TABLE}", "bench_insert_cost")
                            .replace(f" {TABLE} ", " bench_insert_cost ")
                        )
                sql = ROWS_SQL.replace(TABLE, "bench_insert_cost", 1)
                began = time.perf_counter()
                cursor.execute(
                    sql,
                    {
                        "tenant": tenant_id,
                        "half": timezone.now(),
                        "v1": 1,
                        "v2": 2,
                        "start": timezone.now() - timedelta(days=1),
                        "step": 86400 / rows,
                        "first": 0,
                        "last": rows - 1,
                    },
                )
                samples.append((time.perf_counter() - began) * 1000)
        median = statistics.median(samples)
        print(f"| {label} | {median:,.0f} | {median * 1000 / rows:.1f} |")
    connection.cursor().execute("DROP TABLE IF EXISTS bench_insert_cost")


def timescaledb_upkeep() -> None:
    """Materialize the hourly aggregate (its refresh policy's work) and compress the chunks older
    than EXECUTION_LOG_COMPRESS_AFTER_DAYS (its compression policy's), then print the ratio."""
    from django.conf import settings
    from django.db import connection

    from executions.timeseries import hourly_aggregate_refresh

    timed("refresh_continuous_aggregate", hourly_aggregate_refresh)
    days = settings.EXECUTION_LOG_COMPRESS_AFTER_DAYS
    with connection.cursor() as cursor:
        timed(
            f"compress_chunk for chunks older than {days} days",
            lambda: cursor.execute(
                "SELECT count(compress_chunk(c, if_not_compressed => true)) "
                "FROM show_chunks(%s, older_than => %s::interval) AS c",
                [TABLE, timedelta(days=days)],
            ),
        )
        cursor.execute(
            "SELECT count(*), sum(before_compression_total_bytes), "
            "sum(after_compression_total_bytes), sum(before_compression_table_bytes), "
            "sum(after_compression_table_bytes) FROM chunk_compression_stats(%s) "
            "WHERE compression_status = 'Compressed'",
            [TABLE],
        )
        chunks, before, after, heap_before, heap_after = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = %s",
            [TABLE],
        )
        (all_chunks,) = cursor.fetchone()
    if not chunks:
        print("no chunk was compressed")
        return
    print(
        f"compression: {chunks} of {all_chunks} chunks; {before / 2**20:,.1f} MiB -> "
        f"{after / 2**20:,.1f} MiB with indexes ({before / after:.1f}x); heap "
        f"{heap_before / 2**20:,.1f} -> {heap_after / 2**20:,.1f} MiB "
        f"({heap_before / max(heap_after, 1):.1f}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_URL)
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    parser.add_argument("--reuse", action="store_true", help="Use a kept database as it is.")
    parser.add_argument("--log-only", action="store_true", help="Also time without the rollup.")
    parser.add_argument("--insert-cost", action="store_true", help="Time inserts per index.")
    parser.add_argument(
        "--timescaledb",
        action="store_true",
        help="Run on a fresh TimescaleDB test server (PGlite, in memory) instead; also measures "
        "the compression policy's ratio.",
    )
    args = parser.parse_args()
    server = None
    if args.timescaledb:
        from tests.support.timescaledb_server import TimescaleDBTestServer

        server = TimescaleDBTestServer().start()
        url, args.keep, args.reuse = server.url, True, False
    else:
        url = with_database(args.database_url, BENCH_DATABASE)
        if not args.reuse:
            database_recreate(url)
    django_setup(url)
    from django.core.management import call_command
    from django.db import connection

    from executions.models import ExecutionLogRollupState
    from rules.models import Tenant

    try:
        if args.reuse:
            ids = {"tenant": Tenant.objects.get(slug="bench").pk}
        else:
            print(f"building {args.rows:,} rows over {DAYS} days in {BENCH_DATABASE}")
            ids = build(args.rows)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), pg_total_relation_size(%s), pg_relation_size(%s) FROM " + TABLE,
                [TABLE, TABLE],
            )
            count, total, heap = cursor.fetchone()
        print(f"log: {count:,} rows, {total / 2**30:.2f} GiB ({heap / 2**30:.2f} GiB heap)")
        if args.timescaledb:
            timescaledb_upkeep()
        rollup_seconds = timed(
            "rollup_execution_logs", lambda: call_command("rollup_execution_logs", verbosity=0)
        )
        again = timed(
            "rollup_execution_logs again (incremental)",
            lambda: call_command("rollup_execution_logs", verbosity=0),
        )
        results = [(label, median_ms(call)) for label, call in requests(ids["tenant"])]
        print(f"\n{count:,} rows; rollup {rollup_seconds:.1f} s (then {again:.1f} s)")
        print("| operation | ms (median of 3, warm) |\n|---|---:|")
        for label, ms in results:
            print(f"| {label} | {ms:,.0f} |")
        if args.log_only:
            state = ExecutionLogRollupState.objects.get()
            ExecutionLogRollupState.objects.all().delete()
            try:
                print("\nwithout the rollup (the log alone), one warm run each")
                for label, call in requests(ids["tenant"])[:2]:
                    call()
                    began = time.perf_counter()
                    call()
                    print(f"| {label} | {(time.perf_counter() - began) * 1000:,.0f} |")
            finally:
                state.save()
        if args.insert_cost:
            insert_cost()
    finally:
        connection.close()
        if server is not None:
            server.stop()
        elif not args.keep:
            database_recreate(url, drop_only=True)


if __name__ == "__main__":
    main()
