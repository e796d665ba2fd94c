"""Converters from the original system's configuration files to the spec, read as its loader reads.

The original (khoantd/rule-engine, common/rule_engine_util.py: rules_set_exec, rule_prepare,
_rule_dict_to_extrule_kwargs; common/conditions_enum.py) accepts many spellings of the same rule.
`spec_from_original` reads every one of them, writes the original's defaults out explicitly (a
rule without `weight` weighs 0 there; a flat rule takes its points only from `rule_point`), and
returns the spec with the list of every normalisation it made and of the warnings the original
logs (an unknown catalog id in a complex rule is skipped; a flat rule with an empty attribute is
left out). What the original refuses is a problem, with a JSON path into the source file, so an
import never fails with a KeyError halfway; the spec is then checked again by compile_ruleset.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .compiler import FORMAT_NAME, FORMAT_VERSION
from .problems import WARNING, Problem, problems_text

NOTE = "note"

# conditions_enum.logical_operators: case-insensitive, stripped; "exclusive" meant OR, not XOR.
_MODES = {"inclusive": "all", "and": "all", "exclusive": "any", "or": "any"}
# format_rule_engine_condition_clause reads these three names case-insensitively.
_FOLDED_OPERATORS = frozenset(("in", "not_in", "contains"))
_TYPES = ("simple", "complex")
LEGACY_LAYOUT = "rules_set_details"


class ConversionError(Exception):
    """The source cannot be converted; `.problems` lists every problem with its source path."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__(problems_text(self.problems))


@dataclass
class OriginalConversion:
    """A converted original file: the spec, what was normalised, what the original warns about."""

    spec: dict
    notes: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    generated_rule_ids: list[str] = field(default_factory=list)
    structured: bool = False


def detect_format(doc) -> str:
    """Which format a document is in: "spec", "flat" or "structured"."""
    if isinstance(doc, Mapping):
        if doc.get("format") == FORMAT_NAME or ("ruleset" in doc and "rules" in doc):
            return "spec"
        rules = doc.get("rules_set")
        if isinstance(rules, list):
            structured = any(isinstance(rule, Mapping) and _is_structured(rule) for rule in rules)
            return "structured" if structured else "flat"
        if LEGACY_LAYOUT in doc:
            raise ConversionError(
                [
                    Problem(
                        None,
                        "the legacy 'rules_set_details' layout is not read by the original "
                        "system's loader either (it reads '$.rules_set'); rename the list to "
                        "'rules_set' and give each rule its condition as 'conditions': "
                        "{'item': ...}, or 'attribute', 'condition', 'constant'",
                        LEGACY_LAYOUT,
                    )
                ]
            )
    raise ConversionError(
        [
            Problem(
                None,
                "not a ruleset: expected a spec ('format', 'ruleset', 'rules') "
                "or a 'rules_set' list",
                "",
            )
        ]
    )


def _present(value) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    return True


def _is_structured(rule: Mapping) -> bool:
    """_should_use_structured_extrule_kwargs of the original: catalog references, or a type."""
    conditions = rule.get("conditions")
    if not isinstance(conditions, Mapping):
        # No flat keys either: the original reads it as a structured rule (and refuses it).
        return not any(key in rule for key in ("attribute", "condition", "constant")) and (
            "conditions" in rule or "type" in rule
        )
    items = conditions.get("items")
    if isinstance(items, list) and items:
        return True
    if _present(conditions.get("item")) or _present(conditions.get("condition_id")):
        return True
    rule_type = rule.get("type")
    explicit = isinstance(rule_type, str) and rule_type.strip().lower() in (*_TYPES, "standard")
    return explicit and ("item" in conditions or "items" in conditions)


