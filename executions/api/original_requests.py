"""The original system's request bodies, query parameters and errors (executions/api/original.py).

Re-typed from khoantd/rule-engine: pydantic's checks of `api/models.py` (a refused body is a 422
VALIDATION_ERROR listing `loc` and `msg`), the FastAPI query bounds of `api/routes/executions.py`,
and the ErrorResponse of `api/middleware/errors.py`.
"""

import uuid
from datetime import UTC, datetime

import orjson
from django.conf import settings
from rest_framework import status

from executions.api.evaluate import CORRELATION_ID_LIMIT, CORRELATION_ID_PATTERN
from ruleengine.api.errors import ApiError, api_exception_handler
from rules.services.active_rulesets import NoActiveVersion, RulesetNotFound

CONSUMER_ID_LIMIT = 200  # ExecutionLog.caller
# A batch's items carry `<batch_id>-<index>`: leave room for the suffix in the log's column.
BATCH_ID_LIMIT = CORRELATION_ID_LIMIT - 8
ERROR_TYPES = {
    400: "DataValidationError",
    401: "AuthenticationError",
    403: "SecurityError",
    404: "NotFoundError",
    409: "ConflictError",
    413: "DataValidationError",
    422: "ValidationError",
    429: "RateLimitError",
    501: "NotImplementedError",
    503: "ServiceUnavailableError",
}


# --- Errors in the original's shape ----------------------------------------------------------
class OriginalApiError(ApiError):
    """An ApiError with the original's `error_type` when it is not the status's usual one
    (its DMN errors are ConfigurationErrors answered with 400)."""

    def __init__(self, *, error_type: str = "", **kwargs):
        super().__init__(**kwargs)
        self.error_type = error_type


def original_exception_handler(exc, context):
    """Our handler's answer (status, headers, logging), in the original's ErrorResponse shape."""
    if isinstance(exc, RulesetNotFound) and not isinstance(exc, NoActiveVersion):
        exc = ApiError(status_code=404, code="RULESET_NOT_FOUND", message=str(exc))
    response = api_exception_handler(exc, context)
    error = response.data.get("error") if isinstance(response.data, dict) else None
    if error is None:
        return response
    request = context.get("request")
    details = error.get("details")
    response.data = {
        "error_type": getattr(exc, "error_type", "")
        or ERROR_TYPES.get(response.status_code, "RuleEngineException"),
        "message": error["message"],
        "error_code": str(error["code"]).upper(),
        "context": details if isinstance(details, dict) else {},
        "correlation_id": correlation_id_known(request),
    }
    return response


def correlation_id_known(request) -> str | None:
    if request is None:
        return None
    return getattr(request, "original_correlation_id", None) or request.META.get(
        "HTTP_X_CORRELATION_ID"
    )


def body_invalid(problems: list[tuple[str, str]]) -> ApiError:
    """422 VALIDATION_ERROR, the errors listed as the original's (pydantic's) `loc` and `msg`."""
    return ApiError(
        status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
        code="VALIDATION_ERROR",
        message="Request validation failed: "
        + "; ".join(f"{field}: {message}" for field, message in problems),
        details={
            "errors": [
                {"loc": ["body", field], "msg": message, "type": "value_error"}
                for field, message in problems
            ]
        },
    )


# --- Request bodies --------------------------------------------------------------------------
def _body(request) -> dict:
    body = request.data
    if not isinstance(body, dict):
        raise body_invalid([("body", "must be a JSON object")])
    if body.get("rules") is not None:
        # The original's later inline `rules`; rules live in rulesets here.
        raise body_invalid(
            [
                (
                    "rules",
                    "inline rule definitions are not run here: import them (import_rules) and "
                    "call /rules/{ruleset_name}/execute or /rules/execute-by-ids",
                )
            ]
        )
    return body


