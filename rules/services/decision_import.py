"""Import of DMN files (DMN 1.1, 1.2, 1.3 XML; Camunda Modeler's too) as decision-table rulesets.

`ruleset_import` hands a document here when it is XML (`dmn_document`), so `manage.py
import_rules`, the admin's upload and `POST /api/v1/rulesets/import` share it. All or nothing, as
the JSON import: XML that cannot be read (naming the element and line), a model with problems
(naming the decision, row and cell) or more rows than IMPORT_MAX_RULES writes nothing.
"""

import re
import unicodedata
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from rules.choices import Capability, RulesetKind, RulesetSemantics, RulesetStatus
from rules.engine import WARNING, Problem, dmn
from rules.errors import RulesetInvalid
from rules.models import TEST_CASE_FIELDS, DecisionModel, Ruleset, RulesetTestCase
from rules.selectors.rulesets import version_key
from rules.services import editing, lifecycle
from rules.services.decision_models import (
    decision_model_create,
    dmn_document_read,
    dmn_row_count,
)
from rules.services.import_outcome import ImportReport
from rules.services.tenancy import capability_require

FORMAT_DMN = "dmn"
HEADING = "The DMN file has problems"
XML_SUFFIXES = (".dmn", ".xml")
_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_.\-]+")
NAME_LIMIT = 100


@dataclass(kw_only=True)
class DecisionImportReport(ImportReport):
    """An ImportReport of a DMN file, with the DMN version and the decisions imported."""

    format: str = FORMAT_DMN
    dmn_version: str = ""
    # One line per decision: "Dish Decision: table UNIQUE, 2 inputs, 1 output, 3 rows".
    decisions: list = field(default_factory=list)


class _RollBack(Exception):
    def __init__(self, report):
        self.report = report


def dmn_document(document, *, filename: str | None = None) -> bool:
    """Whether an import document is a DMN (XML) file: its name ends in .dmn or .xml, or its
    text starts with '<' after a byte-order mark and whitespace."""
    if filename and filename.lower().endswith(XML_SUFFIXES):
        return True
    if isinstance(document, str):
        return document.lstrip("\ufeff \t\r\n").startswith("<")
    if isinstance(document, bytes | bytearray):
        head = bytes(document[:4096])
        for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
            if head.startswith(bom):
                head = head[len(bom) :]
                break
        head = head.replace(b"\x00", b"")  # UTF-16 read byte by byte
        return head.lstrip(b" \t\r\n").startswith(b"<")
    return False


def ruleset_name_from_definitions(definitions: dmn.Definitions) -> str:
    """The definitions' name (else id) as a ruleset name: letters, digits, '_', '.', '-'."""
    for candidate in (definitions.name, definitions.id):
        text = unicodedata.normalize("NFKD", candidate or "").encode("ascii", "ignore").decode()
        text = _NOT_IDENTIFIER.sub("_", text).strip("_.-")
        if text:
            return text[:NAME_LIMIT]
    return ""


def _decision_line(decision: dmn.Decision) -> str:
    logic = decision.logic
    if isinstance(logic, dmn.DecisionTable):
        policy = logic.hit_policy + (f" {logic.aggregation}" if logic.aggregation else "")
        return (
            f"{decision.name}: decision table {policy}, {len(logic.inputs)} inputs, "
            f"{len(logic.outputs)} outputs, {len(logic.rules)} rows"
        )
    if isinstance(logic, dmn.LiteralExpression):
        return f"{decision.name}: literal expression {logic.text}"
    return f"{decision.name}: no decision logic"


def _counts(definitions: dmn.Definitions) -> dict:
    tables = [d.logic for d in definitions.decisions if isinstance(d.logic, dmn.DecisionTable)]
    return {
        "decisions": len(definitions.decisions),
        "decision_tables": len(tables),
        "rows": dmn_row_count(definitions),
        "literal_expressions": sum(
            isinstance(d.logic, dmn.LiteralExpression) for d in definitions.decisions
        ),
        "input_data": len(definitions.input_data),
    }


def _read(document) -> tuple[dmn.Definitions, str]:
    definitions = dmn_document_read(document, heading=HEADING)
    try:
        version = dmn.dmn_version(
            document.encode("utf-8") if isinstance(document, str) else document
        )
    except Exception:  # noqa: BLE001 - the version only labels the report
        version = ""
    return definitions, version or ""


def decision_ruleset_import(
    *,
    tenant,
    actor,
    document,
    name: str | None = None,
    version: str | None = None,
    activate: bool = False,
    dry_run: bool = False,
    semantics: str | None = None,
) -> DecisionImportReport:
    """Import a DMN file as a new draft decision-table ruleset version.

    The name is `name`, else the definitions' name (or id) made an identifier. A DMN file of a
    name whose latest version has the same model reports `unchanged`, unless `version` is new.
    Raises RulesetInvalid listing every problem (elements, cells); nothing is written then.
    """
    capability_require(actor=actor, tenant=tenant, capability=Capability.EDIT)
    definitions, source_version = _read(document)
    semantics = semantics or RulesetSemantics.STRICT.value
    counts = _counts(definitions)
    problems = dmn.definitions_problems(definitions, semantics=semantics)
    errors = [p for p in problems if p.severity != WARNING]
    if errors:
        raise RulesetInvalid(errors, heading=HEADING)
    name = name or ruleset_name_from_definitions(definitions)
    if not name:
        raise RulesetInvalid(
            [Problem(None, "the definitions have neither a name nor an id; give one (--name)", "")],
            heading=HEADING,
        )
    report = DecisionImportReport(
        name=name,
        version=version or "1.0",
        dry_run=dry_run,
        semantics=semantics,
        counts={**counts, "test_cases": 0},
        warnings=[p for p in problems if p.severity == WARNING],
        dmn_version=source_version,
        decisions=[_decision_line(decision) for decision in definitions.decisions],
    )
    try:
        with transaction.atomic():
            _write(tenant, actor, definitions, report, version, activate)
            if dry_run or report.unchanged:
                raise _RollBack(report)
    except _RollBack:
        report.created = None
    if report.unchanged and activate and not dry_run:
        existing = report.existing
        if existing.status != RulesetStatus.ACTIVE:
            lifecycle.ruleset_activate(ruleset_id=existing.pk, actor=actor)
            report.activated = True
    return report