class _Reader:
    def __init__(self):
        self.problems: list[Problem] = []
        self.notes: list[Problem] = []
        self.warnings: list[Problem] = []

    def problem(self, path, message, rule_id=None):
        self.problems.append(Problem(rule_id, message, path))

    def note(self, path, message, rule_id=None):
        self.notes.append(Problem(rule_id, message, path, NOTE))

    def warn(self, path, message, rule_id=None):
        self.warnings.append(Problem(rule_id, message, path, WARNING))

    def first(self, entry, keys):
        """(key, value) of the first of `keys` present (not null) in `entry`, else (None, None)."""
        for key in keys:
            if entry.get(key) is not None:
                return key, entry[key]
        return None, None

    def text(self, entry, keys, path, default="", rule_id=None, *, required=False):
        key, value = self.first(entry, keys)
        if key is None:
            if required:
                self.problem(f"{path}.{keys[0]}", f"'{keys[0]}' is required", rule_id)
            return default
        if type(value) is not str:
            self.problem(
                f"{path}.{key}", f"'{key}' must be a string, not {type(value).__name__}", rule_id
            )
            return default
        return value

    def number(self, entry, keys, path, default, rule_id, *, integer=False):
        """A number as the original's float()/int() reads it: numbers and numeric strings."""
        key, value = self.first(entry, keys)
        if key is None:
            return default, None
        what = "an integer" if integer else "a number"
        if type(value) is str:
            try:
                converted = int(value.strip()) if integer else float(value)
            except ValueError:
                self.problem(f"{path}.{key}", f"'{key}' must be {what}, not {value!r}", rule_id)
                return default, key
            converted = int(converted) if not integer and converted.is_integer() else converted
            self.note(
                f"{path}.{key}", f"the text {value!r} read as the number {converted}", rule_id
            )
            return converted, key
        if type(value) not in (int, float):
            self.problem(
                f"{path}.{key}", f"'{key}' must be {what}, not {type(value).__name__}", rule_id
            )
            return default, key
        if integer and type(value) is float:
            if not value.is_integer():
                self.problem(f"{path}.{key}", f"'{key}' must be an integer, not {value}", rule_id)
                return default, key
            value = int(value)
        return value, key

    def entries(self, doc, key):
        if not isinstance(doc, Mapping):
            self.problem("", "expected a JSON object")
            return []
        value = doc.get(key)
        if type(value) is not list:
            self.problem(
                key, f"'{key}' must be a list" if value is not None else f"'{key}' is required"
            )
            return []
        return value


def _operator(reader, name, path, rule_id=None):
    """The operator as the original reads it, or None (and a problem) when it refuses it."""
    if type(name) is not str:
        reader.problem(path, f"the operator must be a string, not {type(name).__name__}", rule_id)
        return None
    stripped = name.strip()
    if stripped.lower() in _FOLDED_OPERATORS:
        folded = stripped.lower()
        if folded != name:
            reader.note(path, f"operator {name!r} read as {folded!r}", rule_id)
        return folded
    if stripped != name:
        reader.note(path, f"operator {name!r} read as {stripped!r}", rule_id)
    # Names the original does not know either are left to the engine's check, which reports them
    # with the closest known names, beside every other problem.
    return stripped


def _catalog(reader, conditions_doc) -> list:
    conditions = []
    if conditions_doc is None:
        return conditions
    for index, entry in enumerate(reader.entries(conditions_doc, "conditions_set")):
        path = f"conditions_set[{index}]"
        if not isinstance(entry, Mapping):
            reader.problem(path, "a condition must be an object")
            continue
        condition = {
            "condition_id": reader.text(entry, ("condition_id", "id"), path, None, required=True),
            "name": reader.text(entry, ("condition_name", "name"), path),
            "description": reader.text(entry, ("description",), path),
            "attribute": reader.text(entry, ("attribute",), path, None, required=True),
        }
        key, name = reader.first(entry, ("equation", "operator", "condition"))
        if key is None:
            reader.problem(f"{path}.equation", "'equation' is required")
        condition["operator"] = _operator(reader, name, f"{path}.{key}") if key else None
        if "constant" in entry or "value" in entry:
            condition["value"] = entry.get("constant", entry.get("value"))
        conditions.append(condition)
    return conditions


def _rule_ids(reader, entries) -> tuple[list, list]:
    """Each rule's id: its own, or a stable generated one (R0001… by file position)."""
    given = [
        entry.get("id", entry.get("rule_id")) if isinstance(entry, Mapping) else None
        for entry in entries
    ]
    taken = {value for value in given if type(value) is str and value.strip()}
    seen: set = set()
    ids, generated = [], []
    for index, value in enumerate(given):
        path = f"rules_set[{index}]"
        if value is not None and type(value) is not str:
            reader.problem(f"{path}.id", f"'id' must be a string, not {type(value).__name__}")
            # Read on, so that the rule's other problems are reported too.
            ids.append(f"R{index + 1:04d}")
            continue
        rule_id = value.strip() if value else ""
        if rule_id and rule_id not in seen:
            seen.add(rule_id)
            ids.append(rule_id)
            continue
        number = index + 1
        while f"R{number:04d}" in taken or f"R{number:04d}" in seen:
            number += 1
        new_id = f"R{number:04d}"
        seen.add(new_id)
        ids.append(new_id)
        generated.append(new_id)
        if rule_id:
            reader.warn(
                f"{path}.id",
                f"rule id {rule_id!r} is used by an earlier rule; this one is imported as {new_id}",
                new_id,
            )
        else:
            reader.note(f"{path}.id", f"no rule id: generated {new_id}", new_id)
    return ids, generated


