"""The base of every management viewset: CRUD over one model, scoped to the caller's tenants."""

from contextlib import contextmanager

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers, viewsets
from rest_framework.pagination import PageNumberPagination
from rest_framework.settings import api_settings

from ruleengine.api.access import (
    TenantCapability,
    capability_check,
    request_narrowing_tenant,
    request_tenant,
)
from rules.choices import Capability


@contextmanager
def validation_errors_as_400(serializer=None):
    """A service's model validation (full_clean) as DRF's 400, field errors in `details`.

    With `serializer`, a model field's errors are named as the serializer field that writes it
    (the rule's model field `operator` is the API's `condition`).
    """
    try:
        yield
    except DjangoValidationError as error:
        if hasattr(error, "error_dict"):
            api_names = {
                field.source: name
                for name, field in (serializer.fields.items() if serializer else ())
                if field.source != name
            }
            detail = {
                api_settings.NON_FIELD_ERRORS_KEY
                if field == NON_FIELD_ERRORS
                else api_names.get(field, field): messages
                for field, messages in error.message_dict.items()
            }
        else:
            detail = {api_settings.NON_FIELD_ERRORS_KEY: error.messages}
        raise serializers.ValidationError(detail) from error


class ManagePagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


class TenantScopedViewSet(viewsets.ModelViewSet):
    """CRUD over one model, scoped to the caller's tenants; subclasses call the services."""

    permission_classes = [TenantCapability]
    pagination_class = ManagePagination

    def get_queryset(self):
        queryset = self.queryset.all()
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return queryset.none()
        return queryset.visible_to(
            self.request.user, Capability.VIEW, tenant=request_narrowing_tenant(self.request)
        )

    def object_tenant(self, obj):
        return obj.tenant

    def create(self, request, *args, **kwargs):
        # Before validation: a viewer learns that it may not write, not what the payload lacks.
        capability_check(request, request_tenant(request), Capability.EDIT)
        return super().create(request, *args, **kwargs)
