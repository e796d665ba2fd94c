"""POST /api/v1/evaluate and /api/v1/evaluate/batch: the hot path.

A request costs no database query in the steady state: the token and the tenant's roles come from
rules.tenant_roles and rules.selectors.api_tokens, the compiled ruleset from
rules.services.active_rulesets, and the log row goes to the group-commit writer
(executions.log_writer); the response waits for that commit.
"""

import time

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from executions.models import ExecutionSource
from executions.services.evaluation import evaluation_run
from executions.services.log_rows import execution_log_row
from executions.services.log_writes import LogRefused, LogUnavailable, execution_logs_commit
from ruleengine.api.access import capability_check, request_tenant_role
from ruleengine.api.errors import ApiError, ErrorResponseSerializer
from ruleengine.api.rendering import OrjsonParser, OrjsonRenderer
from rules.choices import Capability
from rules.services.active_rulesets import active_compiled_ruleset

EVALUATE_FIELDS = {"ruleset", "version", "data", "dry_run", "trace"}
BATCH_FIELDS = {"ruleset", "version", "items", "dry_run", "trace"}


# --- Schema (drf-spectacular); the views validate by hand, in the same terms, for speed ------
class EvaluateRequestSchema(serializers.Serializer):
    ruleset = serializers.CharField(
        required=False, max_length=100, help_text="Ruleset name; default: the tenant's default."
    )
    version = serializers.CharField(
        required=False,
        max_length=20,
        help_text="Version; default: the active one. Other versions need dry_run.",
    )
    data = serializers.DictField(help_text="The input: a JSON object.")
    dry_run = serializers.BooleanField(default=False, help_text="Evaluate without logging.")
    trace = serializers.BooleanField(default=False, help_text="Explain every rule.")


