"""The original system's endpoints, beside ours: its clients change only the base URL and the key.

Request and answer shapes are the original's (`api/routes/rules.py`, `api/routes/executions.py`,
`api/models.py` of khoantd/rule-engine), errors too (`{error_type, message, error_code, context,
correlation_id}`, request-body problems as 422 VALIDATION_ERROR). Evaluation, logging and tenancy
are this product's: the one evaluation step, rows in the same hypertable, the token's tenant.
"""

import time

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from executions.api.evaluate import (
    CORRELATION_ID_PATTERN,
    EvaluateThrottle,
    JsonOnlyView,
    commit_or_503,
)
from executions.api.original_requests import (
    BATCH_ID_LIMIT,
    OriginalApiError,
    batch_body,
    by_ids_body,
    correlation_id_known,
    correlation_id_of,
    dmn_body,
    dmn_upload_body,
    execute_body,
    original_exception_handler,
    query_bool,
    query_datetime,
    query_int,
)
from executions.api.original_schema import (
    BATCH_EXAMPLES,
    BY_IDS_EXAMPLES,
    DMN_EXAMPLES,
    EXECUTE_EXAMPLES,
    ORIGINAL_ERRORS,
    ORIGINAL_HEADER_PARAMETERS,
    TAG,
    OriginalBatchRequestSerializer,
    OriginalBatchResponseSerializer,
    OriginalByIdsRequestSerializer,
    OriginalDmnRequestSerializer,
    OriginalDmnUploadRequestSerializer,
    OriginalExecuteRequestSerializer,
    OriginalExecutionResponseSerializer,
    OriginalExecutionsListSerializer,
)
from executions.models import ExecutionLog, ExecutionSource
from executions.services.decision_evaluation import is_decision_model
from executions.services.evaluation import BUDGET_EXCEEDED, evaluation_run
from executions.services.original_api import (
    api_client_record,
    original_batch_item,
    original_batch_summary,
    original_execution_result,
    original_executions_page,
)
from executions.services.original_dmn import DmnContentInvalid, dmn_content_compiled
from ruleengine.api.access import capability_check, request_narrowing_tenant, request_tenant_role
from ruleengine.api.authentication import ApiKeyHeaderAuthentication, ApiTokenAuthentication
from ruleengine.api.errors import ApiError
from ruleengine.worker_slots import worker_slot
from rules.choices import Capability
from rules.selectors.rule_outlines import rule_outlines
from rules.services.active_rulesets import (
    NoActiveVersion,
    RulesetNotFound,
    active_compiled_ruleset,
)
from rules.services.rule_subsets import RuleIdsUnknown, rule_subset_compiled


# --- The views -------------------------------------------------------------------------------
class OriginalSystemView(JsonOnlyView):
    """Our API-client tokens as `Authorization: Token …` or `X-API-Key: …`; errors in the
    original's shape; the correlation id echoed in X-Correlation-ID, as the original does."""

    authentication_classes = [ApiTokenAuthentication, ApiKeyHeaderAuthentication]

    def get_exception_handler(self):
        return original_exception_handler

    def get_authenticate_header(self, request):
        # A client that sent X-API-Key is told that scheme, as the original's 401 does.
        if "HTTP_X_API_KEY" in request.META:
            return ApiKeyHeaderAuthentication().authenticate_header(request)
        return super().get_authenticate_header(request)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        correlation_id = correlation_id_known(request)
        if correlation_id and CORRELATION_ID_PATTERN.match(correlation_id):
            response["X-Correlation-ID"] = correlation_id
        return response


