"""Import of the original system's rule tables (read from its database) as rulesets here.

The rows of khoantd/rule-engine's tables (common/db_models.py and its Alembic migrations:
rulesets, rules, conditions, actions, patterns, attributes) come in as plain dicts; the caller
reads them. Each ruleset is turned into the document the original's own loader builds from those
tables (rules.services.original_tables) and goes through the same conversion and import as an
original file (engine.converters.spec_from_original, then ruleset_import), with
`semantics=original`. What the tables hold beyond that document (descriptions, tags, metadata,
rule statuses, actions linked to patterns) is added to the converted spec before the import.

Everything here runs in one transaction, committed at the end or rolled back on a dry run; each
ruleset in a savepoint of its own, so one that fails leaves nothing behind and is reported while
the others go in. A ruleset whose name and version exist in its tenant, and a catalog entry
whose id exists there, are left as they are ("already present"): a second run creates nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from rules.choices import AttributeType, Capability, RulesetSemantics, RulesetStatus
from rules.engine.converters import ConversionError, spec_from_original
from rules.errors import RulesetInvalid, ServiceError, problem_text
from rules.models import Action, Attribute, Condition, Ruleset, Tenant
from rules.services import editing, lifecycle
from rules.services.attributes import attribute_field_errors, attributes_bulk_create
from rules.services.original_tables import (
    ACTIVE,
    OriginalRuleTables,
    action_fields,
    condition_fields,
    json_list,
    json_object,
    original_conditions_document,
    original_ruleset_document,
    spec_actions,
    spec_condition,
)
from rules.services.ruleset_import import ruleset_import
from rules.services.tenancy import capability_require, tenant_create

TABLES = ("tenants", "rulesets", "rules", "conditions", "actions", "patterns", "attributes")
TENANT_SLUG = re.compile(r"^[-a-zA-Z0-9_]+\Z")
# services/attributes_management.ATTRIBUTE_DATA_TYPES -> AttributeType; `object` has no peer.
ATTRIBUTE_TYPES = {
    "string": AttributeType.STRING,
    "number": AttributeType.NUMBER,
    "integer": AttributeType.INTEGER,
    "boolean": AttributeType.BOOLEAN,
    "date": AttributeType.DATE,
    "array": AttributeType.LIST,
}
# The transitions that reproduce each original status from a new draft.
STATUS_PATHS = {
    RulesetStatus.DRAFT: (),
    RulesetStatus.ACTIVE: (RulesetStatus.ACTIVE,),
    RulesetStatus.INACTIVE: (RulesetStatus.ACTIVE, RulesetStatus.INACTIVE),
    RulesetStatus.DEPRECATED: (RulesetStatus.ACTIVE, RulesetStatus.DEPRECATED),
    RulesetStatus.ARCHIVED: (RulesetStatus.ARCHIVED,),
}


@dataclass
class TableCounts:
    """What happened to the rows of one table: read, created, already present, skipped."""

    read: int = 0
    created: int = 0
    present: int = 0
    # (row id, reason, how many rows, refused): refused rows are failures; the others were not
    # selected or follow a failure counted elsewhere.
    skipped: list[tuple] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def skip(self, row_id, reason: str, count: int = 1, *, refused: bool = True) -> None:
        self.skipped.append((row_id, reason, count, refused))

    def skip_once(self, row_id, reason: str, *, refused: bool = True) -> None:
        """Skip a catalog row every tenant would refuse alike: reported once, not per tenant."""
        if not any(entry[0] == row_id for entry in self.skipped):
            self.skip(row_id, reason, refused=refused)

    @property
    def skipped_count(self) -> int:
        return sum(entry[2] for entry in self.skipped)

    @property
    def refused_count(self) -> int:
        return sum(entry[2] for entry in self.skipped if entry[3])


@dataclass(frozen=True)
class ImportedRuleset:
    """Where an original ruleset's rows went: what its execution logs are filed under."""

    tenant_id: int | None
    tenant_slug: str
    ruleset_id: int | None
    name: str
    version: str


