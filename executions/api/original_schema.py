"""OpenAPI description of the original system's endpoints (executions/api/original.py).

Field names and shapes re-typed from the original's `api/models.py`; `execution_id` is this
product's addition (the log row of the evaluation).
"""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

TAG = "original system"

COMIC_INPUT = {"issue": 35, "title": "Superman", "publisher": "DC"}


# --- Requests --------------------------------------------------------------------------------
class OriginalExecuteRequestSerializer(serializers.Serializer):
    data = serializers.DictField(help_text="Input data for rule evaluation (a JSON object).")
    dry_run = serializers.BooleanField(
        default=False,
        help_text="Evaluate without logging; the answer lists every rule that ran.",
    )
    correlation_id = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="Your id for the call; else the X-Correlation-ID header's, else a new UUID. "
        "Stored on the log row and echoed.",
    )
    consumer_id = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="Recorded as the log row's caller (the API client is kept beside it).",
    )


class OriginalBatchRequestSerializer(serializers.Serializer):
    data_list = serializers.ListField(
        child=serializers.DictField(), help_text="Inputs, each a JSON object; at least one."
    )
    dry_run = serializers.BooleanField(default=False)
    max_workers = serializers.IntegerField(
        required=False, allow_null=True, help_text="Accepted (positive) and not needed here."
    )
    correlation_id = serializers.CharField(
        required=False, allow_null=True, help_text="The batch_id; else a new UUID."
    )
    consumer_id = serializers.CharField(required=False, allow_null=True)


class OriginalByIdsRequestSerializer(OriginalExecuteRequestSerializer):
    rule_ids = serializers.ListField(
        child=serializers.CharField(),
        help_text="Rule ids of one active ruleset of the tenant (the default one first).",
    )


class OriginalDmnRequestSerializer(OriginalExecuteRequestSerializer):
    dmn_file = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="The name of a decision-table ruleset of your tenant (imported with "
        "import_rules; its active version runs), not a server path. Exactly one of dmn_file "
        "and dmn_content.",
    )
    dmn_content = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="DMN 1.1-1.3 XML (Camunda Modeler files too), compiled once per content.",
    )


class OriginalDmnUploadRequestSerializer(serializers.Serializer):
    """The original's execute-dmn-upload form (multipart/form-data)."""

    file = serializers.FileField(
        help_text="A DMN 1.1-1.3 file (.dmn), read as execute-dmn's dmn_content."
    )
    data = serializers.CharField(
        help_text='The input: a JSON object as text, e.g. {"season": "Fall"}.'
    )
    dry_run = serializers.BooleanField(required=False, default=False)
    correlation_id = serializers.CharField(required=False)


# --- Answers ---------------------------------------------------------------------------------
class OriginalRuleEvaluationSerializer(serializers.Serializer):
    rule_name = serializers.CharField()
    rule_priority = serializers.IntegerField(allow_null=True)
    condition = serializers.CharField()
    matched = serializers.BooleanField()
    action_result = serializers.CharField(help_text='"-" when the rule did not match.')
    rule_point = serializers.FloatField(
        help_text="0 when the rule did not match; a DMN row's is always 10."
    )
    weight = serializers.FloatField(
        help_text="0 when the rule did not match; a DMN row's is always 1."
    )
    execution_time_ms = serializers.FloatField(help_text="Not measured per rule here: 0.")


class OriginalExecutionResponseSerializer(serializers.Serializer):
    total_points = serializers.FloatField()
    pattern_result = serializers.CharField(allow_blank=True)
    action_recommendation = serializers.CharField(allow_null=True)
    decision_outputs = serializers.DictField(
        allow_null=True,
        help_text="Decision tables (execute-dmn, or a decision-table ruleset): each decision's "
        "result by name; null for scoring rulesets.",
    )
    rule_evaluations = OriginalRuleEvaluationSerializer(
        many=True, allow_null=True, help_text="Dry runs: every rule that ran."
    )
    would_match = OriginalRuleEvaluationSerializer(many=True, allow_null=True)
    would_not_match = OriginalRuleEvaluationSerializer(many=True, allow_null=True)
    dry_run = serializers.BooleanField()
    execution_time_ms = serializers.FloatField()
    correlation_id = serializers.CharField()
    execution_id = serializers.UUIDField(
        allow_null=True, help_text="This product's log row; null for dry runs."
    )


class OriginalBatchItemSerializer(serializers.Serializer):
    item_index = serializers.IntegerField()
    correlation_id = serializers.CharField(help_text="`<batch_id>-<item_index>`, on its log row.")
    status = serializers.ChoiceField(choices=["success", "failed"])
    total_points = serializers.FloatField(allow_null=True)
    pattern_result = serializers.CharField(allow_null=True, allow_blank=True)
    action_recommendation = serializers.CharField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    error_type = serializers.CharField(allow_null=True)
    execution_id = serializers.UUIDField(allow_null=True)


class OriginalBatchSummarySerializer(serializers.Serializer):
    total_executions = serializers.IntegerField()
    successful_executions = serializers.IntegerField()
    failed_executions = serializers.IntegerField()
    total_execution_time_ms = serializers.FloatField()
    avg_execution_time_ms = serializers.FloatField()
    success_rate = serializers.FloatField(help_text="Percent.")


