"""The OpenAPI description of POST /api/v1/evaluate and /api/v1/evaluate/batch.

The views validate by hand, in the same terms, for speed (executions.api.evaluate); these
serializers only describe. The examples are true on the demo data (`manage.py seed_demo`:
tenant `demo`, ruleset `credit_scoring` 1.0, rules R001 credit_score > 700 for 100 points, R002
income >= 50000 for 50, R003 debt_ratio < 0.4 for 50 × 1.5); a test sends them to the demo.
"""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, PolymorphicProxySerializer
from rest_framework import serializers

from ruleengine.api.schema import error_response, tenant_header_parameter

TRACE_REASONS = ["matched", "not_matched", "missing", "null", "type_mismatch"]

EVALUATE_DESCRIPTION = """\
Runs one input (`data`, a JSON object) through a ruleset of the caller's tenant and answers the
decision: every active rule runs in ascending `priority`; a matched rule adds `rule_point × weight`
to `total_points` and its `action_result` (e.g. `Y`) to `pattern_result` (`-` when it does not
match), and the pattern maps to `action_recommendation` and its `action`. Both are null when no
pattern of the ruleset matches.

**Which ruleset**: `ruleset` names it (default: the tenant's default ruleset), and its active
version is used. `version` with `dry_run: true` evaluates any version, drafts included.

**Logging**: every evaluation is logged (`GET /execution-logs/{execution_id}`) before the answer:
a 2xx means the log row is committed. If the log is unavailable past its budget the answer is 503
with `Retry-After`: retry. A `dry_run` is not logged (`execution_id` null) and always returns the
`trace`, which explains every rule.

**Errors**: 400 for an invalid body, or an input the ruleset cannot evaluate (logged as a
failed evaluation); 404 for an unknown ruleset or version; 409 when the ruleset has no active
version, or `version` names another one without `dry_run`; 422 when the evaluation ran out of
its time budget; 429 over the rate limit (see `Retry-After`).

Authenticate with `Authorization: Token <key>`; a session cookie is not accepted here. Callers in
several tenants name one with `X-Tenant`.
"""

BATCH_DESCRIPTION = """\
Evaluates a list of inputs (`items`, at most EVALUATE_BATCH_LIMIT, 1,000 by default) against one
ruleset version, in order, in one request: the same decision per item as `POST /evaluate`, in
`results[i]` for `items[i]` (`index` says which). An invalid item does not fail the batch: its
result carries `error` instead of a decision, `errors` counts them, and it is logged as a failed
evaluation. Every item's log row is committed before the answer (503 with `Retry-After`
otherwise: retry the whole batch). `dry_run: true` logs nothing and traces every item.

Authenticate with `Authorization: Token <key>`; a session cookie is not accepted here.
"""

EVALUATE_TENANT_PARAMETER = tenant_header_parameter(
    "Slug of the tenant whose ruleset is evaluated; required when the API client's account "
    "belongs to several tenants. Another tenant's slug: 404."
)
EVALUATE_HEADER_PARAMETERS = [
    EVALUATE_TENANT_PARAMETER,
    OpenApiParameter(
        "Idempotency-Key",
        str,
        OpenApiParameter.HEADER,
        description="Any unique string (a UUID) of 1-255 printable ASCII characters. A retry "
        "with the same key and body gets the first answer (same execution_id, header "
        "`Idempotent-Replayed: true`) and logs nothing more, on any node, also after a 503; the "
        "same key with another body is a 422. Keys are per tenant and API client and live "
        "IDEMPOTENCY_KEY_TTL_HOURS (24). Ignored on dry runs.",
    ),
    OpenApiParameter(
        "X-Request-ID",
        str,
        OpenApiParameter.HEADER,
        description="Your id for this request (1-128 of letters, digits, `._:@/+=-`); else "
        "one is generated. Echoed in the X-Request-ID response header and stored on the log "
        "rows. Responses also carry RateLimit-Limit, -Remaining, -Reset and -Policy.",
    ),
    OpenApiParameter(
        "X-Correlation-ID",
        str,
        OpenApiParameter.HEADER,
        description="As the body's `correlation_id` (the body wins when both are sent).",
    ),
]


