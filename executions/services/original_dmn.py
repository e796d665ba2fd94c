"""The original's `POST /rules/execute-dmn` with `dmn_content`: DMN XML sent in the body.

The XML is read, checked and compiled once per content (clients resend the same file on every
call): the compiled models sit in a small LRU keyed by the content's SHA-256. Cells are read with
the original's semantics (an unquoted word that is no known name is a string, as its dmn_parser
read it). Nothing is stored but the log row of each evaluation, which names the model by its
definitions' name and `sha256:<first 12 hex digits>` as the version.
"""

import hashlib
import threading
from collections import OrderedDict

from rules.engine import dmn
from rules.services.decision_import import ruleset_name_from_definitions

CACHE_SIZE = 32
CONTENT_SOURCE = "dmn_content"
_cache: OrderedDict[str, tuple] = OrderedDict()
_cache_lock = threading.Lock()


class DmnContentInvalid(Exception):
    """The XML cannot be run: `code` is the original's error code (DMN_PARSE_ERROR for XML that
    is no DMN model, DMN_INVALID for a model with problems), `problems` name element or cell."""

    def __init__(self, code: str, message: str, problems: list):
        super().__init__(message)
        self.code = code
        self.problems = problems


def _problem_list(problems) -> str:
    return "; ".join(str(problem) for problem in problems)


def _compile(content: str, digest: str) -> tuple:
    try:
        definitions = dmn.read_dmn(content.encode("utf-8"))
    except dmn.DmnImportError as error:
        raise DmnContentInvalid(
            "DMN_PARSE_ERROR",
            f"Failed to parse DMN: {_problem_list(error.problems)}",
            list(error.problems),
        ) from error
    errors = [
        problem
        for problem in dmn.definitions_problems(definitions, semantics=dmn.ORIGINAL)
        if problem.severity != dmn.WARNING
    ]
    if not errors:
        try:
            compiled = dmn.compile_definitions(definitions, semantics=dmn.ORIGINAL)
        except dmn.DmnCompileError as error:
            errors = list(error.problems)
    if errors:
        raise DmnContentInvalid(
            "DMN_INVALID", f"The DMN model has problems: {_problem_list(errors)}", errors
        )
    identity = {
        "ruleset_id": None,
        "name": ruleset_name_from_definitions(definitions) or CONTENT_SOURCE,
        "version": f"sha256:{digest[:12]}",
        "source": CONTENT_SOURCE,
    }
    return compiled, identity


def dmn_content_compiled(content: str) -> tuple[dmn.CompiledDefinitions, dict]:
    """(compiled model, identity for the log row) of DMN XML; raises DmnContentInvalid."""
    digest = hashlib.sha256(content.encode("utf-8")).hexdigest()
    with _cache_lock:
        hit = _cache.get(digest)
        if hit is not None:
            _cache.move_to_end(digest)
            return hit[0], dict(hit[1])
    compiled, identity = _compile(content, digest)  # outside the lock: parsing takes time
    with _cache_lock:
        _cache[digest] = (compiled, identity)
        _cache.move_to_end(digest)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return compiled, dict(identity)


def dmn_content_cache_clear() -> None:
    with _cache_lock:
        _cache.clear()
