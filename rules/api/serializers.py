"""Representations of the management API. They validate input; rules/services do every write.

Foreign keys accept only objects of the tenant being written to (the object's tenant on update,
the request's tenant on create), so a payload can never link across tenants.
"""

from rest_framework import serializers

from ruleengine.api.access import request_tenant
from rules.choices import RulesetStatus
from rules.models import (
    Action,
    Condition,
    Pattern,
    Rule,
    Ruleset,
    RulesetTestCase,
    version_validator,
)

TIMESTAMPS = ("created_at", "updated_at")


class TenantObjectField(serializers.PrimaryKeyRelatedField):
    """An id of an object in the tenant the serializer writes to; other tenants' ids are invalid."""

    def __init__(self, **kwargs):
        # The browsable API would list every object of the tenant in a select, and could not
        # tell which tenant for a caller in several: a plain id input instead.
        kwargs.setdefault("style", {"base_template": "input.html"})
        super().__init__(**kwargs)

    def get_choices(self, cutoff=None):
        return {}

    def get_queryset(self):
        tenant = self.root.write_tenant()
        queryset = super().get_queryset()
        return queryset.none() if tenant is None else queryset.for_tenant(tenant)


class TenantWriteSerializer(serializers.ModelSerializer):
    def write_tenant(self):
        """The tenant this write lands in: the object's own, else the request's."""
        if self.instance is not None:
            return self.object_tenant(self.instance)
        request = self.context.get("request")
        return request_tenant(request) if request is not None else None

    def object_tenant(self, obj):
        return obj.tenant

    def fixed_on_update(self, field: str, value, what: str):
        """Parts stay in their ruleset: moving one would edit two versions at once."""
        if self.instance is not None and value != getattr(self.instance, field):
            raise serializers.ValidationError(
                f"A {what} cannot move to another ruleset; create it there instead."
            )
        return value


def tags_field():
    return serializers.ListField(child=serializers.CharField(), required=False)


def metadata_field():
    return serializers.DictField(required=False)


