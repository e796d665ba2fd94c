"""USE_DATABASE=false with RULES_CONFIG_PATH naming the original system's rules file (#16.4)."""

import json
import logging
import os
import shutil
import subprocess
import sys

import pytest

from rules.errors import RulesetInvalid
from rules.models import Ruleset
from rules.services.active_rulesets import (
    RulesetNotFound,
    VersionNotActive,
    active_compiled_ruleset,
)
from tests.support import REPO_ROOT, TEST_DATA

ORIGINAL = TEST_DATA / "original"
# The flat example: R0001 issue > 30, R0002 title == 'Superman', R0003 publisher in [DC, Marvel].
COMIC = {"issue": 35, "title": "Superman", "publisher": "DC"}


@pytest.fixture
def rules_files(tmp_path, settings):
    """The original's example files copied to a folder as data/input/ holds them, and served."""
    folder = tmp_path / "input"
    folder.mkdir()
    for name in ("rules_config.json", "rules_config_v4.json", "conditions_config.json"):
        shutil.copy(ORIGINAL / name, folder / name)
    settings.USE_DATABASE = False
    settings.RULES_CONFIG_PATH = folder / "rules_config.json"
    settings.CONDITIONS_CONFIG_PATH = str(folder / "conditions_config.json")
    settings.RULES_CONFIG_TENANT = "acme"
    settings.RULES_CONFIG_CHECK_SECONDS = 0
    return folder


def rewrite(path, change=None, *, text=None):
    """Write new content and move the modification time on, as an editor's save does."""
    if text is None:
        document = json.loads(path.read_text())
        change(document)
        text = json.dumps(document)
    stat = path.stat()
    path.write_text(text)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))


def test_the_rules_file_is_served_by_its_name_and_as_the_default_with_original_semantics(
    tenant, rules_files
):
    compiled, identity = active_compiled_ruleset(tenant=tenant, name=None)
    assert compiled.semantics == "original"
    assert {key: identity[key] for key in ("tenant", "ruleset_id", "name", "source")} == {
        "tenant": "acme",
        "ruleset_id": None,
        "name": "rules_config",
        "source": "file",
    }
    assert len(identity["version"]) == len("20261202.182746")
    assert active_compiled_ruleset(tenant=tenant, name="rules_config")[0] is compiled
    assert not Ruleset.objects.exists()  # nothing was imported: the file is the source

    evaluation = compiled.evaluate(COMIC)
    assert (evaluation.pattern_result, evaluation.action_recommendation) == ("YYY", "Approved")
    # publisher is absent: the original leaves its rule out (strict would say "Y--", Rejected).
    evaluation = compiled.evaluate({"issue": 35, "title": "Batman"})
    assert (evaluation.pattern_result, evaluation.action_recommendation) == ("Y-", None)


def test_a_changed_file_is_served_after_the_check_interval_and_not_before(
    tenant, rules_files, settings
):
    settings.RULES_CONFIG_CHECK_SECONDS = 3600
    compiled, identity = active_compiled_ruleset(tenant=tenant, name=None)
    rewrite(
        rules_files / "rules_config.json",
        lambda document: document["patterns"].update({"YYY": "Published"}),
    )
    assert active_compiled_ruleset(tenant=tenant, name=None)[0] is compiled  # not checked yet

    settings.RULES_CONFIG_CHECK_SECONDS = 0
    reloaded, new_identity = active_compiled_ruleset(tenant=tenant, name=None)
    assert reloaded.evaluate(COMIC).action_recommendation == "Published"
    assert new_identity["version"] > identity["version"]
    assert active_compiled_ruleset(tenant=tenant, name=None)[0] is reloaded  # unchanged: cached


def test_a_changed_conditions_file_is_reloaded_too(tenant, rules_files, settings):
    settings.RULES_CONFIG_PATH = rules_files / "rules_config_v4.json"
    compiled, identity = active_compiled_ruleset(tenant=tenant, name="rules_config_v4")
    old = {"age_till_now": 95}
    assert compiled.evaluate(old).pattern_result == "Y"  # R0001 (C0004 age_till_now > 90) only

    def threshold_100(document):
        for condition in document["conditions_set"]:
            if condition["condition_id"] == "C0004":
                condition["constant"] = 100

    rewrite(rules_files / "conditions_config.json", threshold_100)
    reloaded, _ = active_compiled_ruleset(tenant=tenant, name="rules_config_v4")
    assert reloaded.evaluate(old).pattern_result == "-"


