"""Check a DMN model once, collecting every problem, and compile it into an evaluator.

Each decision table becomes one generated Python function that reads the inputs and tests every
row inline (as `rules/engine/compiler.py` does for scoring rulesets); the hit policy then picks
from the matched rows. Compiled models are immutable and share nothing mutable between calls, so
one instance serves every thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..problems import Problem, RulesetCompileError
from . import values
from .codegen import CellProblem, Emitter, Scope, literal_value
from .evaluation import DecisionError, DmnEvaluation
from .feel import FeelSyntaxError, literal_values, parse_expression, parse_unary_tests
from .hit_policies import TablePlan, table_decide
from .model import (
    AGGREGATIONS,
    COLLECT,
    HIT_POLICIES,
    LIST_HIT_POLICIES,
    OUTPUT_ORDER,
    PRIORITY,
    Decision,
    DecisionTable,
    Definitions,
    LiteralExpression,
)

STRICT = "strict"
ORIGINAL = "original"
SEMANTICS = (STRICT, ORIGINAL)


class DmnCompileError(RulesetCompileError):
    """The model cannot be compiled; `.problems` lists every problem, each naming its cell."""


class _Problems:
    def __init__(self):
        self.items: list[Problem] = []

    def add(self, path: str, message: str, rule_id: str | None = None) -> None:
        self.items.append(Problem(rule_id=rule_id, message=message, path=path))


def _evaluation_order(definitions: Definitions, problems: _Problems) -> list[Decision]:
    """Decisions with every requirement before the decision needing it; a cycle is a problem."""
    by_id = {}
    for index, decision in enumerate(definitions.decisions):
        if decision.id in by_id:
            problems.add(f"decisions[{index}].id", f"duplicate decision id '{decision.id}'")
        by_id.setdefault(decision.id, decision)
    names = {}
    for decision in definitions.decisions:
        if not decision.name:
            problems.add(f"decisions[{decision.id}].name", "a decision needs a name")
        elif decision.name in names:
            problems.add(
                f"decisions[{decision.id}].name", f"duplicate decision name '{decision.name}'"
            )
        names.setdefault(decision.name, decision)
    input_ids = {entry.id for entry in definitions.input_data}
    for decision in definitions.decisions:
        for required in decision.required_decisions:
            if required not in by_id:
                problems.add(
                    f"decisions[{decision.id}].required_decisions",
                    f"requires decision '{required}', which is not in the model",
                )
        for required in decision.required_inputs:
            if required not in input_ids:
                problems.add(
                    f"decisions[{decision.id}].required_inputs",
                    f"requires input data '{required}', which is not in the model",
                )

    order: list[Decision] = []
    state: dict[str, str] = {}

    def visit(decision: Decision, chain: list[str]) -> None:
        mark = state.get(decision.id)
        if mark == "done":
            return
        if mark == "visiting":
            cycle = chain[chain.index(decision.id) :] + [decision.id]
            problems.add(
                f"decisions[{decision.id}].required_decisions",
                "the requirements form a cycle: " + " → ".join(cycle),
            )
            return
        state[decision.id] = "visiting"
        for required in decision.required_decisions:
            if required in by_id:
                visit(by_id[required], chain + [decision.id])
        state[decision.id] = "done"
        order.append(decision)

    for decision in by_id.values():
        visit(decision, [])
    return order


def _output_names(decision: Decision) -> list[str]:
    if isinstance(decision.logic, DecisionTable):
        return [output.name for output in decision.logic.outputs]
    return []


class _CompiledDecision:
    """One decision, ready: `evaluate(ctx, trace)` → (result, matched rule ids, error, trace)."""

    __slots__ = ("decision", "kind", "plan", "expression")

    def __init__(self, decision, kind, plan=None, expression=None):
        self.decision = decision
        self.kind = kind
        self.plan = plan
        self.expression = expression


def _compile_table(decision: Decision, table: DecisionTable, scope_names, semantics, problems):
    base = f"decisions[{decision.id}]"
    plan_ok = True
    if table.hit_policy not in HIT_POLICIES:
        problems.add(f"{base}.hit_policy", f"unknown hit policy '{table.hit_policy}'")
        plan_ok = False
    if table.aggregation is not None:
        if table.aggregation not in AGGREGATIONS:
            problems.add(f"{base}.aggregation", f"unknown aggregation '{table.aggregation}'")
            plan_ok = False
        elif table.hit_policy != COLLECT:
            problems.add(f"{base}.aggregation", "only the COLLECT hit policy takes an aggregation")
            plan_ok = False
        elif len(table.outputs) != 1:
            problems.add(f"{base}.aggregation", "an aggregation needs exactly one output")
            plan_ok = False
    if not table.outputs:
        problems.add(f"{base}.outputs", "a decision table needs at least one output")
        return None
    output_names = [output.name for output in table.outputs]
    for index, name in enumerate(output_names):
        if not name:
            problems.add(f"{base}.outputs[{index}].name", "an output needs a name")
        elif output_names.index(name) != index:
            problems.add(f"{base}.outputs[{index}].name", f"duplicate output name '{name}'")

    columns: dict[str, int] = {}
    known = set(scope_names)
    emitter = Emitter()
    column_code = []
    input_kinds = []
    allowed_checks = []
    for index, column in enumerate(table.inputs):
        path = f"{base}.inputs[{index}]"
        if column.type_ref is not None and column.type_ref not in values.TYPES:
            problems.add(f"{path}.type_ref", f"unknown type '{column.type_ref}'")
        try:
            node = parse_expression(column.expression)
        except FeelSyntaxError as error:
            problems.add(f"{path}.expression", f"input '{column.label or column.id}': {error}")
            plan_ok = False
            column_code.append("None")
            input_kinds.append(None)
            continue
        # The column's own expression declares its input: any name is accepted here.
        code = emitter.expression(node, Scope(columns={}, known=None, bare_words_are_strings=False))
        coercion = values.COERCIONS.get(column.type_ref)
        if coercion is not None:
            code = f"{emitter.constant(coercion)}({code})"
        column_code.append(code)
        columns.setdefault(column.expression.strip(), index)
        known.add(column.expression.strip().split(".")[0])
        input_kinds.append(column.type_ref)

    scope = Scope(columns, known, bare_words_are_strings=semantics == ORIGINAL)
    for index, column in enumerate(table.inputs):
        if column.allowed_values is None or column.allowed_values.strip() == "":
            continue
        try:
            tests = parse_unary_tests(column.allowed_values)
            code, _ = emitter.unary_tests(tests, f"x{index}", scope)
        except (FeelSyntaxError, CellProblem) as error:
            problems.add(f"{base}.inputs[{index}].allowed_values", str(error))
            plan_ok = False
            continue
        if code is not None:
            allowed_checks.append((index, _function(emitter, len(table.inputs), code)))

    priorities = []
    for index, output in enumerate(table.outputs):
        path = f"{base}.outputs[{index}]"
        if output.type_ref is not None and output.type_ref not in values.TYPES:
            problems.add(f"{path}.type_ref", f"unknown type '{output.type_ref}'")
        allowed = None
        if output.allowed_values and output.allowed_values.strip():
            try:
                allowed = literal_values(parse_unary_tests(output.allowed_values))
            except FeelSyntaxError as error:
                problems.add(f"{path}.allowed_values", str(error))
                plan_ok = False
            else:
                if allowed is None:
                    problems.add(
                        f"{path}.allowed_values",
                        "output values must be literals separated by commas",
                    )
                    plan_ok = False
        priorities.append(allowed)
    if table.hit_policy in (PRIORITY, OUTPUT_ORDER) and not any(priorities):
        problems.add(
            f"{base}.outputs",
            f"{table.hit_policy} needs the allowed values of an output, in priority order",
        )
        plan_ok = False

    defaults = []
    for index, output in enumerate(table.outputs):
        if output.default is None or output.default.strip() == "":
            defaults.append(None)
            continue
        try:
            is_constant, value = literal_value(parse_expression(output.default), scope)
        except (FeelSyntaxError, CellProblem) as error:
            problems.add(f"{base}.outputs[{index}].default", str(error))
            plan_ok = False
            defaults.append(None)
            continue
        if not is_constant:
            problems.add(f"{base}.outputs[{index}].default", "a default output must be a literal")
            plan_ok = False
        defaults.append(value)

    row_tests = []
    cell_functions = []
    cell_kinds = []
    row_outputs = []
    input_count = len(table.inputs)
    for row_index, rule in enumerate(table.rules):
        path = f"{base}.rules[{row_index}]"
        if len(rule.input_entries) != input_count:
            problems.add(
                path,
                f"has {len(rule.input_entries)} input entries for {input_count} inputs",
                rule.id,
            )
            plan_ok = False
            continue
        if len(rule.output_entries) != len(table.outputs):
            problems.add(
                path,
                f"has {len(rule.output_entries)} output entries for {len(table.outputs)} outputs",
                rule.id,
            )
            plan_ok = False
            continue
        tests_code = []
        functions = []
        kinds = []
        for column_index, text in enumerate(rule.input_entries):
            column = table.inputs[column_index]
            try:
                code, entry_kinds = emitter.unary_tests(
                    parse_unary_tests(text), f"x{column_index}", scope
                )
            except (FeelSyntaxError, CellProblem) as error:
                problems.add(
                    f"{path}.input_entries[{column_index}]",
                    f"input '{column.label or column.expression}': {text.strip()!r}: {error}",
                    rule.id,
                )
                plan_ok = False
                functions.append(None)
                kinds.append(set())
                continue
            if code is not None:
                tests_code.append(f"({code})")
            functions.append(None if code is None else _function(emitter, input_count, code))
            kinds.append(entry_kinds)
        outputs = []
        for output_index, text in enumerate(rule.output_entries):
            output = table.outputs[output_index]
            if text.strip() == "":
                outputs.append((True, None))  # an empty output entry is null, as in Camunda
                continue
            try:
                node = parse_expression(text)
                is_constant, value = literal_value(node, scope)
                code = None if is_constant else emitter.expression(node, scope)
            except (FeelSyntaxError, CellProblem) as error:
                problems.add(
                    f"{path}.output_entries[{output_index}]",
                    f"output '{output.name}': {text.strip()!r}: {error}",
                    rule.id,
                )
                plan_ok = False
                outputs.append((True, None))
                continue
            if is_constant:
                problem = _output_value_problem(value, output, priorities[output_index])
                if problem:
                    problems.add(f"{path}.output_entries[{output_index}]", problem, rule.id)
                    plan_ok = False
                outputs.append((True, value))
            else:
                outputs.append((False, _function(emitter, input_count, code)))
        row_tests.append(" and ".join(tests_code) or "True")
        cell_functions.append(tuple(functions))
        cell_kinds.append(tuple(kinds))
        row_outputs.append(tuple(outputs))

    if not plan_ok:
        return None
    try:
        matcher = _matcher(emitter, decision, column_code, row_tests, table.hit_policy)
    except (SyntaxError, RecursionError, MemoryError, ValueError) as error:
        problems.add(base, f"the table is too large to compile ({type(error).__name__})")
        return None
    return TablePlan(
        decision=decision,
        table=table,
        matcher=matcher,
        row_outputs=tuple(row_outputs),
        cell_functions=tuple(cell_functions),
        cell_kinds=tuple(cell_kinds),
        allowed_checks=tuple(allowed_checks),
        priorities=tuple(priorities),
        defaults=tuple(defaults),
        single_output=len(table.outputs) == 1,
        list_result=table.hit_policy in LIST_HIT_POLICIES,
    )


def _output_value_problem(value, output, allowed) -> str | None:
    if value is None:
        return None
    kind = values.value_kind(value)
    if output.type_ref is not None and kind != output.type_ref:
        return f"output '{output.name}' is a {output.type_ref}, not a {kind} ({value!r})"
    if allowed and value not in allowed:
        return f"output '{output.name}': {value!r} is not among the allowed values"
    return None


def _function(emitter: Emitter, input_count: int, code: str):
    parameters = ", ".join(["ctx"] + [f"x{index}" for index in range(input_count)])
    source = f"def cell({parameters}):\n    return {code}\n"
    namespace = dict(emitter.namespace)
    exec(compile(source, "<dmn cell>", "exec"), namespace)  # noqa: S102 - our own generated code
    return namespace["cell"]


def _matcher(emitter, decision, column_code, row_tests, hit_policy):
    lines = ["def match(ctx):"]
    for index, code in enumerate(column_code):
        lines.append(f"    x{index} = {code}")
    columns = "(" + "".join(f"x{index}, " for index in range(len(column_code))) + ")"
    first = hit_policy == "FIRST"
    if not first:
        lines.append("    hits = []")
    for row_index, test in enumerate(row_tests):
        lines.append(f"    if {test}:")
        if first:
            lines.append(f"        return [{row_index}], {columns}")
        else:
            lines.append(f"        hits.append({row_index})")
    lines.append(f"    return {'[]' if first else 'hits'}, {columns}")
    source = "\n".join(lines) + "\n"
    namespace = dict(emitter.namespace)
    exec(compile(source, f"<dmn {decision.id}>", "exec"), namespace)  # noqa: S102
    match = namespace["match"]
    match.source = source
    return match


def _check(definitions: Definitions, semantics: str):
    problems = _Problems()
    if semantics not in SEMANTICS:
        problems.add("semantics", f"semantics must be one of {', '.join(SEMANTICS)}")
        return problems.items, None
    order = _evaluation_order(definitions, problems)
    by_id = {decision.id: decision for decision in definitions.decisions}
    input_names = {entry.name for entry in definitions.input_data}
    input_ids = {entry.id: entry for entry in definitions.input_data}
    for index, entry in enumerate(definitions.input_data):
        if entry.type_ref is not None and entry.type_ref not in values.TYPES:
            problems.add(f"input_data[{index}].type_ref", f"unknown type '{entry.type_ref}'")
    compiled = []
    for decision in order:
        scope_names = set(input_names)
        for required in decision.required_decisions:
            if required in by_id:
                scope_names.add(by_id[required].name)
                scope_names.update(_output_names(by_id[required]))
        for required in decision.required_inputs:
            if required in input_ids:
                scope_names.add(input_ids[required].name)
        logic = decision.logic
        if isinstance(logic, DecisionTable):
            plan = _compile_table(decision, logic, scope_names, semantics, problems)
            compiled.append(_CompiledDecision(decision, "table", plan=plan))
        elif isinstance(logic, LiteralExpression):
            try:
                node = parse_expression(logic.text)
                emitter = Emitter()
                code = emitter.expression(
                    node,
                    Scope(columns={}, known=None, bare_words_are_strings=False),
                )
            except (FeelSyntaxError, CellProblem) as error:
                problems.add(f"decisions[{decision.id}].logic.text", str(error))
                continue
            compiled.append(
                _CompiledDecision(decision, "literal", expression=_function(emitter, 0, code))
            )
        else:
            problems.add(
                f"decisions[{decision.id}].logic",
                "the decision has no decision table or literal expression",
            )
    return problems.items, compiled


def definitions_problems(definitions: Definitions, *, semantics: str = STRICT) -> list[Problem]:
    """Every problem of the model, each naming its decision, rule and column; [] when valid."""
    problems, _ = _check(definitions, semantics)
    return problems


def compile_definitions(
    definitions: Definitions, *, semantics: str = STRICT
) -> CompiledDefinitions:
    """The model compiled for evaluation; raises DmnCompileError with every problem."""
    problems, compiled = _check(definitions, semantics)
    if problems:
        raise DmnCompileError(problems)
    return CompiledDefinitions(definitions, compiled, semantics)


class CompiledDefinitions:
    """A compiled model: `evaluate(inputs)` answers every decision (or the ones asked for)."""

    def __init__(self, definitions: Definitions, compiled: list[_CompiledDecision], semantics: str):
        self.definitions = definitions
        self.semantics = semantics
        self._order = tuple(compiled)
        self._input_coercions = tuple(
            (entry.name, values.COERCIONS[entry.type_ref])
            for entry in definitions.input_data
            if entry.type_ref in values.COERCIONS
        )
        required = {r for decision in definitions.decisions for r in decision.required_decisions}
        roots = [decision for decision in definitions.decisions if decision.id not in required]
        self.top_decision = roots[0] if roots else None

    @property
    def decisions(self) -> tuple[Decision, ...]:
        """The decisions in evaluation order (every requirement first)."""
        return tuple(compiled.decision for compiled in self._order)

    def _selected(self, decisions: Iterable[str] | None):
        if decisions is None:
            return self._order
        wanted = set(decisions)
        by_id = {compiled.decision.id: compiled.decision for compiled in self._order}
        needed: set[str] = set()
        pending = [d.id for d in by_id.values() if d.id in wanted or d.name in wanted]
        while pending:
            decision_id = pending.pop()
            if decision_id not in needed:
                needed.add(decision_id)
                pending.extend(by_id[decision_id].required_decisions)
        return tuple(compiled for compiled in self._order if compiled.decision.id in needed)

    def evaluate(
        self,
        inputs: Mapping,
        *,
        trace: bool = False,
        decisions: Iterable[str] | None = None,
    ) -> DmnEvaluation:
        """Every decision's result for `inputs`; errors are reported in the answer, never raised.

        `decisions` (ids or names) limits the work to those decisions and what they require.
        """
        context = dict(inputs)
        for name, coercion in self._input_coercions:
            if name in context:
                context[name] = coercion(context[name])
        outputs = {}
        matched = {}
        errors = []
        traces = {} if trace else None
        for compiled in self._selected(decisions):
            decision = compiled.decision
            if compiled.kind == "literal":
                result, rule_ids, error, decision_trace = (
                    compiled.expression(context),
                    [],
                    None,
                    None,
                )
                if trace:
                    decision_trace = {
                        "decision_id": decision.id,
                        "result": values.json_value(result),
                    }
            else:
                result, rule_ids, error, decision_trace = table_decide(
                    compiled.plan, context, trace
                )
            outputs[decision.name] = result
            matched[decision.name] = rule_ids
            if error is not None:
                errors.append(error)
            if trace:
                traces[decision.name] = decision_trace
            # A required decision's result is visible to later decisions by the decision's name,
            # and (as in Camunda) a single result's outputs by their own names too.
            context[decision.name] = result
            if isinstance(result, dict):
                for key, value in result.items():
                    context.setdefault(key, value)
            elif (
                compiled.kind == "table"
                and compiled.plan.single_output
                and not compiled.plan.list_result
            ):
                context.setdefault(compiled.plan.table.outputs[0].name, result)
        top = self.top_decision.name if self.top_decision is not None else None
        return DmnEvaluation(outputs, matched, errors, traces, top)

    def source(self, decision_id: str) -> str | None:
        """The generated Python of a decision table's matcher (for debugging and the docs)."""
        for compiled in self._order:
            if compiled.decision.id == decision_id and compiled.kind == "table":
                return compiled.plan.matcher.source
        return None


__all__ = [
    "ORIGINAL",
    "SEMANTICS",
    "STRICT",
    "CompiledDefinitions",
    "DecisionError",
    "DmnCompileError",
    "compile_definitions",
    "definitions_problems",
]
