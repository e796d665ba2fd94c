"""The API's OpenAPI plumbing (drf-spectacular, OpenAPI 3.1): the schema class of every view,
the X-Tenant parameter, the error answers, and post-processing that keeps the document valid.

Authentication, throttling, tenant resolution, content negotiation, body limits and outages apply
to whole families of routes, so `ApiAutoSchema` adds their error answers to each operation from
what its view does (a body, throttles) instead of each view listing them.
"""

from http import HTTPStatus

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from ruleengine.api.errors import ErrorResponseSerializer


def tenant_header_parameter(description: str) -> OpenApiParameter:
    """The `X-Tenant` header (ruleengine.api.access), described as the operation uses it."""
    return OpenApiParameter("X-Tenant", str, OpenApiParameter.HEADER, description=description)


def error_response(description: str) -> OpenApiResponse:
    """An error answer in the API's one shape, with what it means for the operation."""
    return OpenApiResponse(ErrorResponseSerializer, description=description)


# Every API view reads X-Tenant (ruleengine.api.access); views describe it more precisely.
TENANT_HEADER_DEFAULT = tenant_header_parameter(
    "Slug of the tenant to act in. Needed when the caller belongs to several tenants and the "
    "operation acts in one; on lists, narrows them to that tenant. Another tenant's slug: 404."
)

ANY_OPERATION_ERRORS = {
    "400": "Invalid request; `details` names the fields",
    "401": "No credentials, or a missing, unknown, expired or revoked token: send "
    "`Authorization: Token <key>`",
    "403": "The caller's role does not allow this",
    "404": "Not found, or another tenant's (X-Tenant included)",
    "406": "The Accept header allows no JSON",
    "503": "Database or execution log unavailable, or (dry runs, test runs, backtests) every "
    "non-production worker slot busy; see Retry-After",
}
BODY_ERRORS = {
    "413": "Request body too large",
    "415": "Unsupported media type: send `Content-Type: application/json`",
}
THROTTLE_ERRORS = {"429": "Rate limited; see Retry-After"}


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, plus the answers every operation of this API can give."""

    def get_override_parameters(self):
        return [TENANT_HEADER_DEFAULT, *super().get_override_parameters()]

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        errors = dict(ANY_OPERATION_ERRORS)
        if self.method in {"POST", "PUT", "PATCH"} and self.get_request_serializer() is not None:
            errors.update(BODY_ERRORS)
        if self.view.get_throttles():
            errors.update(THROTTLE_ERRORS)
        for code, description in errors.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    error_response(description), code, direction=direction
                )
            elif not responses[code].get("description"):
                responses[code]["description"] = description
        for code, response in responses.items():
            if not response.get("description"):
                response["description"] = HTTPStatus(int(code)).phrase  # "OK", "Created"
        return dict(sorted(responses.items()))


# --- Post-processing hooks (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]) ----------------------
def _schemas_walk(node, visit) -> None:
    """Call `visit(schema)` on every dict of the document, children first."""
    if isinstance(node, dict):
        for value in node.values():
            _schemas_walk(value, visit)
        visit(node)
    elif isinstance(node, list):
        for value in node:
            _schemas_walk(value, visit)


def _nullable_as_openapi_31(schema: dict) -> None:
    # DRF's paginators still describe `next`/`previous` in 3.0 terms (`nullable: true`), which
    # 3.1 ignores: a null `next` would then break the schema.
    if schema.pop("nullable", False) is True:
        kind = schema.get("type")
        if isinstance(kind, str):
            schema["type"] = [kind, "null"]
        elif isinstance(kind, list) and "null" not in kind:
            kind.append("null")
    # drf-spectacular writes a nullable JSONField as `oneOf: [{}, {type: null}]`: null matches
    # both branches, so oneOf rejects it. Any value is already `{}`.
    alternatives = schema.get("oneOf")
    if isinstance(alternatives, list) and {} in alternatives:
        del schema["oneOf"]


HEALTH_SCHEMA = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": ["ok"]},
        "database": {"type": "string", "description": "postgresql or sqlite"},
        "timescaledb": {
            "type": ["string", "null"],
            "description": "The TimescaleDB extension's version; null without it.",
        },
    },
    "required": ["status", "database", "timescaledb"],
}


def openapi_31_fix(result, generator, request, public):
    """Leftover OpenAPI 3.0 constructs in their 3.1 form."""
    _schemas_walk(result.get("components", {}).get("schemas", {}), _nullable_as_openapi_31)
    _schemas_walk(result.get("paths", {}), _nullable_as_openapi_31)
    return result


def health_path_add(result, generator, request, public):
    """`GET /healthz` (a plain Django view, for load balancers) in the document too."""
    result.setdefault("components", {}).setdefault("schemas", {})["Health"] = HEALTH_SCHEMA
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    result.setdefault("paths", {})["/healthz"] = {
        "get": {
            "operationId": "health_retrieve",
            "summary": "Can this node serve?",
            "description": "For load balancers and orchestrators: the database answers and every "
            "migration is applied. No authentication.",
            "tags": ["health"],
            "security": [],
            "responses": {
                "200": {
                    "description": "Ready",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Health"}}
                    },
                },
                "503": {
                    "description": "Not ready: the database is unreachable "
                    "(`database_unavailable`) or migrations are pending (`migrations_pending`)",
                    "content": {"application/json": {"schema": error}},
                },
            },
        }
    }
    return result