@dataclass
class OriginalRulesReport:
    tables: dict[str, TableCounts] = field(
        default_factory=lambda: {name: TableCounts() for name in TABLES}
    )
    # Original rulesets.id -> where it went (also for rulesets that could not be imported: their
    # logs still belong to the tenant).
    rulesets: dict[int, ImportedRuleset] = field(default_factory=dict)
    tenants: dict[str, int | None] = field(default_factory=dict)
    # The tenant of rulesets without tenant_id, and of execution logs without a ruleset.
    default_tenant: str = ""
    dry_run: bool = False


class _DryRun(Exception):
    pass


def original_tenant_slug(tenant_id: str | None, default_tenant: str) -> str:
    """The tenant slug for an original `rulesets.tenant_id` (None: the default tenant)."""
    if tenant_id is None or not str(tenant_id).strip():
        return default_tenant
    text = str(tenant_id).strip()
    if TENANT_SLUG.match(text) and len(text) <= 63:
        return text
    return (slugify(text) or "tenant")[:63]


def original_rulesets_import(
    *,
    tables: OriginalRuleTables,
    default_tenant: str,
    tenant_ids: list[str] | None = None,
    dry_run: bool = False,
    actor=None,
) -> OriginalRulesReport:
    """Import the original's tenants, rulesets, rules, catalogs, patterns and attributes.

    `tenant_ids` selects original tenant ids (rulesets without one belong to `default_tenant`);
    None imports all. On a dry run everything is done and rolled back; the report says what
    would have been created.
    """
    report = OriginalRulesReport(dry_run=dry_run, default_tenant=default_tenant)
    rulesets = _selected_rulesets(tables.rulesets, default_tenant, tenant_ids, report)
    try:
        with transaction.atomic():
            tenants = _tenants_import(rulesets, default_tenant, tenant_ids, report, actor)
            by_ruleset = _rows_by(tables.rules, "ruleset_id")
            patterns_by_ruleset = _rows_by(tables.patterns, "ruleset_id")
            _counts_read(report, tables, rulesets, by_ruleset, patterns_by_ruleset)
            linked_actions = _rows_by(tables.actions, "pattern_id")
            tenants_of_action = _action_tenants(rulesets, patterns_by_ruleset, linked_actions)
            for action in tables.actions:
                if action.get("pattern_id") is not None and action["id"] not in tenants_of_action:
                    report.tables["actions"].skip(
                        action["id"], "its pattern's ruleset is not imported", refused=False
                    )
            for tenant in tenants.values():
                _catalog_import(tenant, tables, tenants_of_action, report, actor)
            defaults = _default_winners(rulesets)
            for row in rulesets:
                slug = row["_tenant_slug"]
                _ruleset_import(
                    row=row,
                    tenant=tenants[slug],
                    rules=by_ruleset.get(row["id"], []),
                    patterns=patterns_by_ruleset.get(row["id"], []),
                    tables=tables,
                    linked_actions=linked_actions,
                    make_default=defaults.get(slug) == row["id"],
                    report=report,
                    actor=actor,
                )
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return report


def _selected_rulesets(rows, default_tenant, tenant_ids, report) -> list[dict]:
    counts = report.tables["rulesets"]
    selected = []
    wanted = None if tenant_ids is None else set(tenant_ids)
    for row in sorted(rows, key=lambda r: r["id"]):
        counts.read += 1
        tenant_id = row.get("tenant_id")
        if wanted is not None and (tenant_id or "") not in wanted:
            counts.skip(
                row["id"], f"tenant_id {tenant_id!r} is not selected (--tenant)", refused=False
            )
            continue
        selected.append({**row, "_tenant_slug": original_tenant_slug(tenant_id, default_tenant)})
    return selected