# --- Request ---------------------------------------------------------------------------------
class EvaluateSerializer(serializers.Serializer):
    ruleset = serializers.CharField(
        required=False, max_length=100, help_text="Ruleset name; default: the tenant's default."
    )
    version = serializers.CharField(
        required=False,
        max_length=20,
        help_text="Version; default: the active one. Other versions need dry_run.",
    )
    data = serializers.DictField(help_text="The input: a JSON object, e.g. an application.")
    dry_run = serializers.BooleanField(
        default=False, help_text="Evaluate without logging; any version; the trace included."
    )
    trace = serializers.BooleanField(default=False, help_text="Explain every rule (`trace`).")
    correlation_id = serializers.CharField(
        required=False,
        max_length=200,
        help_text="Your own id for this call (e.g. an order number): stored on the log row, "
        "echoed, and a filter of GET /execution-logs. Or send the X-Correlation-ID header.",
    )


class EvaluateBatchSerializer(serializers.Serializer):
    ruleset = serializers.CharField(
        required=False, max_length=100, help_text="Ruleset name; default: the tenant's default."
    )
    version = serializers.CharField(
        required=False,
        max_length=20,
        help_text="Version; default: the active one. Other versions need dry_run.",
    )
    items = serializers.ListField(
        child=serializers.DictField(), help_text="The inputs, JSON objects, in order."
    )
    dry_run = serializers.BooleanField(
        default=False, help_text="Evaluate without logging; any version; every item traced."
    )
    trace = serializers.BooleanField(default=False, help_text="Explain every rule of every item.")
    correlation_id = serializers.CharField(
        required=False,
        max_length=200,
        help_text="Your own id for this batch: stored on every item's log row, and echoed.",
    )


# --- Response --------------------------------------------------------------------------------
class RulesetIdentitySerializer(serializers.Serializer):
    id = serializers.IntegerField(
        allow_null=True, help_text="Null when served from a snapshot file."
    )
    name = serializers.CharField()
    version = serializers.CharField()


class EvaluationActionSerializer(serializers.Serializer):
    action_id = serializers.CharField()
    action_type = serializers.CharField()
    configuration = serializers.DictField(help_text="The action's configuration, as authored.")


class TraceConditionSerializer(serializers.Serializer):
    """One catalog condition of a catalog-form rule, evaluated on its own."""

    condition_id = serializers.CharField()
    condition = serializers.CharField(help_text="The condition as text, e.g. age >= 18.")
    value = serializers.JSONField(help_text="The input's value; null when missing or null.")
    matched = serializers.BooleanField()
    reason = serializers.ChoiceField(choices=TRACE_REASONS)


class TraceItemSerializer(serializers.Serializer):
    """How one active rule decided, in execution order (docs/format.md, Trace)."""

    rule_id = serializers.CharField()
    priority = serializers.IntegerField()
    condition = serializers.CharField(
        help_text="The rule's condition as text, e.g. applicant.credit_score > 700; catalog "
        "rules join theirs with and / or."
    )
    value = serializers.JSONField(
        help_text="The input's value; null when missing or null, and for catalog rules (their "
        "values are in `conditions`)."
    )
    matched = serializers.BooleanField()
    reason = serializers.ChoiceField(
        choices=TRACE_REASONS,
        help_text="matched, not_matched, missing (attribute absent), null (attribute null), "
        "type_mismatch (e.g. a string compared with a number).",
    )
    points = serializers.FloatField(help_text="rule_point × weight when matched, else 0.")
    conditions = TraceConditionSerializer(
        many=True, required=False, help_text="Catalog-form rules only: each condition."
    )


class InputProblemSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="The attribute, as the catalog names it.")
    problem = serializers.CharField(help_text="Why its value does not fit the catalog.")


INPUT_PROBLEMS_HELP = (
    "Only when the ruleset's input_validation is `warn` and the input does not fit the "
    "tenant's attributes catalog (type, allowed values): every such attribute. The log row "
    "records them too (output_data.input_problems)."
)


def input_problems_field():
    return InputProblemSerializer(many=True, required=False, help_text=INPUT_PROBLEMS_HELP)


PATTERN_MATCH_KINDS = ["exact", "wildcard", "default"]


class PatternMatchSerializer(serializers.Serializer):
    key = serializers.CharField(
        allow_null=True, help_text="The pattern key that answered; null for the default or none."
    )
    kind = serializers.ChoiceField(
        choices=PATTERN_MATCH_KINDS,
        allow_null=True,
        help_text="How the answer was found: an exact key, the most specific wildcard key, the "
        "ruleset's default recommendation, or null for no recommendation.",
    )


