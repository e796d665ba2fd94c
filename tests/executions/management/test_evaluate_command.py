"""manage.py evaluate: JSON lines in, JSON lines out, logs with source cli unless --no-log."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from executions.models import ExecutionLog
from rules.services import lifecycle
from rules.services.ruleset_import import ruleset_import
from tests.support import TEST_DATA

LINES = [
    json.dumps({"age": 30, "income": 60000, "country": "US"}),
    "{not json",
    json.dumps({"age": 10, "income": 60000, "country": "FR"}),
    "[1, 2]",
    "",
    json.dumps({"age": 10, "income": 100, "country": "FR"}),
]


@pytest.fixture
def active_flat(tenant):
    report = ruleset_import(
        tenant=tenant,
        actor=None,
        document=(TEST_DATA / "flat_small.json").read_bytes(),
        name="flat",
    )
    return lifecycle.ruleset_activate(ruleset_id=report.created.pk, actor=None)


@pytest.fixture
def input_file(tmp_path):
    path = tmp_path / "inputs.jsonl"
    path.write_text("\n".join(LINES) + "\n")
    return str(path)


def evaluate(*args) -> tuple[list[dict], str]:
    out, err = StringIO(), StringIO()
    call_command("evaluate", "flat", "--tenant", "acme", *args, stdout=out, stderr=err)
    return [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def test_each_line_gets_a_result_line_and_bad_lines_an_error_line(active_flat, input_file):
    results, report = evaluate("--input", input_file, "--no-log")
    assert results[0] == {
        # R2's flat `rulepoint` scores 0, as in the original (import writes rule_point 0).
        "total_points": 25.0,
        "pattern_result": "NYY",
        "action_recommendation": "APPROVE",
    }
    assert results[1]["line"] == 2 and "unexpected" in results[1]["error"].lower()
    assert results[2]["pattern_result"] == "--Y"
    assert results[3] == {"line": 4, "error": "expected a JSON object, not list"}
    assert results[4]["action_recommendation"] == "DECLINE"
    assert len(results) == 5
    assert "3 evaluated, 2 bad lines, 0 logged" in report


def test_no_log_writes_nothing_to_the_database(active_flat, input_file):
    with CaptureQueriesContext(connection) as queries:
        evaluate("--input", input_file, "--no-log")
    writes = [q["sql"] for q in queries if not q["sql"].lstrip().upper().startswith("SELECT")]
    assert writes == []
    assert ExecutionLog.objects.count() == 0


def test_logging_writes_one_row_per_good_line_with_source_cli(active_flat, input_file):
    evaluate("--input", input_file)
    logs = list(ExecutionLog.objects.order_by("total_points", "pattern_result"))
    assert [log.source for log in logs] == ["cli"] * 3
    assert [log.pattern_result for log in logs] == ["---", "--Y", "NYY"]
    assert {(log.ruleset_id, log.ruleset_name, log.ruleset_version) for log in logs} == {
        (active_flat.pk, "flat", "1.0")
    }
    assert logs[2].input_data == {"age": 30, "income": 60000, "country": "US"}


def test_trace_adds_each_rules_explanation(active_flat, input_file):
    results, _ = evaluate("--input", input_file, "--no-log", "--trace")
    assert "trace" in results[0] and results[0]["trace"]


def test_a_ruleset_without_an_active_version_is_a_clear_error(tenant, input_file):
    with pytest.raises(CommandError, match="tenant acme has no ruleset flat"):
        evaluate("--input", input_file)
