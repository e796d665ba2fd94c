"""manage.py import_original_database: a real database of the original's schema, imported here.

Each test creates a PostgreSQL database on the server the test database is on, with the
original's tables (tests/data/original/schema.sql, re-typed from its Alembic migrations), fills
it like the original would (several tenants, rulesets in every status, rules of every shape the
original's DatabaseConfigRepository reads, catalogs, patterns, attributes, execution logs whose
answers come from tests/support/original_reference.py) and drops it afterwards.
"""

import json
import time
import uuid
from io import StringIO

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from executions.models import ExecutionLog
from executions.services import original_database
from executions.services.original_database import (
    LogImportOptions,
    execution_id_for,
    original_database_import,
)
from rules.choices import RulesetSemantics, RulesetStatus
from rules.models import Action, Attribute, Condition, Pattern, Rule, Ruleset, Tenant
from rules.services.compilation import ruleset_compile
from tests.support import TEST_DATA, original_reference

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

SCHEMA = (TEST_DATA / "original" / "schema.sql").read_text()

# The original's flat rules of the `credit` ruleset, prepared as original_reference takes them.
CREDIT_RULES = [
    {
        "rule_id": "R1",
        "priority": 1,
        "clauses": [("age", "greater_than", 18)],
        "mode": None,
        "rule_point": 10,
        "weight": 1.0,
        "action_result": "Y",
    },
    {
        "rule_id": "R2",
        "priority": 2,
        "clauses": [("income", "greater_than_or_equal", 50000)],
        "mode": None,
        "rule_point": 20,
        "weight": 1.5,
        "action_result": "Y",
    },
    {
        "rule_id": "R3",
        "priority": 3,
        "clauses": [("country", "in", ["US", "CA"])],
        "mode": None,
        "rule_point": 5,
        "weight": 2.0,
        "action_result": "Y",
    },
]
CREDIT_PATTERNS = {
    "YYY": "approve",
    "Y--": "reject",
    "-YY": "review",
    "YY": "approve without country",
    "Y": "ask for income",
    "---": "reject",
}
# Inputs of every kind the original's default path treats differently: all attributes, some
# missing (rules left out: shorter patterns), an empty input (nothing left out), a type mismatch,
# nothing left to run.
INPUTS = [
    {"age": 30, "income": 60000, "country": "US"},
    {"age": 30, "income": 10000, "country": "FR"},
    {"age": 16, "income": 60000, "country": "CA"},
    {"age": 30, "income": 60000},
    {"age": 40},
    {},
    {"age": "30", "income": 60000, "country": "US"},
    {"other": 1},
]


def credit_answer(data: dict) -> dict:
    return original_reference.rules_exec(CREDIT_RULES, CREDIT_PATTERNS, data)


def _admin_url(database: str) -> str:
    settings = connection.settings_dict
    user = settings["USER"] or "postgres"
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    host = settings["HOST"] or "127.0.0.1"
    port = settings["PORT"] or 5432
    return f"postgresql://{user}{password}@{host}:{port}/{database}"


