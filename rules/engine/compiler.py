"""Check a ruleset spec once, collecting every problem, and compile it into an evaluator."""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from time import perf_counter

from .budget import (
    DEFAULT_EVALUATION_BUDGET_SECONDS,
    BudgetSpent,
    EvaluationBudget,
    EvaluationBudgetExceeded,
    budget_checks,
    constant_units,
)
from .constants import parse_constant
from .cost import cost_warnings, ruleset_cost
from .evaluation import Evaluation
from .numbers import check_totals, number_range_problem, rule_points
from .operators import (
    MATCHED,
    NOT_MATCHED,
    OPERATORS,
    Operator,
    fast_expression,
    operator_suggestions,
)
from .original import ORIGINAL, SEMANTICS, STRICT, OriginalClause, OriginalRule, original_evaluate
from .patterns import EXACT, PatternTable, pattern_key_problems
from .problems import Problem, RulesetCompileError
from .values import MISSING, NUMBER_TYPES, attribute_lookup

FORMAT_NAME = "ruleengine.ruleset"
FORMAT_VERSION = 1

ACTIVE = "active"
CATALOG_MODES = ("all", "any")
NO_MATCH = "-"


def _is_number(value) -> bool:
    return type(value) in (int, float)


def _is_integer(value) -> bool:
    return type(value) is int


def _is_string(value) -> bool:
    return type(value) is str


# Field type checks: (test, description used in problem messages).
_STRING = (_is_string, "a string")
_NUMBER = (_is_number, "a number")
_INTEGER = (_is_integer, "an integer")
_BOOLEAN = (lambda value: type(value) is bool, "true or false")
_LIST = (lambda value: type(value) is list, "a list")
_OBJECT = (lambda value: type(value) is dict, "an object")


class _SpecReader:
    """Reads fields of the spec with defaults, recording a problem for each wrong or missing one."""

    def __init__(self):
        self.problems: list[Problem] = []

    def problem(self, path: str, message: str, rule_id: str | None = None) -> None:
        self.problems.append(Problem(rule_id=rule_id, message=message, path=path))

    def field(
        self,
        entry: dict,
        key: str,
        path: str,
        expected,
        default=None,
        *,
        required=False,
        rule_id=None,
    ):
        value = entry.get(key)
        if value is None:
            if required:
                self.problem(f"{path}.{key}", f"'{key}' is required", rule_id)
            return default
        test, description = expected
        if not test(value):
            self.problem(
                f"{path}.{key}",
                f"'{key}' must be {description}, not {type(value).__name__}",
                rule_id,
            )
            return default
        return value

    def entries(self, spec: dict, key: str) -> list:
        value = spec.get(key)
        if value is None:
            return []
        if type(value) is not list:
            self.problem(key, f"'{key}' must be a list")
            return []
        return value


class _ConditionPlan:
    """A checked condition: attribute, operator and prepared constant, ready to compile."""

    __slots__ = ("attribute", "operator", "constant", "prepared", "text", "condition_id", "active")

    def __init__(
        self, attribute, operator: Operator, constant, prepared, condition_id=None, active=True
    ):
        self.attribute = attribute
        self.operator = operator
        self.constant = constant
        self.prepared = prepared
        self.text = operator.condition_text(attribute, constant)
        self.condition_id = condition_id
        self.active = active