class OriginalEvaluationView(OriginalSystemView):
    throttle_classes = [EvaluateThrottle]
    throttle_scope = "evaluate"

    def compiled_for(self, request, tenant, body, **kwargs):
        raise NotImplementedError

    def execute(self, request, body: dict, **kwargs):
        started = time.monotonic()
        tenant_role = request_tenant_role(request)
        capability_check(request, tenant_role.tenant, Capability.VIEW)
        tenant = tenant_role.tenant
        correlation_id = correlation_id_of(request, body)
        compiled, identity = self.compiled_for(request, tenant, body, **kwargs)
        dry_run = body.get("dry_run", False)
        api_client = request.user.get_username()
        outcome = evaluation_run(
            compiled=compiled,
            identity=identity,
            tenant_id=tenant.pk,
            data=body["data"],
            source=None if dry_run else ExecutionSource.API,
            caller=body.get("consumer_id") or api_client,
            # A decision table scores from its rows' matches, which the trace holds.
            trace=dry_run or is_decision_model(compiled),
            request_id=getattr(request, "request_id", ""),
            correlation_id=correlation_id,
        )
        if body.get("consumer_id"):
            api_client_record(outcome.row, api_client)
        if not dry_run:
            commit_or_503([outcome.row], started)
        if outcome.code == BUDGET_EXCEEDED:
            raise ApiError(
                status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
                code=outcome.code,
                message=outcome.problem,
                details=outcome.details,
            )
        if outcome.problem is not None:
            field, _, message = outcome.problem.partition(": ")
            raise ApiError(
                status_code=status.HTTP_400_BAD_REQUEST,
                code="DATA_INVALID",
                message=outcome.problem,
                # The attributes catalog (strict input validation) names every bad field.
                details=outcome.details or {"field": field, "error": message},
            )
        outlines = rule_outlines(ruleset_id=identity.get("ruleset_id")) if dry_run else {}
        return Response(
            original_execution_result(
                outcome.evaluation,
                dry_run=dry_run,
                outlines=outlines,
                execution_time_ms=(time.monotonic() - started) * 1000,
                correlation_id=correlation_id,
                execution_id=None if dry_run else outcome.row.execution_id,
            )
        )

    def evaluate_request(self, request, body, **kwargs):
        if body.get("dry_run"):
            # Non-production work: in one of the node's few worker slots, as our dry runs.
            with worker_slot():
                return self.execute(request, body, **kwargs)
        return self.execute(request, body, **kwargs)


def _ruleset_compiled(tenant, name):
    return active_compiled_ruleset(tenant=tenant, name=name)


class OriginalExecuteView(OriginalEvaluationView):
    def compiled_for(self, request, tenant, body):
        return _ruleset_compiled(tenant, None)

    @extend_schema(
        tags=[TAG],
        operation_id="original_rules_execute",
        summary="Execute the tenant's default ruleset (the original's POST /api/v1/rules/execute)",
        description="Runs the active version of the tenant's default ruleset (`import_rules "
        "--default`, or set-default). Logged like our evaluate (source `api`) unless `dry_run`; "
        "a dry run lists `rule_evaluations`, `would_match` and `would_not_match`.",
        request=OriginalExecuteRequestSerializer,
        parameters=ORIGINAL_HEADER_PARAMETERS,
        responses={200: OriginalExecutionResponseSerializer, **ORIGINAL_ERRORS},
        examples=EXECUTE_EXAMPLES,
    )
    def post(self, request):
        return self.evaluate_request(request, execute_body(request))


class OriginalRulesetExecuteView(OriginalEvaluationView):
    def compiled_for(self, request, tenant, body, ruleset_name):
        return _ruleset_compiled(tenant, ruleset_name)

    @extend_schema(
        tags=[TAG],
        operation_id="original_ruleset_execute",
        summary="Execute a named ruleset (the original's POST "
        "/api/v1/rules/{ruleset_name}/execute)",
        description="The active version of the tenant's ruleset of that name; another tenant's "
        "name is a 404 RULESET_NOT_FOUND.",
        request=OriginalExecuteRequestSerializer,
        parameters=ORIGINAL_HEADER_PARAMETERS,
        responses={200: OriginalExecutionResponseSerializer, **ORIGINAL_ERRORS},
        examples=EXECUTE_EXAMPLES,
    )
    def post(self, request, ruleset_name):
        return self.evaluate_request(request, execute_body(request), ruleset_name=ruleset_name)


class OriginalExecuteByIdsView(OriginalEvaluationView):
    def compiled_for(self, request, tenant, body):
        try:
            return rule_subset_compiled(tenant=tenant, rule_ids=body["rule_ids"])
        except RuleIdsUnknown as error:
            raise ApiError(
                status_code=status.HTTP_404_NOT_FOUND,
                code="RULE_NOT_FOUND",
                message=str(error),
                details={"rule_ids": error.unknown},
            ) from error

    @extend_schema(
        tags=[TAG],
        operation_id="original_rules_execute_by_ids",
        summary="Execute some rules by id (the original's POST /api/v1/rules/execute-by-ids)",
        description="The rules are looked up in the tenant's active versions (the default "
        "ruleset first; otherwise exactly one active ruleset must hold them all) and run on "
        "their own, with that ruleset's semantics and patterns (in `strict`, only pattern keys "
        "as long as the subset). Unknown ids: 404 RULE_NOT_FOUND listing them in "
        "`context.rule_ids`.",
        request=OriginalByIdsRequestSerializer,
        parameters=ORIGINAL_HEADER_PARAMETERS,
        responses={200: OriginalExecutionResponseSerializer, **ORIGINAL_ERRORS},
        examples=BY_IDS_EXAMPLES,
    )
    def post(self, request):
        body = by_ids_body(request)
        return self.evaluate_request(request, body)