def _common_fields(reader, entry, path, rule_id, *, structured) -> dict:
    name_key, _ = reader.first(entry, ("rule_name", "rulename"))
    rule = {"rule_id": rule_id, "rule_name": reader.text(entry, ("rule_name", "rulename"), path)}
    if name_key == "rulename":
        reader.note(f"{path}.rulename", "'rulename' read as 'rule_name'", rule_id)
    keys = ("message", "description") if not structured else ("description", "message")
    rule["message"] = reader.text(entry, keys, path, rule_id=rule_id)
    weight, weight_key = reader.number(entry, ("weight",), path, 0, rule_id)
    if weight_key is None:
        reader.note(f"{path}.weight", "no 'weight': 0, as in the original (no points)", rule_id)
    rule["weight"] = weight
    if structured:
        point, point_key = reader.number(entry, ("rule_point", "rulepoint"), path, 0, rule_id)
        if point_key == "rulepoint":
            reader.note(f"{path}.rulepoint", "'rulepoint' read as 'rule_point'", rule_id)
    else:
        point, point_key = reader.number(entry, ("rule_point",), path, 0, rule_id)
        if point_key is None and entry.get("rulepoint") is not None:
            reader.note(
                f"{path}.rulepoint",
                "a flat rule takes its points only from 'rule_point' in the original: "
                "'rulepoint' scores 0 (rule_point 0 written out)",
                rule_id,
            )
    rule["rule_point"] = point
    rule["priority"], _ = reader.number(entry, ("priority",), path, 0, rule_id, integer=True)
    result_key, _ = reader.first(entry, ("action_result", "result"))
    rule["action_result"] = reader.text(entry, ("action_result", "result"), path, rule_id=rule_id)
    if result_key == "result":
        reader.note(f"{path}.result", "'result' read as 'action_result'", rule_id)
    elif result_key is None:
        reader.note(
            f"{path}.action_result",
            "no 'action_result': empty, as in the original (a match adds nothing to the pattern)",
            rule_id,
        )
    status = entry.get("status")
    if status is not None:
        rule["status"] = reader.text(entry, ("status",), path, rule_id=rule_id)
    return rule


def _flat_rule(reader, entry, path, rule_id, catalog) -> dict | None:
    """A rule with inline `attribute`, `condition`, `constant`, or None when the original skips."""
    attribute, operator, constant = (entry.get(k) for k in ("attribute", "condition", "constant"))
    attribute_text = attribute.strip() if isinstance(attribute, str) else attribute
    operator_text = operator.strip() if isinstance(operator, str) else operator
    if not attribute_text or not operator_text:
        # rules_set_exec: CONDITION_EMPTY (and degenerate placeholders) are skipped with a warning.
        reader.warn(
            path,
            "empty 'attribute' or 'condition': the original skips this rule (CONDITION_EMPTY); "
            "it is not imported",
            rule_id,
        )
        return None
    rule = _common_fields(reader, entry, path, rule_id, structured=False)
    if type(attribute) is not str:
        reader.problem(f"{path}.attribute", "'attribute' must be a string", rule_id)
    rule_type = entry.get("type")
    if rule_type is not None and rule_type != "simple":
        reader.note(
            f"{path}.type", f"type {rule_type!r} with inline fields read as 'simple'", rule_id
        )
    rule["attribute"] = attribute_text if type(attribute) is str else None
    rule["condition"] = _operator(reader, operator, f"{path}.condition", rule_id)
    if "constant" in entry:
        rule["constant"] = constant
        if constant is not None and type(constant) not in (str, int, float, bool, list):
            reader.problem(
                f"{path}.constant",
                "'constant' must be a string, number, boolean or list, not "
                f"{type(constant).__name__}",
                rule_id,
            )
    if catalog:
        text = "" if constant is None else str(constant)
        if not any(
            c["attribute"] == attribute and c.get("operator") == operator and _text(c) == text
            for c in catalog
        ):
            reader.note(
                path,
                "the original resolves a flat rule against the conditions catalog and finds no "
                "condition with this attribute, condition and constant (CONDITION_NOT_FOUND); "
                "imported with its own fields",
                rule_id,
            )
    return rule