def _check_condition(
    reader, entry, path, rule_id, *, operator_key, constant_key, condition_id=None
):
    attribute = reader.field(entry, "attribute", path, _STRING, required=True, rule_id=rule_id)
    if attribute == "":
        reader.problem(f"{path}.attribute", "'attribute' must not be empty", rule_id)
        attribute = None
    name = reader.field(entry, operator_key, path, _STRING, required=True, rule_id=rule_id)
    if name is None:
        return None
    operator = OPERATORS.get(name)
    if operator is None:
        reader.problem(
            f"{path}.{operator_key}",
            f"unknown operator '{name}'; {operator_suggestions(name)}",
            rule_id,
        )
        return None
    raw_constant = entry.get(constant_key)
    if raw_constant is None and constant_key not in entry and operator.takes_constant:
        reader.problem(
            f"{path}.{constant_key}",
            f"'{constant_key}' is required for operator '{name}'",
            rule_id,
        )
        return None
    constant = copy.deepcopy(parse_constant(raw_constant))
    if type(raw_constant) is str and type(constant) is not str and operator.constant_is_text:
        # A pattern such as "123" or "1.5" is text for these operators, not a number.
        constant = raw_constant
    if operator.takes_constant and not operator.constant_is_text:
        message = number_range_problem(constant, raw_constant)
        if message is not None:
            reader.problem(f"{path}.{constant_key}", message, rule_id)
            return None
    prepared, message = operator.prepare(name, constant)
    if message is not None:
        reader.problem(f"{path}.{constant_key}", message, rule_id)
        return None
    if attribute is None:
        return None
    return _ConditionPlan(attribute, operator, constant, prepared, condition_id)


def _check_spec(spec):
    """(problems, plan) for a spec; the plan is only complete when there are no problems."""
    reader = _SpecReader()
    if not isinstance(spec, Mapping):
        reader.problem("", "the ruleset spec must be a JSON object")
        return reader.problems, None
    spec_format = spec.get("format")
    if spec_format is not None and spec_format != FORMAT_NAME:
        reader.problem("format", f"'format' must be '{FORMAT_NAME}', not {spec_format!r}")
    format_version = spec.get("format_version")
    if format_version is not None and (
        not _is_integer(format_version) or not 1 <= format_version <= FORMAT_VERSION
    ):
        reader.problem(
            "format_version", f"unsupported format_version {format_version!r}; this engine reads 1"
        )

    header = spec.get("ruleset")
    name, version, semantics, default_recommendation = None, "1.0", STRICT, None
    if type(header) is not dict:
        reader.problem("ruleset", "'ruleset' must be an object with at least a 'name'")
    else:
        name = reader.field(header, "name", "ruleset", _STRING, required=True)
        version = reader.field(header, "version", "ruleset", _STRING, "1.0")
        reader.field(header, "description", "ruleset", _STRING)
        reader.field(header, "is_default", "ruleset", _BOOLEAN)
        reader.field(header, "tags", "ruleset", _LIST)
        reader.field(header, "metadata", "ruleset", _OBJECT)
        semantics = reader.field(header, "semantics", "ruleset", _STRING, STRICT)
        # "" (the model's blank) means no default, as absent does.
        default_recommendation = (
            reader.field(header, "default_recommendation", "ruleset", _STRING) or None
        )
        if semantics not in SEMANTICS:
            reader.problem(
                "ruleset.semantics",
                f"'semantics' must be 'strict' or 'original', not {semantics!r}",
            )
            semantics = STRICT

    catalog = _check_catalog(reader, reader.entries(spec, "conditions"))
    actions = _check_actions(reader, reader.entries(spec, "actions"))
    original = semantics == ORIGINAL
    rules = _check_rules(reader, reader.entries(spec, "rules"), catalog, original=original)
    check_totals(reader, rules)
    # In `original` semantics rules whose attributes are absent are left out, so patterns of
    # every length are meaningful.
    active_count = None if original else sum(1 for rule in rules if rule["active"])
    patterns = _check_patterns(reader, reader.entries(spec, "patterns"), actions, active_count)
    plan = {
        "name": name,
        "version": version,
        "semantics": semantics,
        "rules": rules,
        "patterns": patterns,
        "default_recommendation": default_recommendation,
    }
    return reader.problems, plan


