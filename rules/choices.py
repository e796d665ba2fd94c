"""Statuses, roles and the lifecycle table: data, not if-chains."""

from django.db import models


class RulesetStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    DEPRECATED = "deprecated", "Deprecated"
    ARCHIVED = "archived", "Archived"


TRANSITIONS: dict[str, frozenset[str]] = {
    RulesetStatus.DRAFT: frozenset({RulesetStatus.ACTIVE, RulesetStatus.ARCHIVED}),
    RulesetStatus.ACTIVE: frozenset({RulesetStatus.INACTIVE, RulesetStatus.DEPRECATED}),
    RulesetStatus.INACTIVE: frozenset(
        {RulesetStatus.ACTIVE, RulesetStatus.DEPRECATED, RulesetStatus.ARCHIVED}
    ),
    RulesetStatus.DEPRECATED: frozenset({RulesetStatus.ARCHIVED}),
    RulesetStatus.ARCHIVED: frozenset(),
}

# Only drafts can be edited; every other status is a published, read-only version.
EDITABLE_STATUSES = frozenset({RulesetStatus.DRAFT})


class ItemStatus(models.TextChoices):
    """Status of a rule, a catalog condition or a catalog action."""

    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"


class ConditionMode(models.TextChoices):
    """How a rule combines its catalog conditions (original names: inclusive / exclusive)."""

    ALL = "all", "All (inclusive)"
    ANY = "any", "Any (exclusive)"


class RulesetSemantics(models.TextChoices):
    """How a ruleset evaluates (rules/engine/original.py): this product's, or the original's."""

    STRICT = "strict", "Strict (every rule yields a result; patterns of one length)"
    ORIGINAL = "original", "Original (rules on absent attributes are left out, as the original did)"


class RulesetKind(models.TextChoices):
    """What a ruleset version holds: scoring rules and patterns, or a DMN model of decisions."""

    SCORING = "scoring", "Scoring (rules, points and patterns)"
    DECISION_TABLE = "decision_table", "Decision tables (DMN 1.3)"


class InputValidation(models.TextChoices):
    """What a ruleset does with inputs that do not fit the tenant's attributes catalog."""

    OFF = "off", "Off"
    WARN = "warn", "Warn (the log records the problems)"
    STRICT = "strict", "Strict (400 naming every bad field)"


class AttributeType(models.TextChoices):
    STRING = "string", "String"
    NUMBER = "number", "Number"
    INTEGER = "integer", "Integer"
    BOOLEAN = "boolean", "Boolean"
    DATE = "date", "Date"
    LIST = "list", "List"


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    AUTHOR = "author", "Author"
    APPROVER = "approver", "Approver"
    ADMIN = "admin", "Admin"


class Capability(models.TextChoices):
    VIEW = "view"  # read rulesets, catalogs and logs; evaluate
    EDIT = "edit"  # create and change drafts, create new draft versions
    TRANSITION = "transition"  # activate, deactivate, deprecate, archive
    MANAGE_MEMBERS = "manage_members"


ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    Role.VIEWER: frozenset({Capability.VIEW}),
    Role.AUTHOR: frozenset({Capability.VIEW, Capability.EDIT}),
    Role.APPROVER: frozenset({Capability.VIEW, Capability.TRANSITION}),
    Role.ADMIN: frozenset(Capability.values),
}
