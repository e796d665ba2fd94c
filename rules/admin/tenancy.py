"""Tenant scoping of every admin page: querysets, dropdowns, permissions and object URLs.

Scoping comes from `Model.objects.visible_to` and the cached roles of `rules.tenant_roles`, the
same ones the API asks, so a role means the same on both.
"""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.http import Http404

from rules.choices import Capability
from rules.models import Tenant
from rules.services.editing import ruleset_editable_by
from rules.tenant_roles import caller_capabilities, caller_may_anywhere


class TenantScopedAdminMixin:
    """Every queryset, dropdown, permission and object URL of an admin is scoped by tenant.

    Another tenant's object answers 404, never 403, so its existence is not revealed.
    """

    view_capability = Capability.VIEW
    write_capability = Capability.EDIT

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user, self.view_capability)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.related_model
        if hasattr(related.objects, "visible_to"):
            kwargs["queryset"] = related.objects.visible_to(request.user, self.write_capability)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        if "tenant" not in initial:
            tenants = list(
                Tenant.objects.visible_to(request.user, self.write_capability).values_list(
                    "pk", flat=True
                )[:2]
            )
            if len(tenants) == 1:
                initial["tenant"] = tenants[0]
        return initial

    def get_list_filter(self, request):
        # A tenant filter is noise for someone who sees one tenant.
        filters = super().get_list_filter(request)
        if Tenant.objects.visible_to(request.user, self.view_capability)[:2].count() > 1:
            return filters
        return [f for f in filters if not (isinstance(f, tuple) and f[0] == "tenant")]

    def object_tenant_id(self, obj) -> int:
        return obj.tenant_id

    def _may(self, request, obj, capability) -> bool:
        if obj is None:
            return caller_may_anywhere(request.user, capability)
        return capability in caller_capabilities(request.user, self.object_tenant_id(obj))

    def has_module_permission(self, request):
        return caller_may_anywhere(request.user, self.view_capability)

    def has_view_permission(self, request, obj=None):
        return self._may(request, obj, self.view_capability)

    def has_add_permission(self, request, obj=None):
        return caller_may_anywhere(request.user, self.write_capability)

    def has_change_permission(self, request, obj=None):
        return self._may(request, obj, self.write_capability)

    def has_delete_permission(self, request, obj=None):
        return self._may(request, obj, self.write_capability)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            # Missing and another tenant's answer alike, so neither is revealed.
            raise Http404
        return obj

    def history_view(self, request, object_id, extra_context=None):
        self._history_object_check(request, unquote(object_id))
        return super().history_view(request, object_id, extra_context)

    def _history_object_check(self, request, object_id):
        """404 unless the object (or, once deleted, its last revision) is the user's to see.

        A malformed id, a missing one and another tenant's answer alike. A revision's own pk is
        its history_id: the object it records is found by the object's pk field name.
        """
        pk_field = self.model._meta.pk
        try:
            pk = pk_field.to_python(object_id)
        except ValidationError:
            raise Http404 from None
        if self.get_queryset(request).filter(pk=pk).exists():
            return
        history = getattr(self.model, "history", None)
        if history is None:
            raise Http404
        last = history.filter(**{pk_field.attname: pk}).order_by("-history_date").first()
        if last is None or not self.has_view_permission(request, last.instance):
            raise Http404


class DraftPartInline(admin.TabularInline):
    """Parts of a ruleset are editable only while it is a draft, by its tenant's authors."""

    extra = 0

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if obj is None else 0

    def _editable(self, request, obj):
        if obj is None:
            return caller_may_anywhere(request.user, Capability.EDIT)
        return ruleset_editable_by(obj, request.user)

    def has_add_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_view_permission(self, request, obj=None):
        return True  # the parent ruleset's admin has already scoped `obj`
