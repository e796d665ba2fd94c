"""Errors the service layer raises; the admin, the API and the commands translate them."""


class ServiceError(Exception):
    """Base class: a business rule refused the operation. `str()` is a message for people."""

    code = "refused"


class TransitionNotAllowed(ServiceError):
    code = "transition_not_allowed"


class RulesetReadOnly(ServiceError):
    code = "read_only"


class CatalogEntryInUse(ServiceError):
    code = "in_use"


class RulesetInvalid(ServiceError):
    """Activation or import found problems; `problems` lists every one of them."""

    code = "invalid_ruleset"

    def __init__(self, problems, *, heading: str = "The ruleset has problems"):
        self.problems = list(problems)
        self.heading = heading
        lines = [f"{heading} ({len(self.problems)}):"]
        lines += [f"- {problem_text(p)}" for p in self.problems]
        super().__init__("\n".join(lines))


class NotAllowed(ServiceError):
    """The acting user's role in the tenant does not allow the operation."""

    code = "permission_denied"


def problem_text(problem) -> str:
    where = f"rule {problem.rule_id}: " if problem.rule_id else ""
    path = f" [{problem.path}]" if problem.path else ""
    return f"{where}{problem.message}{path}"
