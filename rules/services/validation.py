"""What the live validation panel of a draft lists: every problem activation would list, and the
constants that cannot mean what their operator compares (errors where that is certain)."""

import re
from dataclasses import dataclass, field

from rules.change_notifications import ProcessCache, caches_generation
from rules.errors import problem_text
from rules.models import Rule, Ruleset
from rules.services.attributes import ruleset_attribute_findings
from rules.services.compilation import ruleset_validation_problems, ruleset_validation_warnings

# Operators that compare by order: a number, or text such as an ISO date.
ORDERING_OPERATORS = frozenset(
    ("greater_than", "greater_than_or_equal", "less_than", "less_than_or_equal")
)
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
# 10,000 or 1 000 or 1'000: a number written for people, which the engine reads as text.
GROUPED_NUMBER = re.compile(r"^[+-]?\d{1,3}([,' ]\d{3})+(\.\d+)?$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$")

# A draft's report per (id, revision): paging, searching or moving between its lists recomputes
# nothing, and every save through the services is a new revision (and clears these caches), so
# the reload after a save is fresh. Only an attributes-catalog edit in another process without
# change notifications can show stale findings, for at most VALIDATION_REPORT_SECONDS.
VALIDATION_REPORT_SECONDS = 60.0
_reports = ProcessCache("validation reports", lambda: VALIDATION_REPORT_SECONDS)


@dataclass
class ValidationReport:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.errors and not self.warnings


def constant_fit_error(*, operator: str, constant) -> str:
    """Why a constant can never mean what an ordering operator compares, or "" if it can.

    Certain only for ordering operators: a grouped number ("10,000") or text that is neither a
    number nor an ISO date ("abc") compares as text and never matches a number.
    """
    if operator not in ORDERING_OPERATORS or not isinstance(constant, str):
        return ""
    text = constant.strip().strip('"')
    if NUMBER.match(text) or ISO_DATE.match(text):
        return ""
    if GROUPED_NUMBER.match(text):
        plain = re.sub(r"[,' ]", "", text)
        return f"{constant!r} is not a number for '{operator}': write it as {plain}."
    return (
        f"{constant!r} is not a number (nor an ISO date) for '{operator}', so it can never "
        "match a number."
    )


def ruleset_validation_report(ruleset: Ruleset) -> ValidationReport:
    """Every problem activation would refuse (errors) and every warning, for the draft pages."""
    report = ValidationReport()
    report.errors = [problem_text(problem) for problem in ruleset_validation_problems(ruleset)]
    rules = Rule.objects.filter(ruleset=ruleset, condition_mode="").order_by(
        "priority", "position", "rule_id"
    )
    unfit = set()
    for rule_id, operator, constant in rules.values_list("rule_id", "operator", "constant"):
        error = constant_fit_error(operator=operator, constant=constant)
        if error:
            report.errors.append(f"{rule_id}: {error}")
            unfit.add(rule_id)
    report.warnings = [problem_text(p) for p in ruleset_validation_warnings(ruleset)]
    # The attributes catalog's findings; a constant already listed above is not listed twice.
    catalog_errors, catalog_warnings = ruleset_attribute_findings(ruleset)
    report.errors += [e for e in catalog_errors if e.partition(":")[0] not in unfit]
    report.warnings += catalog_warnings
    return report


def ruleset_validation_report_cached(ruleset: Ruleset) -> ValidationReport:
    """ruleset_validation_report, computed once per revision of the version (the part lists)."""
    key = (ruleset.pk, ruleset.revision)
    report = _reports.get(key)
    if report is None:
        generation = caches_generation()
        report = ruleset_validation_report(ruleset)
        _reports.put(key, report, generation)
    return report
