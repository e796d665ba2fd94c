"""Published snapshots, publish_snapshots retries, serving from snapshots (USE_DATABASE=false)."""

import json
import os
from io import StringIO

import pytest
from django.core.management import call_command

from rules.choices import RulesetStatus
from rules.models import Ruleset, SnapshotPublication
from rules.services import lifecycle
from rules.services.active_rulesets import RulesetNotFound, active_compiled_ruleset
from rules.services.ruleset_export import ruleset_export
from rules.services.ruleset_import import ruleset_import
from tests.support import TEST_DATA

FLAT = (TEST_DATA / "flat_small.json").read_text()
APPLICANT = {"age": 30, "income": 60000, "country": "US"}


def flat_draft(tenant, **changes):
    document = json.loads(FLAT)
    for rule in document["rules_set"]:
        rule.update(changes)
    return ruleset_import(tenant=tenant, actor=None, document=document, name="flat").created


def test_a_failing_snapshot_store_does_not_block_activation_and_publish_snapshots_retries(
    tenant, approver, s3, settings, django_capture_on_commit_callbacks, caplog
):
    settings.S3_BUCKET = f"{s3.bucket}-missing"
    draft = flat_draft(tenant)
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.ruleset_activate(ruleset_id=draft.pk, actor=approver)
    draft.refresh_from_db()
    assert draft.status == RulesetStatus.ACTIVE
    publication = SnapshotPublication.objects.get(ruleset=draft)
    assert (publication.status, publication.attempts) == ("failed", 1)
    assert "the bucket does not exist" in publication.error
    assert "snapshot of flat 1.0 (tenant acme) not written" in caplog.text

    s3.create_bucket(Bucket=settings.S3_BUCKET)
    out = StringIO()
    call_command("publish_snapshots", stdout=out)
    assert "acme flat 1.0: published" in out.getvalue()
    assert "1 published, 0 failed" in out.getvalue()
    publication.refresh_from_db()
    assert (publication.status, publication.attempts) == ("published", 2)
    for key in ("acme/flat/1.0.json", "acme/flat/active.json"):
        body = s3.get_object(Bucket=settings.S3_BUCKET, Key=key)["Body"].read()
        assert json.loads(body) == ruleset_export(ruleset=draft)


def test_publish_snapshots_all_republishes_every_active_version(tenant, snapshot_root):
    draft = flat_draft(tenant)
    lifecycle.ruleset_activate(ruleset_id=draft.pk, actor=None)  # on_commit never runs here
    assert not (snapshot_root / "acme" / "flat" / "active.json").exists()
    call_command("publish_snapshots", "--all", stdout=StringIO())
    assert (
        json.loads((snapshot_root / "acme" / "flat" / "active.json").read_text())["ruleset"][
            "version"
        ]
        == "1.0"
    )


def test_a_newer_activation_is_not_overwritten_by_a_retried_older_snapshot(
    tenant, snapshot_root, django_capture_on_commit_callbacks
):
    first = flat_draft(tenant)
    lifecycle.ruleset_activate(ruleset_id=first.pk, actor=None)
    SnapshotPublication.objects.create(ruleset=first, status="failed", error="earlier failure")
    second = flat_draft(tenant, rule_point=1)
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.ruleset_activate(ruleset_id=second.pk, actor=None)
    call_command("publish_snapshots", stdout=StringIO())
    active = json.loads((snapshot_root / "acme" / "flat" / "active.json").read_text())
    assert active["ruleset"]["version"] == second.version
    assert (snapshot_root / "acme" / "flat" / "1.0.json").exists()


