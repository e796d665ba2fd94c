"""Read DMN 1.1, 1.2 and 1.3 XML (Camunda Modeler files included) into a `Definitions` model.

Parsing goes through defusedxml (no DTDs, no entity expansion: uploads are untrusted). Anything
the engine cannot evaluate is reported with the element, its path and its line; then nothing is
returned, never a partial model. Camunda's extension attributes are read where they carry meaning
(`camunda:inputVariable` names an input whose expression is empty) and ignored otherwise.
"""

from __future__ import annotations

from xml.etree.ElementTree import ParseError, TreeBuilder

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from ..problems import Problem, RulesetCompileError
from .model import (
    AGGREGATIONS,
    HIT_POLICIES,
    Decision,
    DecisionTable,
    Definitions,
    InputClause,
    InputData,
    LiteralExpression,
    OutputClause,
    Rule,
    Shape,
)
from .values import type_ref_canonical

DMN11 = "http://www.omg.org/spec/DMN/20151101/dmn.xsd"
DMN12 = "http://www.omg.org/spec/DMN/20180521/MODEL/"
DMN13 = "https://www.omg.org/spec/DMN/20191111/MODEL/"
DMN_NAMESPACES = {DMN11: "1.1", DMN12: "1.2", DMN13: "1.3"}
CAMUNDA = "http://camunda.org/schema/1.0/dmn"
DMNDI_NAMESPACES = {
    "http://www.omg.org/spec/DMN/20180521/DMNDI/",
    "https://www.omg.org/spec/DMN/20191111/DMNDI/",
}
DC_NAMESPACE = "http://www.omg.org/spec/DMN/20180521/DC/"

# Elements that document a model but do not change what it decides: skipped on import.
_IGNORED = {
    "description",
    "extensionElements",
    "textAnnotation",
    "association",
    "question",
    "allowedAnswers",
    "authorityRequirement",
    "annotation",
}
_HIT_POLICY_ALIASES = {"RULE_ORDER": "RULE ORDER", "OUTPUT_ORDER": "OUTPUT ORDER"}


class DmnImportError(RulesetCompileError):
    """The file cannot be read as a model; `.problems` names each element (and its line)."""


class _LineTreeBuilder(TreeBuilder):
    """A TreeBuilder that remembers the line each element starts on (for the report)."""

    def __init__(self):
        super().__init__()
        self.lines: dict = {}
        self.expat = None

    def start(self, tag, attrs):
        element = super().start(tag, attrs)
        if self.expat is not None:
            self.lines[element] = self.expat.CurrentLineNumber
        return element


