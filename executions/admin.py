from django.contrib import admin

from executions.models import ExecutionLog
from rules.choices import Capability
from rules.services.tenancy import user_has_capability_anywhere


@admin.register(ExecutionLog)
class ExecutionLogAdmin(admin.ModelAdmin):
    """Read-only, newest first, and no full COUNT on a table with millions of rows."""

    list_display = (
        "timestamp",
        "ruleset_name",
        "ruleset_version",
        "pattern_result",
        "action_recommendation",
        "total_points",
        "success",
        "source",
        "tenant",
    )
    list_filter = ("success", "source")
    date_hierarchy = "timestamp"
    show_full_result_count = False
    list_select_related = ("tenant",)

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def has_module_permission(self, request):
        return user_has_capability_anywhere(request.user, Capability.VIEW)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
