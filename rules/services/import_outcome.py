"""What an import did (or, on a dry run, would do): the report every import format fills and
the command, the admin and the API read."""

from dataclasses import dataclass, field

from rules.choices import RulesetSemantics
from rules.models import Ruleset


@dataclass(kw_only=True)
class ImportReport:
    """What an import did (or, on a dry run, would do)."""

    format: str
    name: str
    version: str
    created: Ruleset | None = None
    unchanged: bool = False
    # The version whose content equals the document, when unchanged.
    existing: Ruleset | None = None
    activated: bool = False
    dry_run: bool = False
    counts: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)
    semantics: str = RulesetSemantics.STRICT
    # Original files: every normalisation made (Problem, severity "note") and every warning the
    # original would log (an unknown catalog id skipped, a rule left out), with their paths.
    normalisations: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    generated_rule_ids: list = field(default_factory=list)