class OriginalBatchView(OriginalSystemView):
    throttle_classes = [EvaluateThrottle]
    throttle_scope = "evaluate"

    @extend_schema(
        tags=[TAG],
        operation_id="original_rules_batch",
        summary="Execute the default ruleset on many inputs (the original's POST "
        "/api/v1/rules/batch)",
        description="`batch_id` is the correlation id (else a new UUID); item `i` carries "
        "`<batch_id>-<i>` as its correlation id, on its log row too. A refused item fails "
        "alone (`status: failed`). All rows in one write (source `batch`); dry runs log "
        f"nothing. At most EVALUATE_BATCH_LIMIT ({settings.EVALUATE_BATCH_LIMIT}) items.",
        request=OriginalBatchRequestSerializer,
        parameters=ORIGINAL_HEADER_PARAMETERS,
        responses={200: OriginalBatchResponseSerializer, **ORIGINAL_ERRORS},
        examples=BATCH_EXAMPLES,
    )
    def post(self, request):
        body = batch_body(request)
        data_list = body["data_list"]
        if body.get("dry_run"):
            with worker_slot():
                return self.execute(request, body, data_list)
        return self.execute(request, body, data_list)

    def execute(self, request, body, data_list):
        started = time.monotonic()
        tenant_role = request_tenant_role(request)
        capability_check(request, tenant_role.tenant, Capability.VIEW)
        tenant = tenant_role.tenant
        batch_id = correlation_id_of(request, body, limit=BATCH_ID_LIMIT)
        compiled, identity = _ruleset_compiled(tenant, None)
        dry_run = body.get("dry_run", False)
        api_client = request.user.get_username()
        consumer_id = body.get("consumer_id")
        items, rows = [], []
        for index, data in enumerate(data_list):
            item_correlation_id = f"{batch_id}-{index}"
            outcome = evaluation_run(
                compiled=compiled,
                identity=identity,
                tenant_id=tenant.pk,
                data=data,
                source=None if dry_run else ExecutionSource.BATCH,
                caller=consumer_id or api_client,
                where=f"data_list[{index}]",
                request_id=getattr(request, "request_id", ""),
                correlation_id=item_correlation_id,
            )
            if consumer_id:
                api_client_record(outcome.row, api_client)
            if outcome.row is not None:
                rows.append(outcome.row)
            execution_id = None if outcome.row is None else outcome.row.execution_id
            items.append(original_batch_item(index, item_correlation_id, outcome, execution_id))
        if not dry_run:
            commit_or_503(rows, started)
        return Response(
            {
                "batch_id": batch_id,
                "results": items,
                "summary": original_batch_summary(items, (time.monotonic() - started) * 1000),
                "dry_run": dry_run,
            }
        )


def _dmn_problems(problems) -> list[dict]:
    return [
        {"path": problem.path, "rule_id": problem.rule_id, "message": problem.message}
        for problem in problems
    ]


def _dmn_file_not_found(name: str, message: str) -> OriginalApiError:
    return OriginalApiError(
        status_code=status.HTTP_400_BAD_REQUEST,
        code="DMN_FILE_NOT_FOUND",
        error_type="ConfigurationError",
        message=message,
        details={"dmn_file": name},
    )


