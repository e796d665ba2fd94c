"""The API's OpenAPI plumbing: the X-Tenant parameter, error responses, and the post-processing
that gives every operation the error answers the API can give.

Authentication, throttling, tenant resolution, body limits and outages apply to every route, so
their error responses are added here once instead of on each view.
"""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from ruleengine.api.errors import ErrorResponseSerializer


def tenant_header_parameter(description: str) -> OpenApiParameter:
    """The `X-Tenant` header (ruleengine.api.access), described as the operation uses it."""
    return OpenApiParameter("X-Tenant", str, OpenApiParameter.HEADER, description=description)


def error_response(description: str) -> OpenApiResponse:
    """An error answer in the API's one shape, with what it means for the operation."""
    return OpenApiResponse(ErrorResponseSerializer, description=description)


ERROR_COMPONENT = "ErrorResponse"
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"nullable": True},
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}
DESCRIPTIONS = {
    "400": "Invalid request; `details` names the fields",
    "401": "Missing, unknown, expired or revoked token",
    "403": "The caller's role does not allow this",
    "404": "Not found, or another tenant's",
    "405": "Method not allowed",
    "406": "Not acceptable",
    "409": "Refused by a business rule (read-only version, lifecycle, in use)",
    "413": "Request body too large",
    "415": "Unsupported media type",
    "429": "Rate limited; see Retry-After",
    "503": "Database or execution log unavailable; see Retry-After",
}


def error_responses_add(result, generator, request, public):
    """drf-spectacular POSTPROCESSING_HOOKS entry."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(ERROR_COMPONENT, ERROR_SCHEMA)
    reference = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for code, description in DESCRIPTIONS.items():
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": reference}},
                    },
                )
    return result
