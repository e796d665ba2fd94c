"""Converters from the original system's configuration files (flat, structured) to the spec.

They check the shape and types of the source file and report every problem with a JSON path into
the source, so an import never fails with a KeyError halfway. The spec they return is then checked
again by compile_ruleset (operators, constants, pattern lengths).
"""

from __future__ import annotations

from collections.abc import Mapping

from .compiler import FORMAT_NAME, FORMAT_VERSION
from .problems import Problem, problems_text

# Original names of the catalog modes: "exclusive" meant OR, not XOR.
_MODES = {"inclusive": "all", "exclusive": "any"}


class ConversionError(Exception):
    """The source cannot be converted; `.problems` lists every problem with its source path."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__(problems_text(self.problems))


def detect_format(doc) -> str:
    """Which format a document is in: "spec", "flat" or "structured"."""
    if isinstance(doc, Mapping):
        if doc.get("format") == FORMAT_NAME or ("ruleset" in doc and "rules" in doc):
            return "spec"
        rules = doc.get("rules_set")
        if isinstance(rules, list):
            structured = any(
                isinstance(rule, Mapping) and ("conditions" in rule or "type" in rule)
                for rule in rules
            )
            return "structured" if structured else "flat"
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


class _SourceReader:
    """Reads fields of the source file, accepting the original aliases and recording wrong types."""

    def __init__(self):
        self.problems: list[Problem] = []

    def problem(self, path, message, rule_id=None):
        self.problems.append(Problem(rule_id=rule_id, message=message, path=path))

    def value(self, entry, keys, path, expected, default=None, *, required=False, rule_id=None):
        for key in keys:
            if entry.get(key) is not None:
                break
        else:
            if required:
                self.problem(f"{path}.{keys[0]}", f"'{keys[0]}' is required", rule_id)
            return default
        value = entry[key]
        kinds, description = expected
        if type(value) not in kinds:
            self.problem(
                f"{path}.{key}",
                f"'{key}' must be {description}, not {type(value).__name__}",
                rule_id,
            )
            return default
        return value

    def entries(self, doc, key, path=""):
        where = f"{path}.{key}" if path else key
        if not isinstance(doc, Mapping):
            self.problem(path, "expected a JSON object")
            return []
        value = doc.get(key)
        if type(value) is not list:
            self.problem(
                where, f"'{key}' must be a list" if value is not None else f"'{key}' is required"
            )
            return []
        return value

    def raise_if_problems(self):
        if self.problems:
            raise ConversionError(self.problems)


_TEXT = ((str,), "a string")
_NUMBER = ((int, float), "a number")
_PRIORITY = ((int, float), "an integer")
_CONSTANT = ((str, int, float, bool, list), "a string, number, boolean or list")


def _common_rule_fields(reader, entry, path):
    """Fields shared by flat and structured rules, in spec form."""
    rule_id = reader.value(entry, ("id", "rule_id"), path, _TEXT, required=True)
    rule = {
        "rule_id": rule_id,
        "rule_name": reader.value(entry, ("rule_name", "rulename"), path, _TEXT, ""),
    }
    rule["message"] = reader.value(
        entry, ("message", "description"), path, _TEXT, "", rule_id=rule_id
    )
    rule["weight"] = reader.value(entry, ("weight",), path, _NUMBER, 1.0, rule_id=rule_id)
    rule["rule_point"] = reader.value(
        entry, ("rule_point", "rulepoint"), path, _NUMBER, 0, rule_id=rule_id
    )
    priority = reader.value(entry, ("priority",), path, _PRIORITY, 0, rule_id=rule_id)
    if type(priority) is float:
        if not priority.is_integer():
            reader.problem(
                f"{path}.priority", f"'priority' must be an integer, not {priority}", rule_id
            )
        priority = int(priority) if priority.is_integer() else 0
    rule["priority"] = priority
    rule["action_result"] = reader.value(
        entry, ("action_result", "result"), path, _TEXT, "Y", rule_id=rule_id
    )
    status = reader.value(entry, ("status",), path, _TEXT, rule_id=rule_id)
    if status is not None:
        rule["status"] = status
    return rule


def _patterns(reader, doc) -> list:
    patterns = doc.get("patterns")
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


def _spec(name, version, rules, conditions, patterns) -> dict:
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
        },
        "rules": rules,
        "conditions": conditions,
        "actions": [],
        "patterns": patterns,
    }


def spec_from_flat(doc, *, name: str, version: str = "1.0") -> dict:
    """The spec of a flat rules file (attribute, condition, constant); keeps the file's order."""
    reader = _SourceReader()
    rules = []
    for index, entry in enumerate(reader.entries(doc, "rules_set")):
        path = f"rules_set[{index}]"
        if not isinstance(entry, Mapping):
            reader.problem(path, "a rule must be an object")
            continue
        rule = _common_rule_fields(reader, entry, path)
        rule["attribute"] = reader.value(
            entry, ("attribute",), path, _TEXT, required=True, rule_id=rule["rule_id"]
        )
        rule["condition"] = reader.value(
            entry, ("condition",), path, _TEXT, required=True, rule_id=rule["rule_id"]
        )
        if "constant" in entry:
            rule["constant"] = reader.value(
                entry, ("constant",), path, _CONSTANT, rule_id=rule["rule_id"]
            )
        rules.append(rule)
    patterns = _patterns(reader, doc) if isinstance(doc, Mapping) else []
    reader.raise_if_problems()
    return _spec(name, version, rules, [], patterns)


