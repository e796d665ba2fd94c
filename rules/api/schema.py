"""The OpenAPI description shared by the management API's views: the X-Tenant header, what each
error status means here, and the schema of a resource's routes and of a lifecycle transition.
"""

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema, extend_schema_view

from ruleengine.api.schema import error_response, tenant_header_parameter
from rules.api.documents import (
    FlatRulesDocumentSerializer,
    ImportSpecDocumentSerializer,
    StructuredRulesDocumentSerializer,
)
from rules.api.serializers import RulesetSerializer

TENANT_HEADER_PARAMETER = tenant_header_parameter(
    "Slug of the tenant to act in; required for writes by callers in several "
    "tenants, narrows reads to that tenant."
)
ERROR_MEANINGS = {
    400: "Invalid input: field errors, or the tenant must be named (X-Tenant), in `details`.",
    403: "The caller's role in the tenant does not allow this.",
    404: "No such object in the caller's tenants.",
    409: "Refused by a business rule: a published version is read-only, a catalog entry is in "
    "use, a transition is not allowed, or the ruleset has problems (listed in `details`).",
}


def error_responses(*codes: int) -> dict:
    return {code: error_response(ERROR_MEANINGS[code]) for code in codes}


def resource_schema(serializer, noun: str):
    """The schema of a resource's list/create/retrieve/update/delete routes with their errors."""
    return extend_schema_view(
        list=extend_schema(
            summary=f"List {noun}s",
            parameters=[TENANT_HEADER_PARAMETER],
            responses={200: serializer(many=True), **error_responses(400, 404)},
        ),
        create=extend_schema(
            summary=f"Create a {noun}",
            parameters=[TENANT_HEADER_PARAMETER],
            responses={201: serializer, **error_responses(400, 403, 404, 409)},
        ),
        retrieve=extend_schema(
            summary=f"Read a {noun}",
            parameters=[TENANT_HEADER_PARAMETER],
            responses={200: serializer, **error_responses(404)},
        ),
        update=extend_schema(
            summary=f"Replace a {noun}",
            parameters=[TENANT_HEADER_PARAMETER],
            responses={200: serializer, **error_responses(400, 403, 404, 409)},
        ),
        partial_update=extend_schema(
            summary=f"Change fields of a {noun}",
            parameters=[TENANT_HEADER_PARAMETER],
            responses={200: serializer, **error_responses(400, 403, 404, 409)},
        ),
        destroy=extend_schema(
            summary=f"Delete a {noun}",
            parameters=[TENANT_HEADER_PARAMETER],
            responses={204: None, **error_responses(403, 404, 409)},
        ),
    )


def transition_schema(summary: str, description: str = ""):
    """The schema of a lifecycle action: no body, the ruleset version back."""
    return extend_schema(
        summary=summary,
        description=description,
        request=None,
        parameters=[TENANT_HEADER_PARAMETER],
        responses={200: RulesetSerializer, **error_responses(403, 404, 409)},
    )


# The body of `POST /rulesets/import`: one of the three formats the import service detects.
IMPORT_DOCUMENT = PolymorphicProxySerializer(
    component_name="ImportDocument",
    serializers=[
        ImportSpecDocumentSerializer,
        FlatRulesDocumentSerializer,
        StructuredRulesDocumentSerializer,
    ],
    resource_type_field_name=None,
)