def _write(tenant, actor, definitions, report, requested_version, activate) -> None:
    name = report.name
    versions = list(
        Ruleset.objects.select_for_update().filter(tenant=tenant, name=name).order_by("pk")
    )
    scoring = [v for v in versions if v.kind != RulesetKind.DECISION_TABLE]
    if scoring:
        raise RulesetInvalid(
            [
                Problem(
                    None,
                    f"{name} is a scoring ruleset; a DMN file cannot be a version of it. Import "
                    "it under another name (--name)",
                    "ruleset.name",
                )
            ],
            heading=HEADING,
        )
    taken = {v.version for v in versions}
    latest = max(versions, key=lambda v: version_key(v.version)) if versions else None
    if requested_version and requested_version in taken:
        if _same_model(_version_of(versions, requested_version), definitions):
            existing = _version_of(versions, requested_version)
            report.unchanged, report.existing, report.version = True, existing, existing.version
            return
        raise RulesetInvalid(
            [
                Problem(
                    None,
                    f"{name} {requested_version} exists with a different model; import without "
                    "a version to create the next draft version",
                    "ruleset.version",
                )
            ],
            heading=HEADING,
        )
    if not requested_version and latest is not None and _same_model(latest, definitions):
        report.unchanged, report.existing, report.version = True, latest, latest.version
        return
    if requested_version:
        report.version = requested_version
    elif latest is None:
        report.version = "1.0"
    else:
        report.version = lifecycle.next_free_version(latest.version, taken)
    reason = "import (DMN file)"
    try:
        ruleset = editing.ruleset_save(
            ruleset=Ruleset(
                tenant=tenant,
                name=name,
                version=report.version,
                kind=RulesetKind.DECISION_TABLE,
                semantics=report.semantics,
                description=definitions.name or "",
            ),
            actor=actor,
        )
    except ValidationError as error:
        raise RulesetInvalid(
            [
                Problem(None, message, f"ruleset.{field_name}")
                for field_name, messages in error.message_dict.items()
                for message in messages
            ],
            heading=HEADING,
        ) from error
    decision_model_create(
        ruleset=ruleset, definitions=definitions, actor=actor, change_reason=reason
    )
    # A new version of a known name keeps the latest version's test cases, as JSON imports do,
    # so activation still checks what the new file changes.
    copies = []
    if latest is not None:
        copies = [
            RulesetTestCase(ruleset=ruleset, **{f: getattr(case, f) for f in TEST_CASE_FIELDS})
            for case in RulesetTestCase.objects.filter(ruleset=latest).order_by("pk")
        ]
        if copies:
            editing.ruleset_parts_bulk_create(
                ruleset=ruleset, actor=actor, test_cases=copies, change_reason=reason
            )
    report.counts["test_cases"] = len(copies)
    report.created = ruleset
    if activate:
        report.created = lifecycle.ruleset_activate(ruleset_id=ruleset.pk, actor=actor)
        report.activated = True


def _version_of(versions: list[Ruleset], version: str) -> Ruleset:
    return next(v for v in versions if v.version == version)


def _same_model(ruleset: Ruleset, definitions: dmn.Definitions) -> bool:
    stored = (
        DecisionModel.objects.filter(ruleset=ruleset).values_list("definitions", flat=True).first()
    )
    if stored is None:
        return False
    # Compare as the engine reads them (diagram shapes do not count: Definitions ignores them).
    return dmn.definitions_from_dict(stored) == definitions


def decision_import_report_lines(report: DecisionImportReport) -> list[str]:
    """The report as lines of text (import_report.import_report_lines hands DMN reports here)."""
    counts = report.counts or {}
    parts = (
        f"{counts.get('decisions', 0)} decisions ({counts.get('decision_tables', 0)} decision "
        f"tables with {counts.get('rows', 0)} rows, {counts.get('literal_expressions', 0)} "
        "literal expressions)"
    )
    source = f"DMN {report.dmn_version}" if report.dmn_version else "DMN"
    if report.unchanged:
        line = (
            f"Unchanged: {report.name} {report.version} ({report.existing.status}) already "
            "has this model; nothing created."
        )
        if report.activated:
            line += f" Activated {report.name} {report.version}."
    elif report.dry_run:
        line = (
            f"Dry run ({source}): would create draft decision-table ruleset {report.name} "
            f"{report.version} with {parts}"
            + (" and activate it" if report.activated else "")
            + ". Nothing was written."
        )
    else:
        status = "active" if report.activated else "draft"
        line = (
            f"Imported {source} as decision-table ruleset {report.name} {report.version} "
            f"({status}): {parts}."
        )
        if counts.get("test_cases"):
            line += f" {counts['test_cases']} test cases copied from the previous version."
    lines = [line, f"Semantics: {report.semantics}."]
    lines += [f"  - {decision}" for decision in report.decisions]
    if report.warnings:
        lines.append(f"Warnings ({len(report.warnings)}):")
        for warning in report.warnings:
            where = f"{warning.path}: " if warning.path else ""
            lines.append(f"  - {where}{warning.message}")
    return lines
