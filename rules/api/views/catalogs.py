"""The per-tenant catalogs of conditions and actions that catalog-form rules and patterns use."""

from ruleengine.api.access import request_tenant
from rules.api import filters as api_filters
from rules.api.schema import resource_schema
from rules.api.serializers import ActionSerializer, ConditionSerializer
from rules.api.views.tenant_scoped import TenantScopedViewSet, validation_errors_as_400
from rules.models import Action, Condition
from rules.services import editing


class CatalogViewSet(TenantScopedViewSet):
    """A per-tenant catalog whose writes go through its service (`entry_save`, `entry_delete`):
    for conditions and actions, entries used by published versions are read-only."""

    @staticmethod
    def entry_save(entry, actor):
        return editing.catalog_entry_save(entry=entry, actor=actor)

    @staticmethod
    def entry_delete(entry, actor):
        editing.catalog_entry_delete(entry=entry, actor=actor)

    def perform_create(self, serializer):
        tenant = request_tenant(self.request)
        entry = self.queryset.model(tenant=tenant, **serializer.validated_data)
        with validation_errors_as_400():
            serializer.instance = self.entry_save(entry, self.request.user)

    def perform_update(self, serializer):
        entry = serializer.instance
        for name, value in serializer.validated_data.items():
            setattr(entry, name, value)
        with validation_errors_as_400():
            self.entry_save(entry, self.request.user)

    def perform_destroy(self, instance):
        self.entry_delete(instance, self.request.user)


@resource_schema(ConditionSerializer, "catalog condition")
class ConditionViewSet(CatalogViewSet):
    queryset = Condition.objects.select_related("tenant")
    serializer_class = ConditionSerializer
    filterset_class = api_filters.ConditionFilter
    search_fields = ["condition_id", "name", "description", "attribute"]
    ordering_fields = ["id", "condition_id", "name", "status", "created_at", "updated_at"]
    ordering = ["condition_id", "id"]


@resource_schema(ActionSerializer, "catalog action")
class ActionViewSet(CatalogViewSet):
    queryset = Action.objects.select_related("tenant")
    serializer_class = ActionSerializer
    filterset_class = api_filters.ActionFilter
    search_fields = ["action_id", "name", "description", "action_type"]
    ordering_fields = ["id", "action_id", "name", "status", "created_at", "updated_at"]
    ordering = ["action_id", "id"]