def spec_from_structured(rules_doc, conditions_doc, *, name: str, version: str = "1.0") -> dict:
    """The spec of a structured rules file and its conditions catalog; keeps the files' order."""
    reader = _SourceReader()
    conditions = []
    for index, entry in enumerate(reader.entries(conditions_doc, "conditions_set")):
        path = f"conditions_set[{index}]"
        if not isinstance(entry, Mapping):
            reader.problem(path, "a condition must be an object")
            continue
        condition = {
            "condition_id": reader.value(entry, ("condition_id", "id"), path, _TEXT, required=True),
            "name": reader.value(entry, ("condition_name", "name"), path, _TEXT, ""),
            "description": reader.value(entry, ("description",), path, _TEXT, ""),
            "attribute": reader.value(entry, ("attribute",), path, _TEXT, required=True),
            "operator": reader.value(entry, ("equation", "operator"), path, _TEXT, required=True),
        }
        if "constant" in entry or "value" in entry:
            condition["value"] = reader.value(entry, ("constant", "value"), path, _CONSTANT)
        conditions.append(condition)
    known = {condition["condition_id"] for condition in conditions}

    rules = []
    for index, entry in enumerate(reader.entries(rules_doc, "rules_set")):
        path = f"rules_set[{index}]"
        if not isinstance(entry, Mapping):
            reader.problem(path, "a rule must be an object")
            continue
        rule = _common_rule_fields(reader, entry, path)
        rule["conditions"] = _rule_conditions(reader, entry, path, rule["rule_id"], known)
        rules.append(rule)
    patterns = _patterns(reader, rules_doc) if isinstance(rules_doc, Mapping) else []
    reader.raise_if_problems()
    return _spec(name, version, rules, conditions, patterns)


def _rule_conditions(reader, entry, path, rule_id, known) -> dict | None:
    rule_type = reader.value(entry, ("type",), path, _TEXT, rule_id=rule_id)
    if rule_type is not None and rule_type not in ("simple", "complex"):
        reader.problem(
            f"{path}.type", f"'type' must be 'simple' or 'complex', not {rule_type!r}", rule_id
        )
    conditions = entry.get("conditions")
    where = f"{path}.conditions"
    if not isinstance(conditions, Mapping):
        reader.problem(
            where, "'conditions' must be an object with 'item' or 'mode' and 'items'", rule_id
        )
        return None
    if conditions.get("item") is not None:
        # A simple rule: one catalog condition, which "all" of one item expresses exactly.
        items, mode, items_path = [conditions["item"]], "all", f"{where}.item"
    else:
        original_mode = reader.value(
            conditions, ("mode",), where, _TEXT, required=True, rule_id=rule_id
        )
        mode = _MODES.get(original_mode)
        if original_mode is not None and mode is None:
            reader.problem(
                f"{where}.mode",
                f"'mode' must be 'inclusive' or 'exclusive', not {original_mode!r}",
                rule_id,
            )
        items = reader.value(
            conditions, ("items",), where, ((list,), "a list"), required=True, rule_id=rule_id
        )
        items_path = f"{where}.items"
        if items is not None and not items:
            reader.problem(items_path, "'items' must name at least one condition", rule_id)
    for position, item in enumerate(items or ()):
        item_path = (
            items_path if conditions.get("item") is not None else f"{items_path}[{position}]"
        )
        if type(item) is not str:
            reader.problem(
                item_path,
                f"a condition reference must be a string, not {type(item).__name__}",
                rule_id,
            )
        elif item not in known:
            reader.problem(item_path, f"unknown condition '{item}'", rule_id)
    return {"mode": mode, "items": list(items or ())}
