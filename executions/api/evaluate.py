"""POST /api/v1/evaluate and /api/v1/evaluate/batch: the hot path.

A request costs no database query in the steady state: the token and the tenant's roles come from
rules.tenant_roles and rules.selectors.api_tokens, the compiled ruleset from
rules.services.active_rulesets, and the log row goes to the group-commit writer
(executions.log_writer); the response waits for that commit.
"""

import time

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from executions.api.evaluate_schema import (
    BATCH_DESCRIPTION,
    BATCH_EXAMPLES,
    EVALUATE_DESCRIPTION,
    EVALUATE_ERRORS,
    EVALUATE_EXAMPLES,
    EVALUATE_TENANT_PARAMETER,
    BatchEvaluationSerializer,
    EvaluateBatchSerializer,
    EvaluateSerializer,
    EvaluationSerializer,
)
from executions.models import ExecutionSource
from executions.services.evaluation import BUDGET_EXCEEDED, evaluation_run
from executions.services.log_rows import execution_log_row
from executions.services.log_writes import LogRefused, LogUnavailable, execution_logs_commit
from ruleengine.api.access import capability_check, request_tenant_role
from ruleengine.api.authentication import ApiTokenAuthentication
from ruleengine.api.errors import ApiError
from ruleengine.api.rendering import OrjsonParser, OrjsonRenderer, accepts_json
from ruleengine.throttling import FixedWindowThrottle
from ruleengine.worker_slots import worker_slot
from rules.choices import Capability
from rules.services.active_rulesets import active_compiled_ruleset

EVALUATE_FIELDS = {"ruleset", "version", "data", "dry_run", "trace"}
BATCH_FIELDS = {"ruleset", "version", "items", "dry_run", "trace"}


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
    """An API view of the hot path: JSON in and out, a token only (no session: these paths run
    without the session middleware, ruleengine/wsgi.py)."""

    authentication_classes = [ApiTokenAuthentication]
    renderer_classes = [OrjsonRenderer]
    parser_classes = [OrjsonParser]

    def perform_content_negotiation(self, request, force=False):
        # One renderer: check Accept without DRF's general negotiation (cheaper per request).
        renderer = self.renderer_classes[0]()
        if not force and not accepts_json(request.META.get("HTTP_ACCEPT", "")):
            raise exceptions.NotAcceptable(
                "This endpoint answers application/json only; send Accept: application/json."
            )
        return renderer, renderer.media_type


class EvaluateThrottle(FixedWindowThrottle):
    """Per client: EVALUATE_RATE_LIMIT; dry runs (any status, traced) count apart, in their own
    scope (DRY_RUN_RATE_LIMIT), so they never use up the client's production rate."""

    def scope_for(self, request, view):
        body = request.data
        if isinstance(body, dict) and body.get("dry_run") is True:
            return "dry_run"
        return view.throttle_scope


class EvaluateView(JsonOnlyView):
    throttle_classes = [EvaluateThrottle]
    throttle_scope = "evaluate"

    @extend_schema(
        summary="Evaluate one input against a ruleset",
        description=EVALUATE_DESCRIPTION,
        request=EvaluateSerializer,
        parameters=[EVALUATE_TENANT_PARAMETER],
        responses={200: EvaluationSerializer, **EVALUATE_ERRORS},
        examples=EVALUATE_EXAMPLES,
    )
    def post(self, request):
        started = time.monotonic()
        fields = _request_fields(request.data, EVALUATE_FIELDS)
        if fields.get("dry_run"):
            # Non-production work: in one of the node's few worker slots, never in all workers.
            with worker_slot():
                return self.evaluate(request, fields, started)
        return self.evaluate(request, fields, started)

    def evaluate(self, request, fields: dict, started: float):
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
        if outcome.code == BUDGET_EXCEEDED:
            # Valid input the ruleset could not evaluate within EVALUATION_BUDGET_MS; logged.
            raise ApiError(
                status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
                code=outcome.code,
                message=outcome.problem,
                details=outcome.details,
            )
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
        summary="Evaluate many inputs; one bad item does not fail the batch",
        description=BATCH_DESCRIPTION,
        request=EvaluateBatchSerializer,
        parameters=[EVALUATE_TENANT_PARAMETER],
        responses={200: BatchEvaluationSerializer, **EVALUATE_ERRORS},
        examples=BATCH_EXAMPLES,
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
        if fields.get("dry_run"):
            with worker_slot():  # as a single dry run
                return self.evaluate(request, fields, items, started)
        return self.evaluate(request, fields, items, started)

    def evaluate(self, request, fields: dict, items: list, started: float):
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
                    "error": {"code": outcome.code, "message": outcome.problem},
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
