"""POST /api/v1/evaluate and /api/v1/evaluate/batch: the hot path.

A request costs no database query in the steady state: the token and the tenant's roles come from
rules.tenant_roles and rules.selectors.api_tokens, the compiled ruleset from
rules.services.active_rulesets, and the log row goes to the group-commit writer
(executions.log_writer); the response waits for that commit.
"""

import re
import time

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from executions.api.evaluate_schema import (
    BATCH_DESCRIPTION,
    BATCH_EXAMPLES,
    EVALUATE_ANSWER,
    EVALUATE_DESCRIPTION,
    EVALUATE_ERRORS,
    EVALUATE_EXAMPLES,
    EVALUATE_HEADER_PARAMETERS,
    BatchEvaluationSerializer,
    EvaluateBatchSerializer,
    EvaluateSerializer,
)
from executions.models import ExecutionSource
from executions.services.decision_evaluation import decision_result, is_decision_evaluation
from executions.services.evaluation import BUDGET_EXCEEDED, evaluation_run
from executions.services.idempotency import (
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
    idempotency_claim,
    idempotent_request,
    stored_answer,
)
from executions.services.log_rows import execution_log_row
from executions.services.log_writes import (
    IdempotencyKeyTaken,
    LogRefused,
    LogUnavailable,
    execution_logs_commit,
)
from ruleengine.api.access import capability_check, request_tenant_role
from ruleengine.api.authentication import ApiTokenAuthentication
from ruleengine.api.errors import ApiError, error_body
from ruleengine.api.json_dispatch import JsonDispatchMixin
from ruleengine.api.rendering import OrjsonParser, OrjsonRenderer, accepts_json
from ruleengine.throttling import FixedWindowThrottle, rate_limit_headers_add
from ruleengine.worker_slots import worker_slot
from rules.choices import Capability
from rules.services.active_rulesets import active_compiled_ruleset

EVALUATE_FIELDS = {"ruleset", "version", "data", "dry_run", "trace", "correlation_id"}
BATCH_FIELDS = {"ruleset", "version", "items", "dry_run", "trace", "correlation_id"}
CORRELATION_ID_LIMIT = 200
# Printable characters and spaces: it is shown in the admin and written to log lines.
CORRELATION_ID_PATTERN = re.compile(rf"[^\x00-\x1f\x7f]{{1,{CORRELATION_ID_LIMIT}}}\Z")
RENDERER = OrjsonRenderer()


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
    correlation_id = body.get("correlation_id")
    if correlation_id is not None and not (
        isinstance(correlation_id, str) and CORRELATION_ID_PATTERN.match(correlation_id)
    ):
        raise _invalid(
            "correlation_id",
            f"must be a string of 1 to {CORRELATION_ID_LIMIT} characters without control "
            "characters",
        )
    return body


def _log_ids(request, fields) -> dict:
    """The request id (ruleengine.middleware) and the correlation id (the body's, else the
    X-Correlation-ID header's) to store on the log rows."""
    correlation_id = fields.get("correlation_id")
    if correlation_id is None:
        correlation_id = request.META.get("HTTP_X_CORRELATION_ID")
        if correlation_id is not None and not CORRELATION_ID_PATTERN.match(correlation_id):
            raise ApiError(
                status_code=status.HTTP_400_BAD_REQUEST,
                code="invalid",
                message=f"X-Correlation-ID: must be 1 to {CORRELATION_ID_LIMIT} characters "
                "without control characters",
                details={"X-Correlation-ID": ["invalid"]},
            )
    return {
        "request_id": getattr(request, "request_id", ""),
        "correlation_id": correlation_id or "",
    }


def _idempotent(request, tenant, fields):
    """The request's Idempotency-Key and fingerprint, or None: no key, or a dry run (it writes
    nothing, so a retry of it repeats nothing)."""
    header = request.META.get("HTTP_IDEMPOTENCY_KEY")
    if header is None or fields.get("dry_run"):
        return None
    try:
        return idempotent_request(
            header=header,
            tenant_id=tenant.pk,
            caller=_caller(request),
            method=request.method,
            path=request.path,
            body=request.data,
        )
    except IdempotencyKeyInvalid as error:
        raise ApiError(
            status_code=status.HTTP_400_BAD_REQUEST,
            code="invalid",
            message=str(error),
            details={"Idempotency-Key": [str(error)]},
        ) from error


def _replay(stored) -> HttpResponse:
    """The stored first answer of a key, as it was sent."""
    response = HttpResponse(
        stored.response_body, status=stored.response_status, content_type="application/json"
    )
    response["Idempotent-Replayed"] = "true"
    return response


def _stored_answer(idempotent):
    """The key's stored answer (None: not recorded); a 422 when it answered another request."""
    try:
        return stored_answer(idempotent)
    except IdempotencyKeyReused as error:
        raise ApiError(
            status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
            code="idempotency_key_reused",
            message=str(error),
            details={"Idempotency-Key": [str(error)]},
        ) from error


