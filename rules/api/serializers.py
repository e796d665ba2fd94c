"""Representations of the management API. They validate input; rules/services do every write.

Foreign keys accept only objects of the tenant being written to (the object's tenant on update,
the request's tenant on create), so a payload can never link across tenants.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from ruleengine.api.access import request_tenant
from rules.choices import RulesetStatus
from rules.models import (
    ACTION_FIELDS,
    CONDITION_FIELDS,
    Action,
    Condition,
    Pattern,
    Rule,
    Ruleset,
    RulesetTestCase,
    version_validator,
)
from rules.services.attributes import rule_constant_error
from rules.services.editing import rule_catalog_form_check

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
    # Null for what the system wrote (imports by command, the demo's fixtures).
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    updated_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
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
            "kind",
            "is_default",
            "tags",
            "metadata",
            "semantics",
            "default_recommendation",
            "input_validation",
            "revision",
            *TIMESTAMPS,
            "created_by",
            "updated_by",
        ]
        # A decision-table ruleset comes from a DMN import; the kind never changes.
        read_only_fields = ["kind", "is_default", "revision"]


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
            # The API keeps the ruleset format's name for the model's `operator`.
            "condition": {
                "source": "operator",
                "label": "Operator",
                "help_text": "Inline form: the operator, e.g. greater_than.",
            },
            "constant": {"help_text": "Inline form: the constant, as text (700, ['A','B'])."},
            "condition_mode": {"help_text": "Catalog form: all or any; empty for the inline form."},
            "position": {
                "help_text": "Order among rules of equal priority. A new rule without one (or "
                "with 0) goes after the version's last rule."
            },
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
        if mode and conditions is None and not current_mode:
            conditions = []  # switching to the catalog form without conditions leaves it none
        try:
            rule_catalog_form_check(condition_mode=mode, conditions=conditions)
        except DjangoValidationError as error:
            # The domain rule's keys, as the fields of this serializer.
            fields = {"conditions": "catalog_conditions", "condition_mode": "condition_mode"}
            raise serializers.ValidationError(
                {fields[key]: messages for key, messages in error.message_dict.items()}
            ) from error
        self._constant_attribute_check(attrs)
        return attrs

    def _constant_attribute_check(self, attrs) -> None:
        """A constant that can never match the catalog attribute's type is refused."""

        def current(name, default=""):
            stored = getattr(self.instance, name, default) if self.instance else default
            return attrs.get(name, stored)

        ruleset = current("ruleset", None)
        if ruleset is None:
            return
        error = rule_constant_error(
            tenant_id=ruleset.tenant_id,
            attribute=current("attribute"),
            operator=current("operator"),
            constant=current("constant"),
        )
        if error:
            raise serializers.ValidationError({"constant": [error]})


class ConditionSerializer(TenantWriteSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    tags = tags_field()
    metadata = metadata_field()

    class Meta:
        model = Condition
        fields = ["id", "tenant", *CONDITION_FIELDS, *TIMESTAMPS]


class ActionSerializer(TenantWriteSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    tags = tags_field()
    metadata = metadata_field()
    configuration = serializers.DictField(required=False)

    class Meta:
        model = Action
        fields = ["id", "tenant", *ACTION_FIELDS, *TIMESTAMPS]


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