def test_a_broken_file_keeps_the_last_good_one_serving_and_logs_the_problem_once(
    tenant, rules_files, caplog
):
    compiled, identity = active_compiled_ruleset(tenant=tenant, name=None)
    path = rules_files / "rules_config.json"
    rewrite(path, text='{"rules_set": [')
    with caplog.at_level(logging.ERROR, logger="rules.services.original_files"):
        assert active_compiled_ruleset(tenant=tenant, name=None) == (compiled, identity)
        assert active_compiled_ruleset(tenant=tenant, name=None)[0] is compiled
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1, errors
    assert str(path) in errors[0]
    assert "the last good one, still is" in errors[0]
    assert "malformed JSON" in errors[0] and "line 1" in errors[0]

    caplog.clear()
    rewrite(path, text=json.dumps({"rules_set": [{"id": "R1"}]}))
    with caplog.at_level(logging.ERROR, logger="rules.services.original_files"):
        assert active_compiled_ruleset(tenant=tenant, name=None)[0] is compiled
    assert "rules_set[0]" in caplog.text  # the conversion's problem, with its place in the file

    rewrite(path, text=(ORIGINAL / "rules_config.json").read_text())
    repaired, _ = active_compiled_ruleset(tenant=tenant, name=None)
    assert repaired is not compiled and repaired.evaluate(COMIC).pattern_result == "YYY"


def test_a_deleted_file_keeps_the_last_good_one_serving(tenant, rules_files, caplog):
    compiled, _ = active_compiled_ruleset(tenant=tenant, name=None)
    (rules_files / "rules_config.json").unlink()
    with caplog.at_level(logging.ERROR, logger="rules.services.original_files"):
        assert active_compiled_ruleset(tenant=tenant, name=None)[0] is compiled
    assert "no such file" in caplog.text


def test_a_file_that_never_loaded_is_an_error_naming_its_problems(tenant, rules_files, settings):
    settings.RULES_CONFIG_PATH = rules_files / "rules_config_v4.json"
    settings.CONDITIONS_CONFIG_PATH = ""  # its rules name catalog conditions
    with pytest.raises(RulesetInvalid, match=r"(?s)rules_config_v4.json.*give the conditions"):
        active_compiled_ruleset(tenant=tenant, name=None)
    settings.RULES_CONFIG_PATH = rules_files / "missing.json"
    with pytest.raises(RulesetNotFound, match="missing.json: no such file"):
        active_compiled_ruleset(tenant=tenant, name=None)


def test_the_legacy_layout_and_this_products_format_are_refused_with_a_reason(
    tenant, rules_files, settings
):
    shutil.copy(ORIGINAL / "rules_config_v2.json", rules_files / "legacy.json")
    settings.RULES_CONFIG_PATH = rules_files / "legacy.json"
    with pytest.raises(RulesetInvalid, match="rules_set_details"):
        active_compiled_ruleset(tenant=tenant, name=None)
    (rules_files / "spec.json").write_text(json.dumps({"ruleset": {"name": "spec"}, "rules": []}))
    settings.RULES_CONFIG_PATH = rules_files / "spec.json"
    with pytest.raises(RulesetInvalid, match="this product's format"):
        active_compiled_ruleset(tenant=tenant, name=None)


def test_only_the_configured_tenant_and_name_are_served(
    tenant, other_tenant, rules_files, settings
):
    with pytest.raises(RulesetNotFound, match="tenant globex has no default ruleset"):
        active_compiled_ruleset(tenant=other_tenant, name=None)
    with pytest.raises(RulesetNotFound, match="tenant globex has no ruleset rules_config"):
        active_compiled_ruleset(tenant=other_tenant, name="rules_config")
    with pytest.raises(RulesetNotFound, match="tenant acme has no ruleset other"):
        active_compiled_ruleset(tenant=tenant, name="other")

    settings.RULES_CONFIG_RULESET_NAME = "comics"
    assert active_compiled_ruleset(tenant=tenant, name="comics")[1]["name"] == "comics"
    settings.RULES_CONFIG_TENANT = ""
    with pytest.raises(RulesetNotFound, match="set RULES_CONFIG_TENANT"):
        active_compiled_ruleset(tenant=tenant, name=None)