def _log_commit(rows, started, idempotent, *, result=None, error=None, execution_id=None):
    """Commit the request's log rows (503 when the log is unavailable). With an idempotency
    key, its answer (`result`, or `error`'s body) commits with them; if the key turns out to be
    taken meanwhile, returns the stored answer to send instead."""
    if idempotent is None:
        commit_or_503(rows, started)
        return None
    if error is not None:
        status_code = error.status_code
        payload = error_body(error.error_code, str(error.detail), error.details)
    else:
        status_code, payload = status.HTTP_200_OK, result
    claim = idempotency_claim(
        idempotent, status=status_code, body=RENDERER.render(payload), execution_id=execution_id
    )
    try:
        commit_or_503(rows, started, claim)
    except IdempotencyKeyTaken:
        stored = _stored_answer(idempotent)
        if stored is None:  # purged in between: as unlikely as it is harmless to retry
            raise ApiError(
                status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
                code="log_unavailable",
                message="The idempotency key changed while this request ran. Retry shortly.",
                headers={"Retry-After": "1"},
            ) from None
        return _replay(stored)
    return None


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
    if is_decision_evaluation(evaluation):
        return {
            "execution_id": execution_id,
            **decision_result(evaluation, with_trace=with_trace),
            "execution_time_ms": round(elapsed_ms, 4),
        }
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
        if evaluation.pattern_match is not None:
            result["pattern_match"] = dict(evaluation.pattern_match)
    return result


def commit_or_503(rows, started: float, claim=None) -> None:
    deadline = started + settings.EVALUATE_LOG_BUDGET_SECONDS - 0.25
    try:
        execution_logs_commit(rows, deadline=deadline, claim=claim)
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


class JsonOnlyView(JsonDispatchMixin, APIView):
    """An API view of the hot path: JSON in and out, a token only (no session: these paths run
    without the session middleware, ruleengine/wsgi.py), dispatched without DRF's Request."""

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

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        rate_limit_headers_add(request, response)
        return response


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
        parameters=EVALUATE_HEADER_PARAMETERS,
        responses={200: EVALUATE_ANSWER, **EVALUATE_ERRORS},
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
        idempotent = _idempotent(request, tenant, fields)
        if idempotent is not None and (stored := _stored_answer(idempotent)) is not None:
            return _replay(stored)
        ids = _log_ids(request, fields)
        if "data" not in fields:
            error = _invalid("data", "required")
            if not dry_run:
                failure = execution_log_row(
                    tenant_id=tenant.pk,
                    ruleset=identity,
                    error="data: required",
                    source=ExecutionSource.API,
                    caller=_caller(request),
                    **ids,
                )
                replay = _log_commit(
                    [failure], started, idempotent, error=error, execution_id=failure.execution_id
                )
                if replay is not None:
                    return replay
            raise error
        outcome = evaluation_run(
            compiled=compiled,
            identity=identity,
            tenant_id=tenant.pk,
            data=fields["data"],
            source=None if dry_run else ExecutionSource.API,
            caller=_caller(request),
            trace=trace or dry_run,
            **ids,
        )
        error = result = None
        if outcome.code == BUDGET_EXCEEDED:
            # Valid input the ruleset could not evaluate within EVALUATION_BUDGET_MS; logged.
            error = ApiError(
                status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
                code=outcome.code,
                message=outcome.problem,
                details=outcome.details,
            )
        elif outcome.details is not None:
            # Refused by the ruleset's strict input validation: every bad field in `details`.
            error = ApiError(
                status_code=status.HTTP_400_BAD_REQUEST,
                code=outcome.code,
                message=outcome.problem,
                details=outcome.details,
            )
        elif outcome.problem is not None:
            field, _, message = outcome.problem.partition(": ")
            error = _invalid(field, message)
        else:
            result = _result(
                outcome.evaluation,
                None if dry_run else outcome.row.execution_id,
                outcome.elapsed_ms,
                trace or dry_run,
            )
            if outcome.input_problems:
                result["input_problems"] = outcome.input_problems
            result["ruleset"] = _identity(identity)
            result["dry_run"] = dry_run
            result["correlation_id"] = ids["correlation_id"] or None
        if not dry_run:
            replay = _log_commit(
                [outcome.row],
                started,
                idempotent,
                result=result,
                error=error,
                execution_id=outcome.row.execution_id,
            )
            if replay is not None:
                return replay
        if error is not None:
            raise error
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
        parameters=EVALUATE_HEADER_PARAMETERS,
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
        idempotent = _idempotent(request, tenant, fields)
        if idempotent is not None and (stored := _stored_answer(idempotent)) is not None:
            return _replay(stored)
        ids = _log_ids(request, fields)
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
                **ids,
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
                if outcome.code != BUDGET_EXCEEDED and outcome.details is not None:
                    result["error"]["details"] = outcome.details
            else:
                result = _result(
                    outcome.evaluation, execution_id, outcome.elapsed_ms, trace or dry_run
                )
                if outcome.input_problems:
                    result["input_problems"] = outcome.input_problems
            result["index"] = index
            results.append(result)
        answer = {
            "ruleset": _identity(identity),
            "count": len(items),
            "errors": errors,
            "dry_run": dry_run,
            "correlation_id": ids["correlation_id"] or None,
            "results": results,
        }
        if not dry_run:
            replay = _log_commit(rows, started, idempotent, result=answer)
            if replay is not None:
                return replay
        return Response(answer)