def _tenants_import(rulesets, default_tenant, tenant_ids, report, actor) -> dict[str, Tenant]:
    counts = report.tables["tenants"]
    names: dict[str, str] = {}
    for row in rulesets:
        tenant_id = row.get("tenant_id")
        slug = row["_tenant_slug"]
        names.setdefault(slug, str(tenant_id).strip() if tenant_id else slug)
        if tenant_id and slug != str(tenant_id).strip():
            note = f"tenant_id {tenant_id!r} imported as tenant {slug!r}"
            if note not in counts.notes:
                counts.notes.append(note)
    if tenant_ids is None or "" in tenant_ids:
        # Execution logs without a ruleset belong to the default tenant.
        names.setdefault(default_tenant, default_tenant)
    tenants = {}
    for slug, name in names.items():
        counts.read += 1
        tenant, created = tenant_create(slug=slug, name=name, actor=actor)
        if created:
            counts.created += 1
        else:
            counts.present += 1
        tenants[slug] = tenant
        report.tenants[slug] = tenant.pk
    return tenants


def _rows_by(rows, key) -> dict:
    grouped: dict = {}
    for row in sorted(rows, key=lambda r: r["id"]):
        grouped.setdefault(row.get(key), []).append(row)
    return grouped


def _counts_read(report, tables, rulesets, by_ruleset, patterns_by_ruleset) -> None:
    selected = {row["id"] for row in rulesets}
    for name in ("conditions", "actions", "attributes"):
        # Catalog rows are read once; each tenant gets its copy (created / present per tenant).
        report.tables[name].read = len(getattr(tables, name))
    for name, rows in (("rules", tables.rules), ("patterns", tables.patterns)):
        counts = report.tables[name]
        grouped = by_ruleset if name == "rules" else patterns_by_ruleset
        counts.read = len(rows)
        for ruleset_id, of_ruleset in grouped.items():
            if ruleset_id not in selected:
                counts.skip(
                    f"ruleset {ruleset_id}",
                    "its ruleset is not imported (not selected, or no such ruleset)",
                    len(of_ruleset),
                    refused=False,
                )


def _action_tenants(rulesets, patterns_by_ruleset, linked_actions) -> dict[int, set[str]]:
    """Original pattern id -> the tenant of its ruleset (orphan actions go to every tenant)."""
    tenant_of_pattern = {}
    for row in rulesets:
        for pattern in patterns_by_ruleset.get(row["id"], []):
            tenant_of_pattern[pattern["id"]] = row["_tenant_slug"]
    return {
        action["id"]: tenant_of_pattern.get(pattern_id)
        for pattern_id, actions in linked_actions.items()
        if pattern_id is not None
        for action in actions
    }


def _default_winners(rulesets) -> dict[str, int]:
    """Per tenant, the original ruleset that becomes the default: the one the original's
    get_default_ruleset picks (is_default and active, earliest), else any is_default one."""
    winners: dict[str, dict] = {}
    for row in rulesets:
        if not row.get("is_default"):
            continue
        slug = row["_tenant_slug"]
        key = (row.get("status") != ACTIVE, str(row.get("created_at") or ""), row["id"])
        current = winners.get(slug)
        if current is None or key < current["_key"]:
            winners[slug] = {**row, "_key": key}
    return {slug: row["id"] for slug, row in winners.items()}


def _catalog_import(tenant, tables, tenants_of_action, report, actor) -> None:
    """The tenant's catalog: every original condition and attribute (the original's catalogs
    are shared by all tenants), the actions of its patterns and the actions of no pattern."""
    capability_require(actor=actor, tenant=tenant, capability=Capability.EDIT)
    for model, key, rows, fields_of, table in (
        (Condition, "condition_id", tables.conditions, condition_fields, "conditions"),
        (Action, "action_id", tables.actions, action_fields, "actions"),
    ):
        counts = report.tables[table]
        existing = set(model.objects.for_tenant(tenant).values_list(key, flat=True))
        new = []
        for row in rows:
            of_pattern = model is Action and row.get("pattern_id") is not None
            if of_pattern and tenants_of_action.get(row["id"]) != tenant.slug:
                continue
            fields = fields_of(row)
            if fields[key] in existing:
                counts.present += 1
                continue
            entry = model(tenant=tenant, **fields)
            errors = editing.bulk_field_errors(entry)
            if not errors and model is Condition:
                try:
                    entry.clean()
                except ValidationError as error:  # the engine's checks of the condition
                    errors = error.message_dict
            if errors:
                counts.skip_once(row["id"], _errors_text(errors))
                continue
            existing.add(fields[key])
            new.append(entry)
        editing.catalog_entries_bulk_create(
            tenant=tenant, entries=new, actor=actor, change_reason="import (original database)"
        )
        counts.created += len(new)
    _attributes_import(tenant, tables.attributes, report.tables["attributes"], actor)


