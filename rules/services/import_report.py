"""An import's report as lines of text: what `manage.py import_rules` prints and the admin's
upload page shows."""

from rules.choices import RulesetSemantics
from rules.services.decision_import import FORMAT_DMN, decision_import_report_lines


def import_report_lines(report, *, semantics_hint: str = "") -> list[str]:
    """The summary line, the semantics, generated rule ids, normalisations and warnings.

    `semantics_hint` ends the semantics line of an `original` import (how to choose the other).
    """
    if report.format == FORMAT_DMN:
        return decision_import_report_lines(report)
    counts = report.counts
    parts = (
        f"{counts.get('rules', 0)} rules, {counts.get('patterns', 0)} patterns, "
        f"{counts.get('conditions', 0)} new catalog conditions "
        f"({counts.get('conditions_reused', 0)} reused), {counts.get('actions', 0)} new "
        f"catalog actions ({counts.get('actions_reused', 0)} reused)"
    )
    if counts.get("attributes") or counts.get("attributes_reused"):
        parts += (
            f", {counts['attributes']} new catalog attributes "
            f"({counts.get('attributes_reused', 0)} already in the tenant's catalog)"
        )
    if report.unchanged:
        line = (
            f"Unchanged: {report.name} {report.version} ({report.existing.status}) already "
            "has this content; nothing created."
        )
        if report.activated:
            line += f" Activated {report.name} {report.version}."
    elif report.dry_run:
        line = (
            f"Dry run ({report.format} format): would create draft {report.name} "
            f"{report.version} with {parts}"
            + (" and activate it" if report.activated else "")
            + ". Nothing was written."
        )
    else:
        status = "active" if report.activated else "draft"
        line = (
            f"Imported {report.format} format as {report.name} {report.version} ({status}): "
            f"{parts}."
        )
    lines = [line]
    if report.semantics == RulesetSemantics.ORIGINAL:
        lines.append(
            "Semantics: original (rules whose attributes are absent from the input are left "
            f"out, as in the original system{semantics_hint})."
        )
    else:
        lines.append("Semantics: strict (every rule yields a result).")
    if report.generated_rule_ids:
        lines.append("Generated rule ids: " + ", ".join(report.generated_rule_ids))
    for heading, entries in (("Normalised", report.normalisations), ("Warnings", report.warnings)):
        if entries:
            lines.append(f"{heading} ({len(entries)}):")
            for entry in entries:
                where = f"{entry.path}: " if entry.path else ""
                lines.append(f"  - {where}{entry.message}")
    return lines
