"""The ruleset documents of the API, described for the schema: the export (docs/format.md) and
what an import takes (the same format, or the original system's flat and structured files).

Descriptions only: `GET /rulesets/{id}/export` answers the first, and `POST /rulesets/import`
passes its body to the import service, which checks it with the engine.
"""

from rest_framework import serializers

from rules.choices import AttributeType, InputValidation, RulesetSemantics

SEMANTICS_HELP = (
    "strict: every active rule yields one pattern character; original: the original system's "
    "default path (rules whose attributes are absent are left out, results of any length)."
)

DEFAULT_RECOMMENDATION_HELP = (
    "Recommended when no pattern key matches the result (with no action); empty for none."
)
PATTERN_KEY_HELP = (
    "One character per active rule in execution order (strict); '*' matches any result of its "
    "rule, the key with the fewest wildcards wins. Exact in original semantics."
)


INPUT_VALIDATION_HELP = (
    "Inputs checked against the tenant's attributes catalog: off, warn (the log records the "
    "problems), strict (refused naming every bad field)."
)


class DocumentHeaderSerializer(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.CharField()
    description = serializers.CharField()
    is_default = serializers.BooleanField()
    tags = serializers.ListField(child=serializers.CharField())
    metadata = serializers.DictField()
    semantics = serializers.ChoiceField(
        choices=RulesetSemantics.choices, required=False, help_text=SEMANTICS_HELP
    )
    default_recommendation = serializers.CharField(
        required=False, allow_blank=True, help_text=DEFAULT_RECOMMENDATION_HELP
    )
    input_validation = serializers.ChoiceField(
        choices=InputValidation.choices, required=False, help_text=INPUT_VALIDATION_HELP
    )


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
    action_result = serializers.CharField(
        max_length=200, help_text="One character in strict semantics; any length in original."
    )
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
    pattern_key = serializers.CharField(help_text=PATTERN_KEY_HELP)
    action_recommendation = serializers.CharField()
    action = serializers.CharField(allow_null=True, help_text="An action_id of actions.")
    description = serializers.CharField()


class DocumentAttributeSerializer(serializers.Serializer):
    """An entry of the tenant's attributes catalog that the version reads."""

    name = serializers.CharField(help_text="The input key or a dotted path.")
    data_type = serializers.ChoiceField(choices=AttributeType.choices)
    description = serializers.CharField(allow_blank=True)
    allowed_values = serializers.ListField(child=serializers.JSONField())
    example = serializers.JSONField(allow_null=True)


class RulesetDocumentSerializer(serializers.Serializer):
    """A ruleset version in the project's JSON format (docs/format.md), as export_rules writes."""

    format = serializers.CharField(help_text="ruleengine.ruleset")
    format_version = serializers.IntegerField()
    ruleset = DocumentHeaderSerializer()
    rules = DocumentRuleSerializer(many=True)
    conditions = DocumentConditionSerializer(many=True)
    actions = DocumentActionSerializer(many=True)
    patterns = DocumentPatternSerializer(many=True)
    attributes = DocumentAttributeSerializer(
        many=True,
        required=False,
        help_text="Catalog entries of the attributes the version reads; only when the "
        "tenant's catalog has any. Imports create the ones the tenant lacks.",
    )


# --- What `POST /rulesets/import` takes: the format above, or the original system's files ------
# Described for the schema only; the import service reads the body itself and reports every
# problem with its JSON path. Unknown keys are ignored, so no object forbids other properties.
def _text(help_text: str = "", **kwargs):
    return serializers.CharField(required=False, allow_blank=True, help_text=help_text, **kwargs)


def _number(help_text: str = ""):
    return serializers.FloatField(required=False, help_text=help_text)


def _tags():
    return serializers.ListField(child=serializers.CharField(), required=False)


class ImportHeaderSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="Overridden by the `name` query parameter.")
    version = _text('Default "1.0"; overridden by the `version` query parameter.')
    description = _text()
    is_default = serializers.BooleanField(required=False)
    tags = _tags()
    metadata = serializers.DictField(required=False)
    semantics = serializers.ChoiceField(
        choices=RulesetSemantics.choices, required=False, help_text=SEMANTICS_HELP
    )
    default_recommendation = _text(DEFAULT_RECOMMENDATION_HELP, max_length=200)
    input_validation = serializers.ChoiceField(
        choices=InputValidation.choices, required=False, help_text=INPUT_VALIDATION_HELP
    )


class ImportRuleSerializer(serializers.Serializer):
    rule_id = serializers.CharField(help_text="Unique within the ruleset.")
    rule_name = _text()
    attribute = _text("Inline form: the input attribute, a dotted path allowed.")
    condition = _text("Inline form: the operator, e.g. greater_than.")
    constant = serializers.JSONField(
        required=False, help_text="Inline form: text (700, ['A','B']) or a JSON value."
    )
    conditions = DocumentRuleConditionsSerializer(
        required=False, help_text="Catalog form, instead of attribute/condition/constant."
    )
    message = _text()
    weight = _number("Default 1.0; multiplies rule_point.")
    rule_point = _number("Default 0.")
    priority = serializers.IntegerField(required=False, help_text="Default 0; ascending order.")
    action_result = _text(
        'Default "Y"; one character in strict semantics, any length in original.', max_length=200
    )
    status = _text('Default "active"; other rules are not evaluated.')
    tags = _tags()
    metadata = serializers.DictField(required=False)


