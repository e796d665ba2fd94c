"""Export of a ruleset version in the project's JSON format (docs/format.md)."""

import json

from rules.models import Ruleset
from rules.services.compilation import ruleset_spec


def document_bytes(document: dict) -> bytes:
    """The export document as UTF-8 JSON, indented for people and diffs."""
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()


def ruleset_export(*, ruleset: Ruleset) -> dict:
    """The ruleset version in the project's JSON format (docs/format.md)."""
    return ruleset_spec(ruleset)
