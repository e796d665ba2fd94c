"""Where evaluation gets a ruleset: the database, or published snapshots (USE_DATABASE=false).

The original system's switch: with USE_DATABASE=false the active versions are read from snapshot
storage, S3 (S3_BUCKET, S3_PREFIX) or, without a bucket, files under RULES_CONFIG_PATH, laid out as
snapshots are published (`<tenant>/<name>/active.json`, `<tenant>/<name>/<version>.json`), or,
when RULES_CONFIG_PATH names a `.json` file, that one original-format file (original_files.py).
Compiled rulesets are cached per process and reloaded when the source changes: the ruleset's
revision, the object's ETag or the file's modification time.
"""

import json
import threading
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Subquery

from rules.change_notifications import ProcessCache, caches_generation, change_listener_start
from rules.choices import RulesetKind, RulesetStatus
from rules.engine import CompiledRuleset, RulesetCompileError, compile_ruleset
from rules.errors import RulesetInvalid, ServiceError
from rules.models import Ruleset, identifier_validator, version_validator
from rules.selectors.decision_models import ruleset_is_decision_table
from rules.services.compilation import ruleset_spec
from rules.services.decision_models import decision_document_compile, decision_model_compile
from rules.services.original_files import (
    SOURCE_FILE,
    SOURCE_S3,
    RulesConfigMissing,
    original_files_cache_clear,
    original_files_configured,
    original_ruleset,
    original_ruleset_name,
)
from rules.services.snapshots import snapshot_name
from rules.services.storage import StorageError, s3_error_text, s3_storage, storage_read

SOURCE_DATABASE = "database"


class RulesetNotFound(ServiceError):
    code = "not_found"


class NoActiveVersion(RulesetNotFound):
    """The ruleset exists but none of its versions is active (or it is not the one asked)."""

    code = "no_active_version"


class VersionNotActive(ServiceError):
    """A named version that is not active; only dry runs may evaluate it. Its own code: the
    ruleset may well have an active version (`no_active_version` says it has none)."""

    code = "version_not_active"


# key -> (stamp, compiled ruleset, identity); a compiled ruleset is immutable and thread-safe.
_compiled_cache: dict = {}
_cache_lock = threading.Lock()


def compiled_cache_clear() -> None:
    with _cache_lock:
        _compiled_cache.clear()
    original_files_cache_clear()


def active_compiled_ruleset(
    *, tenant, name: str | None, version: str | None = None, any_status: bool = True
) -> tuple[CompiledRuleset, dict]:
    """(compiled ruleset, identity) of the active version of `name`, or of `version` if given.

    `name=None` means the tenant's default ruleset. With `any_status=False` a named version must
    be the active one (VersionNotActive otherwise): only dry runs evaluate other versions.
    The identity (tenant, name, version, ruleset_id when from the database, status, source) is
    what execution logs record.
    """
    if settings.USE_DATABASE:
        return _from_database(tenant, name, version, any_status)
    if original_files_configured():
        return _from_original_file(tenant, name, version, any_status)
    if name is None:
        raise RulesetNotFound("name the ruleset: defaults are not published as snapshots")
    # Names become paths and object keys: only well-formed ones (no "..", no "/").
    try:
        identifier_validator(name)
        if version:
            version_validator(version)
    except ValidationError as error:
        raise RulesetNotFound(f"no ruleset {name!r} version {version!r}") from error
    if version and not any_status:
        raise VersionNotActive(
            "serving snapshots, a named version is evaluated only as a dry run: pass "
            '"dry_run": true to evaluate it without logging, or leave the version out for the '
            "active one"
        )
    snapshot = snapshot_name(
        tenant_slug=tenant.slug, name=name, **({"version": version} if version else {})
    )
    if settings.S3_BUCKET:
        return _from_s3(tenant, snapshot)
    return _from_file(tenant, Path(settings.RULES_CONFIG_PATH) / snapshot)


def _from_original_file(tenant, name, version, any_status):
    served_tenant = settings.RULES_CONFIG_TENANT
    if not served_tenant:
        raise RulesetNotFound(
            "RULES_CONFIG_PATH names the original system's rules file: set RULES_CONFIG_TENANT "
            "to the slug of the tenant it serves"
        )
    served_name = original_ruleset_name()
    if tenant.slug != served_tenant:
        raise RulesetNotFound(
            f"tenant {tenant.slug} has no ruleset {name}"
            if name
            else f"tenant {tenant.slug} has no default ruleset; name one"
        )
    if name is not None and name != served_name:
        raise RulesetNotFound(f"tenant {tenant.slug} has no ruleset {name}")
    if version and not any_status:
        raise VersionNotActive(
            "serving RULES_CONFIG_PATH, a named version is evaluated only as a dry run: pass "
            '"dry_run": true, or leave the version out for the version being served'
        )
    try:
        compiled, identity = original_ruleset()
    except RulesConfigMissing as error:
        raise RulesetNotFound(str(error)) from error
    if version and version != identity["version"]:
        raise RulesetNotFound(
            f"tenant {tenant.slug} has no version {version} of {served_name}: RULES_CONFIG_PATH "
            f"serves version {identity['version']} only"
        )
    return compiled, identity


