"""Write a `Definitions` model as DMN 1.3 XML that dmn-moddle and Camunda Modeler open cleanly.

Written as text (not through ElementTree) so namespace prefixes stay the ones Camunda Modeler
writes, without touching ElementTree's process-wide prefix registry.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from .model import UNIQUE, DecisionTable, Definitions, LiteralExpression, Shape
from .values import FEEL_TYPE_NAMES
from .xml_import import DMN13

DMNDI13 = "https://www.omg.org/spec/DMN/20191111/DMNDI/"
DC = "http://www.omg.org/spec/DMN/20180521/DC/"
DI = "http://www.omg.org/spec/DMN/20180521/DI/"


def _attributes(**attributes) -> str:
    return "".join(
        f" {name.rstrip('_')}={quoteattr(str(value))}"
        for name, value in attributes.items()
        if value is not None and value != ""
    )


def _type(type_ref: str | None) -> str | None:
    return FEEL_TYPE_NAMES.get(type_ref) if type_ref else None


def _text(indent: str, tag: str, text: str, **attributes) -> str:
    opening = f"{indent}<{tag}{_attributes(**attributes)}>"
    return f"{opening}\n{indent}  <text>{escape(text)}</text>\n{indent}</{tag}>"


def _empty(indent: str, tag: str, **attributes) -> str:
    return f"{indent}<{tag}{_attributes(**attributes)} />"


def _table(table: DecisionTable, indent: str) -> list[str]:
    hit_policy = None if table.hit_policy == UNIQUE else table.hit_policy
    attributes = _attributes(id=table.id, hitPolicy=hit_policy, aggregation=table.aggregation)
    lines = [f"{indent}<decisionTable{attributes}>"]
    inner = indent + "  "
    for column in table.inputs:
        lines.append(f"{inner}<input{_attributes(id=column.id, label=column.label)}>")
        lines.append(
            _text(
                inner + "  ",
                "inputExpression",
                column.expression,
                id=f"{column.id}_expression",
                typeRef=_type(column.type_ref),
            )
        )
        if column.allowed_values:
            lines.append(
                _text(inner + "  ", "inputValues", column.allowed_values, id=f"{column.id}_values")
            )
        lines.append(f"{inner}</input>")
    for output in table.outputs:
        attributes = _attributes(
            id=output.id, label=output.label, name=output.name, typeRef=_type(output.type_ref)
        )
        if not output.allowed_values and not output.default:
            lines.append(f"{inner}<output{attributes} />")
            continue
        lines.append(f"{inner}<output{attributes}>")
        if output.allowed_values:
            lines.append(
                _text(inner + "  ", "outputValues", output.allowed_values, id=f"{output.id}_values")
            )
        if output.default:
            lines.append(
                _text(inner + "  ", "defaultOutputEntry", output.default, id=f"{output.id}_default")
            )
        lines.append(f"{inner}</output>")
    for rule in table.rules:
        lines.append(f"{inner}<rule{_attributes(id=rule.id)}>")
        if rule.annotation:
            # dmn-js and Camunda Modeler show a rule's description as its annotation.
            lines.append(f"{inner}  <description>{escape(rule.annotation)}</description>")
        for index, entry in enumerate(rule.input_entries):
            lines.append(_text(inner + "  ", "inputEntry", entry, id=f"{rule.id}_in{index + 1}"))
        for index, entry in enumerate(rule.output_entries):
            lines.append(_text(inner + "  ", "outputEntry", entry, id=f"{rule.id}_out{index + 1}"))
        lines.append(f"{inner}</rule>")
    lines.append(f"{indent}</decisionTable>")
    return lines


def _layout(definitions: Definitions) -> dict[str, Shape]:
    shapes = {shape.element_id: shape for shape in definitions.shapes}
    for index, decision in enumerate(definitions.decisions):
        shapes.setdefault(decision.id, Shape(decision.id, 160 + 240 * index, 100))
    for index, entry in enumerate(definitions.input_data):
        shapes.setdefault(entry.id, Shape(entry.id, 160 + 240 * index, 320, 125, 45))
    return shapes


def _diagram(definitions: Definitions, edges: list[tuple[str, str, str]]) -> list[str]:
    shapes = _layout(definitions)
    lines = ["  <dmndi:DMNDI>", '    <dmndi:DMNDiagram id="DMNDiagram_1">']
    known = {d.id for d in definitions.decisions} | {i.id for i in definitions.input_data}
    for element_id, shape in shapes.items():
        if element_id not in known:
            continue
        shape_attributes = _attributes(id=f"DMNShape_{element_id}", dmnElementRef=element_id)
        lines.append(f"      <dmndi:DMNShape{shape_attributes}>")
        lines.append(
            _empty(
                "        ",
                "dc:Bounds",
                height=f"{shape.height:g}",
                width=f"{shape.width:g}",
                x=f"{shape.x:g}",
                y=f"{shape.y:g}",
            )
        )
        lines.append("      </dmndi:DMNShape>")
    for requirement_id, source, target in edges:
        if source not in shapes or target not in shapes:
            continue
        start, end = shapes[source], shapes[target]
        edge_attributes = _attributes(id=f"DMNEdge_{requirement_id}", dmnElementRef=requirement_id)
        lines.append(f"      <dmndi:DMNEdge{edge_attributes}>")
        for x, y in (
            (start.x + start.width / 2, start.y),
            (end.x + end.width / 2, end.y + end.height),
        ):
            lines.append(f"        <di:waypoint{_attributes(x=f'{x:g}', y=f'{y:g}')} />")
        lines.append("      </dmndi:DMNEdge>")
    lines += ["    </dmndi:DMNDiagram>", "  </dmndi:DMNDI>"]
    return lines


def write_dmn(definitions: Definitions, *, diagram: bool = True) -> str:
    """The model as a DMN 1.3 document; `diagram` adds DMNDI shapes (kept or laid out in a row)."""
    namespaces = f' xmlns="{DMN13}"'
    if diagram:
        namespaces += f' xmlns:dmndi="{DMNDI13}" xmlns:dc="{DC}" xmlns:di="{DI}"'
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f"<definitions{namespaces}"
        + _attributes(
            id=definitions.id,
            name=definitions.name,
            namespace=definitions.namespace or "https://ruleengine.example/dmn",
        )
        + ' exporter="ruleengine" exporterVersion="1">',
    ]
    edges = []
    input_ids = {entry.id for entry in definitions.input_data}
    for decision in definitions.decisions:
        lines.append(f"  <decision{_attributes(id=decision.id, name=decision.name)}>")
        logic = decision.logic
        if isinstance(logic, LiteralExpression) or decision.type_ref:
            lines.append(
                _empty(
                    "    ",
                    "variable",
                    id=f"{decision.id}_variable",
                    name=decision.name,
                    typeRef=_type(decision.type_ref),
                )
            )
        for kind, references in (
            ("requiredDecision", decision.required_decisions),
            ("requiredInput", decision.required_inputs),
        ):
            for reference in references:
                requirement_id = f"InformationRequirement_{decision.id}_{reference}"
                lines.append(f"    <informationRequirement{_attributes(id=requirement_id)}>")
                lines.append(f"      <{kind}{_attributes(href=f'#{reference}')} />")
                lines.append("    </informationRequirement>")
                if reference in input_ids or kind == "requiredDecision":
                    edges.append((requirement_id, reference, decision.id))
        if isinstance(logic, DecisionTable):
            lines += _table(logic, "    ")
        elif isinstance(logic, LiteralExpression):
            lines.append(
                _text(
                    "    ",
                    "literalExpression",
                    logic.text,
                    id=logic.id,
                    typeRef=_type(logic.type_ref),
                )
            )
        lines.append("  </decision>")
    for entry in definitions.input_data:
        lines.append(f"  <inputData{_attributes(id=entry.id, name=entry.name)}>")
        lines.append(
            _empty(
                "    ",
                "variable",
                id=f"{entry.id}_variable",
                name=entry.name,
                typeRef=_type(entry.type_ref),
            )
        )
        lines.append("  </inputData>")
    if diagram:
        lines += _diagram(definitions, edges)
    lines.append("</definitions>")
    return "\n".join(lines) + "\n"