def _text(condition) -> str:
    value = condition.get("value")
    return "" if value is None else str(value)


def _structured_rule(reader, entry, path, rule_id, catalog_ids, inline) -> dict | None:
    rule = _common_fields(reader, entry, path, rule_id, structured=True)
    raw_type = entry.get("type", "simple")
    rule_type = raw_type
    if isinstance(raw_type, str) and raw_type.strip().lower() == "standard":
        reader.note(f"{path}.type", f"type {raw_type!r} read as 'simple'", rule_id)
        rule_type = "simple"
    if rule_type not in _TYPES:
        reader.problem(
            f"{path}.type",
            f"'type' must be 'simple' or 'complex' (or 'standard'), not {raw_type!r}; the "
            "original refuses it too (RULE_INVALID_TYPE)",
            rule_id,
        )
        return None
    conditions = entry.get("conditions")
    where = f"{path}.conditions"
    if not isinstance(conditions, Mapping):
        reader.problem(where, f"a {rule_type} rule must have a 'conditions' object", rule_id)
        return None
    if rule_type == "simple":
        key = "item" if "item" in conditions else None
        if key is None and _present(conditions.get("condition_id")):
            key = "condition_id"
            reader.note(f"{where}.condition_id", "'condition_id' read as 'item'", rule_id)
        if key is None:
            reader.problem(f"{where}.item", "a simple rule must have 'conditions.item'", rule_id)
            return None
        item = conditions[key]
        if type(item) is not str:
            reader.problem(f"{where}.{key}", "'item' must be a condition id string", rule_id)
            return None
        if item not in catalog_ids:
            reader.problem(
                f"{where}.{key}",
                f"unknown condition '{item}' (the original refuses it too: CONDITION_NOT_FOUND)",
                rule_id,
            )
            return None
        rule["conditions"] = {"mode": "all", "items": [item]}
        return rule

    items = conditions.get("items")
    if not isinstance(items, list) or not items:
        reader.problem(
            f"{where}.items", "a complex rule must list at least one condition in 'items'", rule_id
        )
        return None
    resolved = []
    for position, item in enumerate(items):
        item_path = f"{where}.items[{position}]"
        if isinstance(item, Mapping):
            key, operator = reader.first(item, ("equation", "condition", "operator"))
            condition_id = f"{rule_id}.{position + 1}"
            attribute = item.get("attribute")
            if type(attribute) is not str or not attribute.strip():
                reader.problem(f"{item_path}.attribute", "'attribute' is required", rule_id)
                continue
            if key is None:
                reader.problem(f"{item_path}.equation", "'equation' is required", rule_id)
                continue
            condition = {
                "condition_id": condition_id,
                "name": f"{rule_id} condition {position + 1}",
                "description": "",
                "attribute": attribute.strip(),
                "operator": _operator(reader, operator, f"{item_path}.{key}", rule_id),
            }
            if "constant" in item:
                condition["value"] = item["constant"]
            inline.append(condition)
            reader.note(
                item_path, f"inline condition stored as catalog condition {condition_id}", rule_id
            )
            resolved.append(condition_id)
        elif type(item) is str:
            if item in catalog_ids:
                resolved.append(item)
            else:
                reader.warn(
                    item_path,
                    f"unknown condition '{item}': skipped, as the original does",
                    rule_id,
                )
        else:
            reader.problem(
                item_path,
                "an item must be a condition id or an inline condition object "
                f"(attribute, equation, constant), not {type(item).__name__}",
                rule_id,
            )
    if not resolved and not any(p.path.startswith(f"{where}.items") for p in reader.problems):
        reader.problem(
            f"{where}.items",
            "none of the conditions is known (the original refuses it too: CONDITIONS_NOT_FOUND)",
            rule_id,
        )
        return None
    if "mode" not in conditions:
        reader.problem(f"{where}.mode", "a complex rule must have 'conditions.mode'", rule_id)
        return None
    raw_mode = conditions["mode"]
    mode = _MODES.get(str(raw_mode).strip().lower()) if raw_mode is not None else None
    if mode is None:
        reader.problem(
            f"{where}.mode",
            f"'mode' must be 'and', 'or', 'inclusive' or 'exclusive' (any case), not {raw_mode!r}",
            rule_id,
        )
        return None
    if raw_mode != mode:
        reader.note(f"{where}.mode", f"mode {raw_mode!r} read as {mode!r}", rule_id)
    rule["conditions"] = {"mode": mode, "items": resolved}
    return rule


