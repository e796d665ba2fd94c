"""The one evaluation step (executions.services.evaluation) and its input check."""

import json

import orjson
import pytest
from rest_framework.exceptions import ParseError

from executions.models import ExecutionLog
from executions.services.evaluation import evaluation_run, evaluations_stream
from executions.services.input_check import (
    MAX_INPUT_DEPTH,
    MAX_INPUT_STRING_LENGTH,
    InputRefused,
    evaluation_input_check,
)
from ruleengine.api.rendering import json_document_check
from rules.services.compilation import ruleset_compile
from tests.factories import TenantFactory, ruleset_with_rules


def nested(depth: int) -> dict:
    """An object `depth` levels deep, the input itself being the first."""
    value = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([1, 2], "data: must be a JSON object"),
        ({"x": float("nan")}, "data.x: nan is not a number JSON can hold"),
        ({"x": [1, float("-inf")]}, "data.x[1]: -inf is not a number JSON can hold"),
        ({"x": "y" * (MAX_INPUT_STRING_LENGTH + 1)}, "data.x: string of 10001 characters"),
        ({"x": {"y": "a\x00b"}}, "data.x.y: strings may not contain NUL characters"),
        ({"x": {"a\x00": 1}}, "data.x: a key is too long or contains NUL characters"),
        (nested(MAX_INPUT_DEPTH + 1), f"nested deeper than {MAX_INPUT_DEPTH} levels"),
    ],
)
def test_input_check_refuses_and_names_where(data, problem):
    with pytest.raises(InputRefused) as refused:
        evaluation_input_check(data)
    assert problem in str(refused.value)


def test_input_check_refuses_an_input_larger_than_the_api_body_limit(settings):
    settings.API_MAX_BODY_BYTES = 1000
    with pytest.raises(
        InputRefused, match="data: at least 1,010 bytes as JSON; the limit is 1,000"
    ):
        evaluation_input_check({"x": "y" * 1000, "z": [0, 0]})


@pytest.mark.parametrize(
    "data",
    [
        {"x": "y" * 970},
        {"x": [0] * 480},
        {"x": [{"k": True}] * 80},
        {"é" * 200: "ü" * 200},
    ],
)
def test_input_check_accepts_every_input_the_api_parser_accepts(settings, data):
    # The size counted is a lower bound of the JSON's length: whatever fits in the body passes.
    settings.API_MAX_BODY_BYTES = 1000
    body = orjson.dumps({"data": data})
    assert len(body) <= 1000
    evaluation_input_check(orjson.loads(body)["data"])


def test_input_check_accepts_the_deepest_input_the_api_parser_accepts():
    deepest = nested(MAX_INPUT_DEPTH - 1)  # one level less: the body holds it
    json_document_check({"data": deepest})
    with pytest.raises(ParseError):
        json_document_check({"data": {"a": deepest}})
    evaluation_input_check(deepest)
    evaluation_input_check({"a": deepest})


@pytest.fixture
def compiled_ruleset(db):
    ruleset = ruleset_with_rules(tenant=TenantFactory(slug="acme"), rules=1)
    identity = {"ruleset_id": ruleset.pk, "name": ruleset.name, "version": ruleset.version}
    return ruleset, ruleset_compile(ruleset), identity


def test_evaluation_run_builds_a_row_only_with_a_source(compiled_ruleset):
    ruleset, compiled, identity = compiled_ruleset
    common = dict(compiled=compiled, identity=identity, tenant_id=ruleset.tenant_id)
    logged = evaluation_run(**common, data={"credit_score": 720}, source="api", caller="c")
    assert logged.problem is None and logged.evaluation.pattern_result == "Y"
    assert (logged.row.success, logged.row.source, logged.row.caller) == (True, "api", "c")
    assert logged.row.input_data == {"credit_score": 720}
    assert evaluation_run(**common, data={"credit_score": 720}, source=None).row is None
    refused = evaluation_run(**common, data={"x": "\x00"}, source="api", where="items[3]")
    assert refused.evaluation is None and refused.problem.startswith("items[3].x:")
    assert (refused.row.success, refused.row.input_data) == (False, {})
    assert refused.row.error_message == refused.problem


def test_the_command_line_stream_refuses_with_the_same_check_and_logs_the_failure(
    compiled_ruleset,
):
    ruleset, compiled, identity = compiled_ruleset
    lines = [
        json.dumps({"credit_score": 720}).encode(),
        json.dumps({"credit_score": 720, "note": "x" * (MAX_INPUT_STRING_LENGTH + 1)}).encode(),
    ]
    written = []
    report = evaluations_stream(
        compiled=compiled,
        ruleset=identity,
        tenant_id=ruleset.tenant_id,
        lines=lines,
        write=written.append,
        log_source="cli",
    )
    good, refused = (json.loads(line) for line in "".join(written).splitlines())
    assert good["pattern_result"] == "Y"
    assert refused["line"] == 2 and refused["error"].startswith("data.note: string of")
    assert (report.evaluated, report.errors, report.logged) == (1, 1, 2)
    assert sorted(ExecutionLog.objects.values_list("success", flat=True)) == [False, True]
