"""The parts of a ruleset version: rules, patterns and test cases; only drafts' parts change."""

from django.db import transaction

from rules.api import filters as api_filters
from rules.api.schema import resource_schema
from rules.api.serializers import PatternSerializer, RuleSerializer, RulesetTestCaseSerializer
from rules.api.views.tenant_scoped import TenantScopedViewSet, validation_errors_as_400
from rules.models import Pattern, Rule, RulesetTestCase
from rules.services import editing, test_cases


class RulesetPartViewSet(TenantScopedViewSet):
    """Parts of a draft (rules, patterns, test cases), changed and deleted by the part services."""

    def object_tenant(self, obj):
        return obj.ruleset.tenant

    def perform_update(self, serializer):
        part = serializer.instance
        for name, value in serializer.validated_data.items():
            setattr(part, name, value)
        with validation_errors_as_400():
            editing.ruleset_part_save(part=part, actor=self.request.user)

    def perform_destroy(self, instance):
        editing.ruleset_part_delete(part=instance, actor=self.request.user)


@resource_schema(RuleSerializer, "rule")
class RuleViewSet(RulesetPartViewSet):
    """Rules of ruleset versions: inline (attribute, condition, constant) or catalog form."""

    queryset = Rule.objects.select_related("ruleset__tenant").prefetch_related("condition_links")
    serializer_class = RuleSerializer
    filterset_class = api_filters.RuleFilter
    search_fields = ["rule_id", "rule_name", "message", "attribute"]
    ordering_fields = ["id", "rule_id", "rule_name", "priority", "position", "created_at"]
    ordering = ["ruleset_id", "priority", "position", "rule_id"]

    @transaction.atomic
    def perform_create(self, serializer):
        fields = dict(serializer.validated_data)
        conditions = fields.pop("condition_links", [])
        with validation_errors_as_400(serializer):
            rule = editing.rule_create(actor=self.request.user, conditions=conditions, **fields)
        serializer.instance = self.get_queryset().get(pk=rule.pk)

    @transaction.atomic
    def perform_update(self, serializer):
        fields = dict(serializer.validated_data)
        conditions = fields.pop("condition_links", None)
        rule = serializer.instance
        for name, value in fields.items():
            setattr(rule, name, value)
        if not rule.condition_mode:
            conditions = []  # the inline form has no catalog links
        with validation_errors_as_400(serializer):
            editing.ruleset_part_save(part=rule, actor=self.request.user)
            if conditions is not None:
                editing.rule_catalog_conditions_set(
                    rule=rule, conditions=conditions, actor=self.request.user
                )
        serializer.instance = self.get_queryset().get(pk=rule.pk)


@resource_schema(PatternSerializer, "pattern")
class PatternViewSet(RulesetPartViewSet):
    """Pattern keys of ruleset versions and the recommendation (and action) each maps to."""

    queryset = Pattern.objects.select_related("ruleset__tenant", "action")
    serializer_class = PatternSerializer
    filterset_class = api_filters.PatternFilter
    search_fields = ["pattern_key", "action_recommendation", "description"]
    ordering_fields = ["id", "pattern_key", "action_recommendation", "created_at"]
    ordering = ["ruleset_id", "pattern_key", "id"]

    def perform_create(self, serializer):
        with validation_errors_as_400():
            serializer.instance = editing.pattern_create(
                actor=self.request.user, **serializer.validated_data
            )


@resource_schema(RulesetTestCaseSerializer, "test case")
class RulesetTestCaseViewSet(RulesetPartViewSet):
    """Test cases of ruleset versions: an input and the outcome it must have.

    Only drafts' test cases change; activation refuses a version whose test cases fail.
    """

    queryset = RulesetTestCase.objects.select_related("ruleset__tenant")
    serializer_class = RulesetTestCaseSerializer
    filterset_class = api_filters.RulesetTestCaseFilter
    search_fields = ["name", "description"]
    ordering_fields = ["id", "name", "created_at", "updated_at"]
    ordering = ["ruleset_id", "name", "id"]

    def perform_create(self, serializer):
        test_case = RulesetTestCase(**serializer.validated_data)
        with validation_errors_as_400():
            serializer.instance = test_cases.test_case_save(
                test_case=test_case, actor=self.request.user
            )