class ImportConditionSerializer(serializers.Serializer):
    condition_id = serializers.CharField()
    name = _text()
    description = _text()
    attribute = serializers.CharField()
    operator = serializers.CharField()
    value = serializers.JSONField(required=False, help_text="The constant, as a rule's.")
    status = _text('Default "active".')
    tags = _tags()
    metadata = serializers.DictField(required=False)


class ImportActionSerializer(serializers.Serializer):
    action_id = serializers.CharField()
    name = _text()
    description = _text()
    action_type = _text()
    configuration = serializers.DictField(required=False)
    status = _text('Default "active".')
    tags = _tags()
    metadata = serializers.DictField(required=False)


class ImportPatternSerializer(serializers.Serializer):
    pattern_key = serializers.CharField(help_text=PATTERN_KEY_HELP)
    action_recommendation = serializers.CharField()
    action = serializers.CharField(
        required=False, allow_null=True, help_text="An action_id of `actions`, or null."
    )
    description = _text()


class ImportSpecDocumentSerializer(serializers.Serializer):
    """The project's format (docs/format.md), as `GET /rulesets/{id}/export` answers it."""

    format = serializers.ChoiceField(choices=["ruleengine.ruleset"], required=False)
    format_version = serializers.ChoiceField(choices=[1], required=False)
    ruleset = ImportHeaderSerializer()
    rules = ImportRuleSerializer(many=True, required=False)
    conditions = ImportConditionSerializer(many=True, required=False)
    actions = ImportActionSerializer(many=True, required=False)
    patterns = ImportPatternSerializer(many=True, required=False)
    attributes = DocumentAttributeSerializer(
        many=True,
        required=False,
        help_text="Created in the tenant's catalog where missing; an existing one with other "
        "content is kept and reported as a warning.",
    )


class OriginalRuleSerializer(serializers.Serializer):
    """The fields flat and structured rules share; each accepts the alias shown."""

    id = serializers.CharField(
        required=False,
        help_text="The rule id (alias: rule_id); when missing, R0001, R0002... by position.",
    )
    rule_name = _text("Alias: rulename.")
    description = _text("The message (alias: message).")
    weight = _number("Default 0, as in the original.")
    rule_point = _number("Default 0 (alias: rulepoint, in structured rules).")
    priority = serializers.IntegerField(required=False, help_text="Default 0.")
    result = _text(
        "Alias: action_result. Any length; `{attribute}` and `string join(...)` templates are "
        "expanded against the input on a match.",
        max_length=200,
    )
    status = _text('Default "active".')


PATTERNS_MAP_HELP = 'Pattern key -> action recommendation, e.g. {"YYY": "APPROVE"}.'


class FlatRuleSerializer(OriginalRuleSerializer):
    attribute = serializers.CharField()
    condition = serializers.CharField(help_text="The operator, e.g. greater_than.")
    constant = serializers.JSONField(required=False)


class FlatRulesDocumentSerializer(serializers.Serializer):
    """The original system's flat rules file; `name` (query parameter) is required."""

    rules_set = FlatRuleSerializer(many=True)
    patterns = serializers.DictField(
        child=serializers.CharField(), required=False, help_text=PATTERNS_MAP_HELP
    )


class StructuredRuleConditionsSerializer(serializers.Serializer):
    item = _text("A simple rule's one condition_id.")
    mode = serializers.ChoiceField(
        choices=["inclusive", "exclusive"],
        required=False,
        help_text="A complex rule's: inclusive (all) or exclusive (any, OR).",
    )
    items = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="A complex rule's condition_ids."
    )


class StructuredRuleSerializer(OriginalRuleSerializer):
    type = serializers.ChoiceField(choices=["simple", "complex"], required=False)
    conditions = StructuredRuleConditionsSerializer()


class StructuredConditionSerializer(serializers.Serializer):
    condition_id = serializers.CharField(help_text="Alias: id.")
    condition_name = _text("Alias: name.")
    description = _text()
    attribute = serializers.CharField()
    equation = serializers.CharField(help_text="The operator (alias: operator).")
    constant = serializers.JSONField(required=False, help_text="Alias: value.")


class StructuredRulesDocumentSerializer(serializers.Serializer):
    """The original system's structured rules file with its conditions catalog's
    `conditions_set` in the same object; `name` (query parameter) is required."""

    rules_set = StructuredRuleSerializer(many=True)
    conditions_set = StructuredConditionSerializer(many=True)
    patterns = serializers.DictField(
        child=serializers.CharField(), required=False, help_text=PATTERNS_MAP_HELP
    )