def _cached(key, stamp, load) -> tuple[CompiledRuleset, dict]:
    with _cache_lock:
        cached = _compiled_cache.get(key)
    if cached is not None and cached[0] == stamp:
        return _served(cached)
    try:
        compiled, identity = load()
    except RulesetInvalid as error:
        _failure_remember(key, stamp, error)
        raise
    with _cache_lock:
        _compiled_cache[key] = (stamp, compiled, identity)
    return compiled, identity


def _failure_remember(key, stamp, error: RulesetInvalid) -> None:
    # A version that does not compile fails the same way until it changes: remember that, so
    # callers retrying at API rates cost a dict lookup, not a load and a compile each.
    with _cache_lock:
        _compiled_cache[key] = (stamp, None, error)


def _served(cached) -> tuple[CompiledRuleset, dict]:
    _, compiled, identity_or_error = cached
    if compiled is None:  # a fresh error each time: one raised object is shared by threads
        raise RulesetInvalid(identity_or_error.problems, heading=identity_or_error.heading)
    return compiled, identity_or_error


def _compile(spec, where: str) -> CompiledRuleset:
    try:
        return compile_ruleset(spec)
    except RulesetCompileError as error:
        raise RulesetInvalid(error.problems, heading=f"{where} does not compile") from error


# (tenant id, name or None for the default, version or None for the active one) ->
# (ruleset id, revision): which row to serve, trusted while change notifications arrive.
_version_pointers = ProcessCache("ruleset versions", lambda: 0.0)


def _version_pointer(tenant, name, version) -> tuple[int, int]:
    key = (tenant.pk, name, version)
    pointer = _version_pointers.get(key)
    if pointer is not None:
        return pointer
    generation = caches_generation()
    versions = Ruleset.objects.for_tenant(tenant)
    if name is None:
        default_name = versions.filter(is_default=True).values("name")[:1]
        versions = versions.filter(name=Subquery(default_name))
    else:
        versions = versions.filter(name=name)
    if version:
        versions = versions.filter(version=version)
    else:
        versions = versions.filter(status=RulesetStatus.ACTIVE)
    row = versions.values_list("pk", "revision").first()
    if row is None:
        raise _not_found(tenant, name, version)
    _version_pointers.put(key, row, generation)
    return row


def _not_found(tenant, name, version) -> RulesetNotFound:
    if name is None:
        if Ruleset.objects.for_tenant(tenant).filter(is_default=True).exists():
            return NoActiveVersion(f"the default ruleset of tenant {tenant.slug} is not active")
        return RulesetNotFound(f"tenant {tenant.slug} has no default ruleset; name one")
    if not Ruleset.objects.for_tenant(tenant).filter(name=name).exists():
        return RulesetNotFound(f"tenant {tenant.slug} has no ruleset {name}")
    if version:
        return RulesetNotFound(f"tenant {tenant.slug} has no version {version} of {name}")
    return NoActiveVersion(f"ruleset {name} of tenant {tenant.slug} has no active version")


def _from_database(tenant, name, version, any_status=True):
    change_listener_start()
    ruleset_pk, revision = _version_pointer(tenant, name, version)
    key = (SOURCE_DATABASE, ruleset_pk)
    with _cache_lock:
        cached = _compiled_cache.get(key)
    if cached is None or cached[0] != revision:

        def load():
            ruleset = Ruleset.objects.select_related("tenant").get(pk=ruleset_pk)
            if ruleset_is_decision_table(ruleset):
                compiled = decision_model_compile(ruleset)
            else:
                compiled = _compile(ruleset_spec(ruleset), f"{ruleset.name} {ruleset.version}")
            identity = {
                "tenant": tenant.slug,
                "ruleset_id": ruleset.pk,
                "name": ruleset.name,
                "version": ruleset.version,
                "status": ruleset.status,
                "source": SOURCE_DATABASE,
            }
            # The row may have changed since the pointer was read: cache what was compiled.
            return compiled, identity, ruleset.revision

        try:
            compiled, identity, loaded_revision = load()
        except RulesetInvalid as error:
            _failure_remember(key, revision, error)
            raise
        with _cache_lock:
            _compiled_cache[key] = (loaded_revision, compiled, identity)
    else:
        compiled, identity = _served(cached)
    if not any_status and identity["status"] != RulesetStatus.ACTIVE:
        raise VersionNotActive(
            f"version {identity['version']} of {identity['name']} is {identity['status']}, not "
            'active: pass "dry_run": true to evaluate it without logging (a dry run), or leave '
            "the version out to evaluate the active one"
        )
    return compiled, identity


def _snapshot_compile(tenant, content: bytes, where: str, source: str):
    try:
        spec = json.loads(content)
    except ValueError as error:
        raise StorageError(f"{where}: not a JSON snapshot ({error})") from error
    if isinstance(spec, dict) and spec.get("kind") == RulesetKind.DECISION_TABLE:
        compiled = decision_document_compile(spec, where=where)
    else:
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
