"""Admin for business analysts. Thin: scoping comes from TenantQuerySet, writes from services."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404
from simple_history.admin import SimpleHistoryAdmin

from rules.choices import Capability, RulesetStatus
from rules.engine import OPERATORS
from rules.models import (
    Action,
    Condition,
    Membership,
    Pattern,
    Rule,
    Ruleset,
    Tenant,
)
from rules.services import editing, lifecycle
from rules.services.errors import ServiceError
from rules.services.tenancy import user_capabilities, user_has_capability_anywhere


def operator_choices():
    return [("", "— catalog conditions —")] + [(name, name) for name in OPERATORS]


class TenantScopedAdminMixin:
    """Every queryset, dropdown and permission of an admin goes through TenantQuerySet."""

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.related_model
        if hasattr(related.objects, "visible_to"):
            kwargs["queryset"] = related.objects.visible_to(request.user, Capability.EDIT)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _tenant_of(self, obj):
        return obj.tenant if hasattr(obj, "tenant") else obj.ruleset.tenant

    def _may(self, request, obj, capability) -> bool:
        if request.user.is_superuser:
            return True
        if obj is None:
            return user_has_capability_anywhere(request.user, capability)
        return capability in user_capabilities(request.user, self._tenant_of(obj))

    def has_module_permission(self, request):
        return user_has_capability_anywhere(request.user, Capability.VIEW)

    def has_view_permission(self, request, obj=None):
        return self._may(request, obj, Capability.VIEW)

    def has_add_permission(self, request, obj=None):
        return user_has_capability_anywhere(request.user, Capability.EDIT)

    def has_change_permission(self, request, obj=None):
        return self._may(request, obj, Capability.EDIT)

    def has_delete_permission(self, request, obj=None):
        return self._may(request, obj, Capability.EDIT)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None and self.model._default_manager.filter(pk=object_id).exists():
            raise Http404  # another tenant's object: not found, never "forbidden"
        return obj


class DraftPartInline(admin.TabularInline):
    """Parts of a ruleset are editable only while it is a draft."""

    extra = 0

    def _editable(self, request, obj):
        return obj is None or (
            obj.status == RulesetStatus.DRAFT
            and Capability.EDIT in user_capabilities(request.user, obj.tenant)
        )

    def has_add_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_view_permission(self, request, obj=None):
        return True


class RuleInline(DraftPartInline):
    model = Rule
    fields = (
        "rule_id",
        "rule_name",
        "attribute",
        "condition",
        "constant",
        "condition_mode",
        "weight",
        "rule_point",
        "priority",
        "action_result",
        "status",
    )
    ordering = ("priority", "position", "rule_id")

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "condition":
            from django import forms

            return forms.ChoiceField(choices=operator_choices(), required=False, label="Operator")
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class PatternInline(DraftPartInline):
    model = Pattern
    fields = ("pattern_key", "action_recommendation", "action", "description")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "action":
            kwargs["queryset"] = Action.objects.visible_to(request.user, Capability.EDIT)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Ruleset)
class RulesetAdmin(TenantScopedAdminMixin, SimpleHistoryAdmin):
    list_display = (
        "name",
        "version",
        "status",
        "tenant",
        "is_default",
        "rule_count",
        "updated_at",
        "updated_by",
    )
    list_filter = ("status", "tenant", "is_default")
    search_fields = ("name", "description", "tags")
    readonly_fields = (
        "status",
        "is_default",
        "revision",
        "created_by",
        "updated_by",
        "created_at",
        "updated_at",
    )
    fields = ("tenant", "name", "version", "description", "tags", "metadata") + readonly_fields
    inlines = (RuleInline, PatternInline)
    actions = (
        "activate_selected",
        "deactivate_selected",
        "deprecate_selected",
        "archive_selected",
        "new_version_selected",
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("tenant", "updated_by")
            .annotate(rule_total=Count("rules"))
        )

    @admin.display(description="rules", ordering="rule_total")
    def rule_count(self, obj):
        return obj.rule_total

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status != RulesetStatus.DRAFT:
            return False  # published versions render read-only
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        try:
            editing.ruleset_save(ruleset=obj, actor=request.user)
        except ServiceError as error:
            raise ValidationError(str(error)) from error

    def save_formset(self, request, form, formset, change):
        for part in formset.save(commit=False):
            editing.ruleset_part_save(part=part, actor=request.user)
        for part in formset.deleted_objects:
            editing.ruleset_part_delete(part=part, actor=request.user)

    def delete_model(self, request, obj):
        editing.ruleset_delete(ruleset=obj, actor=request.user)

    def _run(self, request, queryset, operation, done):
        for ruleset in queryset:
            try:
                operation(ruleset_id=ruleset.pk, actor=request.user)
                self.message_user(request, f"{ruleset.name} {ruleset.version}: {done}")
            except ServiceError as error:
                self.message_user(
                    request, f"{ruleset.name} {ruleset.version}: {error}", messages.ERROR
                )

    @admin.action(description="Activate selected versions")
    def activate_selected(self, request, queryset):
        self._run(request, queryset, lifecycle.ruleset_activate, "activated")

    @admin.action(description="Deactivate selected versions")
    def deactivate_selected(self, request, queryset):
        self._run(request, queryset, lifecycle.ruleset_deactivate, "deactivated")

    @admin.action(description="Deprecate selected versions")
    def deprecate_selected(self, request, queryset):
        self._run(request, queryset, lifecycle.ruleset_deprecate, "deprecated")

    @admin.action(description="Archive selected versions")
    def archive_selected(self, request, queryset):
        self._run(request, queryset, lifecycle.ruleset_archive, "archived")

    @admin.action(description="Create a new draft version of each selected")
    def new_version_selected(self, request, queryset):
        self._run(request, queryset, lifecycle.ruleset_new_version, "new draft version created")


class CatalogAdmin(TenantScopedAdminMixin, SimpleHistoryAdmin):
    list_filter = ("status", "tenant")

    def save_model(self, request, obj, form, change):
        editing.catalog_entry_save(entry=obj, actor=request.user)

    def delete_model(self, request, obj):
        editing.catalog_entry_delete(entry=obj, actor=request.user)


@admin.register(Condition)
class ConditionAdmin(CatalogAdmin):
    list_display = ("condition_id", "name", "attribute", "operator", "value", "status", "tenant")
    search_fields = ("condition_id", "name", "attribute", "description")


@admin.register(Action)
class ActionAdmin(CatalogAdmin):
    list_display = ("action_id", "name", "action_type", "status", "tenant")
    search_fields = ("action_id", "name", "action_type", "description")


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "active", "created_at")
    search_fields = ("slug", "name")

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "tenant", "role", "created_at")
    list_filter = ("role", "tenant")
    search_fields = ("user__username", "tenant__slug")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .visible_to(request.user, Capability.MANAGE_MEMBERS)
            .select_related("user", "tenant")
        )

    def has_module_permission(self, request):
        return user_has_capability_anywhere(request.user, Capability.MANAGE_MEMBERS)

    has_view_permission = has_add_permission = has_change_permission = has_delete_permission = (
        lambda self, request, obj=None: user_has_capability_anywhere(
            request.user, Capability.MANAGE_MEMBERS
        )
    )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "tenant":
            kwargs["queryset"] = Tenant.objects.visible_to(request.user, Capability.MANAGE_MEMBERS)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
