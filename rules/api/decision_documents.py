"""The export document of a decision-table ruleset (GET /api/v1/rulesets/{id}/export): its header
and the DMN model as JSON (rules.engine.dmn `Definitions.as_dict()`). The DMN 1.3 XML itself is
what `manage.py export_rules` and the admin's download write."""

from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers

from rules.api.documents import RulesetDocumentSerializer


class DecisionRulesetHeaderSerializer(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    is_default = serializers.BooleanField()
    tags = serializers.ListField(child=serializers.CharField())
    metadata = serializers.DictField()
    semantics = serializers.CharField()


class DecisionRulesetDocumentSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["decision_table"])
    ruleset = DecisionRulesetHeaderSerializer()
    decision_model = serializers.DictField(
        allow_null=True,
        help_text="The DMN model: id, name, namespace, decisions (each a decision table with "
        "inputs, outputs, rules and hit policy, or a literal expression), input_data.",
    )


EXPORT_DOCUMENT = PolymorphicProxySerializer(
    component_name="ExportDocument",
    serializers=[RulesetDocumentSerializer, DecisionRulesetDocumentSerializer],
    resource_type_field_name=None,
)
