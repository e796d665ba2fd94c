"""Published snapshots: the export of every activated version, in snapshot storage.

Layout: `<tenant>/<name>/<version>.json` and `<tenant>/<name>/active.json`, in the local folder
SNAPSHOT_ROOT or, when S3_BUCKET is set, in that bucket under S3_PREFIX. Activation commits first
and publishes after (`transaction.on_commit`), so storage can never roll back or block it; every
attempt is recorded in SnapshotPublication, and `manage.py publish_snapshots` retries failures.
"""

import logging

from django.conf import settings
from django.core.files.storage import Storage

from rules.choices import RulesetStatus
from rules.models import Ruleset, SnapshotPublication
from rules.services.ruleset_export import document_bytes, ruleset_export
from rules.services.storage import local_storage, s3_storage, storage_write

logger = logging.getLogger(__name__)

ACTIVE_SNAPSHOT = "active"


def snapshot_storage() -> tuple[Storage, str]:
    """(storage, a description for messages) of the configured snapshot store."""
    if settings.S3_BUCKET:
        prefix = f"/{settings.S3_PREFIX}" if settings.S3_PREFIX else ""
        return (
            s3_storage(bucket=settings.S3_BUCKET, prefix=settings.S3_PREFIX),
            f"s3://{settings.S3_BUCKET}{prefix}",
        )
    return local_storage(settings.SNAPSHOT_ROOT), str(settings.SNAPSHOT_ROOT)


def snapshot_name(*, tenant_slug: str, name: str, version: str = ACTIVE_SNAPSHOT) -> str:
    """The snapshot's name inside snapshot storage (`active` for the active version)."""
    return f"{tenant_slug}/{name}/{version}.json"


def snapshot_publish(*, ruleset_id: int) -> SnapshotPublication | None:
    """Write a version's snapshot (and active.json if it is active); never raises.

    A failure is logged and recorded as `failed` for `publish_snapshots` to retry.
    """
    ruleset = Ruleset.objects.select_related("tenant").filter(pk=ruleset_id).first()
    if ruleset is None:  # deleted before its snapshot could be written: nothing to publish
        return None
    publication, _ = SnapshotPublication.objects.get_or_create(ruleset=ruleset)
    publication.attempts += 1
    storage, where = snapshot_storage()
    names = [
        snapshot_name(tenant_slug=ruleset.tenant.slug, name=ruleset.name, version=ruleset.version)
    ]
    active_name = snapshot_name(tenant_slug=ruleset.tenant.slug, name=ruleset.name)
    # Only the version that is active now may become active.json: a retried old failure must
    # not overwrite the snapshot of a newer activation.
    if ruleset.status == RulesetStatus.ACTIVE:
        names.append(active_name)
    # With no active version of the name left, active.json must go, or USE_DATABASE=false
    # readers would keep serving a deactivated version.
    withdraw = not Ruleset.objects.filter(
        tenant_id=ruleset.tenant_id, name=ruleset.name, status=RulesetStatus.ACTIVE
    ).exists()
    try:
        content = document_bytes(ruleset_export(ruleset=ruleset))
        for name in names:
            storage_write(storage=storage, name=name, content=content, where=f"{where}/{name}")
        if withdraw and storage.exists(active_name):
            storage.delete(active_name)
    except Exception as error:  # noqa: BLE001 - storage is outside our control; retried later
        logger.warning(
            "snapshot of %s %s (tenant %s) not written to %s: %s",
            ruleset.name,
            ruleset.version,
            ruleset.tenant.slug,
            where,
            error,
        )
        publication.status = SnapshotPublication.Status.FAILED
        publication.error = str(error)
    else:
        publication.status = SnapshotPublication.Status.PUBLISHED
        publication.error = ""
        publication.location = f"{where}/{names[0]}"
    publication.save()
    return publication


def snapshots_publish(*, all_active: bool = False) -> list[SnapshotPublication]:
    """Retry every pending or failed snapshot, or republish every active version."""
    if all_active:
        ruleset_ids = Ruleset.objects.filter(status=RulesetStatus.ACTIVE).values_list(
            "pk", flat=True
        )
    else:
        ruleset_ids = SnapshotPublication.objects.exclude(
            status=SnapshotPublication.Status.PUBLISHED
        ).values_list("ruleset_id", flat=True)
    publications = [snapshot_publish(ruleset_id=pk) for pk in list(ruleset_ids)]
    return [p for p in publications if p is not None]
