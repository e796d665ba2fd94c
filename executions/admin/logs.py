"""The execution log in the admin: read-only, newest first, and fast on millions of rows.

Nothing here counts the table: the paginator only asks whether a next page exists, filters take
their choices from the (small) ruleset tables, and the date hierarchy probes the index instead of
asking for DISTINCT dates or MIN/MAX. Every list is newest first on a time-leading index:
`executionlog_time` for a superuser, `executionlog_tenant_time` for a member's tenants.
Try-it, backtests, "save as test case" and the dashboard are registered here (`get_urls`),
because the executions app may use rules but not the other way round.
"""

import json
from datetime import datetime, timedelta

from django.contrib import admin
from django.contrib.admin.options import ShowFacets
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import PAGE_VAR
from django.core.paginator import Paginator
from django.db.models import Max, Min
from django.http import Http404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html

from executions.admin.backtest import RulesetBacktestView
from executions.admin.dashboard import ExecutionsDashboardView
from executions.admin.pattern_coverage import RulesetPatternCoverageView
from executions.admin.test_case_capture import ExecutionLogTestCaseView
from executions.admin.try_it import RulesetTryItView
from executions.models import ExecutionLog
from rules.choices import Capability
from rules.models import Pattern, Ruleset, TenantQuerySet
from rules.tenant_roles import caller_capabilities, caller_may_anywhere, caller_tenant_ids


class ExecutionLogListQuerySet(TenantQuerySet):
    """The admin's log queryset: the date hierarchy's DISTINCT dates become index probes.

    The periods probed run from the oldest to the newest row of the whole table, two reads of
    the ends of the time index (`executionlog_time`); MIN and MAX of the filtered list would
    scan every row of the user's tenants. Each period is then one EXISTS on the filtered list.
    """

    def _table_ends(self, field_name):
        ends = ExecutionLog.objects.using(self.db).values_list(field_name, flat=True)
        return ends.order_by(field_name).first(), ends.order_by(f"-{field_name}").first()

    def aggregate(self, *args, **kwargs):
        first, last = kwargs.get("first"), kwargs.get("last")
        if (
            not args
            and set(kwargs) == {"first", "last"}
            and (type(first), type(last)) == (Min, Max)
        ):
            # Django's date_hierarchy tag picks its first level (year, month or day) from MIN
            # and MAX of the list; the table's ends pick the same level or a wider one.
            first, last = self._table_ends(first.get_source_expressions()[0].name)
            return {"first": first, "last": last}
        return super().aggregate(*args, **kwargs)

    def datetimes(self, field_name, kind, order="ASC", tzinfo=None, is_dst=None):
        first, last = self._table_ends(field_name)
        if first is None:
            return []
        zone = tzinfo or timezone.get_current_timezone()
        start = _period_start(timezone.localtime(first, zone), kind)
        last = timezone.localtime(last, zone)
        found = []
        while start <= last:
            following = _period_next(start, kind)
            period = {f"{field_name}__gte": start, f"{field_name}__lt": following}
            if self.filter(**period).exists():
                found.append(start)
            start = following
        return found if order == "ASC" else found[::-1]


def _period_start(moment: datetime, kind: str) -> datetime:
    moment = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if kind in ("month", "year"):
        moment = moment.replace(day=1)
    if kind == "year":
        moment = moment.replace(month=1)
    return moment


def _period_next(start: datetime, kind: str) -> datetime:
    if kind == "day":
        following = start + timedelta(days=1)
    elif kind == "month":
        following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    else:
        following = start.replace(year=start.year + 1)
    return following