def _check_catalog(reader, entries) -> dict:
    catalog: dict = {}
    for index, entry in enumerate(entries):
        path = f"conditions[{index}]"
        if type(entry) is not dict:
            reader.problem(path, "a condition must be an object")
            continue
        condition_id = reader.field(entry, "condition_id", path, _STRING, required=True)
        for key in ("name", "description", "status"):
            reader.field(entry, key, path, _STRING)
        reader.field(entry, "tags", path, _LIST)
        reader.field(entry, "metadata", path, _OBJECT)
        plan = _check_condition(
            reader,
            entry,
            path,
            None,
            operator_key="operator",
            constant_key="value",
            condition_id=condition_id,
        )
        if condition_id is None:
            continue
        if condition_id in catalog:
            reader.problem(f"{path}.condition_id", f"duplicate condition id '{condition_id}'")
            continue
        if plan is not None:
            plan.active = entry.get("status", ACTIVE) == ACTIVE
        # None marks a known but broken condition: rules using it must not report it as missing.
        catalog[condition_id] = plan
    return catalog


def _check_actions(reader, entries) -> dict:
    actions: dict = {}
    for index, entry in enumerate(entries):
        path = f"actions[{index}]"
        if type(entry) is not dict:
            reader.problem(path, "an action must be an object")
            continue
        action_id = reader.field(entry, "action_id", path, _STRING, required=True)
        for key in ("name", "description", "action_type", "status"):
            reader.field(entry, key, path, _STRING)
        reader.field(entry, "configuration", path, _OBJECT)
        reader.field(entry, "tags", path, _LIST)
        reader.field(entry, "metadata", path, _OBJECT)
        if action_id is None:
            continue
        if action_id in actions:
            reader.problem(f"{path}.action_id", f"duplicate action id '{action_id}'")
            continue
        actions[action_id] = copy.deepcopy(dict(entry))
    return actions


def _check_rules(reader, entries, catalog, *, original: bool = False) -> list:
    rules = []
    seen_ids: set = set()
    for index, entry in enumerate(entries):
        path = f"rules[{index}]"
        if type(entry) is not dict:
            reader.problem(path, "a rule must be an object")
            continue
        rule_id = reader.field(entry, "rule_id", path, _STRING, required=True)
        if rule_id is not None:
            if rule_id in seen_ids:
                reader.problem(f"{path}.rule_id", f"duplicate rule id '{rule_id}'", rule_id)
            seen_ids.add(rule_id)
        for key in ("rule_name", "message", "description"):
            reader.field(entry, key, path, _STRING, rule_id=rule_id)
        weight = reader.field(entry, "weight", path, _NUMBER, 1.0, rule_id=rule_id)
        rule_point = reader.field(entry, "rule_point", path, _NUMBER, 0, rule_id=rule_id)
        priority = reader.field(entry, "priority", path, _INTEGER, 0, rule_id=rule_id)
        action_result = reader.field(entry, "action_result", path, _STRING, "Y", rule_id=rule_id)
        if not original and len(action_result) != 1:
            # Each rule owns one position of the pattern; a longer result would shift the others.
            reader.problem(
                f"{path}.action_result",
                f"'action_result' must be exactly one character, not {action_result!r}",
                rule_id,
            )
        status = reader.field(entry, "status", path, _STRING, ACTIVE, rule_id=rule_id)
        reader.field(entry, "tags", path, _LIST, rule_id=rule_id)
        reader.field(entry, "metadata", path, _OBJECT, rule_id=rule_id)
        rules.append(
            {
                "rule_id": rule_id,
                "index": index,
                "priority": priority,
                "points": rule_points(reader, path, rule_id, rule_point, weight),
                "action_result": action_result,
                "active": status == ACTIVE,
                "form": _check_rule_form(reader, entry, path, rule_id, catalog),
            }
        )
    return rules


