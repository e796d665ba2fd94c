"""Benchmark: rules per second of a ruleset import, against PostgreSQL.

Run from the repository root:  python benchmarks/import_rules.py [--database-url URL] [--rules N]

Creates its own PostgreSQL database (default
postgres://postgres@127.0.0.1:5432/ruleengine_bench_import, or --database-url / $DATABASE_URL
with the database name replaced unless --keep-name), migrates it, then:

1. imports a generated document of N rules (default 5,000: four fifths inline conditions of
   mixed operators, one fifth catalog rules using two of 50 catalog conditions each) as a new
   name: `ruleset_import`, the path of `POST /api/v1/rulesets/import` and `manage.py import_rules`;
2. adds 20 test cases to it and imports a changed copy, which becomes the next draft version
   (compared with the first, and copying its test cases);
3. as the reference, creates `--reference-rules` rules (default 200) one by one through
   `editing.rule_create`, the per-rule path every import took before the bulk path (about
   16 ms a rule, so 5,000 rules passed gunicorn's 30 s timeout);

and drops the database. Exits non-zero when the first import of N rules takes longer than
`--budget` seconds (default 5).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/ruleengine_bench_import"
BENCH_DATABASE = "ruleengine_bench_import"
CATALOG_CONDITIONS = 50
TEST_CASES = 20
# (operator, constant) of the inline rules, cycled.
INLINE_CONDITIONS = [
    ("greater_than", 18),
    ("less_than_or_equal", 120000),
    ("equal", "US"),
    ("in", ["US", "CA", "MX"]),
    ("regex_match", r"^[A-Z]{2}\d{4}$"),
    ("not_equal", "closed"),
    ("between", [10, 20]),
    ("contains", "gold"),
]


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


def bench_document(name: str, rules: int, *, changed: bool = False) -> dict:
    """A document in the project's format with `rules` rules; `changed` alters one constant."""
    conditions = [
        {
            "condition_id": f"C{number:03d}",
            "name": f"Catalog condition {number}",
            "attribute": f"c{number}",
            "operator": "greater_than",
            "value": number,
        }
        for number in range(CATALOG_CONDITIONS)
    ]
    rule_list = []
    for number in range(rules):
        rule = {
            "rule_id": f"R{number:05d}",
            "rule_name": f"Bench rule {number}",
            "message": f"rule {number} matched",
            "weight": 1.0,
            "rule_point": number % 50,
            "priority": number // 100,
            "action_result": "Y",
            "tags": ["bench"],
        }
        if number % 5 == 4:
            first = number % CATALOG_CONDITIONS
            rule["conditions"] = {
                "mode": "all" if number % 2 else "any",
                "items": [f"C{first:03d}", f"C{(first + 1) % CATALOG_CONDITIONS:03d}"],
            }
        else:
            operator, constant = INLINE_CONDITIONS[number % len(INLINE_CONDITIONS)]
            rule.update(attribute=f"a{number % 40}", condition=operator, constant=constant)
        rule_list.append(rule)
    if changed:
        rule_list[0]["rule_point"] = 99
    return {
        "format": "ruleengine.ruleset",
        "format_version": 1,
        "ruleset": {"name": name, "description": "import benchmark"},
        "rules": rule_list,
        "conditions": conditions,
    }


def timed_import(tenant, document: dict) -> tuple[float, object]:
    from rules.services.ruleset_import import ruleset_import

    body = json.dumps(document).encode()
    started = time.perf_counter()
    report = ruleset_import(tenant=tenant, actor=None, document=body)
    return time.perf_counter() - started, report


def reference_per_rule(tenant, rules: int) -> float:
    """Seconds to create `rules` rules one by one through the editing service."""
    from rules.services import editing

    ruleset = editing.ruleset_create(tenant=tenant, actor=None, name="reference")
    started = time.perf_counter()
    for number in range(rules):
        operator, constant = INLINE_CONDITIONS[number % len(INLINE_CONDITIONS)]
        editing.rule_create(
            ruleset=ruleset,
            actor=None,
            rule_id=f"R{number:05d}",
            attribute=f"a{number % 40}",
            operator=operator,
            constant=json.dumps(constant) if not isinstance(constant, str) else constant,
            position=number,
        )
    return time.perf_counter() - started


def measure(rules: int, reference_rules: int, budget: float) -> bool:
    from django.core.management import call_command

    from rules.models import Rule, RuleCondition, RulesetTestCase
    from rules.services import test_cases
    from rules.services.tenancy import tenant_create

    call_command("migrate", verbosity=0)
    tenant, _ = tenant_create(slug="bench")

    seconds, report = timed_import(tenant, bench_document("bench", rules))
    links = RuleCondition.objects.filter(rule__ruleset=report.created).count()
    print(
        f"import of {rules:,} rules ({links:,} catalog links, {CATALOG_CONDITIONS} catalog "
        f"conditions): {seconds:.2f} s, {rules / seconds:,.0f} rules/s"
    )
    for number in range(TEST_CASES):
        test_cases.test_case_save(
            test_case=RulesetTestCase(
                ruleset=report.created,
                name=f"case {number}",
                input_data={"a0": number, "c1": number},
                expected_pattern_result=None,
                expected_total_points=0,
            ),
            actor=None,
        )
    seconds_next, report_next = timed_import(tenant, bench_document("bench", rules, changed=True))
    print(
        f"import of a changed copy as {report_next.name} {report_next.version} (compared with "
        f"{report.version}, {report_next.counts['test_cases']} test cases copied): "
        f"{seconds_next:.2f} s, {rules / seconds_next:,.0f} rules/s"
    )
    assert Rule.objects.filter(ruleset=report_next.created).count() == rules

    reference = reference_per_rule(tenant, reference_rules)
    print(
        f"reference, {reference_rules} rules one by one through editing.rule_create (the "
        f"import's path before the bulk path): {reference:.2f} s, "
        f"{reference_rules / reference:,.0f} rules/s, {reference / reference_rules * 1000:.1f} "
        f"ms a rule"
    )
    within = seconds <= budget
    # Other processes on the same cores slow every figure above alike.
    print(f"load average during the run: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    print(
        f"{'OK' if within else 'TOO SLOW'}: {rules:,} rules in {seconds:.2f} s "
        f"(budget {budget:.1f} s)"
    )
    return within


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or DEFAULT_URL,
        help=f"server to use; its database name is replaced by {BENCH_DATABASE}",
    )
    parser.add_argument("--keep-name", action="store_true", help="use the URL's database name")
    parser.add_argument("--rules", type=int, default=5000, help="rules in the imported document")
    parser.add_argument(
        "--reference-rules", type=int, default=200, help="rules created one by one (reference)"
    )
    parser.add_argument("--budget", type=float, default=5.0, help="seconds allowed for --rules")
    parser.add_argument("--keep", action="store_true", help="do not drop the database afterwards")
    args = parser.parse_args(argv)

    url = args.database_url if args.keep_name else with_database(args.database_url, BENCH_DATABASE)
    if not url.startswith(("postgres://", "postgresql://", "timescale://")):
        parser.error("the benchmark needs a PostgreSQL or TimescaleDB server")
    database_recreate(url)
    try:
        django_setup(url)
        within = measure(args.rules, args.reference_rules, args.budget)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            database_recreate(url, drop_only=True)
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