class NextPagePaginator(Paginator):
    """Counts nothing: fetches one row more than a page to know whether an older page exists.

    `count` is the rows up to the end of the current page (plus one when more follow), which is
    all the changelist needs to draw "newer" and "older" links.
    """

    def __init__(self, object_list, per_page, *, page_number=1, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.page_number = page_number

    @cached_property
    def count(self):
        offset = (self.page_number - 1) * self.per_page
        seen = len(
            self.object_list.values_list("pk", flat=True)[offset : offset + self.per_page + 1]
        )
        return offset + seen


class ChoicesFromAuthoringFilter(admin.SimpleListFilter):
    """Filter logs by a field whose choices come from the authoring tables, not the log.

    DISTINCT over millions of log rows would take seconds; the rulesets and patterns the user
    may see are small.
    """

    source_model = None  # a model with a TenantQuerySet
    source_field = ""
    log_field = ""

    def lookups(self, request, model_admin):
        names = (
            self.source_model.objects.visible_to(request.user)
            .order_by(self.source_field)
            .values_list(self.source_field, flat=True)
            .distinct()
        )
        return [(name, name) for name in names]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{self.log_field: self.value()})
        return queryset


class RulesetNameFilter(ChoicesFromAuthoringFilter):
    title = "ruleset"
    parameter_name = "ruleset"
    source_model, source_field, log_field = Ruleset, "name", "ruleset_name"


class VersionFilter(ChoicesFromAuthoringFilter):
    title = "version"
    parameter_name = "version"
    source_model, source_field, log_field = Ruleset, "version", "ruleset_version"


# A choice of the recommendation filter: successful evaluations that no pattern key matched.
NO_RECOMMENDATION = "__none__"


class RecommendationFilter(ChoicesFromAuthoringFilter):
    title = "action recommendation"
    parameter_name = "recommendation"
    source_model = Pattern
    source_field = log_field = "action_recommendation"

    def lookups(self, request, model_admin):
        return [(NO_RECOMMENDATION, "(no recommendation)"), *super().lookups(request, model_admin)]

    def queryset(self, request, queryset):
        if self.value() == NO_RECOMMENDATION:
            return queryset.filter(success=True, action_recommendation__isnull=True)
        return super().queryset(request, queryset)


def pretty_json(value):
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return format_html('<pre class="json-block">{}</pre>', text)