def _check_rule_form(reader, entry, path, rule_id, catalog):
    inline = any(entry.get(key) is not None for key in ("attribute", "condition"))
    catalog_form = entry.get("conditions") is not None
    if inline and catalog_form:
        reader.problem(
            path,
            "a rule has either 'attribute'/'condition'/'constant' or 'conditions', not both",
            rule_id,
        )
        return None
    if not inline and not catalog_form:
        reader.problem(
            path, "a rule needs 'attribute', 'condition' and 'constant', or 'conditions'", rule_id
        )
        return None
    if inline:
        plan = _check_condition(
            reader, entry, path, rule_id, operator_key="condition", constant_key="constant"
        )
        return None if plan is None else ("inline", plan)

    conditions = entry["conditions"]
    conditions_path = f"{path}.conditions"
    if type(conditions) is not dict:
        reader.problem(
            conditions_path, "'conditions' must be an object with 'mode' and 'items'", rule_id
        )
        return None
    mode = reader.field(conditions, "mode", conditions_path, _STRING, "all", rule_id=rule_id)
    if mode not in CATALOG_MODES:
        reader.problem(
            f"{conditions_path}.mode",
            f"'mode' must be 'all' (original: inclusive) or 'any' (original: exclusive), "
            f"not {mode!r}",
            rule_id,
        )
        mode = None
    items = reader.field(
        conditions, "items", conditions_path, _LIST, required=True, rule_id=rule_id
    )
    if items is not None and not items:
        reader.problem(
            f"{conditions_path}.items", "'items' must name at least one condition", rule_id
        )
    plans = []
    for position, condition_id in enumerate(items or ()):
        item_path = f"{conditions_path}.items[{position}]"
        if type(condition_id) is not str:
            reader.problem(
                item_path,
                f"a condition reference must be a condition id string, not {condition_id!r}",
                rule_id,
            )
        elif condition_id not in catalog:
            reader.problem(item_path, f"unknown condition '{condition_id}'", rule_id)
        elif catalog[condition_id] is not None:
            plan = catalog[condition_id]
            if not plan.active:
                reader.problem(item_path, f"condition '{condition_id}' is not active", rule_id)
            plans.append(plan)
    if mode is None or not items or len(plans) != len(items):
        return None
    return (mode, tuple(plans))


def _check_patterns(reader, entries, actions, pattern_length) -> dict:
    patterns: dict = {}
    for index, entry in enumerate(entries):
        path = f"patterns[{index}]"
        if type(entry) is not dict:
            reader.problem(path, "a pattern must be an object")
            continue
        key = reader.field(entry, "pattern_key", path, _STRING, required=True)
        recommendation = reader.field(entry, "action_recommendation", path, _STRING, required=True)
        action_id = reader.field(entry, "action", path, _STRING)
        reader.field(entry, "description", path, _STRING)
        if action_id is not None and action_id not in actions:
            reader.problem(f"{path}.action", f"unknown action '{action_id}'")
        if key is None:
            continue
        if pattern_length is not None and len(key) != pattern_length:
            reader.problem(
                f"{path}.pattern_key",
                f"pattern key '{key}' has length {len(key)} "
                f"but the ruleset produces patterns of length {pattern_length}",
            )
        if key in patterns:
            reader.problem(f"{path}.pattern_key", f"duplicate pattern key '{key}'")
            continue
        patterns[key] = (recommendation, actions.get(action_id) if action_id is not None else None)
    return patterns


def ruleset_problems(spec, *, warnings: bool = False) -> list[Problem]:
    """Every problem of a ruleset spec (empty when it compiles).

    With `warnings`, also the warnings (severity "warning", which block nothing: a cost estimate
    far above normal), after the errors.
    """
    problems, plan = _check_spec(spec)
    if warnings and plan is not None:
        return problems + cost_warnings(ruleset_cost(plan["rules"]))
    return problems