class EvaluationSerializer(serializers.Serializer):
    execution_id = serializers.UUIDField(
        allow_null=True, help_text="The log row (GET /execution-logs/{id}); null for dry runs."
    )
    ruleset = RulesetIdentitySerializer(help_text="The version that decided.")
    total_points = serializers.FloatField()
    pattern_result = serializers.CharField(help_text="One character per active rule, e.g. Y-Y.")
    action_recommendation = serializers.CharField(
        allow_null=True, help_text="Null when no pattern of the ruleset matches."
    )
    action = EvaluationActionSerializer(
        allow_null=True, help_text="The pattern's action; null without one."
    )
    matched_rules = serializers.ListField(
        child=serializers.CharField(), help_text="Rule ids that matched, in execution order."
    )
    execution_time_ms = serializers.FloatField(help_text="Time spent evaluating, not logging.")
    dry_run = serializers.BooleanField()
    correlation_id = serializers.CharField(
        allow_null=True, help_text="The request's correlation id; null without one."
    )
    trace = TraceItemSerializer(
        many=True, required=False, help_text="With trace or dry_run: one entry per active rule."
    )
    pattern_match = PatternMatchSerializer(
        required=False, help_text="With trace or dry_run: how the recommendation was found."
    )
    input_problems = input_problems_field()


# --- Decision-table rulesets (DMN): the answer has `outputs` instead of points and patterns ---
class DecisionErrorSerializer(serializers.Serializer):
    """A decision that could not decide; the evaluation is logged with success=false."""

    decision_id = serializers.CharField()
    decision_name = serializers.CharField()
    code = serializers.CharField(
        help_text="unique_violation, any_conflict, aggregation_error or input_not_allowed."
    )
    message = serializers.CharField()
    rule_ids = serializers.ListField(child=serializers.CharField(), help_text="The rows involved.")


class DecisionTraceInputSerializer(serializers.Serializer):
    input = serializers.CharField(help_text="The input column's label.")
    expression = serializers.CharField()
    value = serializers.JSONField(help_text="The input's value; null when missing.")


class DecisionTraceCellSerializer(serializers.Serializer):
    input = serializers.CharField()
    entry = serializers.CharField(help_text="The cell's unary test as written, e.g. >= 700.")
    matched = serializers.BooleanField()
    reason = serializers.CharField(help_text="Why the cell matched or not, for people.")


class DecisionTraceRuleSerializer(serializers.Serializer):
    rule_id = serializers.CharField()
    index = serializers.IntegerField(help_text="The row's position, from 0.")
    matched = serializers.BooleanField()
    annotation = serializers.CharField(allow_blank=True)
    cells = DecisionTraceCellSerializer(many=True)
    output = serializers.JSONField(required=False, help_text="The row's output, when it matched.")


class DecisionTraceSerializer(serializers.Serializer):
    """How one decision decided: each row of a table, cell by cell."""

    decision_id = serializers.CharField()
    hit_policy = serializers.CharField(required=False, help_text="Decision tables only.")
    inputs = DecisionTraceInputSerializer(many=True, required=False)
    rules = DecisionTraceRuleSerializer(many=True, required=False)
    result = serializers.JSONField()
    error = DecisionErrorSerializer(required=False, allow_null=True)


DECISION_OUTPUTS_HELP = (
    "Decision name → result: a table with one output gives the value, several outputs give an "
    "object of output name → value; RULE ORDER, OUTPUT ORDER and COLLECT give lists, COLLECT "
    "SUM/MIN/MAX/COUNT a number; null when no row matched or the decision failed."
)


class DecisionEvaluationSerializer(serializers.Serializer):
    """The answer for a decision-table ruleset (DMN 1.3)."""

    execution_id = serializers.UUIDField(
        allow_null=True, help_text="The log row (GET /execution-logs/{id}); null for dry runs."
    )
    ruleset = RulesetIdentitySerializer(help_text="The version that decided.")
    outputs = serializers.DictField(child=serializers.JSONField(), help_text=DECISION_OUTPUTS_HELP)
    matched_rules = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Decision name → ids of the rows that matched, in row order.",
    )
    top_decision = serializers.CharField(
        allow_null=True,
        help_text="The decision no other requires (its result is the log row's "
        "action_recommendation when it is one value).",
    )
    success = serializers.BooleanField(help_text="False when a decision ended in an error.")
    errors = DecisionErrorSerializer(many=True)
    execution_time_ms = serializers.FloatField(help_text="Time spent evaluating, not logging.")
    dry_run = serializers.BooleanField()
    correlation_id = serializers.CharField(
        allow_null=True, help_text="The request's correlation id; null without one."
    )
    trace = serializers.DictField(
        child=DecisionTraceSerializer(),
        required=False,
        help_text="With trace or dry_run: decision name → how it decided.",
    )
    input_problems = input_problems_field()


EVALUATE_ANSWER = PolymorphicProxySerializer(
    component_name="EvaluateAnswer",
    serializers=[EvaluationSerializer, DecisionEvaluationSerializer],
    resource_type_field_name=None,
    help_text="A scoring ruleset answers points, pattern and recommendation; a decision-table "
    "ruleset answers `outputs`.",
)


class BatchItemErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="invalid, or evaluation_budget_exceeded")
    message = serializers.CharField(help_text="Names the item and the problem: items[2]: ...")
    details = serializers.DictField(
        required=False,
        help_text="With input_validation `strict`: every attribute that does not fit the "
        'catalog, as {"items[2].credit_score": [problem]}.',
    )


class BatchItemSerializer(serializers.Serializer):
    """A decision (as POST /evaluate answers) or, for an invalid item, `error`."""

    index = serializers.IntegerField(help_text="Position of the item in `items`.")
    execution_id = serializers.UUIDField(
        allow_null=True, help_text="The log row, failed items too; null for dry runs."
    )
    total_points = serializers.FloatField(required=False)
    pattern_result = serializers.CharField(required=False)
    action_recommendation = serializers.CharField(required=False, allow_null=True)
    action = EvaluationActionSerializer(required=False, allow_null=True)
    matched_rules = serializers.ListField(child=serializers.CharField(), required=False)
    execution_time_ms = serializers.FloatField(required=False)
    trace = TraceItemSerializer(many=True, required=False)
    input_problems = input_problems_field()
    error = BatchItemErrorSerializer(required=False, help_text="Only on an invalid item.")


class DecisionBatchItemSerializer(serializers.Serializer):
    """A decision-table ruleset's answer for one item (an invalid item answers `error`)."""

    index = serializers.IntegerField(help_text="Position of the item in `items`.")
    execution_id = serializers.UUIDField(allow_null=True, help_text="Null for dry runs.")
    outputs = serializers.DictField(child=serializers.JSONField(), help_text=DECISION_OUTPUTS_HELP)
    matched_rules = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField())
    )
    top_decision = serializers.CharField(allow_null=True)
    success = serializers.BooleanField()
    errors = DecisionErrorSerializer(many=True)
    execution_time_ms = serializers.FloatField()
    trace = serializers.DictField(child=DecisionTraceSerializer(), required=False)
    input_problems = input_problems_field()


class BatchEvaluationSerializer(serializers.Serializer):
    ruleset = RulesetIdentitySerializer(help_text="The version that decided every item.")
    count = serializers.IntegerField(help_text="Items evaluated.")
    errors = serializers.IntegerField(help_text="Items with `error`.")
    dry_run = serializers.BooleanField()
    correlation_id = serializers.CharField(
        allow_null=True, help_text="The request's correlation id (on every item's log row)."
    )
    results = PolymorphicProxySerializer(
        component_name="BatchResult",
        serializers=[BatchItemSerializer, DecisionBatchItemSerializer],
        resource_type_field_name=None,
        many=True,
        help_text="One per item, in order.",
    )


# --- Errors ----------------------------------------------------------------------------------
EVALUATE_ERRORS = {
    400: error_response(
        "Invalid body or input (`invalid`, the field in `details`; with the ruleset's "
        "input_validation `strict`, every attribute that does not fit the attributes catalog, "
        "as `data.<attribute>`), or a batch above EVALUATE_BATCH_LIMIT (`batch_too_large`)"
    ),
    404: error_response("No such ruleset or version in the tenant, or another tenant's slug"),
    409: error_response(
        "`no_active_version`: the ruleset has no active version. `version_not_active`: the "
        "named `version` is not the active one; pass `dry_run: true` to evaluate it without "
        "logging. `invalid_ruleset`: the version does not compile."
    ),
    422: error_response(
        "`evaluation_budget_exceeded`: a valid input the ruleset could not evaluate within "
        "EVALUATION_BUDGET_MS (logged as a failed evaluation; budget and use in `details`). "
        "`idempotency_key_reused`: the Idempotency-Key was used with another request."
    ),
    500: error_response("The execution log refused the row (`log_refused`): nothing recorded"),
    503: error_response(
        "The execution log is unavailable (`log_unavailable`): nothing was recorded, retry "
        "after `Retry-After`; or (dry runs) every non-production worker slot is busy"
    ),
}