def _common_fields(body: dict, problems: list, *, correlation_limit=CORRELATION_ID_LIMIT):
    if not isinstance(body.get("dry_run", False), bool):
        problems.append(("dry_run", "must be true or false"))
    correlation_id = body.get("correlation_id")
    if correlation_id is not None and not (
        isinstance(correlation_id, str)
        and CORRELATION_ID_PATTERN.match(correlation_id)
        and len(correlation_id) <= correlation_limit
    ):
        problems.append(
            (
                "correlation_id",
                f"must be a string of 1 to {correlation_limit} characters without control "
                "characters",
            )
        )
    consumer_id = body.get("consumer_id")
    if consumer_id is not None and not (
        isinstance(consumer_id, str)
        and CORRELATION_ID_PATTERN.match(consumer_id)
        and len(consumer_id) <= CONSUMER_ID_LIMIT
    ):
        problems.append(("consumer_id", f"must be a string of 1 to {CONSUMER_ID_LIMIT} characters"))


def _data_field(body: dict, problems: list) -> None:
    if "data" not in body:
        problems.append(("data", "field required"))
    elif not isinstance(body["data"], dict):
        problems.append(("data", "data must be a dictionary"))


def execute_body(request) -> dict:
    body = _body(request)
    problems: list = []
    _data_field(body, problems)
    _common_fields(body, problems)
    if problems:
        raise body_invalid(problems)
    return body


def dmn_body(request) -> dict:
    """The original's DMNRuleExecutionRequest: exactly one of `dmn_file` (here: the name of an
    imported decision-table ruleset) and `dmn_content` (DMN XML), else its 400s."""
    body = _body(request)
    problems: list = []
    for field in ("dmn_file", "dmn_content"):
        value = body.get(field)
        if value is not None and not (isinstance(value, str) and value.strip()):
            problems.append((field, "must be a non-empty string"))
    _data_field(body, problems)
    _common_fields(body, problems)
    if problems:
        raise body_invalid(problems)
    given = [field for field in ("dmn_file", "dmn_content") if body.get(field) is not None]
    if len(given) != 1:
        raise OriginalApiError(
            status_code=status.HTTP_400_BAD_REQUEST,
            code="MULTIPLE_DMN_SOURCES" if given else "MISSING_DMN_SOURCE",
            message="Only one of dmn_file or dmn_content can be provided"
            if given
            else "Exactly one of dmn_file or dmn_content must be provided",
            details={"dmn_file": body.get("dmn_file"), "has_dmn_content": "dmn_content" in given}
            if given
            else {},
        )
    return body


_FORM_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def dmn_upload_body(request) -> dict:
    """The original's execute-dmn-upload form (multipart: `file` a .dmn file, `data` a JSON
    object as text, `dry_run`, `correlation_id`) as the body execute-dmn runs, the file's XML
    as `dmn_content`; its INVALID_FILE_TYPE and DMN_READ_ERROR 400s, other problems 422."""
    upload = request.FILES.get("file")
    if upload is None:
        raise OriginalApiError(
            status_code=status.HTTP_400_BAD_REQUEST,
            code="MISSING_DMN_SOURCE",
            message="A DMN file must be uploaded as the form field 'file'",
        )
    if not (upload.name or "").lower().endswith(".dmn"):
        raise OriginalApiError(
            status_code=status.HTTP_400_BAD_REQUEST,
            code="INVALID_FILE_TYPE",
            message=f"File must have .dmn extension: {upload.name}",
            details={"filename": upload.name},
        )
    limit = settings.IMPORT_MAX_DOCUMENT_BYTES
    if upload.size > limit:
        raise body_invalid([("file", f"the file is {upload.size:,} bytes; at most {limit:,}")])
    try:
        content = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise OriginalApiError(
            status_code=status.HTTP_400_BAD_REQUEST,
            code="DMN_READ_ERROR",
            error_type="ConfigurationError",
            message=f"Failed to read DMN file {upload.name}: not UTF-8 ({error.reason} at byte "
            f"{error.start})",
            details={"filename": upload.name},
        ) from error
    problems: list = []
    form = request.POST
    body: dict = {"dmn_content": content}
    if "data" not in form:
        problems.append(("data", "field required"))
    else:
        try:
            body["data"] = orjson.loads(form["data"])
        except orjson.JSONDecodeError as error:
            problems.append(("data", f"must be a JSON object as text: {error}"))
        else:
            _data_field(body, problems)
    dry_run = form.get("dry_run", "false").strip().lower()
    if dry_run in _FORM_BOOLEANS:
        body["dry_run"] = _FORM_BOOLEANS[dry_run]
    else:
        problems.append(("dry_run", "must be true or false"))
    if form.get("correlation_id"):
        body["correlation_id"] = form["correlation_id"]
    _common_fields(body, problems)
    if problems:
        raise body_invalid(problems)
    return body