def ruleset_pattern_problems(spec) -> list[Problem]:
    """Pattern keys that can never be produced and ambiguous pairs of wildcard keys (strict);
    keys relying on '*' in original semantics (warnings). Separate from ruleset_problems: these
    stop an activation, not the compilation of a version that is already live."""
    _, plan = _check_spec(spec)
    if plan is None:
        return []
    active = sorted(
        (rule for rule in plan["rules"] if rule["active"]), key=lambda rule: rule["priority"]
    )
    keys = [
        (f"patterns[{index}]", entry["pattern_key"])
        for index, entry in enumerate(spec.get("patterns") or ())
        if type(entry) is dict and type(entry.get("pattern_key")) is str
    ]
    return pattern_key_problems(
        keys,
        [rule["action_result"] for rule in active],
        semantics_strict=plan["semantics"] != ORIGINAL,
    )


def compile_ruleset(spec) -> CompiledRuleset:
    """Compile a ruleset spec; raises RulesetCompileError listing every problem."""
    problems, plan = _check_spec(spec)
    if problems:
        raise RulesetCompileError(problems)
    if plan["semantics"] == ORIGINAL:
        return OriginalCompiledRuleset(plan)
    return CompiledRuleset(plan)


class _CompiledCondition:
    """One condition with its trace explanation and the source of its fast test."""

    __slots__ = (
        "plan",
        "condition_id",
        "text",
        "lookup",
        "explain",
        "expression",
        "keys",
        "scans_input",
        "units",
    )

    def __init__(self, plan: _ConditionPlan, bind, key_locals: dict):
        self.plan = plan
        self.condition_id = plan.condition_id
        self.text = plan.text
        self.scans_input = plan.operator.scans_input
        self.units = 1 if self.scans_input else constant_units(plan.constant)
        self.lookup = attribute_lookup(plan.attribute)
        self.explain = plan.operator.explainer(plan.prepared)
        used = []

        def local_for(key: str) -> tuple[str, str]:
            number = key_locals.setdefault(key, len(key_locals))
            used.append(key)
            return f"value{number}", f"type{number}"

        self.expression = fast_expression(
            plan.attribute, plan.operator, plan.prepared, self.explain, bind, local_for
        )
        self.keys = tuple(used)


class _CompiledRule:
    __slots__ = (
        "rule_id",
        "priority",
        "points",
        "action_result",
        "mode",
        "conditions",
        "text",
        "expression",
        "keys",
        "scans_input",
        "units",
    )

    def __init__(self, rule: dict, condition_cache: dict, bind, key_locals: dict):
        self.rule_id = rule["rule_id"]
        self.priority = rule["priority"]
        self.points = rule["points"]
        self.action_result = rule["action_result"]
        mode, payload = rule["form"]
        if mode == "inline":
            self.mode = None
            self.conditions = (_CompiledCondition(payload, bind, key_locals),)
            self.text = payload.text
            self.expression = self.conditions[0].expression
            self.keys = self.conditions[0].keys
            self.scans_input = self.conditions[0].scans_input
            self.units = self.conditions[0].units
            return
        self.mode = mode
        # Catalog conditions are shared between rules: compile each once.
        self.conditions = tuple(
            _cached_condition(plan, condition_cache, bind, key_locals) for plan in payload
        )
        self.text = (" and " if mode == "all" else " or ").join(
            f"({condition.text})" for condition in self.conditions
        )
        # and/or short-circuit exactly as all()/any() over the separate condition results.
        joiner = " and " if mode == "all" else " or "
        self.expression = (
            "(" + joiner.join(f"({condition.expression})" for condition in self.conditions) + ")"
        )
        self.keys = tuple(key for condition in self.conditions for key in condition.keys)
        self.scans_input = any(condition.scans_input for condition in self.conditions)
        self.units = sum(condition.units for condition in self.conditions)


def _cached_condition(plan, cache, bind, key_locals) -> _CompiledCondition:
    compiled = cache.get(plan.condition_id)
    if compiled is None:
        compiled = cache[plan.condition_id] = _CompiledCondition(plan, bind, key_locals)
    return compiled