@admin.register(ExecutionLog)
class ExecutionLogAdmin(admin.ModelAdmin):
    """Read-only, newest first; scoped to the user's tenants like every other admin."""

    list_display = (
        "time",
        "ruleset",
        "pattern_result",
        "action_recommendation",
        "total_points",
        "execution_time",
        "success",
        "source",
        "tenant",
    )
    list_display_links = ("time",)
    list_filter = (RulesetNameFilter, VersionFilter, "success", RecommendationFilter, "source")
    # Exact match only: the correlation id has an index (with the time column), a substring
    # search would scan the hypertable.
    search_fields = ("=correlation_id",)
    search_help_text = "Correlation id (exact), as the application sent it."
    date_hierarchy = "timestamp"
    ordering = ("-timestamp",)
    sortable_by = ("time",)  # sorting by anything but the timestamp sorts the whole table
    show_full_result_count = False
    show_facets = ShowFacets.NEVER
    list_max_show_all = 0  # "show all" would load every row
    list_per_page = 100
    list_select_related = ("tenant",)
    paginator = NextPagePaginator
    actions = None
    fields = (
        "time",
        "execution_id",
        "tenant",
        "ruleset_link",
        "source",
        "caller",
        "request_id",
        "correlation_id",
        "success",
        "error_message",
        "total_points",
        "pattern_result",
        "action_recommendation",
        "execution_time",
        "input_json",
        "output_json",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        queryset = ExecutionLogListQuerySet(
            model=queryset.model, query=queryset.query, using=queryset.db
        )
        match = request.resolver_match
        if match and match.url_name and match.url_name.endswith("_changelist"):
            # The list shows no JSON; a page of documents can be megabytes.
            queryset = queryset.defer("input_data", "output_data")
        # visible_to filters with a list of ids, so the (tenant, timestamp) index serves the list.
        return queryset.visible_to(request.user, Capability.VIEW)

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        try:
            page_number = max(int(request.GET.get(PAGE_VAR, 1)), 1)
        except ValueError:
            page_number = 1
        return self.paginator(
            queryset,
            per_page,
            page_number=page_number,
            orphans=0,
            allow_empty_first_page=allow_empty_first_page,
        )

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        page = changelist.page_num
        changelist.newer_url = changelist.get_query_string({PAGE_VAR: page - 1}) if page > 1 else ""
        changelist.older_url = (
            changelist.get_query_string({PAGE_VAR: page + 1})
            if changelist.paginator.num_pages > page
            else ""
        )
        return changelist

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404  # missing and another tenant's log answer alike
        return obj

    def get_list_display(self, request):
        tenant_ids = caller_tenant_ids(request.user, Capability.VIEW)
        if tenant_ids is not None and len(tenant_ids) == 1:
            return self.list_display[:-1]  # one tenant: the column says nothing
        return self.list_display

    # Columns and detail fields ---------------------------------------------------------------

    @admin.display(description="time", ordering="timestamp")
    def time(self, obj):
        return timezone.localtime(obj.timestamp).strftime("%Y-%m-%d %H:%M:%S")

    @admin.display(description="ruleset")
    def ruleset(self, obj):
        return f"{obj.ruleset_name} {obj.ruleset_version}"

    @admin.display(description="time (ms)", ordering="execution_time_ms")
    def execution_time(self, obj):
        return f"{obj.execution_time_ms:.2f}"

    @admin.display(description="ruleset")
    def ruleset_link(self, obj):
        label = f"{obj.ruleset_name} {obj.ruleset_version}"
        # Logs outlive their rulesets: link only to a version that still exists.
        exists = (
            obj.ruleset_id
            and Ruleset.objects.filter(pk=obj.ruleset_id, tenant_id=obj.tenant_id).exists()
        )
        if not exists:
            return label
        return format_html(
            '<a href="{}">{}</a> · <a href="{}?log={}">try this input again</a>',
            reverse("admin:rules_ruleset_change", args=[obj.ruleset_id]),
            label,
            reverse("admin:executions_executionlog_try_it", args=[obj.ruleset_id]),
            obj.execution_id,
        )

    @admin.display(description="input")
    def input_json(self, obj):
        return pretty_json(obj.input_data)

    @admin.display(description="output")
    def output_json(self, obj):
        return pretty_json(obj.output_data)

    # Permissions: read-only for everyone who may see a tenant's logs ------------------------

    def has_module_permission(self, request):
        return caller_may_anywhere(request.user, Capability.VIEW)

    def has_view_permission(self, request, obj=None):
        if obj is None:
            return self.has_module_permission(request)
        return Capability.VIEW in caller_capabilities(request.user, obj.tenant_id)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        log = self.get_object(request, unquote(object_id))
        context = {
            "save_test_case_url": (
                reverse("admin:executions_executionlog_save_test_case", args=[log.pk])
                if log.success
                and Capability.EDIT in caller_capabilities(request.user, log.tenant_id)
                else None
            ),
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, context)

    # Try-it, backtests, "save as test case" and the dashboard --------------------------------

    def get_urls(self):
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path(
                "try-it/<int:ruleset_id>/",
                view(RulesetTryItView.as_view(admin_site=self.admin_site)),
                name=f"{info}_try_it",
            ),
            path(
                "backtest/<int:ruleset_id>/",
                view(RulesetBacktestView.as_view(admin_site=self.admin_site)),
                name=f"{info}_backtest",
            ),
            path(
                "<path:object_id>/save-as-test-case/",
                view(ExecutionLogTestCaseView.as_view(admin_site=self.admin_site)),
                name=f"{info}_save_test_case",
            ),
            path(
                "pattern-coverage/<int:ruleset_id>/",
                view(RulesetPatternCoverageView.as_view(admin_site=self.admin_site)),
                name=f"{info}_pattern_coverage",
            ),
            path(
                "dashboard/",
                view(ExecutionsDashboardView.as_view(admin_site=self.admin_site)),
                name=f"{info}_dashboard",
            ),
        ] + super().get_urls()
