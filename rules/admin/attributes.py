"""The per-tenant attributes catalog: what inputs carry, with a type, allowed values and an
example. Rule forms complete attribute names from it and check constants against its types."""

from django import forms
from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from rules.admin.history import RevisionAdminMixin
from rules.admin.service_errors import ServiceFormAdminMixin, service_error_report
from rules.admin.tenancy import TenantScopedAdminMixin
from rules.errors import ServiceError
from rules.models import Attribute
from rules.services.attributes import attribute_delete, attribute_field_errors, attribute_save

ATTRIBUTE_FIELDS = ("tenant", "name", "data_type", "description", "allowed_values", "example")


class AttributeForm(forms.ModelForm):
    class Meta:
        model = Attribute
        fields = ATTRIBUTE_FIELDS
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2, "cols": 80}),
            "allowed_values": forms.Textarea(attrs={"rows": 2, "cols": 80}),
            "example": forms.Textarea(attrs={"rows": 2, "cols": 80}),
        }
        help_texts = {
            "allowed_values": 'A JSON list, e.g. ["DE", "FR"]; empty for any value of the type. '
            "For a list attribute: the members its lists may hold.",
            "example": 'A JSON value of the type, e.g. 720 or "DE"; try-it starts from it.',
        }

    def clean_allowed_values(self):
        value = self.cleaned_data.get("allowed_values")
        return [] if value is None else value

    def clean_example(self):
        value = self.cleaned_data.get("example")
        # The form field hands text back as its JSONString subclass; the type check wants str.
        return str(value) if isinstance(value, str) else value

    def clean(self):
        cleaned = super().clean()
        candidate = Attribute(
            name=cleaned.get("name") or "",
            data_type=cleaned.get("data_type") or self.instance.data_type,
            allowed_values=cleaned.get("allowed_values", []),
            example=cleaned.get("example"),
        )
        for field, messages in attribute_field_errors(candidate).items():
            if field not in self.errors:
                self.add_error(field, messages)
        return cleaned


@admin.register(Attribute)
class AttributeAdmin(
    RevisionAdminMixin, ServiceFormAdminMixin, TenantScopedAdminMixin, SimpleHistoryAdmin
):
    form = AttributeForm
    list_display = ("name", "data_type", "description", "allowed_values", "example", "tenant")
    list_filter = ("data_type", ("tenant", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "description")
    list_per_page = 100

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("tenant")

    def get_fields(self, request, obj=None):
        if obj is not None:  # an entry stays in its tenant
            return ("tenant_name", *ATTRIBUTE_FIELDS[1:])
        return ATTRIBUTE_FIELDS

    def get_readonly_fields(self, request, obj=None):
        return ("tenant_name",) if obj is not None else ()

    @admin.display(description="tenant")
    def tenant_name(self, obj):
        return str(obj.tenant)

    def save_model(self, request, obj, form, change):
        attribute_save(attribute=obj, actor=request.user)

    def delete_model(self, request, obj):
        attribute_delete(attribute=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for attribute in queryset.select_related("tenant"):
            try:
                attribute_delete(attribute=attribute, actor=request.user)
            except ServiceError as error:
                service_error_report(self, request, error, attribute.name)
