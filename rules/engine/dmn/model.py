"""A DMN model as frozen dataclasses: what an analyst wrote, cell texts kept verbatim.

Cells hold FEEL text (`"< 700"`, `"\\"gold\\",\\"platinum\\""`), not parsed values: the text is
what is stored, diffed, shown and exported; compiling parses it and names any cell it cannot read.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

UNIQUE = "UNIQUE"
ANY = "ANY"
PRIORITY = "PRIORITY"
FIRST = "FIRST"
RULE_ORDER = "RULE ORDER"
OUTPUT_ORDER = "OUTPUT ORDER"
COLLECT = "COLLECT"
HIT_POLICIES = (UNIQUE, ANY, PRIORITY, FIRST, RULE_ORDER, OUTPUT_ORDER, COLLECT)
# Hit policies whose result is a list of the matched rows' outputs.
LIST_HIT_POLICIES = (RULE_ORDER, OUTPUT_ORDER, COLLECT)

SUM = "SUM"
MIN = "MIN"
MAX = "MAX"
COUNT = "COUNT"
AGGREGATIONS = (SUM, MIN, MAX, COUNT)


@dataclass(frozen=True)
class InputClause:
    """A column: the value tested (an attribute name, a dotted path or a FEEL expression)."""

    id: str
    expression: str
    label: str = ""
    type_ref: str | None = None  # one of values.TYPES, None = any
    allowed_values: str | None = None  # unary tests, e.g. '"gold","silver"' or '[0..120]'


@dataclass(frozen=True)
class OutputClause:
    """An output column; allowed values (FEEL literals, in priority order) drive PRIORITY."""

    id: str
    name: str
    label: str = ""
    type_ref: str | None = None
    allowed_values: str | None = None  # e.g. '"declined","referred","approved"'
    default: str | None = None  # FEEL expression used when no rule matches (single-hit only)


@dataclass(frozen=True)
class Rule:
    """A row: one unary-tests text per input, one expression text per output."""

    id: str
    input_entries: tuple[str, ...]
    output_entries: tuple[str, ...]
    annotation: str = ""


@dataclass(frozen=True)
class DecisionTable:
    id: str
    inputs: tuple[InputClause, ...]
    outputs: tuple[OutputClause, ...]
    rules: tuple[Rule, ...]
    hit_policy: str = UNIQUE
    aggregation: str | None = None  # COLLECT only


@dataclass(frozen=True)
class LiteralExpression:
    id: str
    text: str
    type_ref: str | None = None


@dataclass(frozen=True)
class Decision:
    """A decision: its logic and what it requires (other decisions, input data) by id."""

    id: str
    name: str
    logic: DecisionTable | LiteralExpression | None
    required_decisions: tuple[str, ...] = ()
    required_inputs: tuple[str, ...] = ()
    type_ref: str | None = None  # the decision variable's type (literal expressions)


@dataclass(frozen=True)
class InputData:
    """A named input of the model; its value is `inputs[name]`, read as `type_ref`."""

    id: str
    name: str
    type_ref: str | None = None


@dataclass(frozen=True)
class Shape:
    """Where the DRD diagram draws an element (DMNDI), kept so an export keeps the layout."""

    element_id: str
    x: float
    y: float
    width: float = 180.0
    height: float = 80.0


@dataclass(frozen=True)
class Definitions:
    """A whole DMN model: decisions (any order; evaluated in dependency order) and input data."""

    id: str
    name: str
    decisions: tuple[Decision, ...]
    input_data: tuple[InputData, ...] = ()
    namespace: str = "https://ruleengine.example/dmn"
    shapes: tuple[Shape, ...] = field(default=(), compare=False)

    def decision(self, decision_id: str) -> Decision | None:
        """The decision with this id, or None."""
        return next((d for d in self.decisions if d.id == decision_id), None)

    def as_dict(self) -> dict:
        """The model as plain JSON (tuples become lists); `definitions_from_dict` reads it back."""
        return asdict(self)


def definitions_from_dict(data: dict) -> Definitions:
    """The model from `Definitions.as_dict()` output (the JSON a version can store)."""

    def logic(entry):
        if entry is None:
            return None
        if "rules" in entry:
            return DecisionTable(
                id=entry["id"],
                inputs=tuple(InputClause(**column) for column in entry["inputs"]),
                outputs=tuple(OutputClause(**column) for column in entry["outputs"]),
                rules=tuple(
                    Rule(
                        id=rule["id"],
                        input_entries=tuple(rule["input_entries"]),
                        output_entries=tuple(rule["output_entries"]),
                        annotation=rule.get("annotation", ""),
                    )
                    for rule in entry["rules"]
                ),
                hit_policy=entry.get("hit_policy", UNIQUE),
                aggregation=entry.get("aggregation"),
            )
        return LiteralExpression(**entry)

    return Definitions(
        id=data["id"],
        name=data["name"],
        namespace=data.get("namespace", "https://ruleengine.example/dmn"),
        decisions=tuple(
            Decision(
                id=decision["id"],
                name=decision["name"],
                logic=logic(decision.get("logic")),
                required_decisions=tuple(decision.get("required_decisions", ())),
                required_inputs=tuple(decision.get("required_inputs", ())),
                type_ref=decision.get("type_ref"),
            )
            for decision in data["decisions"]
        ),
        input_data=tuple(InputData(**entry) for entry in data.get("input_data", ())),
        shapes=tuple(Shape(**shape) for shape in data.get("shapes", ())),
    )
