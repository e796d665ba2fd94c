"""The seed's storage switch in the original format: one rules file served without the database.

With USE_DATABASE=false and RULES_CONFIG_PATH naming a `.json` file (the seed's example:
`RULES_CONFIG_PATH=data/input/rules_config.json`), evaluation serves that original-format file
and its conditions catalog CONDITIONS_CONFIG_PATH, converted as `import_rules` converts them and
compiled with semantics=original. As in the original (common/repository/config_factory.py), a set
S3_BUCKET means the two paths are object keys in that bucket (under S3_PREFIX); otherwise they are
files on disk. The ruleset is RULES_CONFIG_RULESET_NAME (default: the file's stem) of the tenant
RULES_CONFIG_TENANT; its version is the newest modification time of the two files
(`YYYYMMDD.HHMMSS`, UTC), so execution logs say which content decided.

Changes are picked up without a restart: at most once per RULES_CONFIG_CHECK_SECONDS a request
stats the files (or sends one HEAD per object); every other request costs a dict lookup. New
content that does not read, convert or compile is logged as an error naming the problems, once per
change, and the last good version keeps serving; only a process that never loaded the files
answers with the error.
"""

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from rules.choices import RulesetSemantics
from rules.engine import CompiledRuleset, Problem, RulesetCompileError, compile_ruleset
from rules.engine.converters import ConversionError, detect_format, spec_from_original
from rules.errors import RulesetInvalid, ServiceError
from rules.models import identifier_validator
from rules.services.ruleset_import import document_parse, document_size_check
from rules.services.storage import StorageError, s3_error_text, s3_storage

log = logging.getLogger(__name__)

SOURCE_FILE, SOURCE_S3 = "file", "s3"  # an execution's ruleset source, as snapshots name them
VERSION_FORMAT = "%Y%m%d.%H%M%S"


class RulesConfigMissing(StorageError):
    """The configured rules file (or its conditions file) does not exist, and none was loaded."""

    code = "not_found"


def original_files_configured() -> bool:
    """True when RULES_CONFIG_PATH names one original-format file rather than a snapshot folder."""
    return str(settings.RULES_CONFIG_PATH).lower().endswith(".json")


def original_ruleset_name() -> str:
    """The name the file is served under: RULES_CONFIG_RULESET_NAME, else the file's stem."""
    return _source().name


def _name_check(name: str) -> str:
    if identifier_validator.regex.match(name) is None:
        message = f"{name!r} is not a ruleset name ({identifier_validator.message})"
        raise RulesetInvalid(
            [Problem(None, message, "")],
            heading="RULES_CONFIG_PATH: set RULES_CONFIG_RULESET_NAME to the name it is served as",
        )
    return name


@dataclass(frozen=True)
class _Source:
    kind: str
    bucket: str
    rules: str
    conditions: str  # "" without a conditions file
    name: str
    tenant: str

    def where(self, location: str) -> str:
        return f"s3://{self.bucket}/{location}" if self.kind == SOURCE_S3 else location


@dataclass
class _State:
    checked_at: float = float("-inf")
    stamp: tuple | None = None  # of the content served
    served: tuple[CompiledRuleset, dict] | None = None  # one attribute: readers take no lock
    failed_stamp: tuple | None = None
    error: ServiceError | None = None
    logged: str = ""  # the last error logged, so a lasting failure is logged once


_states: dict[_Source, _State] = {}
_states_lock = threading.Lock()
_reload_lock = threading.Lock()
_s3_clients: dict = {}
_sources: dict[tuple, "_Source"] = {}


def original_files_cache_clear() -> None:
    with _states_lock:
        _states.clear()
        _s3_clients.clear()
        _sources.clear()


def original_ruleset() -> tuple[CompiledRuleset, dict]:
    """(compiled ruleset, identity) of the configured original-format file, reloaded on change."""
    source = _source()
    state = _states.get(source)
    if (
        state is not None
        and time.monotonic() - state.checked_at < settings.RULES_CONFIG_CHECK_SECONDS
    ):
        return _served(state)
    with _reload_lock:  # one thread checks and reloads; the others wait for its answer
        with _states_lock:
            state = _states.setdefault(source, _State())
        if time.monotonic() - state.checked_at >= settings.RULES_CONFIG_CHECK_SECONDS:
            _refresh(source, state)
            state.checked_at = time.monotonic()
        return _served(state)


