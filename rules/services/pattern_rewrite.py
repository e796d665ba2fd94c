"""Keep a draft's pattern keys and test expectations meaning the same rules when its active rules
change order: a rule deleted, deactivated, moved (priority or position), added or activated.

In `strict` semantics position i of a key and of an expected pattern result is the i-th active
rule in execution order. After the edit each position is re-derived from the rule it stood for:
a removed rule's character goes, a moved rule's character moves with it, and a new active rule
gets `*` (any result) in keys and in expectations, because nothing said what it should yield.
A removed rule also leaves the test cases' expected matched rules.

Keys that become equal merge when they answer the same; otherwise the more specific one (fewer
wildcards before the edit, then the key that sorts first) stays, the others are deleted with
their recommendation written into its description under COLLAPSE_NOTE, which is a validation
problem until the analyst decides. `original` semantics has no positions: nothing is rewritten.

Runs inside the edit's transaction (the caller holds the ruleset's row lock); every rewritten
row has a history record whose change reason names the edit.
"""

from dataclasses import dataclass, field

from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from rules.choices import ItemStatus, RulesetSemantics
from rules.models import Pattern, Rule, Ruleset, RulesetTestCase

WILDCARD = "*"
REWRITE_REASON = "pattern rewrite"
COLLAPSE_NOTE = "[collapsed by pattern rewrite]"


@dataclass
class PatternRewrite:
    """What a rewrite changed, for the history and the admin's message."""

    reason: str
    patterns: int = 0
    test_cases: int = 0
    merged: list[str] = field(default_factory=list)
    collapsed: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"{self.reason}: {self.patterns} pattern key(s), {self.test_cases} test case(s)"
        if self.merged:
            text += "; merged " + "; ".join(self.merged)
        if self.collapsed:
            text += "; COLLAPSED (decide on the validation panel) " + "; ".join(self.collapsed)
        return text


def active_rule_order(ruleset_id: int) -> list[tuple[int, str]]:
    """(pk, rule_id) of the active rules in execution order, as ruleset_spec and the engine
    order them."""
    return list(
        Rule.objects.filter(ruleset_id=ruleset_id, status=ItemStatus.ACTIVE)
        .order_by("priority", "position", "rule_id")
        .values_list("pk", "rule_id")
    )


def rule_edit_describe(before, after, rule: Rule, *, deleted: bool = False) -> str:
    """The edit in the analyst's words: rule R3 deleted / deactivated / activated / moved."""
    was_active = any(pk == rule.pk for pk, _ in before)
    is_active = any(pk == rule.pk for pk, _ in after)
    if deleted:
        verb = "deleted"
    elif was_active and not is_active:
        verb = "deactivated"
    elif is_active and not was_active:
        verb = "activated"
    else:
        verb = "moved"
    return f"rule {rule.rule_id} {verb}"


def pattern_rewrite(
    *, ruleset: Ruleset, before: list, after: list, actor, edit: str
) -> PatternRewrite | None:
    """Rewrite the version's keys and expectations from the order `before` to `after`
    (active_rule_order lists); None when nothing needs it."""
    if ruleset.semantics == RulesetSemantics.ORIGINAL or before == after:
        return None
    old_position = {pk: position for position, (pk, _) in enumerate(before)}
    mapping = [old_position.get(pk) for pk, _ in after]
    removed = {rule_id for pk, rule_id in before} - {rule_id for pk, rule_id in after}
    length = len(before)

    def rewritten(text: str) -> str:
        return "".join(text[position] if position is not None else WILDCARD for position in mapping)

    report = PatternRewrite(reason=f"{REWRITE_REASON}: {edit}")
    now = timezone.now()
    history = {"default_user": actor, "default_change_reason": report.reason, "default_date": now}
    _patterns_rewrite(ruleset, length, rewritten, report, actor, now, history)
    _test_cases_rewrite(ruleset, length, rewritten, removed, report, now, history)
    return report


def _patterns_rewrite(ruleset, length, rewritten, report, actor, now, history) -> None:
    patterns = list(Pattern.objects.filter(ruleset=ruleset).order_by("pattern_key"))
    # Keys of another length were already wrong (a problem of their own): they keep their text
    # but still hold their place among the keys.
    groups: dict[str, list[Pattern]] = {}
    for pattern in patterns:
        old = pattern.pattern_key
        new = rewritten(old) if len(old) == length else old
        groups.setdefault(new, []).append(pattern)
    survivors: dict[str, Pattern] = {}
    losers: list[tuple[Pattern, Pattern]] = []
    noted: set[int] = set()
    for new, group in groups.items():
        group.sort(key=lambda p: (p.pattern_key.count(WILDCARD), p.pattern_key))
        survivors[new] = group[0]
        losers += [(loser, group[0]) for loser in group[1:]]
    for loser, survivor in losers:
        entry = f"'{loser.pattern_key}' → {loser.action_recommendation}"
        same = (loser.action_recommendation, loser.action_id) == (
            survivor.action_recommendation,
            survivor.action_id,
        )
        if same:
            report.merged.append(f"{entry} into '{survivor.pattern_key}'")
        else:
            report.collapsed.append(
                f"{entry} dropped, '{survivor.pattern_key}' → {survivor.action_recommendation} kept"
            )
            note = (
                f"{COLLAPSE_NOTE} {report.reason}: '{loser.pattern_key}' → "
                f"{loser.action_recommendation} (action {loser.action_id or 'none'}) collapsed "
                f"into this key, which kept {survivor.action_recommendation}."
            )
            survivor.description = f"{survivor.description}\n{note}".strip()
            noted.add(survivor.pk)
        loser._history_user = actor
        loser._change_reason = f"{report.reason}: collapsed into another key"
        loser.delete()
    changed = []
    for new, survivor in survivors.items():
        if survivor.pattern_key != new or survivor.pk in noted:
            survivor.pattern_key = new
            survivor.updated_at = now
            changed.append(survivor)
    if not changed:
        return
    # Keys may swap places (two rules exchanged): park them on keys no rewrite produces first,
    # as the unique constraint is checked row by row.
    Pattern.objects.filter(pk__in=[p.pk for p in changed]).update(
        pattern_key=Concat(Value("~rewrite~"), Cast("pk", CharField()))
    )
    bulk_update_with_history(
        changed, Pattern, ["pattern_key", "description", "updated_at"], **history
    )
    report.patterns = len(changed)


def _test_cases_rewrite(ruleset, length, rewritten, removed, report, now, history) -> None:
    changed = []
    for test_case in RulesetTestCase.objects.filter(ruleset=ruleset).order_by("name"):
        touched = False
        expected = test_case.expected_pattern_result
        if expected is not None and len(expected) == length:
            new = rewritten(expected)
            touched = new != expected
            test_case.expected_pattern_result = new
        matched = test_case.expected_matched_rules
        if isinstance(matched, list) and removed & set(matched):
            test_case.expected_matched_rules = [rule for rule in matched if rule not in removed]
            touched = True
        if touched:
            test_case.updated_at = now
            changed.append(test_case)
    if changed:
        bulk_update_with_history(
            changed,
            RulesetTestCase,
            ["expected_pattern_result", "expected_matched_rules", "updated_at"],
            **history,
        )
    report.test_cases = len(changed)