def correlation_id_of(request, body, *, limit=CORRELATION_ID_LIMIT) -> str:
    """The body's, else the X-Correlation-ID header's, else a new UUID (as the original)."""
    correlation_id = body.get("correlation_id")
    if correlation_id is None:
        header = request.META.get("HTTP_X_CORRELATION_ID")
        if header is not None:
            if not (CORRELATION_ID_PATTERN.match(header) and len(header) <= limit):
                raise body_invalid(
                    [("X-Correlation-ID", f"must be 1 to {limit} characters without control")]
                )
            correlation_id = header
    correlation_id = correlation_id or str(uuid.uuid4())
    request.original_correlation_id = correlation_id
    return correlation_id


def by_ids_body(request) -> dict:
    body = _body(request)
    problems: list = []
    rule_ids = body.get("rule_ids")
    if not (
        isinstance(rule_ids, list)
        and rule_ids
        and all(isinstance(rule_id, str) and rule_id for rule_id in rule_ids)
    ):
        problems.append(("rule_ids", "must be a non-empty list of rule ids (strings)"))
    _data_field(body, problems)
    _common_fields(body, problems)
    if problems:
        raise body_invalid(problems)
    return body


def batch_body(request) -> dict:
    body = _body(request)
    problems: list = []
    data_list = body.get("data_list")
    if not isinstance(data_list, list) or not data_list:
        problems.append(("data_list", "data_list must be a non-empty list"))
    elif not all(isinstance(item, dict) for item in data_list):
        problems.append(("data_list", "All items in data_list must be dictionaries"))
    elif len(data_list) > settings.EVALUATE_BATCH_LIMIT:
        problems.append(
            ("data_list", f"at most {settings.EVALUATE_BATCH_LIMIT} items, not {len(data_list)}")
        )
    max_workers = body.get("max_workers")
    if max_workers is not None and not (
        type(max_workers) is int and max_workers > 0  # noqa: E721 - bool is not a count
    ):
        problems.append(("max_workers", "max_workers must be positive"))
    _common_fields(body, problems, correlation_limit=BATCH_ID_LIMIT)
    if problems:
        raise body_invalid(problems)
    return body


# --- Query parameters of GET /executions -----------------------------------------------------
def query_int(request, name, default, minimum, maximum=None):
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _query_invalid(name, "value is not a valid integer") from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise _query_invalid(name, f"must be {bound}")
    return value


def _query_invalid(name: str, message: str) -> ApiError:
    error = body_invalid([(name, message)])
    error.details["errors"][0]["loc"] = ["query", name]
    return error


def query_datetime(request, name):
    raw = request.query_params.get(name)
    if raw is None or not raw.strip():
        return None
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError as error:
        raise ApiError(
            status_code=status.HTTP_400_BAD_REQUEST,
            code="INVALID_DATETIME",
            message="Invalid datetime (use ISO 8601)",
            details={name: raw, "error": str(error)},
        ) from None
    # A time without an offset is UTC, the original's database time.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def query_bool(request, name) -> bool:
    raw = request.query_params.get(name, "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise _query_invalid(name, "value could not be parsed to a boolean")
    return raw in ("true", "1")
