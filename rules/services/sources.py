"""Where evaluation gets a ruleset: the database, or published snapshots (USE_DATABASE=false).

The original system's switch: with USE_DATABASE=false the active versions are read from snapshot
storage, S3 (S3_BUCKET, S3_PREFIX) or, without a bucket, files under RULES_CONFIG_PATH, laid out as
snapshots are published (`<tenant>/<name>/active.json`, `<tenant>/<name>/<version>.json`).
Compiled rulesets are cached per process and reloaded when the source changes: the ruleset's
revision, the object's ETag or the file's modification time.
"""

import json
import threading
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from rules.choices import RulesetStatus
from rules.engine import CompiledRuleset, RulesetCompileError, compile_ruleset
from rules.models import Ruleset
from rules.services.errors import RulesetInvalid, ServiceError
from rules.services.snapshots import snapshot_name
from rules.services.specs import ruleset_spec
from rules.services.storage import StorageError, s3_error_text, s3_storage, storage_read

SOURCE_DATABASE, SOURCE_FILE, SOURCE_S3 = "database", "file", "s3"


class RulesetNotFound(ServiceError):
    code = "not_found"


# key -> (stamp, compiled ruleset, identity); a compiled ruleset is immutable and thread-safe.
_compiled_cache: dict = {}
_cache_lock = threading.Lock()


def compiled_cache_clear() -> None:
    with _cache_lock:
        _compiled_cache.clear()


def active_compiled_ruleset(
    *, tenant, name: str, version: str | None = None
) -> tuple[CompiledRuleset, dict]:
    """(compiled ruleset, identity) of the active version of `name`, or of `version` if given.

    The identity (tenant, name, version, ruleset_id when from the database, source) is what
    execution logs record.
    """
    if settings.USE_DATABASE:
        return _from_database(tenant, name, version)
    snapshot = snapshot_name(
        tenant_slug=tenant.slug, name=name, **({"version": version} if version else {})
    )
    if settings.S3_BUCKET:
        return _from_s3(tenant, snapshot)
    return _from_file(tenant, Path(settings.RULES_CONFIG_PATH) / snapshot)


def _cached(key, stamp, load) -> tuple[CompiledRuleset, dict]:
    with _cache_lock:
        cached = _compiled_cache.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1], cached[2]
    compiled, identity = load()
    with _cache_lock:
        _compiled_cache[key] = (stamp, compiled, identity)
    return compiled, identity


def _compile(spec, where: str) -> CompiledRuleset:
    try:
        return compile_ruleset(spec)
    except RulesetCompileError as error:
        raise RulesetInvalid(error.problems, heading=f"{where} does not compile") from error


def _from_database(tenant, name, version):
    versions = Ruleset.objects.for_tenant(tenant).filter(name=name)
    if version:
        ruleset = versions.filter(version=version).first()
        missing = f"tenant {tenant.slug} has no version {version} of {name}"
    else:
        ruleset = versions.filter(status=RulesetStatus.ACTIVE).first()
        missing = f"tenant {tenant.slug} has no active version of {name}"
    if ruleset is None:
        raise RulesetNotFound(missing)

    def load():
        compiled = _compile(ruleset_spec(ruleset), f"{name} {ruleset.version}")
        identity = {
            "tenant": tenant.slug,
            "ruleset_id": ruleset.pk,
            "name": ruleset.name,
            "version": ruleset.version,
            "source": SOURCE_DATABASE,
        }
        return compiled, identity

    return _cached((SOURCE_DATABASE, ruleset.pk), ruleset.revision, load)


def _snapshot_compile(tenant, content: bytes, where: str, source: str):
    try:
        spec = json.loads(content)
    except ValueError as error:
        raise StorageError(f"{where}: not a JSON snapshot ({error})") from error
    compiled = _compile(spec, where)
    header = spec.get("ruleset") or {}
    identity = {
        "tenant": tenant.slug,
        "ruleset_id": None,
        "name": header.get("name", ""),
        "version": header.get("version", ""),
        "source": source,
    }
    return compiled, identity


def _from_file(tenant, path: Path):
    try:
        stat = path.stat()
    except FileNotFoundError as error:
        raise RulesetNotFound(f"no snapshot at {path}") from error
    stamp = (stat.st_mtime_ns, stat.st_size)

    def load():
        try:
            content = path.read_bytes()
        except OSError as error:
            raise StorageError(f"{path}: {error.strerror or error}") from error
        return _snapshot_compile(tenant, content, str(path), SOURCE_FILE)

    return _cached((SOURCE_FILE, str(path)), stamp, load)


def _from_s3(tenant, name: str):
    storage = s3_storage(bucket=settings.S3_BUCKET, prefix=settings.S3_PREFIX)
    key = f"{settings.S3_PREFIX}/{name}" if settings.S3_PREFIX else name
    where = f"s3://{settings.S3_BUCKET}/{key}"
    try:
        head = storage.connection.meta.client.head_object(Bucket=settings.S3_BUCKET, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            raise RulesetNotFound(f"no snapshot at {where}") from error
        raise StorageError(s3_error_text(error, bucket=settings.S3_BUCKET, key=key)) from error
    except BotoCoreError as error:
        raise StorageError(f"{where}: {error}") from error

    def load():
        content = storage_read(storage=storage, name=name, where=where)
        return _snapshot_compile(tenant, content, where, SOURCE_S3)

    return _cached((SOURCE_S3, settings.S3_BUCKET, key), head["ETag"], load)
