"""The per-tenant attributes catalog: input attributes with a type, allowed values and an example.

Same permission model as the conditions and actions catalogs: members read their tenant's,
authors write; rules/services/attributes.py validates and writes.
"""

import django_filters
from rest_framework import serializers

from rules.api.schema import resource_schema
from rules.api.serializers import TIMESTAMPS, TenantWriteSerializer
from rules.api.views.catalogs import CatalogViewSet
from rules.choices import AttributeType
from rules.models import Attribute
from rules.services.attributes import attribute_delete, attribute_save


class AttributeSerializer(TenantWriteSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    data_type = serializers.ChoiceField(choices=AttributeType.choices, required=False)
    allowed_values = serializers.ListField(
        child=serializers.JSONField(),
        required=False,
        help_text="Values the attribute may take; [] for any value of its type. For a list "
        "attribute: the members its lists may hold.",
    )
    example = serializers.JSONField(
        required=False, allow_null=True, help_text="A value of the type; try-it starts from it."
    )

    class Meta:
        model = Attribute
        fields = [
            "id",
            "tenant",
            "name",
            "data_type",
            "description",
            "allowed_values",
            "example",
            *TIMESTAMPS,
        ]
        extra_kwargs = {
            "name": {"help_text": "The input key or a dotted path, e.g. applicant.income."}
        }
        # Unique names per tenant are checked by the service's full_clean, one message.
        validators = []


class AttributeFilter(django_filters.FilterSet):
    tenant = django_filters.CharFilter(field_name="tenant__slug", help_text="Slug of the tenant.")

    class Meta:
        model = Attribute
        fields = ["name", "data_type", "tenant"]


@resource_schema(AttributeSerializer, "catalog attribute")
class AttributeViewSet(CatalogViewSet):
    """The tenant's attributes catalog; rules complete from it, inputs are validated by it."""

    queryset = Attribute.objects.select_related("tenant")
    serializer_class = AttributeSerializer
    filterset_class = AttributeFilter
    search_fields = ["name", "description"]
    ordering_fields = ["id", "name", "data_type", "created_at", "updated_at"]
    ordering = ["name", "id"]

    @staticmethod
    def entry_save(entry, actor):
        return attribute_save(attribute=entry, actor=actor)

    @staticmethod
    def entry_delete(entry, actor):
        attribute_delete(attribute=entry, actor=actor)