# Rules per generated function: large enough that a typical ruleset is one call, small enough that a
# 10,000-rule ruleset compiles quickly.
_RULES_PER_CHUNK = 256


def _evaluation_chunks(rules: tuple, namespace: dict, key_locals: dict, checks) -> tuple:
    """Generated functions running the rules.

    (data, total, matched, deadline, budget) -> (pattern part, total, deadline). Straight-line
    code removes the per-rule call and loop overhead of a closure per rule, which is most of the
    cost once the conditions are inline expressions. Each attribute a chunk reads is looked up
    once, however many rules test it. Before the rules in `checks`, the wall clock is compared
    with the deadline (see budget.py); `budget` is None when the ruleset has no checks.
    """
    chunks = []
    for start in range(0, len(rules), _RULES_PER_CHUNK):
        part = rules[start : start + _RULES_PER_CHUNK]
        lines = [
            "def chunk(data, total, matched, deadline, budget):",
            "    get = data.get",
            "    hit = matched.append",
        ]
        keys = dict.fromkeys(key for rule in part for key in rule.keys)
        for key in keys:
            number = key_locals[key]
            lines.append(f"    value{number} = get({key!r}, MISSING)")
            lines.append(f"    type{number} = type(value{number})")
        for position, rule in enumerate(part):
            if start + position in checks:
                lines.append(
                    f"    if clock() > deadline: deadline = overrun(budget, {start + position})"
                )
            lines += [
                f"    if {rule.expression}:",
                f"        p{position} = {rule.action_result!r}",
                f"        total += {_points_literal(rule.points, namespace)}",
                f"        hit({rule.rule_id!r})",
                "    else:",
                f"        p{position} = {NO_MATCH!r}",
            ]
        parts = ", ".join(f"p{position}" for position in range(len(part)))
        lines.append(f"    return ''.join(({parts},)), total, deadline")
        scope = dict(namespace)
        exec(
            compile("\n".join(lines), f"<ruleset chunk {start // _RULES_PER_CHUNK}>", "exec"), scope
        )  # noqa: S102
        chunks.append(scope["chunk"])
    return tuple(chunks)


def _points_literal(points: float, namespace: dict) -> str:
    if math.isfinite(points):
        return repr(points)
    name = f"POINTS{len(namespace)}"
    namespace[name] = points
    return name


def _input_data(data) -> dict:
    # Inputs come from JSON; a non-object has no attributes, so every rule sees "missing".
    if type(data) is dict:
        return data
    if isinstance(data, Mapping):
        return dict(data)
    return {}


