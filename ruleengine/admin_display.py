"""Display helpers shared by the admin pages of both apps (rules and executions)."""

import json

from django.utils.html import format_html

CHECK_LABELS = {
    "pattern_result": "Pattern",
    "action_recommendation": "Recommendation",
    "total_points": "Total points",
    "matched_rules": "Matched rules",
}


def status_badge(status: str, label: str | None = None):
    return format_html('<span class="status-badge status-{}">{}</span>', status, label or status)


def shown_value(value, field: str = "") -> str:
    """An expected or actual value of a test case as people read it."""
    if value is None:
        return "no pattern matches" if field == "action_recommendation" else "—"
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".")
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or "none"
    return str(value)


def check_row(check) -> dict:
    """One checked field of a test case for the tests page; patterns marked where they differ."""
    row = {
        "field": CHECK_LABELS.get(check.field, check.field),
        "expected": shown_value(check.expected, check.field),
        "actual": shown_value(check.actual, check.field),
        "passed": check.passed,
        "pattern": check.field == "pattern_result",
    }
    expected, actual = check.expected, check.actual
    if row["pattern"] and isinstance(actual, str) and len(expected) == len(actual):
        differs = [want != got for want, got in zip(expected, actual, strict=True)]
        row["expected_marks"] = list(zip(expected, differs, strict=True))
        row["actual_marks"] = list(zip(actual, differs, strict=True))
    return row


def json_text(value) -> str:
    """JSON indented with sorted keys, so an input of a dozen attributes reads like a document."""
    # Sorted: PostgreSQL's jsonb keeps keys in its own order (shortest first).
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def json_block(value, css_class: str = ""):
    classes = f"json-block {css_class}".strip()
    return format_html('<pre class="{}">{}</pre>', classes, json_text(value))