def test_without_the_database_rulesets_are_served_from_files_and_reloaded_on_change(
    tenant, settings, snapshot_root, django_capture_on_commit_callbacks
):
    draft = flat_draft(tenant)
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.ruleset_activate(ruleset_id=draft.pk, actor=None)
    settings.USE_DATABASE = False
    Ruleset.objects.all().delete()  # proves the rules come from the file
    compiled, identity = active_compiled_ruleset(tenant=tenant, name="flat")
    assert identity == {
        "tenant": "acme",
        "ruleset_id": None,
        "name": "flat",
        "version": "1.0",
        "source": "file",
    }
    # R1 2 x 10 + R3 5; R2's flat `rulepoint` scores 0, as in the original.
    assert compiled.evaluate(APPLICANT).total_points == 25.0
    assert active_compiled_ruleset(tenant=tenant, name="flat")[0] is compiled  # cached

    path = snapshot_root / "acme" / "flat" / "active.json"
    spec = json.loads(path.read_text())
    spec["rules"][0]["rule_point"] = 100  # R3 (priority 0): 5 -> 100 points
    path.write_text(json.dumps(spec))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    reloaded, _ = active_compiled_ruleset(tenant=tenant, name="flat")
    assert reloaded is not compiled
    assert reloaded.evaluate(APPLICANT).total_points == 120.0


def test_without_the_database_rulesets_are_served_from_s3_and_reloaded_on_change(
    tenant, settings, s3
):
    draft = flat_draft(tenant)
    spec = ruleset_export(ruleset=draft)
    settings.USE_DATABASE = False
    settings.S3_BUCKET, settings.S3_PREFIX = s3.bucket, "prod"
    s3.put_object(Bucket=s3.bucket, Key="prod/acme/flat/active.json", Body=json.dumps(spec))
    compiled, identity = active_compiled_ruleset(tenant=tenant, name="flat")
    assert identity["source"] == "s3" and compiled.evaluate(APPLICANT).total_points == 25.0
    assert active_compiled_ruleset(tenant=tenant, name="flat")[0] is compiled

    spec["rules"][0]["rule_point"] = 100
    s3.put_object(Bucket=s3.bucket, Key="prod/acme/flat/active.json", Body=json.dumps(spec))
    reloaded, _ = active_compiled_ruleset(tenant=tenant, name="flat")
    assert reloaded.evaluate(APPLICANT).total_points == 120.0


def test_a_missing_snapshot_is_a_clear_error(tenant, settings):
    from rules.services.active_rulesets import RulesetNotFound

    settings.USE_DATABASE = False
    with pytest.raises(RulesetNotFound, match="no snapshot at .*acme/flat/active.json"):
        active_compiled_ruleset(tenant=tenant, name="flat")


@pytest.mark.parametrize("leave", ["deactivate", "deprecate"])
def test_leaving_active_withdraws_active_json_so_snapshot_readers_stop_serving_it(
    tenant, snapshot_root, settings, django_capture_on_commit_callbacks, leave
):
    draft = flat_draft(tenant)
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.ruleset_activate(ruleset_id=draft.pk, actor=None)
    active_json = snapshot_root / "acme" / "flat" / "active.json"
    assert active_json.exists()
    settings.USE_DATABASE = False
    active_compiled_ruleset(tenant=tenant, name="flat")
    with django_capture_on_commit_callbacks(execute=True):
        getattr(lifecycle, f"ruleset_{leave}")(ruleset_id=draft.pk, actor=None)
    assert not active_json.exists()
    assert (snapshot_root / "acme" / "flat" / "1.0.json").exists()
    with pytest.raises(RulesetNotFound):
        active_compiled_ruleset(tenant=tenant, name="flat")


def test_snapshot_names_cannot_leave_their_tenants_folder(
    tenant, other_tenant, settings, django_capture_on_commit_callbacks
):
    """Names become paths when serving snapshots: "../globex/flat" must not reach globex's."""
    draft = flat_draft(other_tenant)
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.ruleset_activate(ruleset_id=draft.pk, actor=None)
    settings.USE_DATABASE = False
    assert active_compiled_ruleset(tenant=other_tenant, name="flat")[1]["name"] == "flat"
    for name, version in (("../globex/flat", None), ("flat", "../../globex/flat/1.0")):
        with pytest.raises(RulesetNotFound):
            active_compiled_ruleset(tenant=tenant, name=name, version=version)


def test_serving_snapshots_a_named_version_is_only_a_dry_run(tenant, settings):
    from rules.services.active_rulesets import VersionNotActive

    settings.USE_DATABASE = False
    with pytest.raises(VersionNotActive, match="dry run"):
        active_compiled_ruleset(tenant=tenant, name="flat", version="1.0", any_status=False)