def _local(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return "", tag


class _Reader:
    def __init__(self, lines: dict, namespace: str):
        self.lines = lines
        self.ns = namespace
        self.problems: list[Problem] = []

    def problem(self, element, path: str, message: str, rule_id: str | None = None) -> None:
        line = self.lines.get(element)
        where = f"{path} (line {line})" if line else path
        self.problems.append(Problem(rule_id=rule_id, message=message, path=where))

    def children(self, element, path: str, allowed: set[str]):
        """The DMN children of `element` as (name, child); reports unsupported DMN elements."""
        for child in element:
            if not isinstance(child.tag, str):
                continue  # a comment or processing instruction
            namespace, name = _local(child.tag)
            if namespace != self.ns:
                continue  # an extension (camunda:, biodi:, …) or DMNDI, read separately
            if name in _IGNORED:
                continue
            if name not in allowed:
                self.problem(
                    child,
                    f"{path}/{name}",
                    f"unsupported DMN element <{name}>: this engine evaluates decision tables "
                    "and literal expressions only",
                )
                continue
            yield name, child

    def text(self, element) -> str:
        """The FEEL text of an entry: its <text> child (in any namespace, as some tools write)."""
        if element is None:
            return ""
        for child in element:
            if isinstance(child.tag, str) and _local(child.tag)[1] == "text":
                return (child.text or "").strip()
        return (element.text or "").strip()

    def type_ref(self, element, path: str, value: str | None) -> str | None:
        try:
            return type_ref_canonical(value)
        except KeyError:
            self.problem(
                element, path, f"unsupported typeRef '{value}' (item definitions are not supported)"
            )
            return None

    def href(self, element, path: str) -> str | None:
        href = element.get("href", "")
        if not href.startswith("#") or len(href) < 2:
            self.problem(element, path, f"unsupported reference '{href}': only '#id' in this file")
            return None
        return href[1:]

    # ---- elements ---------------------------------------------------------------------------
    def definitions(self, root) -> Definitions:
        decisions, input_data = [], []
        for name, child in self.children(
            root, "definitions", {"decision", "inputData", "itemDefinition"}
        ):
            if name == "decision":
                decision = self.decision(child)
                if decision is not None:
                    decisions.append(decision)
            elif name == "inputData":
                input_data.append(self.input_data(child))
            else:
                self.problem(
                    child,
                    f"definitions/itemDefinition[@name='{child.get('name', '')}']",
                    "unsupported DMN element <itemDefinition>: use the FEEL base types",
                )
        if not decisions and not self.problems:
            self.problem(root, "definitions", "the model has no decision")
        return Definitions(
            id=root.get("id", "definitions"),
            name=root.get("name", ""),
            namespace=root.get("namespace", ""),
            decisions=tuple(decisions),
            input_data=tuple(input_data),
            shapes=self.shapes(root),
        )

    def input_data(self, element) -> InputData:
        path = f"definitions/inputData[@id='{element.get('id', '')}']"
        type_ref = None
        for _name, child in self.children(element, path, {"variable"}):
            type_ref = self.type_ref(child, f"{path}/variable", child.get("typeRef"))
        name = element.get("name", "")
        if not name:
            self.problem(element, path, "an input data element needs a name")
        return InputData(id=element.get("id", name), name=name, type_ref=type_ref)

    def decision(self, element) -> Decision | None:
        decision_id = element.get("id", "")
        path = f"definitions/decision[@id='{decision_id}']"
        if not decision_id:
            self.problem(element, path, "a decision needs an id")
        required_decisions, required_inputs = [], []
        logic = None
        type_ref = None
        allowed = {"variable", "informationRequirement", "decisionTable", "literalExpression"}
        for name, child in self.children(element, path, allowed):
            child_path = f"{path}/{name}"
            if name == "variable":
                type_ref = self.type_ref(child, child_path, child.get("typeRef"))
            elif name == "informationRequirement":
                for kind, reference in self.children(
                    child, child_path, {"requiredDecision", "requiredInput"}
                ):
                    target = self.href(reference, f"{child_path}/{kind}")
                    if target is not None:
                        (
                            required_decisions if kind == "requiredDecision" else required_inputs
                        ).append(target)
            elif logic is not None:
                self.problem(child, child_path, "a decision has one decision logic")
            elif name == "decisionTable":
                logic = self.decision_table(child, child_path)
            else:
                literal_type = self.type_ref(child, child_path, child.get("typeRef"))
                logic = LiteralExpression(
                    id=child.get("id", f"{decision_id}_expression"),
                    text=self.text(child),
                    type_ref=literal_type,
                )
        if logic is None:
            self.problem(element, path, "the decision has no decision table or literal expression")
        return Decision(
            id=decision_id,
            name=element.get("name", "") or decision_id,
            logic=logic,
            required_decisions=tuple(required_decisions),
            required_inputs=tuple(required_inputs),
            type_ref=type_ref,
        )

    def decision_table(self, element, path: str) -> DecisionTable:
        hit_policy = element.get("hitPolicy", "UNIQUE").strip().upper()
        hit_policy = _HIT_POLICY_ALIASES.get(hit_policy, hit_policy)
        if hit_policy not in HIT_POLICIES:
            self.problem(element, path, f"unknown hitPolicy '{element.get('hitPolicy')}'")
        aggregation = element.get("aggregation")
        if aggregation is not None:
            aggregation = aggregation.strip().upper()
            if aggregation not in AGGREGATIONS:
                self.problem(element, path, f"unknown aggregation '{element.get('aggregation')}'")
        inputs, outputs, rules = [], [], []
        for name, child in self.children(element, path, {"input", "output", "rule"}):
            if name == "input":
                inputs.append(self.input_clause(child, f"{path}/input[{len(inputs) + 1}]"))
            elif name == "output":
                outputs.append(self.output_clause(child, f"{path}/output[{len(outputs) + 1}]"))
            else:
                rules.append(self.rule(child, f"{path}/rule[{len(rules) + 1}]", len(rules)))
        return DecisionTable(
            id=element.get("id", ""),
            inputs=tuple(inputs),
            outputs=tuple(outputs),
            rules=tuple(rules),
            hit_policy=hit_policy,
            aggregation=aggregation,
        )

    def input_clause(self, element, path: str) -> InputClause:
        expression_element = None
        allowed_values = None
        for name, child in self.children(element, path, {"inputExpression", "inputValues"}):
            if name == "inputExpression":
                expression_element = child
            else:
                allowed_values = self.text(child) or None
        label = element.get("label", "")
        expression = self.text(expression_element)
        # Camunda Modeler leaves the expression empty and names the variable instead.
        expression = expression or element.get(f"{{{CAMUNDA}}}inputVariable", "") or label
        if not expression:
            self.problem(element, path, "the input has no expression, variable or label")
        type_ref = None
        if expression_element is not None:
            type_ref = self.type_ref(
                expression_element, f"{path}/inputExpression", expression_element.get("typeRef")
            )
        return InputClause(
            id=element.get("id", ""),
            expression=expression,
            label=label,
            type_ref=type_ref,
            allowed_values=allowed_values,
        )

    def output_clause(self, element, path: str) -> OutputClause:
        allowed_values = default = None
        for name, child in self.children(element, path, {"outputValues", "defaultOutputEntry"}):
            if name == "outputValues":
                allowed_values = self.text(child) or None
            else:
                default = self.text(child) or None
        name = element.get("name", "") or element.get("label", "") or element.get("id", "")
        return OutputClause(
            id=element.get("id", ""),
            name=name,
            label=element.get("label", ""),
            type_ref=self.type_ref(element, path, element.get("typeRef")),
            allowed_values=allowed_values,
            default=default,
        )

    def rule(self, element, path: str, index: int) -> Rule:
        rule_id = element.get("id", "") or f"rule{index + 1}"
        path = f"{path}[@id='{rule_id}']" if element.get("id") else path
        inputs, outputs, annotations = [], [], []
        annotation = ""
        for child in element:
            if isinstance(child.tag, str) and _local(child.tag) == (self.ns, "description"):
                annotation = (child.text or "").strip()
        for name, child in self.children(
            element, path, {"inputEntry", "outputEntry", "annotationEntry"}
        ):
            {"inputEntry": inputs, "outputEntry": outputs, "annotationEntry": annotations}[
                name
            ].append(self.text(child))
        return Rule(
            id=rule_id,
            input_entries=tuple(inputs),
            output_entries=tuple(outputs),
            annotation=annotation or " ".join(text for text in annotations if text),
        )

    def shapes(self, root) -> tuple[Shape, ...]:
        shapes = []
        for element in root.iter():
            if not isinstance(element.tag, str):
                continue
            namespace, name = _local(element.tag)
            if name != "DMNShape" or namespace not in DMNDI_NAMESPACES:
                continue
            bounds = next(
                (c for c in element if isinstance(c.tag, str) and _local(c.tag)[1] == "Bounds"),
                None,
            )
            if bounds is None or not element.get("dmnElementRef"):
                continue
            try:
                shapes.append(
                    Shape(
                        element_id=element.get("dmnElementRef"),
                        x=float(bounds.get("x", 0)),
                        y=float(bounds.get("y", 0)),
                        width=float(bounds.get("width", 180)),
                        height=float(bounds.get("height", 80)),
                    )
                )
            except ValueError:
                continue  # a diagram is layout only; a bad number never blocks the model
        return tuple(shapes)


def read_dmn(source: str | bytes) -> Definitions:
    """The model in a DMN 1.1/1.2/1.3 XML document; raises DmnImportError naming each problem."""
    builder = _LineTreeBuilder()
    parser = DefusedXMLParser(target=builder, forbid_dtd=True)
    builder.expat = parser.parser
    try:
        parser.feed(source)
        root = parser.close()
    except ParseError as error:
        line, column = getattr(error, "position", (None, None))
        raise DmnImportError(
            [
                Problem(
                    rule_id=None,
                    message=f"not well-formed XML: {error}",
                    path=f"line {line}, column {column}",
                )
            ]
        ) from None
    except DefusedXmlException as error:
        raise DmnImportError(
            [
                Problem(
                    rule_id=None,
                    message=f"refused: {error} (DTDs and entities are not allowed)",
                    path="",
                )
            ]
        ) from None
    namespace, name = _local(root.tag)
    if name != "definitions" or namespace not in DMN_NAMESPACES:
        raise DmnImportError(
            [
                Problem(
                    rule_id=None,
                    message=(
                        f"the root element is <{name}> in namespace '{namespace}', not the "
                        "<definitions> of DMN 1.1, 1.2 or 1.3"
                    ),
                    path="line 1",
                )
            ]
        )
    reader = _Reader(builder.lines, namespace)
    definitions = reader.definitions(root)
    if reader.problems:
        raise DmnImportError(reader.problems)
    return definitions


def dmn_version(source: str | bytes) -> str | None:
    """'1.1', '1.2' or '1.3' for a DMN document's namespace; None when it is not one."""
    try:
        parser = DefusedXMLParser(target=TreeBuilder(), forbid_dtd=True)
        parser.feed(source)
        root = parser.close()
    except (ParseError, DefusedXmlException):
        return None
    return DMN_NAMESPACES.get(_local(root.tag)[0])
