"""ORM -> engine spec (the project's JSON format), and the checks that need the database."""

from django.db.models import Prefetch

from rules.choices import RulesetSemantics
from rules.engine import (
    FORMAT_NAME,
    FORMAT_VERSION,
    WARNING,
    Problem,
    compile_ruleset,
    ruleset_pattern_problems,
    ruleset_problems,
)
from rules.models import Pattern, Rule, RuleCondition, Ruleset
from rules.selectors.decision_models import ruleset_is_decision_table
from rules.services.decision_models import decision_model_compiled, decision_model_problems
from rules.services.pattern_rewrite import COLLAPSE_NOTE


def _number(value: float):
    """Integral floats export as integers, so documents stay as people wrote them."""
    return int(value) if float(value).is_integer() else value


def ruleset_spec(ruleset: Ruleset) -> dict:
    """The ruleset as a spec dict: the engine's input and the export document."""
    rules = list(
        Rule.objects.filter(ruleset=ruleset)
        .order_by("priority", "position", "rule_id")
        .prefetch_related(
            Prefetch(
                "condition_links",
                queryset=RuleCondition.objects.select_related("condition").order_by(
                    "position", "id"
                ),
            )
        )
    )
    patterns = list(
        Pattern.objects.filter(ruleset=ruleset).select_related("action").order_by("pattern_key")
    )
    conditions = {}
    rule_specs = []
    for rule in rules:
        rule_spec = {"rule_id": rule.rule_id, "rule_name": rule.rule_name}
        if rule.condition_mode:
            links = list(rule.condition_links.all())
            rule_spec["conditions"] = {
                "mode": rule.condition_mode,
                "items": [link.condition.condition_id for link in links],
            }
            for link in links:
                conditions[link.condition.condition_id] = link.condition
        else:
            rule_spec.update(
                attribute=rule.attribute, condition=rule.operator, constant=rule.constant
            )
        rule_spec.update(
            message=rule.message,
            weight=_number(rule.weight),
            rule_point=_number(rule.rule_point),
            priority=rule.priority,
            action_result=rule.action_result,
            status=rule.status,
            tags=rule.tags,
            metadata=rule.metadata,
        )
        rule_specs.append(rule_spec)
    actions = {p.action.action_id: p.action for p in patterns if p.action_id}
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "ruleset": {
            "name": ruleset.name,
            "version": ruleset.version,
            "description": ruleset.description,
            "is_default": ruleset.is_default,
            "tags": ruleset.tags,
            "metadata": ruleset.metadata,
            # str(): a new instance holds the TextChoices member, the engine reads plain text.
            "semantics": str(ruleset.semantics),
            # "" is no default (the engine reads it so too).
            "default_recommendation": ruleset.default_recommendation,
            "input_validation": str(ruleset.input_validation),
        },
        "rules": rule_specs,
        "conditions": [
            {
                "condition_id": c.condition_id,
                "name": c.name,
                "description": c.description,
                "attribute": c.attribute,
                "operator": c.operator,
                "value": c.value,
                "status": c.status,
                "tags": c.tags,
                "metadata": c.metadata,
            }
            for _, c in sorted(conditions.items())
        ],
        "actions": [
            {
                "action_id": a.action_id,
                "name": a.name,
                "description": a.description,
                "action_type": a.action_type,
                "configuration": a.configuration,
                "status": a.status,
                "tags": a.tags,
                "metadata": a.metadata,
            }
            for _, a in sorted(actions.items())
        ],
        "patterns": [
            {
                "pattern_key": p.pattern_key,
                "action_recommendation": p.action_recommendation,
                "action": p.action.action_id if p.action_id else None,
                "description": p.description,
            }
            for p in patterns
        ],
    }


def ruleset_compile(ruleset: Ruleset):
    """Compile the ruleset with the engine (raises RulesetCompileError listing every problem)."""
    if ruleset_is_decision_table(ruleset):
        return decision_model_compiled(ruleset)
    return compile_ruleset(ruleset_spec(ruleset))


def ruleset_validation_warnings(ruleset: Ruleset) -> list[Problem]:
    """The engine's warnings, which block nothing: a cost estimate far above normal."""
    if ruleset_is_decision_table(ruleset):
        return [p for p in decision_model_problems(ruleset) if p.severity == WARNING]
    spec = ruleset_spec(ruleset)
    problems = ruleset_problems(spec, warnings=True)
    if ruleset.semantics == RulesetSemantics.ORIGINAL:
        # Keys relying on '*' there (an ordinary character in original semantics).
        problems += ruleset_pattern_problems(spec)
    return [problem for problem in problems if problem.severity == WARNING]


def pattern_collapse_problems(ruleset: Ruleset) -> list[Problem]:
    """Patterns whose key collapsed onto another's with a different answer in a rewrite
    (services/pattern_rewrite.py): they stop activation until the analyst has decided."""
    collapsed = Pattern.objects.filter(ruleset=ruleset, description__contains=COLLAPSE_NOTE)
    return [
        Problem(
            rule_id=None,
            path="patterns",
            message=(
                f"pattern key '{pattern.pattern_key}' ({pattern.action_recommendation}) absorbed "
                "other keys that collapsed into it when rules were removed or moved: "
                + pattern.description[pattern.description.index(COLLAPSE_NOTE) :]
                + " Decide the recommendation, then remove this note from the description."
            ),
        )
        for pattern in collapsed.order_by("pattern_key")
    ]


def ruleset_validation_problems(ruleset: Ruleset) -> list[Problem]:
    """Every problem that blocks activation: the engine's checks plus cross-tenant references."""
    if ruleset_is_decision_table(ruleset):
        return [p for p in decision_model_problems(ruleset) if p.severity != WARNING]
    spec = ruleset_spec(ruleset)
    problems = list(ruleset_problems(spec))
    problems += [p for p in ruleset_pattern_problems(spec) if p.severity != WARNING]
    problems += pattern_collapse_problems(ruleset)
    foreign_links = (
        RuleCondition.objects.filter(rule__ruleset=ruleset)
        .exclude(condition__tenant_id=ruleset.tenant_id)
        .select_related("rule", "condition")
    )
    for link in foreign_links:
        problems.append(
            Problem(
                rule_id=link.rule.rule_id,
                message=(
                    f"catalog condition {link.condition.condition_id} belongs to another tenant"
                ),
                path="rules",
            )
        )
    foreign_actions = (
        Pattern.objects.filter(ruleset=ruleset, action__isnull=False)
        .exclude(action__tenant_id=ruleset.tenant_id)
        .select_related("action")
    )
    for pattern in foreign_actions:
        problems.append(
            Problem(
                rule_id=None,
                message=f"pattern {pattern.pattern_key} links action {pattern.action.action_id} "
                "of another tenant",
                path="patterns",
            )
        )
    return problems
