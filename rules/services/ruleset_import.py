"""Import of rulesets: the project's JSON format and the original system's files.

An import is all-or-nothing: it reads the document strictly (the input check of
ruleengine.input_check: no NaN, infinities, integers beyond ±(2^53 − 1), lone surrogates or NUL
characters, each reported at its JSON path), converts it with the engine's converters, checks the
whole ruleset with the engine once, and writes the draft in bulk through the editing and
lifecycle services (roles, history, one revision bump) in one transaction that is rolled back on
any problem, on a dry run, and when the content equals the latest version of that name.
Documents above IMPORT_MAX_DOCUMENT_BYTES or with more than IMPORT_MAX_RULES rules are refused
before they are converted: an import runs inside one request, which gunicorn kills at 30 s.
"""

import copy
import json
import re
import sys
from itertools import islice
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from ruleengine.input_check import InputRefused, input_problems, json_text_load
from rules.choices import (
    Capability,
    InputValidation,
    RulesetKind,
    RulesetSemantics,
    RulesetStatus,
)
from rules.engine import Problem, ruleset_problems
from rules.engine.converters import ConversionError, detect_format, spec_from_original
from rules.errors import RulesetInvalid, ServiceError
from rules.models import (
    TEST_CASE_FIELDS,
    Action,
    Condition,
    Pattern,
    Rule,
    RuleCondition,
    Ruleset,
    RulesetTestCase,
)
from rules.selectors.rulesets import version_key
from rules.services import editing, lifecycle
from rules.services.attributes import attributes_bulk_create, attributes_import_plan
from rules.services.compilation import ruleset_spec
from rules.services.decision_import import decision_ruleset_import, dmn_document
from rules.services.import_outcome import ImportReport
from rules.services.tenancy import capability_require

FORMAT_SPEC, FORMAT_FLAT, FORMAT_STRUCTURED = "spec", "flat", "structured"

# Header fields that differ between versions of the same content, so "unchanged" ignores them.
VERSION_ONLY_FIELDS = ("version", "is_default")


# Spec field names -> the original files' names, so problems point into the file as written.
ORIGINAL_RULE_FIELDS = {"rule_id": "id"}
# The model's name for a rule field where the spec (docs/format.md) has another.
SPEC_RULE_FIELDS = {"operator": "condition"}
ORIGINAL_CONDITION_FIELDS = {"operator": "equation", "value": "constant", "name": "condition_name"}
SPEC_PATH = re.compile(r"^(rules|conditions|patterns)\[(\d+)\](?:\.(\w+))?(.*)$")
# The sections whose entries IMPORT_MAX_RULES bounds, in each format's names.
COUNTED_SECTIONS = ("rules", "rules_set", "conditions", "conditions_set", "actions", "patterns")
# A hostile document can hold a problem per value; the first ones say what to fix.
MAX_DOCUMENT_PROBLEMS = 100
HEADING = "The import has problems"


class DocumentTooLarge(ServiceError):
    """A document above the import's limits; the message names the limit and its setting."""

    code = "too_large"


class _RollBack(Exception):
    """Undo the import's writes (dry run, unchanged content) while keeping its report."""

    def __init__(self, report: ImportReport):
        self.report = report