class RulesetSerializer(serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    status = serializers.ChoiceField(choices=RulesetStatus.choices, read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    updated_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    tags = tags_field()
    metadata = metadata_field()

    class Meta:
        model = Ruleset
        fields = [
            "id",
            "tenant",
            "name",
            "version",
            "description",
            "status",
            "is_default",
            "tags",
            "metadata",
            "revision",
            *TIMESTAMPS,
            "created_by",
            "updated_by",
        ]
        read_only_fields = ["is_default", "revision"]


class RulesetActivationSerializer(RulesetSerializer):
    """The activated version, and what did not block its activation but should be said."""

    warnings = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Found before activating, e.g. that the version has no test cases; empty "
        "when there is nothing to say.",
    )

    class Meta(RulesetSerializer.Meta):
        fields = [*RulesetSerializer.Meta.fields, "warnings"]


class NewVersionSerializer(serializers.Serializer):
    version = serializers.CharField(
        required=False,
        max_length=20,
        validators=[version_validator],
        help_text="Version of the new draft; default: the next free one (1.0 -> 1.1).",
    )


class RuleCatalogConditionField(TenantObjectField):
    """A catalog condition id, read from the rule's ordered links (RuleCondition)."""

    def to_representation(self, value):
        return value.condition_id


class RuleSerializer(TenantWriteSerializer):
    ruleset = TenantObjectField(queryset=Ruleset.objects.all())
    tenant = serializers.CharField(source="ruleset.tenant.slug", read_only=True)
    # Stored as ordered RuleCondition links; written as a list of catalog condition ids.
    catalog_conditions = RuleCatalogConditionField(
        source="condition_links",
        queryset=Condition.objects.all(),
        many=True,
        required=False,
        help_text="Catalog form: ids of the tenant's catalog conditions, in order; combined "
        "with condition_mode. Empty for the inline form.",
    )
    tags = tags_field()
    metadata = metadata_field()

    class Meta:
        model = Rule
        fields = [
            "id",
            "ruleset",
            "tenant",
            "rule_id",
            "rule_name",
            "attribute",
            "condition",
            "constant",
            "condition_mode",
            "catalog_conditions",
            "message",
            "weight",
            "rule_point",
            "priority",
            "position",
            "action_result",
            "status",
            "version",
            "tags",
            "metadata",
            *TIMESTAMPS,
        ]
        read_only_fields = ["version"]
        extra_kwargs = {
            "condition": {"help_text": "Inline form: the operator, e.g. greater_than."},
            "constant": {"help_text": "Inline form: the constant, as text (700, ['A','B'])."},
            "condition_mode": {"help_text": "Catalog form: all or any; empty for the inline form."},
        }
        # Unique rule ids per ruleset are checked by the service's full_clean, one message.
        validators = []

    def object_tenant(self, obj):
        return obj.ruleset.tenant

    def validate_ruleset(self, value):
        return self.fixed_on_update("ruleset", value, "rule")

    def validate(self, attrs):
        """The catalog form needs conditions and the inline form has none."""
        current_mode = self.instance.condition_mode if self.instance else ""
        mode = attrs.get("condition_mode", current_mode)
        conditions = attrs.get("condition_links")
        if mode and conditions is None and not (self.instance and self.instance.condition_mode):
            conditions = []
        if mode and conditions == []:
            raise serializers.ValidationError(
                {"catalog_conditions": [f"Choose the catalog conditions to combine with {mode}."]}
            )
        if not mode and conditions:
            raise serializers.ValidationError(
                {"condition_mode": ["Choose all or any to combine catalog conditions."]}
            )
        if conditions and len({c.pk for c in conditions}) != len(conditions):
            raise serializers.ValidationError(
                {"catalog_conditions": ["A catalog condition is listed twice."]}
            )
        return attrs


class ConditionSerializer(TenantWriteSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    tags = tags_field()
    metadata = metadata_field()

    class Meta:
        model = Condition
        fields = [
            "id",
            "tenant",
            "condition_id",
            "name",
            "description",
            "attribute",
            "operator",
            "value",
            "status",
            "tags",
            "metadata",
            *TIMESTAMPS,
        ]


class ActionSerializer(TenantWriteSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    tags = tags_field()
    metadata = metadata_field()
    configuration = serializers.DictField(required=False)

    class Meta:
        model = Action
        fields = [
            "id",
            "tenant",
            "action_id",
            "name",
            "description",
            "action_type",
            "configuration",
            "status",
            "tags",
            "metadata",
            *TIMESTAMPS,
        ]


class PatternSerializer(TenantWriteSerializer):
    ruleset = TenantObjectField(queryset=Ruleset.objects.all())
    tenant = serializers.CharField(source="ruleset.tenant.slug", read_only=True)
    action = TenantObjectField(queryset=Action.objects.all(), allow_null=True, required=False)

    class Meta:
        model = Pattern
        fields = [
            "id",
            "ruleset",
            "tenant",
            "pattern_key",
            "action_recommendation",
            "action",
            "description",
            *TIMESTAMPS,
        ]
        validators = []

    def object_tenant(self, obj):
        return obj.ruleset.tenant

    def validate_ruleset(self, value):
        return self.fixed_on_update("ruleset", value, "pattern")


class RulesetTestCaseSerializer(TenantWriteSerializer):
    ruleset = TenantObjectField(queryset=Ruleset.objects.all())
    tenant = serializers.CharField(source="ruleset.tenant.slug", read_only=True)
    input_data = serializers.DictField(required=False, help_text="The input, a JSON object.")
    expected_matched_rules = serializers.ListField(
        child=serializers.CharField(),
        allow_null=True,
        required=False,
        help_text="Rule ids that must match, and no others (any order); [] expects none.",
    )

    class Meta:
        model = RulesetTestCase
        fields = [
            "id",
            "ruleset",
            "tenant",
            "name",
            "description",
            "input_data",
            "expected_pattern_result",
            "expected_action_recommendation",
            "expected_total_points",
            "total_points_tolerance",
            "expected_matched_rules",
            *TIMESTAMPS,
        ]
        extra_kwargs = {
            "expected_pattern_result": {"help_text": "E.g. Y-Y; null is not checked."},
            "expected_action_recommendation": {"help_text": "Null is not checked."},
            "expected_total_points": {"help_text": "Null is not checked."},
        }
        # Unique names per version are checked by the service's full_clean, one message.
        validators = []

    def object_tenant(self, obj):
        return obj.ruleset.tenant

    def validate_ruleset(self, value):
        return self.fixed_on_update("ruleset", value, "test case")


class FieldCheckSerializer(serializers.Serializer):
    field = serializers.ChoiceField(
        choices=["pattern_result", "action_recommendation", "total_points", "matched_rules"]
    )
    expected = serializers.JSONField()
    actual = serializers.JSONField()
    passed = serializers.BooleanField()
    difference = serializers.CharField(help_text="For people; empty when passed.")


class TestCaseResultSerializer(serializers.Serializer):
    test_case_id = serializers.IntegerField()
    name = serializers.CharField()
    passed = serializers.BooleanField()
    diff = serializers.CharField(
        help_text="Every difference in one line (or why the case could not run); empty when passed."
    )
    checks = FieldCheckSerializer(many=True, help_text="One per expectation of the test case.")


class ProblemSerializer(serializers.Serializer):
    rule_id = serializers.CharField(allow_null=True)
    message = serializers.CharField()
    path = serializers.CharField(help_text="A JSON path in the ruleset's document.")


class TestRunReportSerializer(serializers.Serializer):
    """Every test case of a version run with the engine (rules.services.test_cases)."""

    ruleset_id = serializers.IntegerField()
    name = serializers.CharField()
    version = serializers.CharField()
    total = serializers.IntegerField(help_text="Test cases run.")
    failed = serializers.IntegerField()
    passed = serializers.BooleanField(
        help_text="Every test case passed; also true when there are none (see `total`)."
    )
    compile_problems = ProblemSerializer(
        many=True, help_text="Why the version does not compile; every test case fails then."
    )
    results = TestCaseResultSerializer(many=True, help_text="One per test case, by name.")


class ImportOptionsSerializer(serializers.Serializer):
    """Query parameters of an import."""

    name = serializers.CharField(
        required=False,
        help_text="Ruleset name: required for the original system's files, overrides the "
        "document's otherwise.",
    )
    version = serializers.CharField(
        required=False, help_text="Version of the new draft; default: the document's or the next."
    )
    dry_run = serializers.BooleanField(
        required=False, default=False, help_text="Check everything, write nothing."
    )


class ImportReportSerializer(serializers.Serializer):
    format = serializers.ChoiceField(
        choices=["spec", "flat", "structured"], help_text="The detected format of the document."
    )
    name = serializers.CharField()
    version = serializers.CharField(help_text="The version created (or, on a dry run, it would).")
    dry_run = serializers.BooleanField()
    unchanged = serializers.BooleanField(
        help_text="The content equals the latest version of that name, so nothing was created."
    )
    existing = serializers.IntegerField(
        allow_null=True, help_text="Id of the equal version, when unchanged."
    )
    counts = serializers.DictField(child=serializers.IntegerField())
    created = RulesetSerializer(read_only=True, allow_null=True)


# The export document (docs/format.md), described for the schema; the engine validates imports.


class DocumentHeaderSerializer(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.CharField()
    description = serializers.CharField()
    is_default = serializers.BooleanField()
    tags = serializers.ListField(child=serializers.CharField())
    metadata = serializers.DictField()


class DocumentRuleConditionsSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=["all", "any"])
    items = serializers.ListField(child=serializers.CharField(), help_text="condition_ids")


class DocumentRuleSerializer(serializers.Serializer):
    rule_id = serializers.CharField()
    rule_name = serializers.CharField()
    attribute = serializers.CharField(required=False, help_text="Inline form.")
    condition = serializers.CharField(required=False, help_text="Inline form: the operator.")
    constant = serializers.JSONField(required=False, help_text="Inline form: text or JSON value.")
    conditions = DocumentRuleConditionsSerializer(required=False, help_text="Catalog form.")
    message = serializers.CharField()
    weight = serializers.FloatField()
    rule_point = serializers.FloatField()
    priority = serializers.IntegerField()
    action_result = serializers.CharField(max_length=1)
    status = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    metadata = serializers.DictField()


class DocumentConditionSerializer(serializers.Serializer):
    condition_id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    attribute = serializers.CharField()
    operator = serializers.CharField()
    value = serializers.JSONField()
    status = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    metadata = serializers.DictField()


class DocumentActionSerializer(serializers.Serializer):
    action_id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    action_type = serializers.CharField()
    configuration = serializers.DictField()
    status = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    metadata = serializers.DictField()


class DocumentPatternSerializer(serializers.Serializer):
    pattern_key = serializers.CharField()
    action_recommendation = serializers.CharField()
    action = serializers.CharField(allow_null=True, help_text="An action_id of actions.")
    description = serializers.CharField()


class RulesetDocumentSerializer(serializers.Serializer):
    """A ruleset version in the project's JSON format (docs/format.md), as export_rules writes."""

    format = serializers.CharField(help_text="ruleengine.ruleset")
    format_version = serializers.IntegerField()
    ruleset = DocumentHeaderSerializer()
    rules = DocumentRuleSerializer(many=True)
    conditions = DocumentConditionSerializer(many=True)
    actions = DocumentActionSerializer(many=True)
    patterns = DocumentPatternSerializer(many=True)