class RulesetIdentitySchema(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    version = serializers.CharField()


class ActionSchema(serializers.Serializer):
    action_id = serializers.CharField()
    action_type = serializers.CharField()
    configuration = serializers.DictField()


class EvaluateResponseSchema(serializers.Serializer):
    execution_id = serializers.UUIDField(allow_null=True, help_text="Null for dry runs.")
    ruleset = RulesetIdentitySchema()
    total_points = serializers.FloatField()
    pattern_result = serializers.CharField()
    action_recommendation = serializers.CharField(allow_null=True)
    action = ActionSchema(allow_null=True)
    matched_rules = serializers.ListField(child=serializers.CharField())
    execution_time_ms = serializers.FloatField()
    dry_run = serializers.BooleanField()
    trace = serializers.ListField(child=serializers.DictField(), required=False)


class BatchRequestSchema(serializers.Serializer):
    ruleset = serializers.CharField(required=False, max_length=100)
    version = serializers.CharField(required=False, max_length=20)
    items = serializers.ListField(child=serializers.DictField(), help_text="Inputs, in order.")
    dry_run = serializers.BooleanField(default=False)
    trace = serializers.BooleanField(default=False)


class BatchItemErrorSchema(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class BatchItemSchema(serializers.Serializer):
    index = serializers.IntegerField()
    execution_id = serializers.UUIDField(allow_null=True)
    total_points = serializers.FloatField(required=False)
    pattern_result = serializers.CharField(required=False)
    action_recommendation = serializers.CharField(required=False, allow_null=True)
    action = ActionSchema(required=False, allow_null=True)
    matched_rules = serializers.ListField(child=serializers.CharField(), required=False)
    execution_time_ms = serializers.FloatField(required=False)
    trace = serializers.ListField(child=serializers.DictField(), required=False)
    error = BatchItemErrorSchema(required=False)


class BatchResponseSchema(serializers.Serializer):
    ruleset = RulesetIdentitySchema()
    count = serializers.IntegerField()
    errors = serializers.IntegerField()
    dry_run = serializers.BooleanField()
    results = BatchItemSchema(many=True)


ERROR_RESPONSES = {
    code: ErrorResponseSerializer for code in (400, 401, 403, 404, 409, 413, 415, 429, 503)
}
EVALUATE_EXAMPLE = OpenApiExample(
    "Credit decision",
    value={"ruleset": "credit_scoring", "data": {"credit_score": 720, "income": 85000}},
    request_only=True,
)
EVALUATE_RESPONSE_EXAMPLE = OpenApiExample(
    "Approved",
    value={
        "execution_id": "6f1c2a9e-3a51-4d0e-9a57-2f8c9d6b1e42",
        "ruleset": {"id": 1, "name": "credit_scoring", "version": "1.0"},
        "total_points": 150.0,
        "pattern_result": "YY-",
        "action_recommendation": "APPROVE",
        "action": {"action_id": "A_APPROVE", "action_type": "decision", "configuration": {}},
        "matched_rules": ["R1", "R2"],
        "execution_time_ms": 0.004,
        "dry_run": False,
    },
    response_only=True,
)


# --- Input checks ----------------------------------------------------------------------------
def _invalid(field: str, message: str) -> ApiError:
    return ApiError(
        status_code=status.HTTP_400_BAD_REQUEST,
        code="invalid",
        message=f"{field}: {message}",
        details={field: [message]},
    )


def _request_fields(body, allowed: set[str]) -> dict:
    if not isinstance(body, dict):
        raise ApiError(
            status_code=status.HTTP_400_BAD_REQUEST,
            code="invalid",
            message="The request body must be a JSON object.",
        )
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ApiError(
            status_code=status.HTTP_400_BAD_REQUEST,
            code="invalid",
            message=f"Unknown field(s): {', '.join(unknown)}.",
            details={name: ["Unknown field."] for name in unknown},
        )
    for name, limit in (("ruleset", 100), ("version", 20)):
        value = body.get(name)
        if value is not None and (not isinstance(value, str) or not 0 < len(value) <= limit):
            raise _invalid(name, f"must be a non-empty string of at most {limit} characters")
    for name in ("dry_run", "trace"):
        if not isinstance(body.get(name, False), bool):
            raise _invalid(name, "must be true or false")
    return body


def _caller(request) -> str:
    return request.user.get_username()


def _ruleset(request, fields):
    """(tenant, compiled ruleset, identity) for the request, refusing what it may not evaluate."""
    tenant_role = request_tenant_role(request)
    capability_check(request, tenant_role.tenant, Capability.VIEW)
    compiled, identity = active_compiled_ruleset(
        tenant=tenant_role.tenant,
        name=fields.get("ruleset"),
        version=fields.get("version"),
        any_status=bool(fields.get("dry_run")),
    )
    return tenant_role.tenant, compiled, identity


def _action(evaluation) -> dict | None:
    action = evaluation.action
    if action is None:
        return None
    return {key: action.get(key) for key in ("action_id", "action_type", "configuration")}


def _result(evaluation, execution_id, elapsed_ms: float, with_trace: bool) -> dict:
    result = {
        "execution_id": execution_id,
        "total_points": evaluation.total_points,
        "pattern_result": evaluation.pattern_result,
        "action_recommendation": evaluation.action_recommendation,
        "action": _action(evaluation),
        "matched_rules": list(evaluation.matched_rules),
        "execution_time_ms": round(elapsed_ms, 4),
    }
    if with_trace:
        result["trace"] = evaluation.trace
    return result


def _commit_or_503(rows, started: float) -> None:
    deadline = started + settings.EVALUATE_LOG_BUDGET_SECONDS - 0.25
    try:
        execution_logs_commit(rows, deadline=deadline)
    except LogRefused as error:
        raise ApiError(
            status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
            code="log_refused",
            message="The execution log refused this evaluation's row; nothing was recorded.",
        ) from error
    except LogUnavailable as error:
        raise ApiError(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            code="log_unavailable",
            message="The execution log is unavailable; nothing was recorded. Retry shortly.",
            details={"reason": str(error)[:200]},
            headers={"Retry-After": "1"},
        ) from error


class JsonOnlyView(APIView):
    """An API view that renders only JSON: content negotiation has nothing to choose."""

    renderer_classes = [OrjsonRenderer]
    parser_classes = [OrjsonParser]

    def perform_content_negotiation(self, request, force=False):
        renderer = self.renderer_classes[0]()
        return renderer, renderer.media_type


class EvaluateThrottle(ScopedRateThrottle):
    """Per client (user) rate limit: EVALUATE_RATE_LIMIT, counted in fixed windows.

    DRF's default keeps every request's timestamp in one cached list, which is read and written
    back whole on each request: at thousands of requests a second that list costs more than the
    evaluation. A counter per client and window is one `incr` (atomic on Redis).
    """

    def allow_request(self, request, view):
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        ident = self.get_cache_key(request, view)
        if ident is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        key = f"{ident}:{window}"
        try:
            count = self.cache.incr(key)
        except ValueError:  # first request of the window
            self.cache.add(key, 0, timeout=int(self.duration) + 1)
            count = self.cache.incr(key)
        self.window_end = (window + 1) * self.duration
        return count <= self.num_requests

    def wait(self):
        return max(0.0, self.window_end - self.now)


class EvaluateView(JsonOnlyView):
    throttle_classes = [EvaluateThrottle]
    throttle_scope = "evaluate"

    @extend_schema(
        operation_id="evaluate",
        summary="Evaluate one input against a ruleset",
        request=EvaluateRequestSchema,
        responses={200: EvaluateResponseSchema, **ERROR_RESPONSES},
        examples=[EVALUATE_EXAMPLE, EVALUATE_RESPONSE_EXAMPLE],
        tags=["evaluate"],
    )
    def post(self, request):
        started = time.monotonic()
        fields = _request_fields(request.data, EVALUATE_FIELDS)
        tenant, compiled, identity = _ruleset(request, fields)
        dry_run, trace = fields.get("dry_run", False), fields.get("trace", False)
        if "data" not in fields:
            if not dry_run:
                failure = execution_log_row(
                    tenant_id=tenant.pk,
                    ruleset=identity,
                    error="data: required",
                    source=ExecutionSource.API,
                    caller=_caller(request),
                )
                _commit_or_503([failure], started)
            raise _invalid("data", "required")
        outcome = evaluation_run(
            compiled=compiled,
            identity=identity,
            tenant_id=tenant.pk,
            data=fields["data"],
            source=None if dry_run else ExecutionSource.API,
            caller=_caller(request),
            trace=trace or dry_run,
        )
        if not dry_run:
            _commit_or_503([outcome.row], started)
        if outcome.problem is not None:
            field, _, message = outcome.problem.partition(": ")
            raise _invalid(field, message)
        result = _result(
            outcome.evaluation,
            None if dry_run else outcome.row.execution_id,
            outcome.elapsed_ms,
            trace or dry_run,
        )
        result["ruleset"] = _identity(identity)
        result["dry_run"] = dry_run
        return Response(result)


def _identity(identity: dict) -> dict:
    return {"id": identity["ruleset_id"], "name": identity["name"], "version": identity["version"]}


class EvaluateBatchView(JsonOnlyView):
    throttle_classes = [EvaluateThrottle]
    throttle_scope = "evaluate"

    @extend_schema(
        operation_id="evaluate_batch",
        summary="Evaluate many inputs; one bad item does not fail the batch",
        request=BatchRequestSchema,
        responses={200: BatchResponseSchema, **ERROR_RESPONSES},
        tags=["evaluate"],
    )
    def post(self, request):
        started = time.monotonic()
        fields = _request_fields(request.data, BATCH_FIELDS)
        items = fields.get("items")
        if not isinstance(items, list):
            raise _invalid("items", "required: a list of JSON objects")
        limit = settings.EVALUATE_BATCH_LIMIT
        if len(items) > limit:
            raise ApiError(
                status_code=status.HTTP_400_BAD_REQUEST,
                code="batch_too_large",
                message=f"{len(items)} items; a batch holds at most {limit}.",
                details={"items": [f"at most {limit} items"]},
            )
        tenant, compiled, identity = _ruleset(request, fields)
        dry_run, trace = fields.get("dry_run", False), fields.get("trace", False)
        caller = _caller(request)
        source = None if dry_run else ExecutionSource.BATCH
        results, rows, errors = [], [], 0
        for index, data in enumerate(items):
            outcome = evaluation_run(
                compiled=compiled,
                identity=identity,
                tenant_id=tenant.pk,
                data=data,
                source=source,
                caller=caller,
                trace=trace or dry_run,
                where=f"items[{index}]",
            )
            execution_id = None
            if not dry_run:
                rows.append(outcome.row)
                execution_id = outcome.row.execution_id
            if outcome.problem is not None:
                errors += 1
                result = {
                    "execution_id": execution_id,
                    "error": {"code": "invalid", "message": outcome.problem},
                }
            else:
                result = _result(
                    outcome.evaluation, execution_id, outcome.elapsed_ms, trace or dry_run
                )
            result["index"] = index
            results.append(result)
        if not dry_run:
            _commit_or_503(rows, started)
        return Response(
            {
                "ruleset": _identity(identity),
                "count": len(items),
                "errors": errors,
                "dry_run": dry_run,
                "results": results,
            }
        )
