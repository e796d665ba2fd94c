"""The per-tenant catalogs of conditions and actions that rules and patterns point to."""

from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from ruleengine.admin_display import status_badge
from rules.admin.forms import ActionForm, ConditionForm
from rules.admin.history import RevisionAdminMixin
from rules.admin.service_errors import ServiceFormAdminMixin, service_error_report
from rules.admin.tenancy import TenantScopedAdminMixin
from rules.choices import RulesetStatus
from rules.errors import ServiceError
from rules.models import ACTION_FIELDS, CONDITION_FIELDS, Action, Condition
from rules.services import editing


class CatalogAdmin(
    RevisionAdminMixin, ServiceFormAdminMixin, TenantScopedAdminMixin, SimpleHistoryAdmin
):
    """Conditions and actions: read-only once a published version uses them."""

    usage_lookup = ""  # the relation counted for the "used in" column
    edit_fields: tuple = ()

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("tenant")
            .annotate(used_in_total=Count(self.usage_lookup, distinct=True))
        )

    @admin.display(description="used in", ordering="used_in_total")
    def used_in(self, obj):
        return getattr(obj, "used_in_total", "—")

    def _users(self, obj) -> list:
        if not hasattr(obj, "_catalog_users"):
            obj._catalog_users = editing.catalog_entry_users(obj) if obj.pk else []
        return obj._catalog_users

    def _published_users(self, obj) -> list:
        return [r for r in self._users(obj) if r.status != RulesetStatus.DRAFT]

    def has_change_permission(self, request, obj=None):
        # Also for revisions on the history pages: usage is looked up by primary key.
        if obj is not None and self._published_users(obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and self._users(obj):
            return False
        return super().has_delete_permission(request, obj)

    def get_fields(self, request, obj=None):
        return (*self.edit_fields, "used_by") if obj is not None else self.edit_fields

    def get_readonly_fields(self, request, obj=None):
        return ("used_by",) if obj is not None else ()

    @admin.display(description="Used by")
    def used_by(self, obj):
        # Only versions of the entry's own tenant: the user sees that tenant.
        users = [r for r in self._users(obj) if r.tenant_id == obj.tenant_id]
        if not users:
            return "Not used by any ruleset version."
        items = format_html_join(
            "",
            '<li><a href="{}">{} {}</a> {}</li>',
            (
                (
                    reverse("admin:rules_ruleset_change", args=[r.pk]),
                    r.name,
                    r.version,
                    status_badge(r.status, r.get_status_display()),
                )
                for r in users
            ),
        )
        note = ""
        if self._published_users(obj):
            note = format_html(
                '<p class="help">{}</p>',
                "Published versions use this entry, so it is read-only: create a new entry and "
                "use it in a new draft version.",
            )
        return format_html('<ul class="used-by">{}</ul>{}', items, note)

    def save_model(self, request, obj, form, change):
        editing.catalog_entry_save(entry=obj, actor=request.user)

    def delete_model(self, request, obj):
        editing.catalog_entry_delete(entry=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for entry in queryset:
            try:
                editing.catalog_entry_delete(entry=entry, actor=request.user)
            except ServiceError as error:
                service_error_report(self, request, error)


@admin.register(Condition)
class ConditionAdmin(CatalogAdmin):
    form = ConditionForm
    usage_lookup = "rule_links__rule__ruleset"
    list_display = (
        "condition_id",
        "name",
        "attribute",
        "operator",
        "value",
        "status",
        "used_in",
        "tenant",
    )
    list_filter = ("status", "operator", ("tenant", admin.RelatedOnlyFieldListFilter))
    search_fields = ("condition_id", "name", "attribute", "description")
    edit_fields = ("tenant", *CONDITION_FIELDS)

    class Media:
        js = ("ruleengine/rule_form.js",)


@admin.register(Action)
class ActionAdmin(CatalogAdmin):
    form = ActionForm
    usage_lookup = "patterns__ruleset"
    list_display = ("action_id", "name", "action_type", "status", "used_in", "tenant")
    list_filter = ("status", "action_type", ("tenant", admin.RelatedOnlyFieldListFilter))
    search_fields = ("action_id", "name", "action_type", "description")
    edit_fields = ("tenant", *ACTION_FIELDS)