def test_a_named_version_is_the_served_one_and_only_in_a_dry_run(tenant, rules_files):
    _, identity = active_compiled_ruleset(tenant=tenant, name=None)
    version = identity["version"]
    with pytest.raises(VersionNotActive, match="dry run"):
        active_compiled_ruleset(tenant=tenant, name=None, version=version, any_status=False)
    assert active_compiled_ruleset(tenant=tenant, name=None, version=version)[1] == identity
    with pytest.raises(RulesetNotFound, match=f"serves version {version} only"):
        active_compiled_ruleset(tenant=tenant, name=None, version="1.0")


def test_the_files_are_read_from_s3_when_a_bucket_is_set_and_reloaded_on_change(
    tenant, settings, s3, caplog
):
    # As the original reads them: the paths are keys in S3_BUCKET (here under S3_PREFIX).
    settings.USE_DATABASE = False
    settings.S3_BUCKET, settings.S3_PREFIX = s3.bucket, "prod"
    settings.RULES_CONFIG_PATH = "data/input/rules_config_v4.json"
    settings.CONDITIONS_CONFIG_PATH = "data/input/conditions_config.json"
    settings.RULES_CONFIG_TENANT = "acme"
    settings.RULES_CONFIG_CHECK_SECONDS = 0
    rules = json.loads((ORIGINAL / "rules_config_v4.json").read_text())
    for name, body in (
        ("rules_config_v4.json", json.dumps(rules)),
        ("conditions_config.json", (ORIGINAL / "conditions_config.json").read_text()),
    ):
        s3.put_object(Bucket=s3.bucket, Key=f"prod/data/input/{name}", Body=body)

    compiled, identity = active_compiled_ruleset(tenant=tenant, name="rules_config_v4")
    assert identity["source"] == "s3" and compiled.semantics == "original"
    evaluation = compiled.evaluate({"age_till_now": 95})
    assert (evaluation.pattern_result, evaluation.action_recommendation) == ("Y", None)
    assert active_compiled_ruleset(tenant=tenant, name=None)[0] is compiled  # ETags unchanged

    rules["patterns"]["Y"] = "Escalate"
    key = "prod/data/input/rules_config_v4.json"
    s3.put_object(Bucket=s3.bucket, Key=key, Body=json.dumps(rules))
    reloaded, _ = active_compiled_ruleset(tenant=tenant, name=None)
    assert reloaded.evaluate({"age_till_now": 95}).action_recommendation == "Escalate"

    s3.put_object(Bucket=s3.bucket, Key=key, Body=b"not json")
    with caplog.at_level(logging.ERROR, logger="rules.services.original_files"):
        assert active_compiled_ruleset(tenant=tenant, name=None)[0] is reloaded
    assert f"s3://{s3.bucket}/{key}" in caplog.text and "malformed JSON" in caplog.text

    s3.delete_object(Bucket=s3.bucket, Key=key)
    with caplog.at_level(logging.ERROR, logger="rules.services.original_files"):
        assert active_compiled_ruleset(tenant=tenant, name=None)[0] is reloaded
    assert "no such object" in caplog.text


def test_a_rules_file_without_a_tenant_to_serve_is_refused_at_startup(tmp_path):
    environment = {
        "PATH": os.environ["PATH"],
        "DEBUG": "true",
        "USE_DATABASE": "false",
        "RULES_CONFIG_PATH": "data/input/rules_config.json",
        "ENV_FILE": str(tmp_path / "none.env"),
    }
    (tmp_path / "none.env").write_text("")
    run = subprocess.run(
        [sys.executable, "-c", "import ruleengine.settings"],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
    )
    assert run.returncode != 0
    assert "set RULES_CONFIG_TENANT to its slug" in run.stderr