# --- Examples: true on the demo data ---------------------------------------------------------
APPROVED_INPUT = {"applicant": {"credit_score": 720, "income": 85000}, "debt_ratio": 0.3}
REVIEW_INPUT = {"applicant": {"credit_score": 720, "income": 42000}, "debt_ratio": 0.3}
DECLINED_INPUT = {"applicant": {"credit_score": 640, "income": 42000}, "debt_ratio": 0.5}
DEMO_RULESET = {"id": 1, "name": "credit_scoring", "version": "1.0"}
APPROVE_ACTION = {
    "action_id": "A_APPROVE",
    "action_type": "decision",
    "configuration": {"queue": "auto"},
}
REVIEW_ACTION = {
    "action_id": "A_REVIEW",
    "action_type": "decision",
    "configuration": {"queue": "underwriting"},
}
APPROVED = {
    "total_points": 225.0,
    "pattern_result": "YYY",
    "action_recommendation": "APPROVE",
    "action": APPROVE_ACTION,
    "matched_rules": ["R001", "R002", "R003"],
}
REVIEW = {
    "total_points": 175.0,
    "pattern_result": "Y-Y",
    "action_recommendation": "REVIEW",
    "action": REVIEW_ACTION,
    "matched_rules": ["R001", "R003"],
}
DECLINED = {
    "total_points": 0.0,
    "pattern_result": "---",
    "action_recommendation": "DECLINE",
    "action": None,
    "matched_rules": [],
}
REVIEW_TRACE = [
    {
        "rule_id": "R001",
        "priority": 1,
        "condition": "applicant.credit_score > 700",
        "value": 720,
        "matched": True,
        "reason": "matched",
        "points": 100.0,
    },
    {
        "rule_id": "R002",
        "priority": 2,
        "condition": "applicant.income >= 50000",
        "value": 42000,
        "matched": False,
        "reason": "not_matched",
        "points": 0.0,
    },
    {
        "rule_id": "R003",
        "priority": 3,
        "condition": "debt_ratio < 0.4",
        "value": 0.3,
        "matched": True,
        "reason": "matched",
        "points": 75.0,
    },
]

EVALUATE_EXAMPLES = [
    OpenApiExample(
        "Approved",
        summary="Every rule matches: APPROVE",
        value={"ruleset": "credit_scoring", "data": APPROVED_INPUT},
        request_only=True,
    ),
    OpenApiExample(
        "Declined",
        summary="No rule matches: DECLINE, a pattern without an action",
        value={"ruleset": "credit_scoring", "data": DECLINED_INPUT},
        request_only=True,
    ),
    OpenApiExample(
        "Dry run",
        summary="Income below 50,000: REVIEW, not logged, with the trace",
        value={"ruleset": "credit_scoring", "dry_run": True, "data": REVIEW_INPUT},
        request_only=True,
    ),
    OpenApiExample(
        "Approved",
        value={
            "execution_id": "01a2359f-0010-7760-9509-f2b584a4af57",
            "ruleset": DEMO_RULESET,
            **APPROVED,
            "execution_time_ms": 0.0235,
            "dry_run": False,
            "correlation_id": None,
        },
        response_only=True,
    ),
    OpenApiExample(
        "Declined",
        value={
            "execution_id": "01a2359f-0055-71e4-9c93-b359d75237a7",
            "ruleset": DEMO_RULESET,
            **DECLINED,
            "execution_time_ms": 0.0368,
            "dry_run": False,
            "correlation_id": None,
        },
        response_only=True,
    ),
    OpenApiExample(
        "Dry run",
        value={
            "execution_id": None,
            "ruleset": DEMO_RULESET,
            **REVIEW,
            "execution_time_ms": 0.0564,
            "dry_run": True,
            "correlation_id": None,
            "trace": REVIEW_TRACE,
            "pattern_match": {"key": REVIEW["pattern_result"], "kind": "exact"},
        },
        response_only=True,
    ),
]

BATCH_EXAMPLES = [
    OpenApiExample(
        "Three applications",
        summary="An approval, a decline and an item that is not an object",
        value={
            "ruleset": "credit_scoring",
            "items": [APPROVED_INPUT, DECLINED_INPUT, "not an object"],
        },
        request_only=True,
    ),
    OpenApiExample(
        "Three applications",
        value={
            "ruleset": DEMO_RULESET,
            "count": 3,
            "errors": 1,
            "dry_run": False,
            "correlation_id": None,
            "results": [
                {
                    "execution_id": "01a2359f-0092-709b-9d04-e0e91b68f9c6",
                    **APPROVED,
                    "execution_time_ms": 0.0354,
                    "index": 0,
                },
                {
                    "execution_id": "01a2359f-0092-74fb-aed7-0f6512c588c6",
                    **DECLINED,
                    "execution_time_ms": 0.0105,
                    "index": 1,
                },
                {
                    "execution_id": "01a2359f-0092-7fd8-a681-ff3915b80fa6",
                    "error": {"code": "invalid", "message": "items[2]: must be a JSON object"},
                    "index": 2,
                },
            ],
        },
        response_only=True,
    ),
]
