"""Export of a ruleset version in the project's JSON format (docs/format.md)."""

import json

from rules.models import Ruleset
from rules.selectors.decision_models import ruleset_is_decision_table
from rules.services.attributes import ruleset_attributes_export
from rules.services.compilation import ruleset_spec
from rules.services.decision_models import decision_model_xml, decision_ruleset_document


def document_bytes(document: dict) -> bytes:
    """The export document as UTF-8 JSON, indented for people and diffs."""
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()


def ruleset_export(*, ruleset: Ruleset) -> dict:
    """The ruleset version in the project's JSON format (docs/format.md).

    With the catalog entries of the attributes it reads (`attributes`), when the tenant's
    catalog has any: imports create the ones a tenant lacks.
    """
    if ruleset_is_decision_table(ruleset):
        return decision_ruleset_document(ruleset)
    document = ruleset_spec(ruleset)
    attributes = ruleset_attributes_export(ruleset)
    if attributes:
        document["attributes"] = attributes
    return document


def ruleset_export_file(*, ruleset: Ruleset) -> tuple[bytes, str, str]:
    """The version as a file to download or write: (content, media type, file suffix).

    DMN 1.3 XML for a decision-table ruleset, the JSON document (ruleset_export) otherwise.
    """
    if ruleset_is_decision_table(ruleset):
        return decision_model_xml(ruleset).encode(), "application/xml", ".dmn"
    return document_bytes(ruleset_export(ruleset=ruleset)), "application/json", ".json"
