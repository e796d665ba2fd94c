"""Every bad input names its problem and location, and writes nothing."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.factories import authoring_counts
from tests.support import TEST_DATA

FLAT = json.loads((TEST_DATA / "flat_small.json").read_text())
CONDITIONS = (TEST_DATA / "structured_conditions.json").read_text()


def flat_with(change) -> str:
    document = json.loads(json.dumps(FLAT))
    change(document)
    return json.dumps(document)


def structured_with(change) -> str:
    document = json.loads((TEST_DATA / "structured_rules.json").read_text())
    change(document)
    return json.dumps(document)


BAD_INPUTS = {
    "malformed_json": (
        '{"rules_set": [{"id": "R1",}]}',
        None,
        [
            "malformed JSON in the rules document: Expecting property name enclosed in double "
            "quotes (line 1, column 28)"
        ],
    ),
    "unknown_operator": (
        flat_with(lambda d: d["rules_set"][1].update(condition="greather_than")),
        None,
        ["rule R2: unknown operator 'greather_than'", "[rules_set[1].condition]"],
    ),
    "unknown_condition_reference": (
        structured_with(lambda d: d["rules_set"][1]["conditions"]["items"].append("C0099")),
        CONDITIONS,
        [
            "rule S2: unknown condition 'C0099': skipped, as the original does (an error with "
            "--strict) [rules_set[1].conditions.items[2]]"
        ],
        ["--strict"],
    ),
    "duplicate_rule_ids": (
        flat_with(lambda d: d["rules_set"][2].update(id="R1")),
        None,
        [
            "rule R0003: rule id 'R1' is used by an earlier rule; this one is imported as R0003 "
            "(an error with --strict) [rules_set[2].id]"
        ],
        ["--strict"],
    ),
    "pattern_key_of_the_wrong_length": (
        flat_with(lambda d: d["patterns"].update({"YY": "SHORT"})),
        None,
        [
            "pattern key 'YY' has length 2 but the ruleset produces patterns of length 3",
            "[patterns.YY]",
        ],
        # In `original` semantics, the default for these files, keys of any length are meant.
        ["--semantics", "strict"],
    ),
    "wrong_types": (
        flat_with(
            lambda d: (
                d["rules_set"][0].update(weight="heavy"),
                d["rules_set"][2].update(priority="high"),
                d.update(patterns={"NYY": 1}),
            )
        ),
        None,
        [
            "rule R1: 'weight' must be a number, not 'heavy' [rules_set[0].weight]",
            "rule R3: 'priority' must be an integer, not 'high' [rules_set[2].priority]",
            "a recommendation must be a string, not int [patterns.NYY]",
        ],
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS), ids=list(BAD_INPUTS))
def test_bad_input_is_reported_with_its_location_and_nothing_is_written(case, tenant, tmp_path):
    rules_text, conditions_text, messages, *extra = BAD_INPUTS[case]
    # Existing data must stay exactly as it was, not only "no new rows".
    call_command(
        "import_rules",
        str(TEST_DATA / "flat_small.json"),
        "--tenant",
        "acme",
        "--name",
        "existing",
        stdout=StringIO(),
    )
    before = authoring_counts()
    source = tmp_path / "rules.json"
    source.write_text(rules_text)
    args = ["import_rules", str(source), "--tenant", "acme", "--name", "broken"]
    if conditions_text is not None:
        conditions = tmp_path / "conditions.json"
        conditions.write_text(conditions_text)
        args += ["--conditions", str(conditions)]
    with pytest.raises(CommandError) as raised:
        call_command(*args, *(extra[0] if extra else ()))
    report = str(raised.value)
    assert report.startswith("The import has problems")
    for message in messages:
        assert message in report
    assert authoring_counts() == before


def test_every_problem_is_reported_at_once(tenant, tmp_path):
    source = tmp_path / "rules.json"
    source.write_text(
        flat_with(
            lambda d: (
                d["rules_set"][1].update(condition="nope"),
                d["rules_set"][2].update(id="R1"),
                d["patterns"].update({"Y": "SHORT"}),
            )
        )
    )
    with pytest.raises(CommandError) as raised:
        call_command(
            "import_rules",
            str(source),
            "--tenant",
            "acme",
            "--name",
            "broken",
            "--strict",
            "--semantics",
            "strict",
        )
    assert "The import has problems (3):" in str(raised.value)
