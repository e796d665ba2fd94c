"""The original system's rule rows as its loader reads them, and the spec parts made from them.

khoantd/rule-engine, common/repository/db_repository.py: DatabaseConfigRepository builds the
document its rules engine reads from the tables (`_rule_to_dict`, `_structured_rule_dict_for_
engine`, `read_patterns`, `_condition_to_dict`); the rows here are dicts keyed by the columns of
common/db_models.py. rules.services.original_rulesets converts and imports what this builds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rules.services.ruleset_import import constant_text

# common/db_models.RuleStatus: only `active` rows are read by the original's loader.
ACTIVE = "active"


@dataclass
class OriginalRuleTables:
    """The original's rule tables, one dict per row with its column names as keys."""

    rulesets: list[dict]
    rules: list[dict] = field(default_factory=list)
    conditions: list[dict] = field(default_factory=list)
    actions: list[dict] = field(default_factory=list)
    patterns: list[dict] = field(default_factory=list)
    attributes: list[dict] = field(default_factory=list)


def item_status(value) -> str:
    return ACTIVE if value == ACTIVE else "inactive"


def json_list(value) -> list:
    return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else []


def json_object(value) -> dict:
    return value if isinstance(value, dict) else {}


def condition_fields(row) -> dict:
    """A catalog condition's fields, the same whether made by the catalog step or an import."""
    return {
        "condition_id": row["condition_id"],
        "name": row.get("name") or row["condition_id"],
        "description": row.get("description") or "",
        "attribute": row["attribute"],
        "operator": row["operator"],
        "value": constant_text(row.get("value")),
        "status": item_status(row.get("status")),
        "tags": json_list(row.get("tags")),
        "metadata": json_object(row.get("metadata")),
    }


def action_fields(row) -> dict:
    return {
        "action_id": row["action_id"],
        "name": row.get("name") or row["action_id"],
        "description": row.get("description") or "",
        "action_type": row.get("action_type") or "",
        "configuration": json_object(row.get("configuration")),
        "status": item_status(row.get("status")),
        "tags": json_list(row.get("tags")),
        "metadata": json_object(row.get("metadata")),
    }


def original_conditions_document(conditions: list[dict]) -> dict:
    """The conditions catalog as the original's read_conditions_set gives it to its loader."""
    return {
        "conditions_set": [
            {
                "condition_id": c["condition_id"],
                "condition_name": c.get("name"),
                "description": c.get("description"),
                "attribute": c["attribute"],
                "equation": c["operator"],
                "constant": c.get("value"),
            }
            for c in conditions
        ]
    }


def original_ruleset_document(rules: list[dict], patterns: list[dict]) -> dict:
    """The document the original's DatabaseConfigRepository.read_json builds from the tables,
    with every rule (not only active ones: a `status` says which the original would run)."""
    ordered = sorted(rules, key=lambda r: (r.get("priority") or 0, r["id"]))
    return {
        "rules_set": [_rule_entry(rule) for rule in ordered],
        "patterns": {row["pattern_key"]: row["action_recommendation"] for row in patterns},
    }


def _rule_entry(rule: dict) -> dict:
    """DatabaseConfigRepository._rule_to_dict: the structured shape from metadata, else flat."""
    entry = _structured_entry(rule) or {
        "id": rule["rule_id"],
        "rule_name": rule["rule_name"],
        "attribute": rule["attribute"],
        "condition": rule["condition"],
        "constant": rule["constant"],
        "message": rule.get("message"),
        "weight": rule.get("weight"),
        "rule_point": rule.get("rule_point"),
        "priority": rule.get("priority"),
        "action_result": rule["action_result"],
    }
    entry["status"] = item_status(rule.get("status"))
    return entry


def _structured_entry(rule: dict) -> dict | None:
    """_structured_rule_dict_for_engine: metadata.rule_engine, .condition_ids, .conditions."""
    meta = json_object(rule.get("metadata"))

    def pack(rule_type, conditions):
        return {
            "id": rule["rule_id"],
            "rule_name": rule["rule_name"],
            "type": rule_type,
            "conditions": conditions,
            "description": rule.get("message") or "",
            "rule_point": rule.get("rule_point"),
            "weight": rule.get("weight"),
            "priority": rule.get("priority"),
            "action_result": rule["action_result"],
        }

    def condition_id(conditions):
        value = conditions.get("item") if "item" in conditions else None
        if value is None:
            value = conditions.get("condition_id")
        return value.strip() if isinstance(value, str) and value.strip() else None

    engine = meta.get("rule_engine")
    if isinstance(engine, dict) and isinstance(engine.get("conditions"), dict):
        conditions = engine["conditions"]
        raw_type = engine.get("type")
        if isinstance(raw_type, str):
            folded = raw_type.strip().lower()
            folded = "simple" if folded == "standard" else folded
            if folded in ("simple", "complex"):
                return pack(folded, conditions)
        if isinstance(conditions.get("items"), list) and conditions["items"]:
            return pack("complex", conditions)
        if condition_id(conditions):
            return pack("simple", {"item": condition_id(conditions)})
    wrapped = meta.get("condition_ids")
    if isinstance(wrapped, dict) and condition_id({"condition_id": wrapped.get("condition_id")}):
        return pack("simple", {"item": wrapped["condition_id"].strip()})
    top = meta.get("conditions")
    if isinstance(top, dict):
        items, mode = top.get("items"), top.get("mode")
        if isinstance(items, list) and items and mode is not None and str(mode).strip():
            return pack("complex", dict(top))
        found = condition_id(top) or condition_id({"item": top.get("0")})
        if found:
            return pack("simple", {"item": found})
    return None


def spec_condition(row) -> dict:
    fields = condition_fields(row)
    return {**fields, "value": row.get("value")}


def spec_actions(patterns, actions, linked) -> tuple[list[dict], dict]:
    """The actions the ruleset's patterns link to, and pattern key -> the action it points to.

    A pattern here points to one action: the first active one by id, as the original lists
    them (db_repository._linked_action_message_parts); the others stay in the catalog.
    """
    pattern_keys = {p["id"]: p["pattern_key"] for p in patterns}
    spec_actions, pointed = {}, {}
    for pattern_id, key in pattern_keys.items():
        of_pattern = linked.get(pattern_id, [])
        for action in of_pattern:
            spec_actions.setdefault(action["action_id"], action_fields(action))
        active = [a for a in of_pattern if a.get("status") == ACTIVE]
        if active:
            pointed[key] = active[0]["action_id"]
    orphans = {a["action_id"]: a for a in actions if a.get("pattern_id") is None}
    for key in pattern_keys.values():
        if key not in pointed and key in orphans and orphans[key].get("status") == ACTIVE:
            # The original also shows an action of no pattern whose id is the pattern key.
            spec_actions.setdefault(key, action_fields(orphans[key]))
            pointed[key] = key
    return list(spec_actions.values()), pointed
