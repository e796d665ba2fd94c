"""The answer of a compiled DMN model for one input, and the errors a decision can end in."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass

from .values import json_value


@dataclass(frozen=True)
class DecisionError:
    """A decision that could not decide (UNIQUE with two matches, ANY with different outputs…).

    Reported in the evaluation, never raised: the caller logs the evaluation as success=false.
    """

    decision_id: str
    decision_name: str
    code: str
    message: str
    rule_ids: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        data = asdict(self)
        data["rule_ids"] = list(self.rule_ids)
        return data

    def __str__(self) -> str:
        return f"decision '{self.decision_name}': {self.message}"


class DmnEvaluation:
    """Outputs (decision name → result), matched rule ids per decision, errors and the trace."""

    __slots__ = ("outputs", "matched_rules", "errors", "trace", "top_decision", "_plain")

    def __init__(self, outputs, matched_rules, errors, trace, top_decision):
        self.outputs = outputs
        self.matched_rules = matched_rules
        self.errors = errors
        self.trace = trace
        self.top_decision = top_decision
        self._plain = None

    @property
    def success(self) -> bool:
        """False when any decision ended in an error."""
        return not self.errors

    @property
    def top_output(self):
        """The result of the top decision (the first decision no other decision requires)."""
        return self.outputs.get(self.top_decision)

    def as_dict(self, *, with_trace: bool = True) -> dict:
        """Plain JSON: dates and durations as ISO strings; `trace` only when it was asked for
        (and `with_trace`: a log row leaves it out without copying it).

        A logged request reads it three times (answer, log row, recommendation): the JSON of
        the outputs is built once and shared, so callers must not mutate nested values."""
        if self._plain is None:
            self._plain = {
                "outputs": json_value(self.outputs),
                "matched_rules": {name: list(ids) for name, ids in self.matched_rules.items()},
                "success": self.success,
                "errors": [error.as_dict() for error in self.errors],
            }
        result = dict(self._plain)
        if with_trace and self.trace is not None:
            result["trace"] = copy.deepcopy(self.trace)
        return result

    def __repr__(self) -> str:
        return (
            f"DmnEvaluation(outputs={self.outputs!r}, matched_rules={self.matched_rules!r}, "
            f"errors={self.errors!r})"
        )
