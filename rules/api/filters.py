"""Query filters of the management API: one FilterSet per resource, the same names everywhere.

Foreign keys filter by plain id (NumberFilter), never with a choice list of every object: a
choice list would answer "not a valid choice" for another tenant's id and reveal that it exists.
"""

import json

import django_filters
from django.db import connections

from rules.models import Action, Condition, Pattern, Rule, Ruleset, RulesetTestCase


class TagsFilter(django_filters.CharFilter):
    """`?tags=risk,retail`: objects whose tags list contains every one of the given tags."""

    def filter(self, qs, value):
        for tag in [tag.strip() for tag in (value or "").split(",") if tag.strip()]:
            if connections[qs.db].features.supports_json_field_contains:
                qs = qs.filter(**{f"{self.field_name}__contains": [tag]})
            else:
                # SQLite has no JSON containment: match the tag as a quoted string of the JSON text.
                qs = qs.filter(**{f"{self.field_name}__icontains": json.dumps(tag)})
        return qs


TAGS_HELP = "Comma-separated tags; objects having every one of them."
TENANT_HELP = "Slug of the tenant."


class RulesetFilter(django_filters.FilterSet):
    tags = TagsFilter(field_name="tags", help_text=TAGS_HELP)
    tenant = django_filters.CharFilter(field_name="tenant__slug", help_text=TENANT_HELP)

    class Meta:
        model = Ruleset
        fields = ["name", "version", "status", "is_default", "tags", "tenant"]


class RuleFilter(django_filters.FilterSet):
    ruleset = django_filters.NumberFilter(field_name="ruleset_id", help_text="Id of the ruleset.")
    catalog_condition = django_filters.NumberFilter(
        field_name="condition_links__condition_id",
        help_text="Id of a catalog condition the rule uses.",
    )
    tags = TagsFilter(field_name="tags", help_text=TAGS_HELP)
    tenant = django_filters.CharFilter(field_name="ruleset__tenant__slug", help_text=TENANT_HELP)

    class Meta:
        model = Rule
        fields = [
            "ruleset",
            "rule_id",
            "rule_name",
            "status",
            "condition_mode",
            "catalog_condition",
            "tags",
            "tenant",
        ]


class ConditionFilter(django_filters.FilterSet):
    tags = TagsFilter(field_name="tags", help_text=TAGS_HELP)
    tenant = django_filters.CharFilter(field_name="tenant__slug", help_text=TENANT_HELP)

    class Meta:
        model = Condition
        fields = ["condition_id", "name", "status", "attribute", "operator", "tags", "tenant"]


class ActionFilter(django_filters.FilterSet):
    tags = TagsFilter(field_name="tags", help_text=TAGS_HELP)
    tenant = django_filters.CharFilter(field_name="tenant__slug", help_text=TENANT_HELP)

    class Meta:
        model = Action
        fields = ["action_id", "name", "status", "action_type", "tags", "tenant"]


class PatternFilter(django_filters.FilterSet):
    ruleset = django_filters.NumberFilter(field_name="ruleset_id", help_text="Id of the ruleset.")
    action = django_filters.NumberFilter(field_name="action_id", help_text="Id of the action.")
    tenant = django_filters.CharFilter(field_name="ruleset__tenant__slug", help_text=TENANT_HELP)

    class Meta:
        model = Pattern
        fields = ["ruleset", "pattern_key", "action_recommendation", "action", "tenant"]


class RulesetTestCaseFilter(django_filters.FilterSet):
    ruleset = django_filters.NumberFilter(field_name="ruleset_id", help_text="Id of the ruleset.")
    tenant = django_filters.CharFilter(field_name="ruleset__tenant__slug", help_text=TENANT_HELP)

    class Meta:
        model = RulesetTestCase
        fields = ["ruleset", "name", "tenant"]
