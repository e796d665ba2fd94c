"""import_rules / export_rules: both original formats, round trips through files and S3."""

import json
from pathlib import Path

import pytest
from django.core.management import call_command

from rules.choices import RulesetStatus
from rules.models import Condition, Rule, Ruleset
from rules.services.compilation import ruleset_compile
from rules.services.ruleset_export import ruleset_export
from rules.services.ruleset_import import ruleset_import
from tests.factories import TenantFactory, authoring_counts
from tests.support import BENCHMARK_RULESET, TEST_DATA

BENCH_INPUTS = [
    json.loads(line) for line in (TEST_DATA / "inputs_20.jsonl").read_text().splitlines()
]


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def answers(ruleset, inputs):
    compiled = ruleset_compile(ruleset)
    return [
        (e.total_points, e.pattern_result, e.action_recommendation)
        for e in (compiled.evaluate(data) for data in inputs)
    ]


@pytest.mark.smoke
def test_flat_file_imports_and_evaluates_as_the_original_system(tenant, data_path):
    output = run("import_rules", data_path("flat_small.json"), "--tenant", "acme", "--name", "flat")
    assert "Imported flat format as flat 1.0 (draft): 3 rules, 3 patterns" in output
    ruleset = Ruleset.objects.get(tenant=tenant, name="flat")
    rules = {r.rule_id: r for r in Rule.objects.filter(ruleset=ruleset).order_by("position")}
    assert "Semantics: original" in output
    assert ruleset.semantics == "original"
    # Aliases and the original's defaults written out: rulename, description -> message,
    # result; no weight is weight 0, and a flat rule's `rulepoint` scores 0 in the original.
    assert rules["R2"].rule_name == "Income" and rules["R2"].rule_point == 0
    assert rules["R2"].message == "income at least 50000" and rules["R2"].weight == 0
    assert "'rulepoint' scores 0" in output
    assert rules["R3"].priority == 0 and [r.position for r in rules.values()] == [0, 1, 2]
    # R3 (priority 0) runs first, then R1 (2 x 10 points), then R2.
    assert answers(
        ruleset,
        [
            {"age": 30, "income": 60000, "country": "US"},
            {"age": 10, "income": 60000, "country": "FR"},
            {"age": 10, "income": 100, "country": "FR"},
        ],
    ) == [(25.0, "NYY", "APPROVE"), (0.0, "--Y", "REVIEW"), (0.0, "---", "DECLINE")]


def test_structured_file_with_its_conditions_catalog_evaluates_as_the_original(tenant, data_path):
    output = run(
        "import_rules",
        data_path("structured_rules.json"),
        "--conditions",
        data_path("structured_conditions.json"),
        "--tenant",
        "acme",
        "--name",
        "structured",
    )
    assert "3 rules, 4 patterns, 4 new catalog conditions (0 reused)" in output
    ruleset = Ruleset.objects.get(tenant=tenant, name="structured")
    assert Condition.objects.for_tenant(tenant).count() == 4
    s3_rule = Rule.objects.get(ruleset=ruleset, rule_id="S3")
    assert s3_rule.condition_mode == "any"  # "exclusive" in the original meant OR
    assert answers(
        ruleset,
        [
            {"age": 30, "income": 40000, "country": "US", "employed": "no"},
            {"age": 30, "income": 10000, "country": "FR", "employed": "yes"},
            {"age": 30, "income": 40000, "country": "FR", "employed": "no"},
            {"age": 10, "income": 10000, "country": "FR", "employed": "no"},
        ],
    ) == [
        # 1.5 x 10; S2 and S3 have no weight, so they score 0 in the original.
        (15.0, "YYY", "APPROVE"),
        (15.0, "Y-Y", "REVIEW"),  # inclusive needs both; exclusive needs one
        (15.0, "Y--", "MANUAL"),
        (0.0, "---", "DECLINE"),
    ]


@pytest.mark.smoke
def test_export_import_export_through_a_file_gives_the_same_document(tenant, tmp_path):
    run("import_rules", str(BENCHMARK_RULESET), "--tenant", "acme", "--name", "bench")
    first = tmp_path / "bench.json"
    run("export_rules", "bench", "--tenant", "acme", str(first))
    other = TenantFactory(slug="globex")
    run("import_rules", str(first), "--tenant", "globex")
    second = tmp_path / "again.json"
    run("export_rules", "bench", "--tenant", "globex", str(second))
    assert json.loads(first.read_text()) == json.loads(second.read_text())
    original = Ruleset.objects.get(tenant=tenant, name="bench")
    imported = Ruleset.objects.get(tenant=other, name="bench")
    assert answers(imported, BENCH_INPUTS) == answers(original, BENCH_INPUTS)


def test_export_import_export_through_s3_gives_the_same_document(tenant, data_path, s3):
    run(
        "import_rules",
        data_path("structured_rules.json"),
        "--conditions",
        data_path("structured_conditions.json"),
        "--tenant",
        "acme",
        "--name",
        "structured",
    )
    location = f"s3://{s3.bucket}/exports/structured.json"
    run("export_rules", "structured", "--tenant", "acme", location)
    exported = json.loads(
        s3.get_object(Bucket=s3.bucket, Key="exports/structured.json")["Body"].read()
    )
    other = TenantFactory(slug="globex")
    run("import_rules", location, "--tenant", "globex")
    assert ruleset_export(ruleset=Ruleset.objects.get(tenant=other)) == exported
    inputs = [
        {"age": a, "income": i, "country": c, "employed": e}
        for a in (10, 30)
        for i in (100, 40000)
        for c in ("US", "FR")
        for e in ("yes", "no")
    ]
    assert answers(Ruleset.objects.get(tenant=other), inputs) == answers(
        Ruleset.objects.get(tenant=tenant), inputs
    )


