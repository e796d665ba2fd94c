"""/api/v1/api-clients: a tenant's admins list, create, rotate and revoke API clients.

The token is in the response of create and rotate only; it is never stored or shown again.
"""

from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ruleengine.api.access import (
    TenantCapability,
    capability_check,
    request_narrowing_tenant,
    request_tenant,
)
from ruleengine.api.schema import error_response
from rules.choices import Capability, Role
from rules.models import ApiClient
from rules.services.api_clients import (
    api_client_create,
    api_client_revoke,
    api_client_token_rotate,
)


class ApiClientSerializer(serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    role = serializers.SerializerMethodField()

    class Meta:
        model = ApiClient
        fields = ["id", "tenant", "name", "role", "created_at", "revoked_at"]
        read_only_fields = fields

    def get_role(self, client) -> str:
        membership = client.user.memberships.filter(tenant_id=client.tenant_id).first()
        return membership.role if membership else ""


class ApiClientCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    role = serializers.ChoiceField(choices=Role.choices)
    expires_days = serializers.IntegerField(min_value=1, required=False, allow_null=True)


class TokenRotateSerializer(serializers.Serializer):
    expires_days = serializers.IntegerField(min_value=1, required=False, allow_null=True)


TOKEN_RESPONSE = inline_serializer(
    "ApiClientToken",
    fields={"client": ApiClientSerializer(), "token": serializers.CharField()},
)
NOT_FOUND = error_response("No such API client in the tenants you administer.")
ALREADY_REVOKED = error_response(
    "`already_revoked`: the client was revoked before; nothing changed (its `revoked_at` stays). "
    "A revoked client gets no new token: create a new one."
)


@extend_schema_view(
    list=extend_schema(summary="API clients of the caller's tenants (tenant admins)"),
    retrieve=extend_schema(summary="One API client"),
)
class ApiClientViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [TenantCapability]
    # Rotating and revoking need what seeing a client needs (get_queryset).
    write_capability = Capability.MANAGE_MEMBERS
    serializer_class = ApiClientSerializer
    search_fields = ["name"]
    ordering_fields = ["name", "created_at"]
    filterset_fields = []

    def get_queryset(self):
        return (
            ApiClient.objects.visible_to(
                self.request.user,
                Capability.MANAGE_MEMBERS,
                tenant=request_narrowing_tenant(self.request),
            )
            .select_related("tenant", "user")
            .order_by("tenant__slug", "name")
        )

    @extend_schema(
        summary="Create an API client; the response holds its token, shown this once",
        request=ApiClientCreateSerializer,
        responses={201: TOKEN_RESPONSE},
    )
    def create(self, request):
        tenant = request_tenant(request)
        capability_check(request, tenant, Capability.MANAGE_MEMBERS)
        data = ApiClientCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        client, token = api_client_create(tenant=tenant, actor=request.user, **data.validated_data)
        return Response(
            {"client": ApiClientSerializer(client).data, "token": token},
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="Replace the client's tokens with a new one (returned once)",
        request=TokenRotateSerializer,
        responses={
            200: TOKEN_RESPONSE,
            400: error_response("Invalid `expires_days`; `details` names the field."),
            404: NOT_FOUND,
            409: ALREADY_REVOKED,
        },
    )
    @action(detail=True, methods=["post"])
    def rotate(self, request, pk=None):
        client = self.get_object()
        data = TokenRotateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token = api_client_token_rotate(client=client, actor=request.user, **data.validated_data)
        return Response({"client": ApiClientSerializer(client).data, "token": token})

    @extend_schema(
        summary="Revoke the client: its tokens stop working on every node",
        request=None,
        responses={200: ApiClientSerializer, 404: NOT_FOUND, 409: ALREADY_REVOKED},
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        client = api_client_revoke(client=self.get_object(), actor=request.user)
        return Response(ApiClientSerializer(client).data)