def _attributes_import(tenant, rows, counts, actor) -> None:
    existing = set(Attribute.objects.for_tenant(tenant).values_list("name", flat=True))
    new = []
    for row in rows:
        name = row["attribute_id"]
        if name in existing:
            counts.present += 1
            continue
        if row.get("status") != ACTIVE:
            counts.skip_once(
                row["id"],
                f"status {row.get('status')!r} (the original lists only active attributes)",
                refused=False,
            )
            continue
        data_type = ATTRIBUTE_TYPES.get(row.get("data_type") or "string")
        if data_type is None:
            counts.skip_once(
                row["id"],
                f"data_type {row.get('data_type')!r} has no equivalent here "
                f"({', '.join(AttributeType.values)}); add it by hand with another type",
                refused=False,
            )
            continue
        # The original's display name has no field of its own here: it leads the description.
        description = row.get("description") or ""
        if row.get("name") and row["name"] != name:
            description = f"{row['name']}: {description}" if description else row["name"]
        attribute = Attribute(
            tenant=tenant, name=name, data_type=data_type, description=description
        )
        errors = {**editing.bulk_field_errors(attribute), **attribute_field_errors(attribute)}
        if errors:
            counts.skip_once(row["id"], _errors_text(errors))
            continue
        existing.add(name)
        new.append(attribute)
    attributes_bulk_create(
        tenant=tenant, attributes=new, actor=actor, change_reason="import (original database)"
    )
    counts.created += len(new)


def _errors_text(errors: dict) -> str:
    return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())


def _ruleset_import(
    *, row, tenant, rules, patterns, tables, linked_actions, make_default, report, actor
) -> None:
    counts = report.tables["rulesets"]
    name, version = str(row["name"]).strip(), str(row.get("version") or "1.0").strip()
    target = Ruleset.objects.for_tenant(tenant).filter(name=name, version=version).first()
    if target is not None:
        counts.present += 1
        report.tables["rules"].present += len(rules)
        report.tables["patterns"].present += len(patterns)
        report.rulesets[row["id"]] = ImportedRuleset(
            tenant.pk, tenant.slug, target.pk, target.name, target.version
        )
        return
    report.rulesets[row["id"]] = ImportedRuleset(tenant.pk, tenant.slug, None, name, version)
    try:
        with transaction.atomic():
            created, spec = _ruleset_create(
                row, tenant, name, version, rules, patterns, tables, linked_actions, actor
            )
            notes = _status_apply(created, row.get("status"), actor)
            if make_default:
                lifecycle.ruleset_set_default(ruleset_id=created.pk, actor=actor)
    except (RulesetInvalid, ServiceError, ConversionError) as error:
        problems = getattr(error, "problems", None)
        reason = "; ".join(problem_text(p) for p in problems) if problems else str(error)
        counts.skip(row["id"], f"{name} {version}: {reason}")
        for table, rows in (("rules", rules), ("patterns", patterns)):
            if rows:
                report.tables[table].skip(
                    f"ruleset {row['id']}", "its ruleset failed", len(rows), refused=False
                )
        return
    counts.created += 1
    counts.notes += [f"ruleset {row['id']} ({name} {version}): {note}" for note in notes]
    imported_rules = len(spec["rules"])
    report.tables["rules"].created += imported_rules
    if imported_rules < len(rules):
        report.tables["rules"].skip(
            f"ruleset {row['id']}",
            "left out as the original's loader does (empty attribute or condition)",
            len(rules) - imported_rules,
            refused=False,
        )
    report.tables["patterns"].created += len(spec["patterns"])
    if len(spec["patterns"]) < len(patterns):
        report.tables["patterns"].skip(
            f"ruleset {row['id']}",
            "duplicate pattern_key: the original's read_patterns keeps the last",
            len(patterns) - len(spec["patterns"]),
            refused=False,
        )
    if row.get("is_default") and not make_default:
        counts.notes.append(
            f"ruleset {row['id']} ({name} {version}) is a default in the original too; a tenant "
            "has one default here, so it is not"
        )
    report.rulesets[row["id"]] = ImportedRuleset(
        tenant.pk, tenant.slug, created.pk, created.name, created.version
    )