def _patterns(reader, doc) -> list:
    patterns = doc.get("patterns") if isinstance(doc, Mapping) else None
    if patterns is None:
        return []
    if not isinstance(patterns, Mapping):
        reader.problem(
            "patterns", "'patterns' must be an object mapping pattern keys to recommendations"
        )
        return []
    converted = []
    for key, recommendation in patterns.items():
        if type(recommendation) is not str:
            reader.problem(
                f"patterns.{key}",
                f"a recommendation must be a string, not {type(recommendation).__name__}",
            )
            continue
        converted.append(
            {
                "pattern_key": key,
                "action_recommendation": recommendation,
                "action": None,
                "description": "",
            }
        )
    return converted


def _spec(name, version, rules, conditions, patterns, semantics) -> dict:
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "ruleset": {
            "name": name,
            "version": version,
            "description": "",
            "is_default": False,
            "tags": [],
            "metadata": {},
            "semantics": semantics,
        },
        "rules": rules,
        "conditions": conditions,
        "actions": [],
        "patterns": patterns,
    }


def spec_from_original(
    rules_doc,
    conditions_doc=None,
    *,
    name: str,
    version: str = "1.0",
    semantics: str = "original",
) -> OriginalConversion:
    """The spec of an original rules file (flat, structured or mixed) and its catalog.

    Raises ConversionError listing every problem; the conversion's notes and warnings say what
    was normalised and what the original would have skipped.
    """
    reader = _Reader()
    if (
        isinstance(rules_doc, Mapping)
        and LEGACY_LAYOUT in rules_doc
        and "rules_set" not in rules_doc
    ):
        detect_format(rules_doc)  # raises with the message for the legacy layout
    catalog = _catalog(reader, conditions_doc)
    catalog_ids = {c["condition_id"] for c in catalog if c["condition_id"] is not None}
    entries = reader.entries(rules_doc, "rules_set")
    ids, generated = _rule_ids(reader, entries)
    rules, inline = [], []
    structured_any = False
    for index, entry in enumerate(entries):
        path = f"rules_set[{index}]"
        if not isinstance(entry, Mapping):
            reader.problem(path, "a rule must be an object")
            continue
        if ids[index] is None:
            continue
        flat_keys = any(key in entry for key in ("attribute", "condition", "constant"))
        # _rule_dict_to_extrule_kwargs: catalog references first; without flat keys the rule is
        # read as structured too (and refused there when it has no conditions).
        if _is_structured(entry) or not flat_keys:
            structured_any = True
            if conditions_doc is None and _needs_catalog(entry):
                reader.problem(
                    f"{path}.conditions",
                    "this rule names catalog conditions: give the conditions catalog "
                    "(a document with 'conditions_set'; --conditions)",
                    ids[index],
                )
                continue
            rule = _structured_rule(reader, entry, path, ids[index], catalog_ids, inline)
        else:
            rule = _flat_rule(reader, entry, path, ids[index], catalog)
        if rule is not None:
            rules.append(rule)
    patterns = _patterns(reader, rules_doc)
    if reader.problems:
        raise ConversionError(reader.problems)
    spec = _spec(name, version, rules, catalog + inline, patterns, semantics)
    return OriginalConversion(spec, reader.notes, reader.warnings, generated, structured_any)


def _needs_catalog(entry) -> bool:
    conditions = entry.get("conditions")
    if not isinstance(conditions, Mapping):
        return False
    if _present(conditions.get("item")) or _present(conditions.get("condition_id")):
        return True
    items = conditions.get("items")
    return isinstance(items, list) and any(type(item) is str for item in items)


def spec_from_flat(doc, *, name: str, version: str = "1.0") -> dict:
    """The spec of a flat rules file (attribute, condition, constant); keeps the file's order."""
    return spec_from_original(doc, None, name=name, version=version, semantics="strict").spec


def spec_from_structured(rules_doc, conditions_doc, *, name: str, version: str = "1.0") -> dict:
    """The spec of a structured rules file and its conditions catalog; keeps the files' order."""
    if conditions_doc is None:
        conditions_doc = {"conditions_set": []}
    conversion = spec_from_original(
        rules_doc, conditions_doc, name=name, version=version, semantics="strict"
    )
    return conversion.spec
