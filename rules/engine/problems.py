"""Problems found while checking a ruleset spec or a source file, and the error carrying them."""

from __future__ import annotations

from dataclasses import asdict, dataclass

# An error blocks compiling (and so saving a condition and activating a version); a warning is
# shown beside the errors and blocks nothing.
ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One thing wrong: the rule it concerns (if any), what is wrong, and where (a JSON path)."""

    rule_id: str | None
    message: str
    path: str
    severity: str = ERROR

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        rule = f"rule {self.rule_id}: " if self.rule_id is not None else ""
        warning = "warning: " if self.severity == WARNING else ""
        return f"{warning}{where}{rule}{self.message}"

    def as_dict(self) -> dict:
        """The problem as plain JSON."""
        return asdict(self)


def problems_text(problems: list[Problem]) -> str:
    """All problems, one a line, for error messages and command reports."""
    count = len(problems)
    heading = f"{count} problem{'s' if count != 1 else ''}"
    return heading + ":\n" + "\n".join(f"  - {problem}" for problem in problems)


class RulesetCompileError(Exception):
    """The ruleset spec cannot be compiled; `.problems` lists every problem, not only the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__(problems_text(self.problems))