def _source() -> _Source:
    # Per request: the settings as one key (tests and reloads change them), the rest memoised.
    key = (
        settings.S3_BUCKET,
        settings.S3_PREFIX,
        settings.RULES_CONFIG_PATH,
        settings.CONDITIONS_CONFIG_PATH,
        settings.RULES_CONFIG_RULESET_NAME,
        settings.RULES_CONFIG_TENANT,
    )
    source = _sources.get(key)
    if source is None:
        source = _sources[key] = _source_make()
    return source


def _source_make() -> _Source:
    bucket = settings.S3_BUCKET
    rules, conditions = str(settings.RULES_CONFIG_PATH), str(settings.CONDITIONS_CONFIG_PATH or "")
    if bucket:
        prefix = f"{settings.S3_PREFIX}/" if settings.S3_PREFIX else ""
        rules = prefix + rules.lstrip("/")
        conditions = prefix + conditions.lstrip("/") if conditions else ""
    return _Source(
        kind=SOURCE_S3 if bucket else SOURCE_FILE,
        bucket=bucket,
        rules=rules,
        conditions=conditions,
        name=_name_check(
            settings.RULES_CONFIG_RULESET_NAME or Path(str(settings.RULES_CONFIG_PATH)).stem
        ),
        tenant=settings.RULES_CONFIG_TENANT,
    )


def _served(state: _State) -> tuple[CompiledRuleset, dict]:
    served = state.served
    if served is not None:
        return served
    error = state.error  # a fresh exception each time: one raised object is shared by threads
    if isinstance(error, RulesetInvalid):
        raise RulesetInvalid(error.problems, heading=error.heading)
    raise type(error)(str(error))


def _refresh(source: _Source, state: _State) -> None:
    stamp = None
    try:
        stamp = _stamp(source)
        if stamp == state.stamp:  # unchanged, or back to the content served
            state.failed_stamp, state.logged = None, ""
            return
        if stamp == state.failed_stamp:
            return
        compiled, identity, stamp = _load(source)
    except (RulesetInvalid, StorageError) as error:
        _failure(source, state, error, stamp)
        return
    where = source.where(source.rules)
    log.info("%s: serving %s %s (semantics original)", where, source.name, identity["version"])
    state.stamp, state.served = stamp, (compiled, identity)
    state.failed_stamp, state.error, state.logged = None, None, ""


def _failure(source: _Source, state: _State, error: ServiceError, stamp) -> None:
    state.failed_stamp = stamp
    if state.served is None:
        state.error = error
    message = str(error)
    if message == state.logged:  # a lasting failure is logged once, not at every check
        return
    state.logged = message
    if state.served is None:
        log.error("%s: nothing to serve: %s", source.where(source.rules), message)
    else:
        log.error(
            "%s: the new content is not served; %s %s, the last good one, still is: %s",
            source.where(source.rules),
            source.name,
            state.served[1]["version"],
            message,
        )


def _locations(source: _Source) -> list[str]:
    return [source.rules, source.conditions] if source.conditions else [source.rules]


def _stamp(source: _Source) -> tuple:
    """What changes when either file changes: (mtime, size) per file, or the objects' ETags."""
    if source.kind == SOURCE_S3:
        client = _s3_client(source)
        return tuple(
            _s3_call(source, key, client.head_object)["ETag"] for key in _locations(source)
        )
    stamps = []
    for location in _locations(source):
        try:
            stat = Path(location).stat()
        except FileNotFoundError as error:
            raise RulesConfigMissing(f"{location}: no such file") from error
        except OSError as error:
            raise StorageError(f"{location}: {error.strerror or error}") from error
        stamps.append((stat.st_mtime_ns, stat.st_size))
    return tuple(stamps)