class OriginalExecuteDmnView(OriginalEvaluationView):
    def compiled_for(self, request, tenant, body):
        if body.get("dmn_content") is not None:
            try:
                return dmn_content_compiled(body["dmn_content"])
            except DmnContentInvalid as error:
                raise OriginalApiError(
                    status_code=status.HTTP_400_BAD_REQUEST,
                    code=error.code,
                    error_type="ConfigurationError",
                    message=str(error),
                    details={"problems": _dmn_problems(error.problems)},
                ) from error
        name = body["dmn_file"]
        try:
            compiled, identity = _ruleset_compiled(tenant, name)
        except RulesetNotFound as error:
            if isinstance(error, NoActiveVersion):
                raise
            raise _dmn_file_not_found(
                name,
                f"DMN file not found: {name} (dmn_file names a decision-table ruleset of your "
                "tenant, imported with import_rules; send the XML itself as dmn_content)",
            ) from error
        if not is_decision_model(compiled):
            raise _dmn_file_not_found(
                name,
                f"DMN file not found: {name} is a scoring ruleset, not a decision table (run it "
                f"with /api/v1/rules/{name}/execute)",
            )
        return compiled, identity

    @extend_schema(
        tags=[TAG],
        operation_id="original_rules_execute_dmn",
        summary="Execute a DMN model (the original's POST /api/v1/rules/execute-dmn)",
        description="Exactly one of `dmn_file` and `dmn_content` (else 400 MISSING_DMN_SOURCE or "
        "MULTIPLE_DMN_SOURCES). `dmn_content` is DMN 1.1-1.3 XML: read, checked and compiled "
        "(cached by its SHA-256), cells read as the original did (an unquoted unknown word is a "
        "string); XML that is no DMN model is a 400 DMN_PARSE_ERROR, a model with problems a "
        "400 DMN_INVALID, each listed in `context.problems` with the element or cell's path. "
        "`dmn_file` names a decision-table ruleset of the tenant (its active version), never a "
        "server path; another name is a 400 DMN_FILE_NOT_FOUND. The answer carries the "
        "decisions' results in `decision_outputs`, and scores as the original did: every "
        "matching row adds 10 points (weight 1) and its first output's text to "
        "`pattern_result`; a dry run lists every row in `rule_evaluations` (`<decision> - Rule "
        "N`); `action_recommendation` is the top decision's result when it is text. Logged "
        "like our evaluate (source `api`) unless `dry_run`, a `dmn_content` row named by the "
        "model's name and `sha256:<12 hex>` as its version.",
        request=OriginalDmnRequestSerializer,
        parameters=ORIGINAL_HEADER_PARAMETERS,
        responses={200: OriginalExecutionResponseSerializer, **ORIGINAL_ERRORS},
        examples=DMN_EXAMPLES,
    )
    def post(self, request):
        return self.evaluate_request(request, dmn_body(request))


class OriginalExecuteDmnUploadView(OriginalExecuteDmnView):
    # The one form body of the API: the original's clients upload the file as multipart.
    parser_classes = [MultiPartParser]

    @extend_schema(
        tags=[TAG],
        operation_id="original_rules_execute_dmn_upload",
        summary="Execute an uploaded DMN file (the original's POST "
        "/api/v1/rules/execute-dmn-upload)",
        description="multipart/form-data: `file` (a .dmn file, else 400 INVALID_FILE_TYPE; not "
        "UTF-8: 400 DMN_READ_ERROR), `data` (the input, a JSON object as text), `dry_run` "
        "(true/false) and `correlation_id`. The file runs exactly as execute-dmn's "
        "`dmn_content` (compiled once per content, same answer, same log row).",
        request={"multipart/form-data": OriginalDmnUploadRequestSerializer},
        parameters=ORIGINAL_HEADER_PARAMETERS,
        responses={200: OriginalExecutionResponseSerializer, **ORIGINAL_ERRORS},
    )
    def post(self, request):
        return self.evaluate_request(request, dmn_upload_body(request))


class OriginalExecutionsView(OriginalSystemView):
    @extend_schema(
        tags=[TAG],
        operation_id="original_executions_list",
        summary="List execution logs (the original's GET /api/v1/executions)",
        description="Newest first, with the original's filters: `consumer_id` (the row's caller), "
        "`ruleset_id`, `from` (inclusive) and `to` (exclusive) in ISO 8601, `limit` (1-500, "
        "100), `offset`, `include_payload`; plus `correlation_id` (ours). `total` counts the "
        "matching rows: narrow a large log with `from`/`to`.",
        parameters=[
            OpenApiParameter("consumer_id", str),
            OpenApiParameter("ruleset_id", int),
            OpenApiParameter("from", str, description="Inclusive start (ISO 8601)"),
            OpenApiParameter("to", str, description="Exclusive end (ISO 8601)"),
            OpenApiParameter("correlation_id", str),
            OpenApiParameter("limit", int, description="1-500, default 100"),
            OpenApiParameter("offset", int, description="Default 0"),
            OpenApiParameter("include_payload", bool, description="Add input_data, output_data"),
        ],
        responses={200: OriginalExecutionsListSerializer, **ORIGINAL_ERRORS},
    )
    def get(self, request):
        limit = query_int(request, "limit", 100, 1, 500)
        offset = query_int(request, "offset", 0, 0)
        ruleset_id = query_int(request, "ruleset_id", None, 0)
        include_payload = query_bool(request, "include_payload")
        logs = ExecutionLog.objects.visible_to(
            request.user, Capability.VIEW, tenant=request_narrowing_tenant(request)
        )
        rows, total = original_executions_page(
            logs,
            consumer_id=request.query_params.get("consumer_id"),
            ruleset_id=ruleset_id,
            since=query_datetime(request, "from"),
            until=query_datetime(request, "to"),
            correlation_id=request.query_params.get("correlation_id"),
            limit=limit,
            offset=offset,
            include_payload=include_payload,
        )
        return Response({"executions": rows, "total": total, "limit": limit, "offset": offset})