@pytest.fixture
def original_url():
    """An empty database of the original's schema on the test database's server."""
    name = f"original_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_url("postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = _admin_url(name)
    try:
        with psycopg.connect(url) as original:
            original.execute(SCHEMA)
        yield url
    finally:
        with psycopg.connect(_admin_url("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _insert(original, table: str, rows: list[dict]) -> None:
    for row in rows:
        columns = ", ".join(f'"{column}"' for column in row)
        placeholders = ", ".join(["%s"] * len(row))
        values = [
            psycopg.types.json.Json(v) if isinstance(v, dict | list) else v for v in row.values()
        ]
        original.execute(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", values)


def _rule(ruleset_id, rule_id, priority, **fields):
    row = {
        "ruleset_id": ruleset_id,
        "rule_id": rule_id,
        "rule_name": f"rule {rule_id}",
        "attribute": "",
        "condition": "equal",
        "constant": "",
        "message": f"message of {rule_id}",
        "weight": 1.0,
        "rule_point": 0,
        "priority": priority,
        "action_result": "Y",
        "status": "active",
        "version": "1.0",
    }
    row.update(fields)
    return row


@pytest.fixture
def original_rules(original_url):
    """The rule tables of three tenants (acme, 'Beta Corp', none) filled as the original does."""
    rulesets = [
        # id, name, version, status, tenant, default
        (1, "credit", "1.0", "active", "acme", True),
        (2, "fraud", "2.1", "draft", "acme", False),
        (3, "scoring", "1.0", "inactive", "Beta Corp", True),
        (4, "legacy", "0.9", "deprecated", None, False),
        (5, "old", "1.0", "archived", "Beta Corp", False),
        (6, "bad", "v1", "active", "acme", False),
    ]
    with psycopg.connect(original_url) as original:
        _insert(
            original,
            "rulesets",
            [
                {
                    "id": id_,
                    "name": name,
                    "description": f"{name} rules",
                    "version": version,
                    "status": status,
                    "tenant_id": tenant,
                    "is_default": default,
                    "created_at": "2025-06-01 10:00:00",
                    "tags": ["finance"],
                    "metadata": {"owner": "risk"},
                }
                for id_, name, version, status, tenant, default in rulesets
            ],
        )
        _insert(
            original,
            "conditions",
            [
                {
                    "condition_id": "C1",
                    "name": "big amount",
                    "description": "more than 1000",
                    "attribute": "amount",
                    "operator": "greater_than",
                    "value": "1000",
                    "status": "active",
                    "tags": ["fraud"],
                },
                {
                    "condition_id": "C2",
                    "name": "risky country",
                    "attribute": "country",
                    "operator": "equal",
                    "value": "XX",
                    "status": "active",
                },
                {
                    "condition_id": "C3",
                    "name": "retired",
                    "attribute": "age",
                    "operator": "greater_than",
                    "value": "65",
                    "status": "inactive",
                },
            ],
        )
        _insert(
            original,
            "rules",
            [
                _rule(
                    1,
                    "R1",
                    1,
                    attribute="age",
                    condition="greater_than",
                    constant="18",
                    rule_point=10,
                ),
                _rule(
                    1,
                    "R2",
                    2,
                    attribute="income",
                    condition="greater_than_or_equal",
                    constant="50000",
                    rule_point=20,
                    weight=1.5,
                ),
                _rule(
                    1,
                    "R3",
                    3,
                    attribute="country",
                    condition="in",
                    constant='["US", "CA"]',
                    rule_point=5,
                    weight=2.0,
                    tags=["geo"],
                    metadata={"source": "policy 7"},
                ),
                # Not read by the original's loader (status): imported, and left out here too.
                _rule(
                    1,
                    "R4",
                    4,
                    attribute="age",
                    condition="less_than",
                    constant="5",
                    status="inactive",
                ),
                # Structured rules, every shape _structured_rule_dict_for_engine reads.
                _rule(
                    2,
                    "F1",
                    1,
                    rule_point=30,
                    metadata={"rule_engine": {"type": "simple", "conditions": {"item": "C1"}}},
                ),
                _rule(
                    2,
                    "F2",
                    2,
                    rule_point=40,
                    metadata={
                        "rule_engine": {
                            "type": "Complex",
                            "conditions": {
                                "mode": "OR",
                                "items": [
                                    "C1",
                                    "C2",
                                    {
                                        "attribute": "score",
                                        "equation": "less_than",
                                        "constant": 300,
                                    },
                                    "UNKNOWN",
                                ],
                            },
                        }
                    },
                ),
                _rule(2, "F3", 3, rule_point=5, metadata={"condition_ids": {"condition_id": "C2"}}),
                _rule(
                    2,
                    "F4",
                    4,
                    rule_point=5,
                    action_result="N",
                    metadata={"conditions": {"mode": "inclusive", "items": ["C1", "C2"]}},
                ),
                _rule(
                    3,
                    "S1",
                    1,
                    attribute="score",
                    condition="greater_than_or_equal",
                    constant="700",
                    rule_point=100,
                ),
                _rule(
                    4, "L1", 1, attribute="flag", condition="equal", constant="true", rule_point=1
                ),
                _rule(5, "O1", 1, attribute="x", condition="equal", constant="1"),
                _rule(6, "B1", 1, attribute="x", condition="equal", constant="1"),
            ],
        )
        patterns = [
            (1, key, recommendation, None) for key, recommendation in CREDIT_PATTERNS.items()
        ]
        patterns += [
            (2, "YYYN", "block", "everything matched"),
            (2, "----", "allow", None),
            (3, "Y", "prime", None),
            (4, "Y", "legacy yes", None),
        ]
        _insert(
            original,
            "patterns",
            [
                {
                    "ruleset_id": ruleset_id,
                    "pattern_key": key,
                    "action_recommendation": recommendation,
                    "description": description,
                }
                for ruleset_id, key, recommendation, description in patterns
            ],
        )
        block = original.execute("SELECT id FROM patterns WHERE pattern_key = 'YYYN'").fetchone()
        _insert(
            original,
            "actions",
            [
                {
                    "action_id": "A-block",
                    "name": "block card",
                    "description": "Block the card",
                    "action_type": "webhook",
                    "configuration": {"url": "https://example.test/block"},
                    "status": "active",
                    "pattern_id": block[0],
                },
                {
                    "action_id": "A-notify",
                    "name": "notify",
                    "action_type": "email",
                    "configuration": {"to": "risk@example.test"},
                    "status": "active",
                },
            ],
        )
        _insert(
            original,
            "attributes",
            [
                {"attribute_id": "age", "name": "Age", "data_type": "number", "status": "active"},
                {
                    "attribute_id": "income",
                    "name": "income",
                    "description": "yearly, in USD",
                    "data_type": "integer",
                    "status": "active",
                },
                {
                    "attribute_id": "country",
                    "name": "Country",
                    "data_type": "string",
                    "status": "active",
                },
                {"attribute_id": "tags", "name": "Tags", "data_type": "array", "status": "active"},
                {
                    "attribute_id": "profile",
                    "name": "Profile",
                    "data_type": "object",
                    "status": "active",
                },
                {
                    "attribute_id": "legacy",
                    "name": "Legacy",
                    "data_type": "string",
                    "status": "inactive",
                },
            ],
        )
    return original_url


def logs_insert(url: str, count: int, *, first_id: int = 1) -> None:
    """`count` execution logs as the original writes them: credit's answers to INPUTS, some
    of other rulesets and of none, non-UUID execution ids, consumers, correlation ids."""
    variants = []
    for index, data in enumerate(INPUTS):
        answer = credit_answer(data)
        output = {**answer, "rule_evaluations": []}
        if index == 0:
            output["correlation_id"] = "corr-0"
        variants.append((index, json.dumps(data), json.dumps(output), answer))
    with psycopg.connect(url) as original:
        original.execute(
            "CREATE TEMP TABLE variants (k int, input json, output json, points float, "
            "pattern text)"
        )
        with original.cursor().copy("COPY variants FROM STDIN") as copy:
            for index, data, output, answer in variants:
                copy.write_row(
                    (index, data, output, answer["total_points"], answer["pattern_result"])
                )
        original.execute(
            """
            INSERT INTO execution_logs (id, execution_id, input_data, output_data, ruleset_id,
                total_points, pattern_result, execution_time_ms, success, error_message,
                "timestamp", consumer_id)
            SELECT i,
                CASE WHEN mod(i, 10) = 0 THEN 'exec-' || i ELSE md5(i::text)::uuid::text END,
                v.input, v.output,
                CASE WHEN mod(i, 50) = 0 THEN NULL WHEN mod(i, 50) = 1 THEN 3 ELSE 1 END,
                v.points, v.pattern, 0.5 + mod(i, 7) / 10.0, mod(i, 97) <> 0,
                CASE WHEN mod(i, 97) = 0 THEN 'boom' END,
                timestamp '2026-01-01' + i * interval '1 second',
                CASE WHEN mod(i, 3) = 0 THEN 'consumer-' || (mod(i, 5)) END
            FROM generate_series(%s::int, %s::int) AS i
            JOIN variants v ON v.k = mod(i, %s::int)
            """,
            [first_id, first_id + count - 1, len(INPUTS)],
        )
        original.execute(
            "SELECT setval('execution_logs_id_seq', (SELECT max(id) FROM execution_logs))"
        )


def run(url: str, *arguments: str) -> str:
    """The command's report; ruleset 6 (version 'v1') is always refused, so it exits with an
    error naming one row."""
    out = StringIO()
    with pytest.raises(CommandError, match="^1 row could not be imported"):
        call_command("import_original_database", url, *arguments, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_import_creates_tenants_rulesets_catalogs_and_attributes(original_rules):
    logs_insert(original_rules, 400)
    run(original_rules)
    assert set(Tenant.objects.values_list("slug", flat=True)) >= {"acme", "beta-corp", "default"}
    assert Tenant.objects.get(slug="beta-corp").name == "Beta Corp"
    statuses = {
        (r.tenant.slug, r.name, r.version): (r.status, r.is_default, r.semantics)
        for r in Ruleset.objects.select_related("tenant")
    }
    original = RulesetSemantics.ORIGINAL
    assert statuses == {
        ("acme", "credit", "1.0"): (RulesetStatus.ACTIVE, True, original),
        ("acme", "fraud", "2.1"): (RulesetStatus.DRAFT, False, original),
        ("beta-corp", "scoring", "1.0"): (RulesetStatus.INACTIVE, True, original),
        ("default", "legacy", "0.9"): (RulesetStatus.DEPRECATED, False, original),
        ("beta-corp", "old", "1.0"): (RulesetStatus.ARCHIVED, False, original),
    }
    credit = Ruleset.objects.get(name="credit")
    assert credit.description == "credit rules"
    assert credit.tags == ["finance"]
    assert credit.metadata["owner"] == "risk"
    assert credit.metadata["original"] == {"ruleset_id": 1, "tenant_id": "acme"}
    r3 = Rule.objects.get(ruleset=credit, rule_id="R3")
    assert (r3.attribute, r3.operator, r3.constant) == ("country", "in", '["US", "CA"]')
    assert (r3.rule_point, r3.weight, r3.priority, r3.action_result) == (5, 2.0, 3, "Y")
    assert (r3.rule_name, r3.message, r3.status) == ("rule R3", "message of R3", "active")
    assert r3.tags == ["geo"] and r3.metadata == {"source": "policy 7"}
    assert Rule.objects.get(ruleset=credit, rule_id="R4").status == "inactive"
    fraud = Ruleset.objects.get(name="fraud")
    modes = {
        rule.rule_id: (
            rule.condition_mode,
            [link.condition.condition_id for link in rule.condition_links.order_by("position")],
        )
        for rule in Rule.objects.filter(ruleset=fraud)
    }
    assert modes == {
        "F1": ("all", ["C1"]),
        # The unknown id is skipped as the original does; the inline object is a new entry.
        "F2": ("any", ["C1", "C2", "F2.3"]),
        "F3": ("all", ["C2"]),
        "F4": ("all", ["C1", "C2"]),
    }
    acme = Tenant.objects.get(slug="acme")
    c1 = Condition.objects.get(tenant=acme, condition_id="C1")
    assert (c1.name, c1.description, c1.attribute, c1.operator, c1.value, c1.tags) == (
        "big amount",
        "more than 1000",
        "amount",
        "greater_than",
        "1000",
        ["fraud"],
    )
    assert Condition.objects.get(tenant=acme, condition_id="C3").status == "inactive"
    block = Pattern.objects.get(ruleset=fraud, pattern_key="YYYN")
    assert (block.action_recommendation, block.description) == ("block", "everything matched")
    assert block.action.action_id == "A-block"
    assert block.action.configuration == {"url": "https://example.test/block"}
    # The action of no pattern is in every tenant's catalog; a pattern's only in its tenant's.
    assert set(
        Action.objects.filter(action_id="A-notify").values_list("tenant__slug", flat=True)
    ) == {"acme", "beta-corp", "default"}
    assert list(
        Action.objects.filter(action_id="A-block").values_list("tenant__slug", flat=True)
    ) == ["acme"]
    attributes = {
        a.name: (a.data_type, a.description) for a in Attribute.objects.filter(tenant=acme)
    }
    assert attributes == {
        "age": ("number", "Age"),
        "income": ("integer", "yearly, in USD"),
        "country": ("string", "Country"),
        "tags": ("list", "Tags"),
    }
    assert not Ruleset.objects.filter(name="bad").exists()
    assert not Rule.objects.filter(rule_id="B1").exists()
    assert ExecutionLog.objects.count() == 400


def test_logs_are_imported_field_by_field(original_rules):
    logs_insert(original_rules, 100)
    report = original_database_import(original_rules, default_tenant="default")
    assert report.logs.read == report.logs.created == 100
    credit = Ruleset.objects.get(name="credit")
    with psycopg.connect(original_rules) as original:
        rows = original.execute(
            "SELECT id, execution_id, input_data, output_data, ruleset_id, total_points, "
            'pattern_result, execution_time_ms, success, error_message, "timestamp", '
            "consumer_id FROM execution_logs WHERE id IN (1, 3, 10, 50, 51, 97) ORDER BY id"
        ).fetchall()
    tenants = {t.slug: t.pk for t in Tenant.objects.all()}
    for row in rows:
        (
            row_id,
            execution_id,
            data,
            output,
            ruleset_id,
            points,
            pattern,
            elapsed,
            success,
            error,
            moment,
            consumer,
        ) = row
        log = ExecutionLog.objects.get(execution_id=execution_id_for(row_id, execution_id))
        if row_id % 10:
            assert str(log.execution_id) == execution_id  # the original's own UUID
        assert log.timestamp.replace(tzinfo=None) == moment
        assert log.input_data == data and log.output_data == output
        assert (log.total_points, log.pattern_result) == (points, pattern)
        assert log.action_recommendation == output["action_recommendation"]
        assert (log.execution_time_ms, log.success, log.error_message) == (
            elapsed,
            success,
            error or "",
        )
        assert log.caller == (consumer or "")
        assert log.correlation_id == output.get("correlation_id", "")
        assert log.source == "api"
        if ruleset_id == 1:
            assert (log.tenant_id, log.ruleset_id) == (tenants["acme"], credit.pk)
            assert (log.ruleset_name, log.ruleset_version) == ("credit", "1.0")
        elif ruleset_id == 3:
            assert log.tenant_id == tenants["beta-corp"]
            assert log.ruleset_name == "scoring"
        else:
            assert (log.tenant_id, log.ruleset_id, log.ruleset_name) == (
                tenants["default"],
                None,
                "",
            )


def test_imported_ruleset_answers_as_the_original_logged(original_rules):
    logs_insert(original_rules, len(INPUTS) * 2)
    original_database_import(original_rules, default_tenant="default")
    compiled = ruleset_compile(Ruleset.objects.get(name="credit"))
    credit_logs = ExecutionLog.objects.filter(ruleset_name="credit")
    assert credit_logs.count() >= len(INPUTS)
    for log in credit_logs:
        evaluation = compiled.evaluate(log.input_data)
        assert (evaluation.total_points, evaluation.pattern_result) == (
            log.total_points,
            log.pattern_result,
        ), log.input_data
        assert evaluation.action_recommendation == log.action_recommendation, log.input_data


def test_second_run_imports_nothing_new(original_rules):
    logs_insert(original_rules, 300)
    first = original_database_import(original_rules, default_tenant="default")
    counts = (
        Ruleset.objects.count(),
        Rule.objects.count(),
        Condition.objects.count(),
        Action.objects.count(),
        Pattern.objects.count(),
        Attribute.objects.count(),
        ExecutionLog.objects.count(),
    )
    second = original_database_import(original_rules, default_tenant="default")
    assert counts == (
        Ruleset.objects.count(),
        Rule.objects.count(),
        Condition.objects.count(),
        Action.objects.count(),
        Pattern.objects.count(),
        Attribute.objects.count(),
        ExecutionLog.objects.count(),
    )
    assert first.logs.created == 300
    assert (second.logs.created, second.logs.present) == (0, 300)
    for name, table in second.tables.items():
        assert table.created == 0, name
    assert second.tables["rulesets"].present == 5
    assert second.rules.rulesets[1].ruleset_id == first.rules.rulesets[1].ruleset_id


def test_interrupted_run_resumes_where_it_stopped(original_rules):
    logs_insert(original_rules, 250)
    output = run(original_rules, "--limit", "100", "--batch-size", "30", "--no-logs")
    assert ExecutionLog.objects.count() == 0
    output = run(original_rules, "--limit", "100", "--batch-size", "30")
    assert ExecutionLog.objects.count() == 100
    assert "Stopped at --limit; run again to continue (or --logs-after-id 100)" in output
    # An interruption after 100 rows: the batches before it are committed; a plain re-run
    # skips them and continues.
    report = original_database_import(
        original_rules, default_tenant="default", options=LogImportOptions(batch_size=40)
    )
    assert (report.logs.present, report.logs.created) == (100, 150)
    assert ExecutionLog.objects.count() == 250
    # Or continue after the last id the stopped run reported, without reading those rows again.
    logs_insert(original_rules, 20, first_id=251)
    report = original_database_import(
        original_rules, default_tenant="default", options=LogImportOptions(after_id=250)
    )
    assert (report.logs.read, report.logs.created) == (20, 20)


def test_import_killed_midway_keeps_its_committed_batches_and_resumes(original_rules, monkeypatch):
    logs_insert(original_rules, 200)
    write = original_database._LogBatchWriter.write
    calls = []

    def interrupted(self, rows, counts):
        calls.append(len(rows))
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C while the third batch is on its way
        return write(self, rows, counts)

    monkeypatch.setattr(original_database._LogBatchWriter, "write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        original_database_import(
            original_rules, default_tenant="default", options=LogImportOptions(batch_size=50)
        )
    assert ExecutionLog.objects.count() == 100
    monkeypatch.setattr(original_database._LogBatchWriter, "write", write)
    report = original_database_import(original_rules, default_tenant="default")
    assert (report.logs.present, report.logs.created) == (100, 100)
    assert ExecutionLog.objects.count() == 200


def test_dry_run_writes_nothing(original_rules):
    logs_insert(original_rules, 120)
    output = run(original_rules, "--dry-run")
    assert "Dry run: nothing was written." in output
    assert "would be created" in output
    assert not Ruleset.objects.exists()
    assert not Tenant.objects.filter(slug__in=["acme", "beta-corp", "default"]).exists()
    assert not ExecutionLog.objects.exists()
    assert not Condition.objects.exists() and not Attribute.objects.exists()
    data = json.loads(run(original_rules, "--dry-run", "--json"))
    assert data["tables"]["execution_logs"]["created"] == 120
    assert data["tables"]["rulesets"]["created"] == 5
    assert data["tables"]["rulesets"]["skipped"][0]["id"] == "6"
    assert not ExecutionLog.objects.exists()


def test_ruleset_that_cannot_be_imported_is_left_out_whole_and_named(original_rules):
    data = json.loads(run(original_rules, "--no-logs", "--json"))
    (skipped,) = data["tables"]["rulesets"]["skipped"]
    assert skipped["id"] == "6" and skipped["refused"]
    assert "bad v1" in skipped["reason"] and "version" in skipped["reason"]
    assert not Ruleset.objects.filter(name="bad").exists()


def test_rows_that_cannot_be_imported_are_reported_by_id_and_the_rest_go_in(original_rules):
    logs_insert(original_rules, 10)
    with psycopg.connect(original_rules) as original:
        original.execute(
            "INSERT INTO execution_logs (id, execution_id, input_data, output_data, "
            'execution_time_ms, success, "timestamp") VALUES '
            "(11, 'nul', '{\"a\": \"\\u0000\"}', '{}', 1, true, '2026-02-01'), "
            "(12, 'no-time', '{}', '{}', 1, true, NULL), "
            # Valid json, refused by jsonb only when the database writes it: the batch is
            # written again row by row.
            "(13, 'surrogate', '{\"a\": \"\\ud800\"}', '{}', 1, true, '2026-02-01')"
        )
    out = StringIO()
    # Ruleset 6 and the three rows.
    with pytest.raises(CommandError, match="4 rows could not be imported"):
        call_command("import_original_database", original_rules, stdout=out)
    output = out.getvalue()
    assert "skipped execution_logs 11: input_data holds a NUL character" in output
    assert "skipped execution_logs 12: no timestamp" in output
    assert "skipped execution_logs 13: the database refused it: " in output
    assert "surrogate" in output
    assert ExecutionLog.objects.count() == 10


def test_tenant_option_imports_only_that_tenant(original_rules):
    logs_insert(original_rules, 100)
    report = original_database_import(
        original_rules, default_tenant="default", tenant_ids=["Beta Corp"]
    )
    assert set(Ruleset.objects.values_list("name", flat=True)) == {"scoring", "old"}
    assert set(ExecutionLog.objects.values_list("ruleset_name", flat=True)) == {"scoring"}
    assert report.logs.created == 2  # ids 1 and 51: ruleset 3
    assert report.logs.refused_count == 0


def test_unreachable_database_and_database_without_the_tables_fail_clearly(original_url):
    with pytest.raises(CommandError, match=r"cannot connect to the original database .*:\*\*\*@"):
        call_command("import_original_database", "postgres://u:secret@127.0.0.1:1/x")
    with pytest.raises(CommandError, match="not a PostgreSQL URL"):
        call_command("import_original_database", "mysql://u@host/db")
    with pytest.raises(CommandError, match="'no slug' is not a tenant slug"):
        call_command("import_original_database", original_url, "--default-tenant", "no slug")
    with psycopg.connect(original_url) as original:
        original.execute("DROP TABLE execution_logs")
    with pytest.raises(CommandError, match="no table execution_logs"):
        call_command("import_original_database", original_url)


@pytest.mark.slow
def test_hundred_thousand_logs_stream_in_and_a_second_run_adds_none(original_rules, capsys):
    logs_insert(original_rules, 100_000)
    started = time.monotonic()
    report = original_database_import(original_rules, default_tenant="default")
    elapsed = time.monotonic() - started
    assert (report.logs.read, report.logs.created, report.logs.skipped_count) == (
        100_000,
        100_000,
        0,
    )
    assert ExecutionLog.objects.count() == 100_000
    again = original_database_import(original_rules, default_tenant="default")
    assert (again.logs.created, again.logs.present) == (0, 100_000)
    with capsys.disabled():
        print(
            f"\nimport_original_database: 100,000 logs in {report.logs_seconds:.1f} s "
            f"({report.logs_per_second:,.0f} rows/s; whole import {elapsed:.1f} s); "
            f"second run {again.logs_seconds:.1f} s ({again.logs_per_second:,.0f} rows/s)"
        )
