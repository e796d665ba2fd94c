"""One error shape for the whole API: {"error": {"code", "message", "details"}}."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import DataError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.views.defaults import page_not_found, server_error
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from rules.errors import ServiceError, problem_text

log = logging.getLogger(__name__)

# A 401 without credentials names the scheme (ruleengine.api.authentication).
CREDENTIALS_MISSING_MESSAGE = (
    "Authentication credentials were not provided: send the header "
    "`Authorization: Token <key>` (`Bearer <key>` is accepted too)."
)

# HTTP status of each service error code; a refused business rule is a conflict with the
# resource's current state (a published version, a used catalog entry), not bad syntax.
SERVICE_ERROR_STATUS = {
    "not_found": status.HTTP_404_NOT_FOUND,
    "permission_denied": status.HTTP_403_FORBIDDEN,
    "invalid_ruleset": status.HTTP_409_CONFLICT,
    "transition_not_allowed": status.HTTP_409_CONFLICT,
    "read_only": status.HTTP_409_CONFLICT,
    "in_use": status.HTTP_409_CONFLICT,
    "no_active_version": status.HTTP_409_CONFLICT,
    "version_not_active": status.HTTP_409_CONFLICT,
    "already_revoked": status.HTTP_409_CONFLICT,
    "invalid": status.HTTP_400_BAD_REQUEST,
    "too_large": status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
}


class ApiError(exceptions.APIException):
    """An API error with its own code, message and optional details."""

    def __init__(self, *, status_code: int, code: str, message: str, details=None, headers=None):
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.details = details
        self.headers = headers or {}


def error_body(code: str, message: str, details=None) -> dict:
    return {"error": {"code": code, "message": message, "details": details}}


def service_error_response(error: ServiceError) -> Response:
    details = None
    if getattr(error, "problems", None):
        details = {
            "problems": [
                {
                    "rule_id": p.rule_id,
                    "path": p.path,
                    "message": p.message,
                    "text": problem_text(p),
                }
                for p in error.problems
            ]
        }
    return Response(
        error_body(error.code, str(error), details),
        status=SERVICE_ERROR_STATUS.get(error.code, status.HTTP_409_CONFLICT),
    )


def _drf_error_code(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return getattr(exc, "default_code", "error")


def api_exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: every error of every API view in the one shape."""
    if isinstance(exc, ServiceError):
        return service_error_response(exc)
    if isinstance(exc, ApiError):
        response = Response(
            error_body(exc.error_code, str(exc.detail), exc.details), status=exc.status_code
        )
        for header, value in exc.headers.items():
            response[header] = value
        return response
    if isinstance(exc, (OperationalError, InterfaceError)):
        # The database is unreachable (an outage, a failover): a retryable 503, not a 500.
        log.warning("API request refused, database unavailable: %s", str(exc).strip()[:200])
        return Response(
            error_body("database_unavailable", "The database is unavailable. Retry shortly."),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "1"},
        )
    if isinstance(exc, DataError):
        # A value the database refuses (out of range, too long) that validation let through.
        log.warning("API request refused by the database: %s", str(exc).strip()[:200])
        return Response(
            error_body("invalid_value", f"The database refused a value: {str(exc).strip()[:200]}"),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body("body_too_large", "The request body is too large."),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        # An unexpected error: logged with its traceback, answered in the same shape.
        log.exception("unhandled API error", exc_info=exc)
        return Response(
            error_body("server_error", "Internal server error."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body("invalid", "The request is not valid.", exc.detail)
        return response
    message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if isinstance(exc, exceptions.NotAuthenticated):
        message = CREDENTIALS_MISSING_MESSAGE
    response.data = error_body(_drf_error_code(exc), str(message))
    return response


def not_found_handler(request, exception=None):
    """handler404: JSON under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    return page_not_found(request, exception)


def server_error_handler(request):
    """handler500: JSON under /api/ (and /healthz), Django's page elsewhere."""
    if request.path.startswith(("/api/", "/healthz")):
        return JsonResponse(error_body("server_error", "Internal server error."), status=500)
    return server_error(request)


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. read_only.")
    message = serializers.CharField(help_text="For people.")
    details = serializers.JSONField(
        allow_null=True,
        help_text="Field errors ({field: [messages]}), or {problems: [...]} listing every "
        "problem of a ruleset with its rule id and JSON path.",
    )


class ErrorResponseSerializer(serializers.Serializer):
    """Every error of the API: {"error": {"code", "message", "details"}}."""

    error = ErrorBodySerializer()