def test_importing_the_same_file_twice_reports_unchanged_and_creates_nothing(tenant, data_path):
    run("import_rules", data_path("flat_small.json"), "--tenant", "acme", "--name", "flat")
    before = authoring_counts()
    output = run("import_rules", data_path("flat_small.json"), "--tenant", "acme", "--name", "flat")
    assert "Unchanged: flat 1.0 (draft) already has this content; nothing created." in output
    assert authoring_counts() == before


def test_changed_content_creates_the_next_draft_version(tenant, data_path, tmp_path):
    run("import_rules", data_path("flat_small.json"), "--tenant", "acme", "--name", "flat")
    document = json.loads(Path(data_path("flat_small.json")).read_text())
    document["rules_set"][0]["rule_point"] = 99
    changed = tmp_path / "flat.json"
    changed.write_text(json.dumps(document))
    output = run("import_rules", str(changed), "--tenant", "acme", "--name", "flat")
    assert "as flat 1.1 (draft)" in output
    versions = Ruleset.objects.filter(tenant=tenant, name="flat")
    assert sorted(versions.values_list("version", flat=True)) == ["1.0", "1.1"]
    assert Rule.objects.get(ruleset__version="1.1", rule_id="R1").rule_point == 99


def test_an_explicit_version_that_exists_with_other_content_is_refused(tenant, data_path):
    run("import_rules", data_path("flat_small.json"), "--tenant", "acme", "--name", "flat")
    with pytest.raises(Exception, match="flat 1.0 exists with different content"):
        ruleset_import(
            tenant=tenant,
            actor=None,
            document={"rules_set": [], "patterns": {}},
            name="flat",
            version="1.0",
        )


@pytest.mark.smoke
def test_dry_run_reports_what_it_would_create_and_writes_nothing(tenant, data_path):
    before = authoring_counts()
    output = run(
        "import_rules",
        data_path("flat_small.json"),
        "--tenant",
        "acme",
        "--name",
        "flat",
        "--dry-run",
        "--activate",
    )
    assert "would create draft flat 1.0 with 3 rules, 3 patterns" in output
    assert "and activate it. Nothing was written." in output
    assert authoring_counts() == before


def test_activate_activates_and_writes_the_snapshot_files(
    tenant, data_path, snapshot_root, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        output = run(
            "import_rules",
            data_path("flat_small.json"),
            "--tenant",
            "acme",
            "--name",
            "flat",
            "--activate",
        )
    assert "as flat 1.0 (active)" in output
    ruleset = Ruleset.objects.get(tenant=tenant, name="flat")
    assert ruleset.status == RulesetStatus.ACTIVE
    expected = ruleset_export(ruleset=ruleset)
    for name in ("1.0.json", "active.json"):
        assert json.loads((snapshot_root / "acme" / "flat" / name).read_text()) == expected
    assert ruleset.snapshot_publication.status == "published"


def test_a_catalog_condition_with_the_same_id_but_other_content_is_a_problem(
    tenant, data_path, tmp_path
):
    run(
        "import_rules",
        data_path("structured_rules.json"),
        "--conditions",
        data_path("structured_conditions.json"),
        "--tenant",
        "acme",
        "--name",
        "structured",
    )
    conditions = json.loads(Path(data_path("structured_conditions.json")).read_text())
    conditions["conditions_set"][1]["constant"] = "99999"
    changed = tmp_path / "conditions.json"
    changed.write_text(json.dumps(conditions))
    before = authoring_counts()
    with pytest.raises(Exception) as raised:
        run(
            "import_rules",
            data_path("structured_rules.json"),
            "--conditions",
            str(changed),
            "--tenant",
            "acme",
            "--name",
            "other",
        )
    assert "catalog condition C0002 exists in tenant acme with different value" in str(raised.value)
    assert "[conditions_set[1]]" in str(raised.value)
    assert authoring_counts() == before


def test_export_to_stdout_defaults_to_the_active_version(tenant, data_path):
    run(
        "import_rules",
        data_path("flat_small.json"),
        "--tenant",
        "acme",
        "--name",
        "flat",
        "--activate",
    )
    output = run("export_rules", "flat", "--tenant", "acme")
    assert json.loads(output)["ruleset"] == {
        "name": "flat",
        "version": "1.0",
        "description": "",
        "is_default": False,
        "tags": [],
        "metadata": {},
        "semantics": "original",
        "default_recommendation": "",
        "input_validation": "off",
    }


def test_missing_files_and_s3_keys_are_clear_errors(tenant, s3):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="/nowhere/rules.json: no such file"):
        run("import_rules", "/nowhere/rules.json", "--tenant", "acme")
    with pytest.raises(CommandError, match=f"s3://{s3.bucket}/missing.json: no such object"):
        run("import_rules", f"s3://{s3.bucket}/missing.json", "--tenant", "acme")
    with pytest.raises(CommandError, match="s3://no-such-bucket-here: the bucket does not exist"):
        run("import_rules", "s3://no-such-bucket-here/x.json", "--tenant", "acme")
