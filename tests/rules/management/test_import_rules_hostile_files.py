"""Every hostile file gets a report naming its problem, never a traceback, from import_rules and
from the import API alike (issue 19, point 6)."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from rules.choices import Role
from rules.services.api_clients import api_client_create
from tests.factories import authoring_counts
from tests.support import TEST_DATA

pytestmark = pytest.mark.postgres


def flat_rule(constant: bytes) -> bytes:
    """A flat rules file whose one rule has `constant` as written (raw JSON text)."""
    return (
        b'{"rules_set": [{"id": "R1", "attribute": "age", "condition": "equal", "constant": '
        + constant
        + b'}], "patterns": {"Y": "APPROVE", "-": "DECLINE"}}'
    )


# name: (file content, text the report must contain)
HOSTILE_FILES = {
    "binary": (bytes(range(256)) * 8, "the rules document is not UTF-8 text: invalid start byte"),
    "invalid_utf8": (
        b'{"rules_set": [{"id": "R1", "rule_name": "caf\xe9"}]}',
        "the rules document is not UTF-8 text: invalid continuation byte at byte 45",
    ),
    "nested_5000_deep": (
        b'{"rules_set": [' + b"[" * 5000 + b"]" * 5000 + b"]}",
        "the rules document is nested deeper than 1,000 levels; the limit is 64",
    ),
    "nested_100_deep_metadata": (
        b'{"rules_set": [{"id": "R1", "metadata": ' + b'{"a": ' * 100 + b"1" + b"}" * 100 + b"}]}",
        "nested deeper than 64 levels [rules_set[0].metadata.a.a.a",
    ),
    "constant_1e400": (
        flat_rule(b"1e400"),
        "1e400 is not a number JSON can hold (NaN and Infinity are not) [rules_set[0].constant]",
    ),
    "constant_nan": (flat_rule(b"NaN"), "NaN is not a number JSON can hold"),
    "constant_minus_infinity": (flat_rule(b"-Infinity"), "-Infinity is not a number JSON can"),
    "constant_of_5000_digits": (
        flat_rule(b"9" * 5000),
        "the integer of 5,000 digits is beyond ±9,007,199,254,740,991 (2^53 − 1), the largest "
        "that every JSON reader keeps exact; send it as a string [rules_set[0].constant]",
    ),
    "constant_beyond_2_53": (
        flat_rule(b"9007199254740993"),
        "the integer 9007199254740993 is beyond ±9,007,199,254,740,991",
    ),
    "weight_of_400_digits": (
        b'{"rules_set": [{"id": "R1", "attribute": "a", "condition": "equal", "constant": 1, '
        b'"weight": ' + b"1" * 400 + b'}], "patterns": {"Y": "OK"}}',
        "the integer of 400 digits is beyond ±9,007,199,254,740,991 (2^53 − 1), the largest "
        "that every JSON reader keeps exact; send it as a string [rules_set[0].weight]",
    ),
    "lone_surrogate": (
        flat_rule(b'"\\ud800"'),
        "a string contains a lone surrogate (\\ud800–\\udfff), which is not Unicode text "
        "[rules_set[0].constant]",
    ),
    "lone_surrogate_in_a_key": (
        b'{"rules_set": [{"id": "R1", "metadata": {"\\udfff": 1}}]}',
        "a key contains a lone surrogate (\\ud800–\\udfff), which is not Unicode text "
        "[rules_set[0].metadata]",
    ),
    "nul_character": (flat_rule(b'"a\\u0000b"'), "strings may not contain NUL characters"),
    "json_array": (
        b'[{"id": "R1", "attribute": "age", "condition": "equal", "constant": 1}]',
        "not a ruleset: expected a spec ('format', 'ruleset', 'rules') or a 'rules_set' list",
    ),
    "json_string": (b'"rules"', "not a ruleset"),
    "empty_file": (b"", "the rules document is empty"),
    "whitespace_only": (b" \n\t\n", "the rules document is empty"),
    "yaml": (
        b"rules_set:\n  - id: R1\n    attribute: age\n    condition: equal\n    constant: 1\n",
        "malformed JSON in the rules document: Expecting value (line 1, column 1); imports read "
        "JSON documents (docs/format.md), not YAML or other formats",
    ),
    "truncated": (
        flat_rule(b"1")[:40],
        "malformed JSON in the rules document: Expecting value (line 1, column 41)",
    ),
}


# DRF hands an empty body to the view as an empty object, not as empty text.
API_REPORTS = {"empty_file": "not a ruleset: expected a spec"}


@pytest.fixture
def existing(tenant):
    """A ruleset imported before, which a refused import must leave exactly as it was."""
    call_command(
        "import_rules",
        str(TEST_DATA / "flat_small.json"),
        "--tenant",
        "acme",
        "--name",
        "existing",
        stdout=StringIO(),
    )
    return authoring_counts()


@pytest.mark.parametrize("case", list(HOSTILE_FILES), ids=list(HOSTILE_FILES))
def test_import_rules_reports_a_hostile_file_and_writes_nothing(case, existing, tmp_path):
    content, expected = HOSTILE_FILES[case]
    source = tmp_path / "hostile.json"
    source.write_bytes(content)
    out = StringIO()
    # A CommandError is the report: manage.py prints its message and exits with status 1.
    # Any other exception would be a traceback.
    with pytest.raises(CommandError) as raised:
        call_command(
            "import_rules", str(source), "--tenant", "acme", "--name", "hostile", stdout=out
        )
    report = str(raised.value)
    assert report.startswith("The import has problems"), report
    assert expected in report
    assert out.getvalue() == ""
    assert authoring_counts() == existing


@pytest.mark.parametrize("case", list(HOSTILE_FILES), ids=list(HOSTILE_FILES))
def test_the_import_api_answers_400_with_the_problem(case, existing, tenant):
    content, expected = HOSTILE_FILES[case]
    expected = API_REPORTS.get(case, expected)
    _, token = api_client_create(tenant=tenant, name="importer", role=Role.AUTHOR)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.post(
        "/api/v1/rulesets/import?name=hostile", content, content_type="application/json"
    )
    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == "invalid_ruleset"
    assert any(expected in problem["text"] for problem in error["details"]["problems"]), error
    assert authoring_counts() == existing


def test_a_hostile_document_lists_its_first_hundred_problems(tenant, tmp_path):
    rules = [
        {"id": f"R{n}", "attribute": "a", "condition": "equal", "constant": "NaN"}
        for n in range(150)
    ]
    source = tmp_path / "many.json"
    source.write_text(json.dumps({"rules_set": rules}).replace('"NaN"', "NaN"))
    with pytest.raises(CommandError) as raised:
        call_command("import_rules", str(source), "--tenant", "acme", "--name", "many")
    assert str(raised.value).startswith("The import has problems (100):")
    assert "[rules_set[99].constant]" in str(raised.value)