def _ruleset_create(row, tenant, name, version, rules, patterns, tables, linked, actor):
    """(the new draft, its spec): the original's document converted, completed, imported."""
    active_conditions = [c for c in tables.conditions if c.get("status") == ACTIVE]
    conversion = spec_from_original(
        original_ruleset_document(rules, patterns),
        original_conditions_document(active_conditions),
        name=name,
        version=version,
        semantics=RulesetSemantics.ORIGINAL.value,
    )
    spec = conversion.spec
    spec["ruleset"].update(
        description=row.get("description") or "",
        tags=json_list(row.get("tags")),
        metadata={
            **json_object(row.get("metadata")),
            "original": {"ruleset_id": row["id"], "tenant_id": row.get("tenant_id")},
        },
        is_default=False,
    )
    by_rule_id = {rule["rule_id"]: rule for rule in rules}
    for rule in spec["rules"]:
        source = by_rule_id.get(rule["rule_id"], {})
        rule["tags"] = json_list(source.get("tags"))
        rule["metadata"] = json_object(source.get("metadata"))
    # Only the catalog conditions its rules use (the catalog step made the others); fields as
    # the catalog step made them, so the import reuses those entries.
    used = {
        item for rule in spec["rules"] for item in (rule.get("conditions") or {}).get("items", [])
    }
    condition_rows = {c["condition_id"]: c for c in active_conditions}
    spec["conditions"] = [
        spec_condition(condition_rows[c["condition_id"]])
        if c["condition_id"] in condition_rows
        else c
        for c in spec["conditions"]
        if c["condition_id"] in used
    ]
    spec["actions"], pattern_actions = spec_actions(patterns, tables.actions, linked)
    descriptions = {p["pattern_key"]: p.get("description") or "" for p in patterns}
    for pattern in spec["patterns"]:
        pattern["description"] = descriptions.get(pattern["pattern_key"], "")
        pattern["action"] = pattern_actions.get(pattern["pattern_key"])
    report = ruleset_import(
        tenant=tenant,
        actor=actor,
        document=spec,
        version=version,
        semantics=RulesetSemantics.ORIGINAL.value,
    )
    if report.created is None:
        raise ServiceError(f"{name} {version} was not created (its content is unchanged)")
    return report.created, spec


def _status_apply(ruleset: Ruleset, status, actor) -> list[str]:
    """Move the new draft to the original's status; notes on what could not be reproduced."""
    wanted = status if status in STATUS_PATHS else RulesetStatus.DRAFT
    notes = [] if wanted == status else [f"unknown status {status!r}: imported as a draft"]
    path = STATUS_PATHS[wanted]
    if wanted in (RulesetStatus.INACTIVE, RulesetStatus.DEPRECATED):
        active = Ruleset.objects.filter(
            tenant_id=ruleset.tenant_id, name=ruleset.name, status=RulesetStatus.ACTIVE
        ).exclude(pk=ruleset.pk)
        if active.exists():
            # Passing through `active` would deprecate the version serving here now.
            return [*notes, f"{wanted} in the original; kept a draft: another version is active"]
    for target in path:
        lifecycle.ruleset_transition(ruleset_id=ruleset.pk, target=target, actor=actor)
    return notes