class CompiledRuleset:
    """An immutable, thread-safe evaluator for one ruleset; build it with compile_ruleset()."""

    __slots__ = (
        "name",
        "version",
        "semantics",
        "rule_count",
        "pattern_length",
        "rule_ids",
        "cost",
        "_rules",
        "_chunks",
        "_patterns",
        "_pattern_table",
        "_remembered",
        "_fallback",
        "_checks",
        "_clocked",
    )

    def __init__(self, plan: dict):
        active = [rule for rule in plan["rules"] if rule["active"]]
        # Ascending priority; equal priorities keep the order of the ruleset (sorted() is stable).
        active.sort(key=lambda rule: rule["priority"])
        namespace = {
            "MISSING": MISSING,
            "NUMBERS": NUMBER_TYPES,
            "clock": perf_counter,
            "overrun": EvaluationBudget.overrun,
        }

        def bind(value) -> str:
            name = f"BOUND{len(namespace)}"
            namespace[name] = value
            return name

        condition_cache: dict = {}
        key_locals: dict = {}
        rules = tuple(_CompiledRule(rule, condition_cache, bind, key_locals) for rule in active)
        if plan.get("semantics") != ORIGINAL:
            # Only `original` evaluation reads the plans again; strict keeps its memory per rule.
            for condition in condition_cache.values():
                condition.plan = None
            for rule in rules:
                for condition in rule.conditions:
                    condition.plan = None
        checks = budget_checks(rules)
        assign = object.__setattr__
        assign(self, "name", plan["name"])
        assign(self, "version", plan["version"])
        assign(self, "semantics", plan.get("semantics", STRICT))
        assign(self, "rule_count", len(rules))
        assign(self, "pattern_length", len(rules) or None)
        assign(self, "rule_ids", tuple(rule.rule_id for rule in rules))
        assign(self, "cost", ruleset_cost(plan["rules"]))
        assign(self, "_rules", rules)
        assign(self, "_chunks", _evaluation_chunks(rules, namespace, key_locals, checks))
        assign(self, "_patterns", dict(plan["patterns"]))
        table = PatternTable(
            plan["patterns"],
            plan.get("default_recommendation"),
            wildcards=plan.get("semantics") != ORIGINAL,
        )
        assign(self, "_pattern_table", table)
        # Asked only when the exact lookup misses, and only if a wildcard key or a default exists.
        assign(self, "_remembered", table.remembered)
        assign(self, "_fallback", table.fallback if table.needed else None)
        assign(self, "_checks", checks)
        # Without any check, the evaluation's time is bounded by the ruleset's size: no clock.
        assign(self, "_clocked", bool(checks) or any(rule.scans_input for rule in rules))

    def __setattr__(self, name, value):
        raise AttributeError("a compiled ruleset is immutable; compile the changed spec instead")

    def __delattr__(self, name):
        raise AttributeError("a compiled ruleset is immutable")

    def __repr__(self) -> str:
        return f"<CompiledRuleset {self.name!r} version {self.version!r}: {self.rule_count} rules>"

    @property
    def warnings(self) -> list[Problem]:
        """Warnings that block nothing: a cost estimate far above normal."""
        return cost_warnings(self.cost)

    def evaluate(
        self,
        data,
        trace: bool = False,
        *,
        budget_seconds: float | None = DEFAULT_EVALUATION_BUDGET_SECONDS,
    ) -> Evaluation:
        """Run every active rule on `data` (a JSON object); trace=True also explains each rule.

        Raises EvaluationBudgetExceeded when the evaluation uses more than `budget_seconds` of
        engine (CPU) time; None: no budget.
        """
        if type(data) is not dict:
            data = _input_data(data)
        budget = None
        deadline = 0.0  # read only by the checks of a clocked ruleset
        if self._clocked:
            if budget_seconds is not None:
                budget = EvaluationBudget(budget_seconds)
                deadline = budget.deadline
            else:
                deadline = math.inf
        try:
            if trace:
                return self._evaluate_with_trace(data, budget, deadline)
            matched = []
            chunks = self._chunks
            if len(chunks) == 1:
                pattern_result, total, deadline = chunks[0](data, 0.0, matched, deadline, budget)
            else:
                parts = []
                total = 0.0
                for chunk in chunks:
                    part, total, deadline = chunk(data, total, matched, deadline, budget)
                    parts.append(part)
                pattern_result = "".join(parts)
            if budget is not None and perf_counter() > deadline:
                budget.overrun(self.rule_count)
        except BudgetSpent as spent:
            raise self._budget_exceeded(budget_seconds, spent) from None
        found = self._patterns.get(pattern_result)
        if found is None:
            fallback = self._fallback
            if fallback is None:
                return Evaluation(total, pattern_result, None, None, matched)
            found = self._remembered(pattern_result) or fallback(pattern_result)
        return Evaluation(total, pattern_result, found[0], found[1], matched)

    def _budget_exceeded(self, budget_seconds: float, spent: BudgetSpent):
        position = spent.position
        return EvaluationBudgetExceeded(
            budget_ms=budget_seconds * 1000,
            used_ms=spent.used_seconds * 1000,
            rules_run=position,
            rule_count=self.rule_count,
            next_rule_id=self.rule_ids[position] if position < self.rule_count else None,
        )

    def _evaluate_with_trace(self, data: dict, budget, deadline: float) -> Evaluation:
        # Kept apart from evaluate() so that trace=False pays nothing for it; it explains every
        # condition instead of stopping at the first that decides the rule.
        pattern = []
        matched = []
        trace = []
        total = 0.0
        checks = self._checks if budget is not None else ()
        for position, rule in enumerate(self._rules):
            if position in checks and perf_counter() > deadline:
                deadline = budget.overrun(position)
            outcomes = []
            for condition in rule.conditions:
                value = condition.lookup(data)
                outcomes.append(
                    (condition, None if value is MISSING else value, condition.explain(value))
                )
            if rule.mode is None:
                _, value, reason = outcomes[0]
                holds = reason == MATCHED
                entry = {
                    "rule_id": rule.rule_id,
                    "priority": rule.priority,
                    "condition": rule.text,
                    "value": value,
                }
            else:
                reasons = [reason for _, _, reason in outcomes]
                if rule.mode == "all":
                    holds = all(reason == MATCHED for reason in reasons)
                    reason = (
                        MATCHED
                        if holds
                        else next(reason for reason in reasons if reason != MATCHED)
                    )
                else:
                    holds = MATCHED in reasons
                    reason = (
                        MATCHED
                        if holds
                        else (reasons[0] if len(set(reasons)) == 1 else NOT_MATCHED)
                    )
                entry = {
                    "rule_id": rule.rule_id,
                    "priority": rule.priority,
                    "condition": rule.text,
                    "value": None,
                }
            entry["matched"] = holds
            entry["reason"] = reason
            entry["points"] = rule.points if holds else 0.0
            if rule.mode is not None:
                entry["conditions"] = [
                    {
                        "condition_id": condition.condition_id,
                        "condition": condition.text,
                        "value": value,
                        "matched": condition_reason == MATCHED,
                        "reason": condition_reason,
                    }
                    for condition, value, condition_reason in outcomes
                ]
            trace.append(entry)
            if holds:
                pattern.append(rule.action_result)
                total += rule.points
                matched.append(rule.rule_id)
            else:
                pattern.append(NO_MATCH)
        if budget is not None and perf_counter() > deadline:
            budget.overrun(self.rule_count)
        pattern_result = "".join(pattern)
        found = self._patterns.get(pattern_result)
        if found is not None:
            recommendation, action, key, kind = found[0], found[1], pattern_result, EXACT
        else:
            recommendation, action, key, kind = self._pattern_table.miss(pattern_result)
        evaluation = Evaluation(total, pattern_result, recommendation, action, matched, trace)
        evaluation.pattern_match = {"key": key, "kind": kind}
        return evaluation


class OriginalCompiledRuleset(CompiledRuleset):
    """A compiled ruleset with `original` semantics (original.py); strict code stays unchanged."""

    __slots__ = ("_original_rules",)

    def __init__(self, plan: dict):
        super().__init__(plan)
        rules = tuple(
            OriginalRule(
                rule,
                tuple(
                    OriginalClause(condition.plan, condition.lookup, condition.explain)
                    for condition in rule.conditions
                ),
            )
            for rule in self._rules
        )
        object.__setattr__(self, "_original_rules", rules)
        # Patterns of any length: a shorter input gives a shorter pattern.
        object.__setattr__(self, "pattern_length", None)

    def evaluate(
        self,
        data,
        trace: bool = False,
        *,
        budget_seconds: float | None = DEFAULT_EVALUATION_BUDGET_SECONDS,
    ) -> Evaluation:
        """Run the rules the original would run on `data`; see original.py."""
        if type(data) is not dict:
            data = _input_data(data)
        budget = EvaluationBudget(budget_seconds) if budget_seconds is not None else None
        try:
            return original_evaluate(self._original_rules, self._pattern_table, data, trace, budget)
        except BudgetSpent as spent:
            raise self._budget_exceeded(budget_seconds, spent) from None
