"""The answer of a compiled ruleset for one input."""

from __future__ import annotations

import copy


class Evaluation:
    """Points, pattern, recommended action and matched rules for one input; the trace if asked."""

    __slots__ = (
        "total_points",
        "pattern_result",
        "action_recommendation",
        "_action",
        "matched_rules",
        "trace",
        "pattern_match",
    )

    def __init__(
        self, total_points, pattern_result, action_recommendation, action, matched_rules, trace=None
    ):
        self.total_points = total_points
        self.pattern_result = pattern_result
        self.action_recommendation = action_recommendation
        self._action = action
        self.matched_rules = matched_rules
        self.trace = trace
        # With the trace: {"key": the key that answered or None, "kind": "exact", "wildcard",
        # "default" or None}.
        self.pattern_match = None

    @property
    def action(self) -> dict | None:
        """The spec of the action linked to the matched pattern (a copy: the ruleset is shared)."""
        return copy.deepcopy(self._action) if self._action is not None else None

    def as_dict(self) -> dict:
        """The evaluation as plain JSON; the `trace` key only when the trace was asked for."""
        result = {
            "total_points": self.total_points,
            "pattern_result": self.pattern_result,
            "action_recommendation": self.action_recommendation,
            "action": self.action,
            "matched_rules": list(self.matched_rules),
        }
        if self.trace is not None:
            result["trace"] = copy.deepcopy(self.trace)
        if self.pattern_match is not None:
            result["pattern_match"] = dict(self.pattern_match)
        return result

    def __repr__(self) -> str:
        return (
            f"Evaluation(total_points={self.total_points!r}, "
            f"pattern_result={self.pattern_result!r}, "
            f"action_recommendation={self.action_recommendation!r}, "
            f"matched_rules={self.matched_rules!r})"
        )