def _load(source: _Source) -> tuple[CompiledRuleset, dict, tuple]:
    """Read, convert and compile both files; the stamp is the one of the content read."""
    contents, stamps, modified = [], [], []
    for location in _locations(source):
        if source.kind == SOURCE_S3:
            answer = _s3_call(source, location, _s3_client(source).get_object)
            content = _s3_read(source, location, answer)
            stamps.append(answer["ETag"])
            modified.append(answer["LastModified"].astimezone(UTC))
        else:
            path = Path(location)
            try:
                stat = path.stat()
                content = path.read_bytes()
            except FileNotFoundError as error:
                raise RulesConfigMissing(f"{location}: no such file") from error
            except OSError as error:
                raise StorageError(f"{location}: {error.strerror or error}") from error
            stamps.append((stat.st_mtime_ns, stat.st_size))
            modified.append(datetime.fromtimestamp(stat.st_mtime, UTC))
        contents.append(content)
    version = max(modified).strftime(VERSION_FORMAT)
    compiled = _compile(source, contents, version)
    identity = {
        "tenant": source.tenant,
        "ruleset_id": None,
        "name": source.name,
        "version": version,
        "source": source.kind,
    }
    return compiled, identity, tuple(stamps)


def _compile(source: _Source, contents: list[bytes], version: str) -> CompiledRuleset:
    where = source.where(source.rules)
    conditions = (
        f"with CONDITIONS_CONFIG_PATH {source.where(source.conditions)}"
        if source.conditions
        else "CONDITIONS_CONFIG_PATH not set"
    )
    heading = f"{where} (RULES_CONFIG_PATH; {conditions}) cannot be served"
    try:
        # Read as import_rules reads it: the same size limits and input check.
        rules_doc = document_parse(contents[0], label=f"rules file {where}")
        document_size_check(rules_doc, label=f"rules file {where}")
        conditions_doc = None
        if len(contents) > 1:
            label = f"conditions file {source.where(source.conditions)}"
            conditions_doc = document_parse(contents[1], label=label)
            document_size_check(conditions_doc, label=label)
        if detect_format(rules_doc) == "spec":
            message = (
                "the file is in this product's format, not the original's: serve it as a "
                "snapshot (RULES_CONFIG_PATH a folder of <tenant>/<name>/active.json) or import it"
            )
            raise RulesetInvalid([Problem(None, message, "")], heading=heading)
        conversion = spec_from_original(
            rules_doc,
            conditions_doc,
            name=source.name,
            version=version,
            semantics=RulesetSemantics.ORIGINAL.value,
        )
        compiled = compile_ruleset(conversion.spec)
    except (ConversionError, RulesetCompileError) as error:
        raise RulesetInvalid(error.problems, heading=heading) from error
    except RulesetInvalid as error:  # not JSON, or values the input check refuses
        raise RulesetInvalid(error.problems, heading=heading) from error
    except ServiceError as error:  # above the import limits
        raise RulesetInvalid([Problem(None, str(error), "")], heading=heading) from error
    for warning in conversion.warnings:  # what the original logs when it loads the file
        log.warning("%s [%s]: %s", where, warning.path, warning.message)
    return compiled


def _s3_client(source: _Source):
    # Clients are thread-safe and slow to make: one per bucket and endpoint, not one per check.
    key = (source.bucket, settings.AWS_S3_ENDPOINT_URL, settings.AWS_S3_REGION_NAME)
    client = _s3_clients.get(key)
    if client is None:
        client = s3_storage(bucket=source.bucket).connection.meta.client
        _s3_clients[key] = client
    return client


def _s3_call(source: _Source, key: str, call):
    try:
        return call(Bucket=source.bucket, Key=key)
    except ClientError as error:
        text = s3_error_text(error, bucket=source.bucket, key=key)
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            raise RulesConfigMissing(text) from error
        raise StorageError(text) from error
    except BotoCoreError as error:
        raise StorageError(f"s3://{source.bucket}/{key}: {error}") from error


def _s3_read(source: _Source, key: str, answer) -> bytes:
    try:
        return answer["Body"].read()
    except (BotoCoreError, OSError) as error:
        raise StorageError(f"s3://{source.bucket}/{key}: {error}") from error