class OriginalBatchResponseSerializer(serializers.Serializer):
    batch_id = serializers.CharField()
    results = OriginalBatchItemSerializer(many=True)
    summary = OriginalBatchSummarySerializer()
    dry_run = serializers.BooleanField()


class OriginalExecutionLogSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The log row's id (a UUID here, an integer there).")
    execution_id = serializers.CharField()
    correlation_id = serializers.CharField(allow_null=True)
    ruleset_id = serializers.IntegerField(allow_null=True)
    consumer_id = serializers.CharField(
        allow_null=True, help_text="The caller: the consumer_id sent, else the API client."
    )
    total_points = serializers.FloatField(allow_null=True)
    pattern_result = serializers.CharField(allow_blank=True)
    execution_time_ms = serializers.FloatField()
    success = serializers.BooleanField()
    error_message = serializers.CharField(allow_null=True)
    timestamp = serializers.CharField()
    input_data = serializers.JSONField(required=False)
    output_data = serializers.JSONField(required=False)


class OriginalExecutionsListSerializer(serializers.Serializer):
    executions = OriginalExecutionLogSerializer(many=True)
    total = serializers.IntegerField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()


class OriginalErrorSerializer(serializers.Serializer):
    """The original's ErrorResponse: every error of these endpoints."""

    error_type = serializers.CharField()
    message = serializers.CharField()
    error_code = serializers.CharField(allow_null=True)
    context = serializers.DictField(allow_null=True)
    correlation_id = serializers.CharField(allow_null=True)


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(OriginalErrorSerializer, description=description)


ORIGINAL_ERRORS = {
    400: _error(
        "DataValidationError: the input was refused (logged as a failure); execute-dmn: "
        "MISSING_DMN_SOURCE, MULTIPLE_DMN_SOURCES, and ConfigurationError DMN_PARSE_ERROR, "
        "DMN_INVALID, DMN_FILE_NOT_FOUND (nothing logged); execute-dmn-upload: "
        "INVALID_FILE_TYPE, DMN_READ_ERROR"
    ),
    401: _error("AuthenticationError: no key, or an unknown, expired or revoked one"),
    403: _error("The API client's role does not allow this"),
    404: _error("NotFoundError: no such ruleset (RULESET_NOT_FOUND) or rules (RULE_NOT_FOUND)"),
    406: _error("The Accept header allows no JSON"),
    409: _error("NO_ACTIVE_VERSION, INVALID_RULESET, AMBIGUOUS_RULE_IDS"),
    413: _error("Request body too large"),
    415: _error("Send Content-Type: application/json"),
    422: _error("ValidationError (VALIDATION_ERROR): the request body; EVALUATION_BUDGET_EXCEEDED"),
    429: _error("Rate limited; see Retry-After"),
    500: _error("The execution log refused the row"),
    503: _error("The execution log or database is unavailable; see Retry-After"),
}

# X-API-Key is a security scheme (ruleengine.api.authentication), not a parameter.
ORIGINAL_HEADER_PARAMETERS = [
    OpenApiParameter(
        "X-Correlation-ID",
        str,
        OpenApiParameter.HEADER,
        description="As the body's `correlation_id` (the body wins); echoed in the answer's "
        "X-Correlation-ID header.",
    ),
]

EXECUTE_EXAMPLES = [
    OpenApiExample(
        "The original's example",
        request_only=True,
        value={"data": COMIC_INPUT, "dry_run": False, "correlation_id": "req-12345"},
    ),
]
BATCH_EXAMPLES = [
    OpenApiExample(
        "The original's example",
        request_only=True,
        value={
            "data_list": [COMIC_INPUT, {"issue": 10, "title": "Batman", "publisher": "DC"}],
            "dry_run": False,
            "max_workers": 4,
            "correlation_id": "batch-12345",
        },
    ),
]
BY_IDS_EXAMPLES = [
    OpenApiExample(
        "Two rules, dry run",
        request_only=True,
        value={"rule_ids": ["R0001", "R0002"], "data": COMIC_INPUT, "dry_run": True},
    ),
]
DMN_CONTENT_EXAMPLE = (
    '<?xml version="1.0" encoding="UTF-8"?><definitions '
    'xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="dish" name="Dish">'
    '<decision id="DishDecision" name="Dish"><decisionTable id="t" hitPolicy="UNIQUE">'
    '<input id="i1" label="Season"><inputExpression id="e1" typeRef="string"><text>season</text>'
    '</inputExpression></input><output id="o1" name="dish" typeRef="string"/>'
    '<rule id="r1"><inputEntry id="c1"><text>"Winter"</text></inputEntry>'
    '<outputEntry id="c2"><text>"Roastbeef"</text></outputEntry></rule>'
    "</decisionTable></decision></definitions>"
)
DMN_EXAMPLES = [
    OpenApiExample(
        "An imported decision table",
        request_only=True,
        value={"dmn_file": "Dish", "data": {"season": "Fall", "guests": 6}},
    ),
    OpenApiExample(
        "DMN XML in the body",
        request_only=True,
        value={"dmn_content": DMN_CONTENT_EXAMPLE, "data": {"season": "Winter"}},
    ),
]
