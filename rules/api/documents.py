"""The export document (docs/format.md), described for the schema; the engine validates imports.

Output only: `GET /rulesets/{id}/export` answers this document and `POST /rulesets/import` takes
it (or the original system's files) as a plain JSON object.
"""

from rest_framework import serializers


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