def constant_text(value) -> str:
    """A typed constant as the text the models store; the engine types it back identically."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def document_parse(document, *, label: str = "document"):
    """A JSON document from bytes or text, or as given, checked by the input check.

    Raises DocumentTooLarge above IMPORT_MAX_DOCUMENT_BYTES, and RulesetInvalid for text that is
    not UTF-8 or not JSON (with line and column) and for values the product refuses (with their
    JSON path).
    """
    if isinstance(document, bytes | bytearray | str):
        encoded = document.encode("utf-8", "surrogatepass") if isinstance(document, str) else None
        size = len(document if encoded is None else encoded)
        limit = settings.IMPORT_MAX_DOCUMENT_BYTES
        if size > limit:
            raise DocumentTooLarge(
                f"The {label} is {size:,} bytes; an import takes at most {limit:,} bytes "
                "(IMPORT_MAX_DOCUMENT_BYTES)."
            )
        document = _document_read(document, label)
    problems = [
        Problem(None, message, path)
        for path, message in islice(
            input_problems(
                document,
                where="",
                max_bytes=None,
                max_string_length=None,
                # Documents are read by the json module, which keeps integers exact; only those
                # beyond 2^53 (and floats that are no numbers) are refused.
                float_limit=sys.float_info.max,
            ),
            MAX_DOCUMENT_PROBLEMS,
        )
    ]
    if problems:
        raise RulesetInvalid(problems, heading=HEADING)
    return document


def _document_read(document, label: str):
    try:
        if not (document.strip() if isinstance(document, str) else bytes(document).strip()):
            message = f"the {label} is empty"
        else:
            return json_text_load(document)
    except UnicodeDecodeError as error:
        message = f"the {label} is not UTF-8 text: {error.reason} at byte {error.start:,}"
    except json.JSONDecodeError as error:
        message = (
            f"malformed JSON in the {label}: {error.msg} (line {error.lineno}, "
            f"column {error.colno})"
        )
        if error.pos == len(error.doc) - len(error.doc.lstrip()):
            message += "; imports read JSON documents (docs/format.md), not YAML or other formats"
    except InputRefused as error:
        message = f"the {label} is {error.message}"
    raise RulesetInvalid([Problem(None, message, "")], heading=HEADING)


def document_size_check(document, *, label: str = "document") -> None:
    """Raise DocumentTooLarge when a section holds more than IMPORT_MAX_RULES entries."""
    if not isinstance(document, dict):
        return
    limit = settings.IMPORT_MAX_RULES
    for section in COUNTED_SECTIONS:
        entries = document.get(section)
        if isinstance(entries, list | dict) and len(entries) > limit:
            noun = "rules" if section.startswith("rules") else f"entries in {section!r}"
            raise DocumentTooLarge(
                f"The {label} has {len(entries):,} {noun}; an import takes at most {limit:,} "
                "(IMPORT_MAX_RULES). Split it into several rulesets."
            )


def ruleset_import(
    *,
    tenant,
    actor,
    document,
    conditions_document=None,
    name: str | None = None,
    version: str | None = None,
    activate: bool = False,
    dry_run: bool = False,
    semantics: str | None = None,
    strict: bool = False,
    filename: str | None = None,
) -> ImportReport:
    """Import a ruleset document (spec, flat or structured) as a new draft version.

    `version` overrides the document's; a version that does not exist yet is created even when
    the content equals the latest version (otherwise equal content reports `unchanged`).
    `semantics` overrides the document's (a spec's header; `original` for the original's files);
    `strict` makes every warning about an original file an error.
    Raises RulesetInvalid listing every problem with its location; nothing is written then.
    A DMN file (XML, or `filename` ending in .dmn / .xml) becomes a decision-table ruleset
    (services/decision_import.py).
    Without `name`, a ruleset document and a DMN file keep the name they carry; the original's
    files, which carry none, are named after `filename` (a path, an upload's or an S3 key).
    """
    capability_require(actor=actor, tenant=tenant, capability=Capability.EDIT)
    if dmn_document(document, filename=filename):
        return decision_ruleset_import(
            tenant=tenant,
            actor=actor,
            document=document,
            name=name,
            version=version,
            activate=activate,
            dry_run=dry_run,
            semantics=semantics,
        )
    document = document_parse(document, label="rules document")
    document_size_check(document, label="rules document")
    if conditions_document is None and _is_structured_with_catalog(document):
        # The structured format is two files; one object may hold both (the API takes that).
        conditions_document = {"conditions_set": document["conditions_set"]}
        document = {key: value for key, value in document.items() if key != "conditions_set"}
    if conditions_document is not None:
        conditions_document = document_parse(conditions_document, label="conditions document")
        document_size_check(conditions_document, label="conditions document")
    source_format, spec, conversion = _spec_from_document(
        document, conditions_document, name, version, semantics, filename
    )
    problems = []
    if conversion is not None and strict:
        problems = [
            Problem(w.rule_id, w.message + " (an error with --strict)", w.path)
            for w in conversion.warnings
        ]
    # The engine's checks run once, on the whole spec: the bulk writes below skip the per-rule
    # ones the admin's single saves make (Rule.clean, Condition.clean).
    problems += [_in_source(problem, source_format, spec) for problem in ruleset_problems(spec)]
    if problems:
        raise RulesetInvalid(problems, heading=HEADING)
    report = ImportReport(
        format=source_format,
        name=spec["ruleset"]["name"],
        version=spec["ruleset"].get("version") or "1.0",
        dry_run=dry_run,
        semantics=spec["ruleset"].get("semantics") or RulesetSemantics.STRICT.value,
    )
    if conversion is not None:
        report.normalisations = conversion.notes
        report.warnings = conversion.warnings
        report.generated_rule_ids = conversion.generated_rule_ids
    try:
        with transaction.atomic():
            _import_write(tenant, actor, spec, source_format, report, version, activate)
            if dry_run or report.unchanged:
                raise _RollBack(report)
    except _RollBack:
        # The draft was only tentative; the report still says what it would have created.
        report.created = None
    if report.unchanged and activate and not dry_run:
        existing = report.existing
        if existing.status != RulesetStatus.ACTIVE:
            lifecycle.ruleset_activate(ruleset_id=existing.pk, actor=actor)
            report.activated = True
    return report


def _is_structured_with_catalog(document) -> bool:
    return isinstance(document, dict) and "rules_set" in document and "conditions_set" in document


def _name_from_filename(filename: str | None) -> str | None:
    """An original file's default name: its file name without the extension ("-" is stdin)."""
    if not filename or filename == "-":
        return None
    return PurePosixPath(filename.replace("\\", "/")).stem or None


def _spec_from_document(document, conditions_document, name, version, semantics, filename):
    """(format, spec, conversion of an original file or None)."""
    try:
        source_format = detect_format(document)
        if source_format == FORMAT_SPEC:
            spec = copy.deepcopy(document)
            header = spec.get("ruleset")
            if isinstance(header, dict):
                if name:
                    header["name"] = name
                if version:
                    header["version"] = version
                if semantics:
                    header["semantics"] = semantics
            # docs/format.md: every section but "ruleset" is optional.
            for section in ("rules", "conditions", "actions", "patterns"):
                spec[section] = spec.get(section) or []
            return source_format, spec, None
        name = name or _name_from_filename(filename)
        if not name:
            raise RulesetInvalid(
                [Problem(None, "the original system's files have no name; give one (--name)", "")],
                heading=HEADING,
            )
        conversion = spec_from_original(
            document,
            conditions_document,
            name=name,
            version=version or "1.0",
            semantics=semantics or RulesetSemantics.ORIGINAL.value,
        )
        return (
            FORMAT_STRUCTURED if conversion.structured else FORMAT_FLAT,
            conversion.spec,
            conversion,
        )
    except ConversionError as error:
        raise RulesetInvalid(error.problems, heading=HEADING) from error


def _in_source(problem: Problem, source_format: str, spec: dict) -> Problem:
    """The problem with its path translated from the spec into the original file."""
    match = SPEC_PATH.match(problem.path or "")
    if source_format == FORMAT_SPEC or not match:
        return problem
    section, index, field_name, rest = match.groups()
    index = int(index)
    if section == "patterns":
        path = f"patterns.{spec['patterns'][index].get('pattern_key')}"
    elif section == "rules":
        path = f"rules_set[{index}]"
        if field_name:
            path += f".{ORIGINAL_RULE_FIELDS.get(field_name, field_name)}{rest}"
    else:
        path = f"conditions_set[{index}]"
        if field_name:
            path += f".{ORIGINAL_CONDITION_FIELDS.get(field_name, field_name)}{rest}"
    return Problem(problem.rule_id, problem.message, path)


def _validation_problems(
    error: ValidationError, *, path: str, rule_id=None, fields: dict | None = None
) -> list[Problem]:
    """A model's ValidationError as problems at `path`; `fields` renames model fields."""
    fields = fields or {}
    if hasattr(error, "error_dict"):
        return [
            Problem(
                rule_id, message, f"{path}.{fields.get(name, name)}" if name != "__all__" else path
            )
            for name, messages in error.message_dict.items()
            for message in messages
        ]
    return [Problem(rule_id, message, path) for message in error.messages]


def _import_write(tenant, actor, spec, source_format, report, requested_version, activate):
    header = spec["ruleset"]
    name = header["name"]
    versions = list(
        Ruleset.objects.select_for_update().filter(tenant=tenant, name=name).order_by("pk")
    )
    if any(v.kind == RulesetKind.DECISION_TABLE for v in versions):
        raise RulesetInvalid(
            [
                Problem(
                    None,
                    f"{name} is a decision-table ruleset; a scoring document cannot be a version "
                    "of it. Import it under another name",
                    "ruleset.name",
                )
            ],
            heading=HEADING,
        )
    taken = {v.version for v in versions}
    latest = max(versions, key=lambda v: version_key(v.version)) if versions else None
    wanted = header.get("version") or ("1.0" if latest is None else None)
    if wanted and wanted not in taken:
        report.version = wanted
    else:
        # Tentative: if the content turns out unchanged, this draft is rolled back.
        report.version = lifecycle.next_free_version(latest.version, taken)
    problems: list[Problem] = []

    try:
        ruleset = editing.ruleset_create(
            tenant=tenant,
            actor=actor,
            name=name,
            version=report.version,
            description=header.get("description") or "",
            tags=header.get("tags") or [],
            metadata=header.get("metadata") or {},
            semantics=header.get("semantics") or RulesetSemantics.STRICT.value,
            default_recommendation=header.get("default_recommendation") or "",
            input_validation=header.get("input_validation") or InputValidation.OFF.value,
        )
    except ValidationError as error:
        raise RulesetInvalid(
            _validation_problems(error, path="ruleset"), heading=HEADING
        ) from error

    conditions, new_conditions = _catalog_entries(
        tenant, Condition, "condition_id", spec["conditions"], source_format, problems
    )
    actions, new_actions = _catalog_entries(
        tenant, Action, "action_id", spec["actions"], source_format, problems
    )
    rules, links = _rules_build(ruleset, spec, conditions, source_format, problems)
    patterns = _patterns_build(ruleset, spec, actions, source_format, problems)
    # The tenant's catalog gains the document's attributes it lacks; differing ones are reported.
    new_attributes, attribute_warnings, attribute_problems = attributes_import_plan(
        tenant=tenant, entries=spec.get("attributes")
    )
    problems += attribute_problems
    report.warnings = [*report.warnings, *attribute_warnings]
    # Documents carry no test cases (docs/format.md): a new version of a known name keeps the
    # latest version's, so the activation gate still checks what an import changes.
    copies = _test_case_copies(source=latest, draft=ruleset, problems=problems) if latest else []
    if problems:
        raise RulesetInvalid(problems, heading=HEADING)

    reason = f"import ({source_format} format)"
    editing.catalog_entries_bulk_create(
        tenant=tenant,
        entries=[*new_conditions, *new_actions],
        actor=actor,
        change_reason=reason,
        checked=True,  # above, with each problem at its path
    )
    attributes_bulk_create(
        tenant=tenant, attributes=new_attributes, actor=actor, change_reason=reason
    )
    editing.ruleset_parts_bulk_create(
        ruleset=ruleset,
        actor=actor,
        rules=rules,
        rule_conditions=links,
        patterns=patterns,
        test_cases=copies,
        change_reason=reason,
        checked=True,  # above, with each problem at its path
    )
    report.counts = {
        "rules": len(spec["rules"]),
        "patterns": len(spec["patterns"]),
        "conditions": len(new_conditions),
        "actions": len(new_actions),
        "conditions_reused": len(spec["conditions"]) - len(new_conditions),
        "actions_reused": len(spec["actions"]) - len(new_actions),
        "test_cases": len(copies),
    }
    if spec.get("attributes"):
        report.counts["attributes"] = len(new_attributes)
        report.counts["attributes_reused"] = len(spec["attributes"]) - len(new_attributes)
    # A version asked for by name that does not exist yet is created even with the latest's
    # content: reporting "unchanged" instead would silently drop the caller's version.
    version_new = bool(requested_version) and requested_version not in taken
    if (
        latest is not None
        and not version_new
        and _same_content(ruleset_spec(ruleset), ruleset_spec(latest))
    ):
        report.unchanged, report.existing, report.version = True, latest, latest.version
        return
    if requested_version and requested_version in taken:
        raise RulesetInvalid(
            [
                Problem(
                    None,
                    f"{name} {requested_version} exists with different content; import without "
                    "a version to create the next draft version",
                    "ruleset.version",
                )
            ],
            heading=HEADING,
        )
    report.created = ruleset
    if activate:
        ruleset = lifecycle.ruleset_activate(ruleset_id=ruleset.pk, actor=actor)
        if header.get("is_default"):
            lifecycle.ruleset_set_default(ruleset_id=ruleset.pk, actor=actor)
        report.created = ruleset
        report.activated = True


def _rules_build(ruleset, spec, conditions, source_format, problems):
    """The spec's rules and their catalog links as unsaved parts; field errors into `problems`."""
    rules, links = [], []
    for index, rule in enumerate(spec["rules"]):
        fields = {
            "rule_id": rule["rule_id"],
            "rule_name": rule.get("rule_name") or "",
            "message": rule.get("message") or rule.get("description") or "",
            "weight": rule.get("weight", 1.0),
            "rule_point": rule.get("rule_point", 0),
            "priority": rule.get("priority", 0),
            # Equal priorities run in file order.
            "position": index,
            "action_result": rule.get("action_result", "Y"),
            "status": rule.get("status") or "active",
            "tags": rule.get("tags") or [],
            "metadata": rule.get("metadata") or {},
        }
        linked = []
        if rule.get("conditions") is not None:
            fields["condition_mode"] = rule["conditions"]["mode"]
            linked = [
                conditions[item] for item in rule["conditions"]["items"] if item in conditions
            ]
        else:
            fields.update(
                attribute=rule["attribute"],
                operator=rule["condition"],
                constant=constant_text(rule.get("constant")),
            )
        part = Rule(ruleset=ruleset, **fields)
        errors = editing.bulk_field_errors(part)
        if errors:
            path = _in_source(Problem(None, "", f"rules[{index}]"), source_format, spec).path
            problems += _validation_problems(
                ValidationError(errors), path=path, rule_id=rule["rule_id"], fields=SPEC_RULE_FIELDS
            )
        seen = set()
        for position, condition in enumerate(linked):
            if condition.condition_id in seen:
                item_path = f"rules[{index}].conditions.items[{position}]"
                problems.append(
                    Problem(
                        rule["rule_id"],
                        f"catalog condition {condition.condition_id} is listed twice",
                        _in_source(Problem(None, "", item_path), source_format, spec).path,
                    )
                )
            seen.add(condition.condition_id)
            links.append(RuleCondition(rule=part, condition=condition, position=position))
        rules.append(part)
    return rules, links


def _patterns_build(ruleset, spec, actions, source_format, problems) -> list[Pattern]:
    patterns = []
    for index, pattern in enumerate(spec["patterns"]):
        part = Pattern(
            ruleset=ruleset,
            pattern_key=pattern["pattern_key"],
            action_recommendation=pattern["action_recommendation"],
            action=actions.get(pattern.get("action")),
            description=pattern.get("description") or "",
        )
        errors = editing.bulk_field_errors(part)
        if errors:
            path = _in_source(Problem(None, "", f"patterns[{index}]"), source_format, spec).path
            problems += _validation_problems(ValidationError(errors), path=path)
        patterns.append(part)
    return patterns


def _test_case_copies(*, source: Ruleset, draft: Ruleset, problems) -> list[RulesetTestCase]:
    """Unsaved copies of the test cases of `source` for `draft`; field errors into `problems`.

    Their inputs are copied as stored, like a new version's (lifecycle): the input check guards
    what enters, and an active version's test cases could not be corrected to pass it.
    """
    copies = []
    for case in RulesetTestCase.objects.filter(ruleset=source).order_by("pk"):
        copy_ = RulesetTestCase(
            ruleset=draft, **{name: getattr(case, name) for name in TEST_CASE_FIELDS}
        )
        for field_name, messages in editing.bulk_field_errors(
            copy_, exclude=["input_data"]
        ).items():
            problems += [
                Problem(
                    None,
                    f"test case {case.name!r} of {source.name} {source.version}, copied into the "
                    f"new version: {message}",
                    f"test_cases.{field_name}",
                )
                for message in messages
            ]
        copies.append(copy_)
    return copies


def _same_content(new: dict, old: dict) -> bool:
    new, old = copy.deepcopy(new), copy.deepcopy(old)
    for header in (new["ruleset"], old["ruleset"]):
        for key in VERSION_ONLY_FIELDS:
            header.pop(key, None)
    return new == old


def _catalog_fields(model, entry: dict) -> dict:
    key = "condition_id" if model is Condition else "action_id"
    fields = {
        # The catalog requires a name; the original conditions files often have none.
        "name": entry.get("name") or entry[key],
        "description": entry.get("description") or "",
        "status": entry.get("status") or "active",
        "tags": entry.get("tags") or [],
        "metadata": entry.get("metadata") or {},
    }
    if model is Condition:
        fields.update(
            attribute=entry["attribute"],
            operator=entry["operator"],
            value=constant_text(entry.get("value")),
        )
    else:
        fields.update(
            action_type=entry.get("action_type") or "",
            configuration=entry.get("configuration") or {},
        )
    return fields


def _catalog_entries(tenant, model, id_field, entries, source_format, problems):
    """Catalog entries by id, and the new ones (unsaved): identical existing ones are reused.

    An existing entry with the same id but other content is a problem, never overwritten: it may
    be used by published versions, whose meaning must not change.
    """
    section = "conditions" if model is Condition else "actions"
    existing = {
        getattr(entry, id_field): entry
        for entry in model.objects.for_tenant(tenant).filter(
            **{f"{id_field}__in": [e[id_field] for e in entries]}
        )
    }
    by_id, new = {}, []
    for index, entry in enumerate(entries):
        entry_id = entry[id_field]
        fields = _catalog_fields(model, entry)
        path = _in_source(Problem(None, "", f"{section}[{index}]"), source_format, {}).path
        current = existing.get(entry_id)
        if current is not None:
            differing = [name for name, value in fields.items() if getattr(current, name) != value]
            if differing:
                problems.append(
                    Problem(
                        None,
                        f"catalog {model._meta.verbose_name} {entry_id} exists in tenant "
                        f"{tenant.slug} with different {', '.join(differing)}; give the new "
                        "one another id",
                        path,
                    )
                )
            by_id[entry_id] = current
            continue
        candidate = model(tenant=tenant, **{id_field: entry_id}, **fields)
        errors = editing.bulk_field_errors(candidate)
        if errors:
            problems += _validation_problems(ValidationError(errors), path=path)
            continue
        by_id[entry_id] = candidate
        new.append(candidate)
    return by_id, new
