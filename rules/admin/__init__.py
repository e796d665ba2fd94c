"""Admin for business analysts. Thin: scoping comes from TenantQuerySet and the API's cached role
map, every write from `rules.services`.

Try-it, backtests and the dashboard live in the executions app (it may import rules, not the other
way round); this module links to them by URL name only.
"""

import json

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.db.models import Count, OuterRef, Prefetch, Subquery
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import is_historic

from ruleengine.admin_display import check_row, shown_value, status_badge
from rules.admin.forms import (
    ActionForm,
    ApiClientAddForm,
    ConditionForm,
    MembershipAddForm,
    PatternInlineForm,
    RuleInlineForm,
    RulesetForm,
    TestCaseInlineForm,
)
from rules.change_notifications import change_record
from rules.choices import (
    TRANSITIONS,
    Capability,
    RulesetStatus,
)
from rules.errors import RulesetInvalid, ServiceError, problem_text
from rules.models import (
    Action,
    ApiClient,
    Condition,
    Membership,
    Pattern,
    Rule,
    RuleCondition,
    Ruleset,
    RulesetTestCase,
    Tenant,
)
from rules.services import api_clients, editing, lifecycle, tenancy, test_cases
from rules.services.compilation import ruleset_validation_problems
from rules.tenant_roles import caller_capabilities, caller_may_anywhere, caller_tenant_roles

admin.site.site_header = "Rule engine"
admin.site.site_title = "Rule engine admin"
admin.site.index_title = "Rulesets, catalogs and execution logs"
admin.site.site_url = None  # there is no public site to view

# What each lifecycle button says; the allowed targets come from TRANSITIONS.
TRANSITION_LABELS = {
    RulesetStatus.ACTIVE: "Activate",
    RulesetStatus.INACTIVE: "Deactivate",
    RulesetStatus.DEPRECATED: "Deprecate",
    RulesetStatus.ARCHIVED: "Archive",
}
# Fields every revision touches; a diff that lists them says nothing.
HISTORY_NOISE_FIELDS = ("updated_at", "updated_by", "created_at")
PART_HISTORY_NOISE_FIELDS = (*HISTORY_NOISE_FIELDS, "version", "position")


def visible_tenant_count(user) -> int:
    if user.is_superuser:
        return Tenant.objects.count()
    return len(caller_tenant_roles(user))


def service_error_report(model_admin, request, error: ServiceError, subject: str = "") -> None:
    """A refusal of the service layer as admin messages: the heading, then every problem."""
    prefix = f"{subject}: " if subject else ""
    if isinstance(error, RulesetInvalid):
        model_admin.message_user(request, prefix + str(error).splitlines()[0], messages.ERROR)
        for problem in error.problems:
            model_admin.message_user(request, problem_text(problem), messages.ERROR)
    else:
        model_admin.message_user(request, prefix + str(error), messages.ERROR)


def validation_error_text(error: ValidationError) -> str:
    return "; ".join(error.messages)


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
        if visible_tenant_count(request.user) > 1:
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
        """404 unless the object (or, once deleted, its last revision) is the user's to see."""
        if self.get_queryset(request).filter(pk=object_id).exists():
            return
        history = getattr(self.model, "history", None)
        last = history.filter(pk=object_id).order_by("-history_date").first() if history else None
        if last is None or not self.has_view_permission(request, last.instance):
            raise Http404


class ServiceFormAdminMixin:
    """A refusal of the service layer while saving a form is an admin message, not a 500.

    The admin wraps the view in a transaction, so nothing of a refused save is kept.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceError as error:
            service_error_report(self, request, error)
        except (ValidationError, IntegrityError) as error:
            text = validation_error_text(error) if isinstance(error, ValidationError) else error
            self.message_user(request, f"Not saved: {text}", messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())


# --- Rulesets ------------------------------------------------------------------------------------


class DraftPartInline(admin.TabularInline):
    """Parts of a ruleset are editable only while it is a draft, by its tenant's authors."""

    extra = 0

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if obj is None else 0

    def _editable(self, request, obj):
        if obj is None:
            return caller_may_anywhere(request.user, Capability.EDIT)
        return obj.status == RulesetStatus.DRAFT and Capability.EDIT in caller_capabilities(
            request.user, obj.tenant_id
        )

    def has_add_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_view_permission(self, request, obj=None):
        return True  # the parent ruleset's admin has already scoped `obj`


class RuleInline(DraftPartInline):
    model = Rule
    form = RuleInlineForm
    fields = (*RuleInlineForm.Meta.fields, "catalog_condition_ids")
    ordering = ("priority", "position", "rule_id")
    classes = ("rules-inline",)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch(
                    "condition_links",
                    queryset=RuleCondition.objects.select_related("condition").order_by(
                        "position", "id"
                    ),
                )
            )
        )

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not self._editable(request, obj):
            return (*self.fields[:-1], "catalog_conditions_text")
        return ()

    def get_fields(self, request, obj=None):
        if obj is not None and not self._editable(request, obj):
            return (*self.fields[:-1], "catalog_conditions_text")
        return self.fields

    @admin.display(description="Catalog conditions")
    def catalog_conditions_text(self, rule):
        if not rule.condition_mode:
            return "—"
        ids = ", ".join(link.condition.condition_id for link in rule.condition_links.all())
        return f"{rule.condition_mode} of: {ids}"


class PatternInline(DraftPartInline):
    model = Pattern
    form = PatternInlineForm
    fields = ("pattern_key", "action_recommendation", "action", "description")
    ordering = ("pattern_key",)
    classes = ("patterns-inline",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("action")


class TestCaseInline(DraftPartInline):
    """Inputs and the outcome the version must give for them; run by "Run tests" and activation."""

    model = RulesetTestCase
    form = TestCaseInlineForm
    fields = TestCaseInlineForm.Meta.fields
    read_only_fields = (
        "name",
        "description",
        "input_json",
        "expected_pattern_result",
        "expected_action_recommendation",
        "total_points_text",
        "tolerance_text",
        "matched_rules_text",
    )
    ordering = ("name",)
    classes = ("test-cases-inline",)
    verbose_name = "test case"
    verbose_name_plural = "test cases"

    def get_fields(self, request, obj=None):
        if obj is not None and not self._editable(request, obj):
            return self.read_only_fields
        return self.fields

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not self._editable(request, obj):
            return self.read_only_fields
        return ()

    @admin.display(description="Input")
    def input_json(self, test_case):
        text = json.dumps(test_case.input_data, indent=2, sort_keys=True, ensure_ascii=False)
        return format_html('<pre class="json-block test-case-json">{}</pre>', text)

    @admin.display(description="Total points")
    def total_points_text(self, test_case):
        return shown_value(test_case.expected_total_points)

    @admin.display(description="± tolerance")
    def tolerance_text(self, test_case):
        return shown_value(test_case.total_points_tolerance)

    @admin.display(description="Matched rules")
    def matched_rules_text(self, test_case):
        rules = test_case.expected_matched_rules
        if rules is None:
            return "not checked"
        return ", ".join(rules) or "none"


@admin.register(Ruleset)
class RulesetAdmin(ServiceFormAdminMixin, TenantScopedAdminMixin, SimpleHistoryAdmin):
    form = RulesetForm
    list_display = (
        "name",
        "version",
        "status_badge",
        "tenant",
        "is_default",
        "rule_count",
        "updated_at",
        "updated_by",
        "try_it_link",
    )
    list_display_links = ("name", "version")
    list_filter = ("status", ("tenant", admin.RelatedOnlyFieldListFilter), "is_default")
    search_fields = ("name", "description", "tags")
    list_per_page = 50
    readonly_fields = (
        "status_badge",
        "is_default",
        "revision",
        "created_by",
        "created_at",
        "updated_by",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("tenant", "name", "version", "description", "tags")}),
        (
            "Lifecycle",
            {
                "fields": (
                    ("status_badge", "is_default", "revision"),
                    ("created_by", "created_at"),
                    ("updated_by", "updated_at"),
                )
            },
        ),
        ("Metadata", {"fields": ("metadata",), "classes": ("collapse",)}),
    )
    inlines = (RuleInline, PatternInline, TestCaseInline)
    actions = (
        "activate_selected",
        "deactivate_selected",
        "deprecate_selected",
        "archive_selected",
        "new_version_selected",
    )
    object_history_template = "admin/rules/ruleset/object_history.html"

    class Media:
        js = ("ruleengine/rule_form.js",)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("tenant", "updated_by", "created_by")
            .annotate(rule_total=Count("rules"))
        )

    # Columns --------------------------------------------------------------------------------

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return status_badge(obj.status, obj.get_status_display())

    @admin.display(description="rules", ordering="rule_total")
    def rule_count(self, obj):
        total = getattr(obj, "rule_total", None)
        return obj.rules.count() if total is None else total

    @admin.display(description="")
    def try_it_link(self, obj):
        url = try_it_url(obj.pk)
        return format_html('<a class="try-it-link" href="{}">Try it</a>', url) if url else ""

    # Permissions ----------------------------------------------------------------------------

    def _stored_status(self, obj) -> str:
        # A revision shown by the history pages carries its old status; the stored one decides.
        if is_historic(obj):
            return Ruleset.objects.filter(pk=obj.pk).values_list("status", flat=True).first()
        return obj.status

    def has_change_permission(self, request, obj=None):
        if obj is not None and self._stored_status(obj) != RulesetStatus.DRAFT:
            return False  # published versions render read-only
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        deletable = (RulesetStatus.DRAFT, RulesetStatus.ARCHIVED)
        if obj is not None and self._stored_status(obj) not in deletable:
            return False
        return super().has_delete_permission(request, obj)

    def has_transition_permission(self, request):
        return caller_may_anywhere(request.user, Capability.TRANSITION)

    def has_edit_permission(self, request):
        return caller_may_anywhere(request.user, Capability.EDIT)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return ("tenant", *self.readonly_fields)
        return self.readonly_fields

    def get_fieldsets(self, request, obj=None):
        if obj is None:  # a new ruleset has no lifecycle yet
            return (self.fieldsets[0], self.fieldsets[2])
        return self.fieldsets

    def get_inlines(self, request, obj):
        if obj is None:  # test cases come once there are rules to test
            return [inline for inline in self.inlines if inline is not TestCaseInline]
        return self.inlines

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        # Choices for every row are loaded once: the ruleset's tenant's catalog, or (on a new
        # ruleset whose tenant is not chosen yet) every catalog the user may edit.
        if obj is not None and obj.tenant_id:
            scope = {"tenant_id": obj.tenant_id}
        else:
            scope = {"tenant__in": Tenant.objects.visible_to(request.user, Capability.EDIT)}
        if isinstance(inline, RuleInline):
            conditions = Condition.objects.filter(**scope).select_related("tenant")
            kwargs["form_kwargs"] = {
                "catalog_choices": [(str(c.pk), self._catalog_label(c)) for c in conditions]
            }
        elif isinstance(inline, PatternInline):
            actions = Action.objects.filter(**scope).select_related("tenant")
            kwargs["form_kwargs"] = {"actions": {a.pk: a for a in actions}}
        return kwargs

    @staticmethod
    def _catalog_label(condition) -> str:
        c = condition
        return f"{c.condition_id}: {c.attribute} {c.operator} {c.value}"

    # Writes (all through rules.services) ----------------------------------------------------

    def save_model(self, request, obj, form, change):
        if is_historic(obj):
            # Revert from a history page: copy the revision's editable fields onto the stored
            # draft; its status, default flag and authorship stay as they are now.
            fields = {f: form.cleaned_data[f] for f in editing.RULESET_EDITABLE_FIELDS}
            editing.ruleset_update(
                ruleset=Ruleset.objects.get(pk=obj.pk), actor=request.user, **fields
            )
            return
        if change and not form.has_changed():
            return  # only the rules or patterns changed: no empty revision of the ruleset
        editing.ruleset_save(ruleset=obj, actor=request.user)

    def save_formset(self, request, form, formset, change):
        if formset.model is RulesetTestCase:
            for test_case in formset.save(commit=False):
                test_cases.test_case_save(test_case=test_case, actor=request.user)
            for test_case in formset.deleted_objects:
                test_cases.test_case_delete(test_case=test_case, actor=request.user)
            return
        for part in formset.save(commit=False):
            editing.ruleset_part_save(part=part, actor=request.user)
        for part in formset.deleted_objects:
            editing.ruleset_part_delete(part=part, actor=request.user)
        if formset.model is Rule:
            for rule_form in formset.forms:
                if rule_form in formset.deleted_forms or not rule_form.has_changed():
                    continue
                if "catalog_condition_ids" in rule_form.changed_data:
                    self._catalog_links_save(
                        request, rule_form.instance, rule_form.cleaned_data["catalog_condition_ids"]
                    )

    def _catalog_links_save(self, request, rule, condition_ids) -> None:
        wanted = {int(pk) for pk in condition_ids}
        by_id = {c.pk: c for c in Condition.objects.filter(pk__in=wanted)}
        conditions = [by_id[int(pk)] for pk in condition_ids if int(pk) in by_id]
        editing.rule_catalog_conditions_set(rule=rule, conditions=conditions, actor=request.user)

    def delete_model(self, request, obj):
        editing.ruleset_delete(ruleset=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for ruleset in queryset:
            try:
                editing.ruleset_delete(ruleset=ruleset, actor=request.user)
            except ServiceError as error:
                service_error_report(self, request, error)

    # Lifecycle: buttons on the change form and bulk actions ---------------------------------

    def get_urls(self):
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/transition/<str:target>/",
                view(self.transition_view),
                name=f"{info}_transition",
            ),
            path(
                "<path:object_id>/new-version/",
                view(self.new_version_view),
                name=f"{info}_new_version",
            ),
            path("<path:object_id>/tests/", view(self.tests_view), name=f"{info}_tests"),
        ] + super().get_urls()

    def _change_url(self, ruleset) -> str:
        return reverse("admin:rules_ruleset_change", args=[ruleset.pk])

    def _transition(self, request, ruleset, target) -> bool:
        subject = f"{ruleset.name} {ruleset.version}"
        try:
            done = lifecycle.ruleset_transition(
                ruleset_id=ruleset.pk, target=target, actor=request.user
            )
        except ServiceError as error:
            service_error_report(self, request, error, subject)
            return False
        self.message_user(request, f"{subject} is now {done.status}.", messages.SUCCESS)
        return True

    def transition_view(self, request, object_id, target):
        """GET: what the transition will do (problems, the version it replaces); POST: do it."""
        ruleset = self.get_object(request, unquote(object_id))
        if target not in TRANSITION_LABELS:
            raise Http404
        if Capability.TRANSITION not in caller_capabilities(request.user, ruleset.tenant_id):
            raise PermissionDenied
        if request.method == "POST":
            self._transition(request, ruleset, target)
            return HttpResponseRedirect(self._change_url(ruleset))
        allowed = target in TRANSITIONS.get(ruleset.status, ())
        context = {
            **self.admin_site.each_context(request),
            "title": f"{TRANSITION_LABELS[target]} {ruleset.name} {ruleset.version}?",
            "opts": self.opts,
            "ruleset": ruleset,
            "target": target,
            "label": TRANSITION_LABELS[target],
            "allowed": allowed,
            "allowed_targets": sorted(TRANSITIONS.get(ruleset.status, ())),
            "change_url": self._change_url(ruleset),
        }
        if allowed and target == RulesetStatus.ACTIVE:
            context["problems"] = [problem_text(p) for p in ruleset_validation_problems(ruleset)]
            context["warnings"] = lifecycle.ruleset_activation_warnings(ruleset=ruleset)
            context["replaces"] = (
                Ruleset.objects.filter(
                    tenant_id=ruleset.tenant_id, name=ruleset.name, status=RulesetStatus.ACTIVE
                )
                .exclude(pk=ruleset.pk)
                .first()
            )
        return TemplateResponse(request, "rules/ruleset_transition.html", context)

    def tests_view(self, request, object_id):
        """Run the version's test cases: a pass/fail table and the differences of the failures.

        Anyone who may view the version may run them: it writes nothing.
        """
        ruleset = self.get_object(request, unquote(object_id))
        report = test_cases.ruleset_tests_run(ruleset=ruleset)
        cases = {
            case.pk: case for case in RulesetTestCase.objects.filter(ruleset=ruleset).order_by()
        }
        # Failures first: they are what the page is for.
        results = [
            {
                "result": result,
                "test_case": cases.get(result.test_case_id),
                "input": json.dumps(
                    getattr(cases.get(result.test_case_id), "input_data", {}),
                    indent=2,
                    sort_keys=True,
                    ensure_ascii=False,
                ),
                "checks": [check_row(check) for check in result.checks],
            }
            for result in sorted(report.results, key=lambda r: (r.passed, r.name))
        ]
        capabilities = caller_capabilities(request.user, ruleset.tenant_id)
        may_activate = (
            report.passed
            and Capability.TRANSITION in capabilities
            and RulesetStatus.ACTIVE in TRANSITIONS.get(ruleset.status, ())
        )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Test cases of {ruleset.name} {ruleset.version}",
            "opts": self.opts,
            "ruleset": ruleset,
            "report": report,
            "results": results,
            "passed_count": report.total - len(report.failures),
            "compile_problems": [problem_text(p) for p in report.compile_problems],
            "change_url": self._change_url(ruleset),
            "draft": ruleset.status == RulesetStatus.DRAFT,
            "may_edit": Capability.EDIT in capabilities,
            "activate_url": (
                reverse("admin:rules_ruleset_transition", args=[ruleset.pk, RulesetStatus.ACTIVE])
                if may_activate
                else None
            ),
        }
        return TemplateResponse(request, "rules/ruleset_tests.html", context)

    def new_version_view(self, request, object_id):
        ruleset = self.get_object(request, unquote(object_id))
        if request.method != "POST":
            return HttpResponseRedirect(self._change_url(ruleset))
        try:
            draft = lifecycle.ruleset_new_version(ruleset_id=ruleset.pk, actor=request.user)
        except ServiceError as error:
            service_error_report(self, request, error, f"{ruleset.name} {ruleset.version}")
            return HttpResponseRedirect(self._change_url(ruleset))
        self.message_user(
            request,
            f"Created draft {draft.name} {draft.version} from version {ruleset.version}.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(self._change_url(draft))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        ruleset = self.get_object(request, unquote(object_id))
        capabilities = caller_capabilities(request.user, ruleset.tenant_id)
        transitions = []
        if Capability.TRANSITION in capabilities:
            transitions = [
                {
                    "target": target,
                    "label": TRANSITION_LABELS[target],
                    "url": reverse("admin:rules_ruleset_transition", args=[ruleset.pk, target]),
                }
                for target in TRANSITION_LABELS
                if target in TRANSITIONS.get(ruleset.status, ())
            ]
        context = {
            "ruleset_status": status_badge(ruleset.status, ruleset.get_status_display()),
            "read_only_version": ruleset.status != RulesetStatus.DRAFT,
            "transitions": transitions,
            "try_it_url": try_it_url(ruleset.pk),
            "tests_url": reverse("admin:rules_ruleset_tests", args=[ruleset.pk]),
            "backtest_url": executions_page_url("backtest", ruleset.pk),
            "new_version_url": (
                reverse("admin:rules_ruleset_new_version", args=[ruleset.pk])
                if Capability.EDIT in capabilities
                else None
            ),
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, context)

    def _run_transition(self, request, queryset, target):
        for ruleset in queryset:
            self._transition(request, ruleset, target)

    @admin.action(description="Activate selected versions", permissions=["transition"])
    def activate_selected(self, request, queryset):
        self._run_transition(request, queryset, RulesetStatus.ACTIVE)

    @admin.action(description="Deactivate selected versions", permissions=["transition"])
    def deactivate_selected(self, request, queryset):
        self._run_transition(request, queryset, RulesetStatus.INACTIVE)

    @admin.action(description="Deprecate selected versions", permissions=["transition"])
    def deprecate_selected(self, request, queryset):
        self._run_transition(request, queryset, RulesetStatus.DEPRECATED)

    @admin.action(description="Archive selected versions", permissions=["transition"])
    def archive_selected(self, request, queryset):
        self._run_transition(request, queryset, RulesetStatus.ARCHIVED)

    @admin.action(description="Create a new draft version of each selected", permissions=["edit"])
    def new_version_selected(self, request, queryset):
        for ruleset in queryset:
            try:
                draft = lifecycle.ruleset_new_version(ruleset_id=ruleset.pk, actor=request.user)
            except ServiceError as error:
                service_error_report(self, request, error, f"{ruleset.name} {ruleset.version}")
                continue
            self.message_user(
                request,
                format_html(
                    'Created draft <a href="{}">{} {}</a> from version {}.',
                    self._change_url(draft),
                    draft.name,
                    draft.version,
                    ruleset.version,
                ),
                messages.SUCCESS,
            )

    # History: field-by-field diffs of the ruleset and of its parts; revert for drafts -------

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        previous = None
        for current in historical_records:
            if previous is not None:
                delta = previous.diff_against(
                    current,
                    excluded_fields=HISTORY_NOISE_FIELDS,
                    foreign_keys_are_objs=foreign_keys_are_objs,
                )
                helper = self.get_historical_record_context_helper(request, previous)
                previous.history_delta_changes = helper.context_for_delta_changes(delta)
            previous = current

    def history_view(self, request, object_id, extra_context=None):
        self._history_object_check(request, unquote(object_id))
        context = {
            "part_changes": ruleset_part_changes(unquote(object_id)),
            **(extra_context or {}),
        }
        return super().history_view(request, object_id, context)

    def revert_disabled(self, request, obj=None):
        if obj is not None and self._stored_status(obj) != RulesetStatus.DRAFT:
            return True
        return super().revert_disabled(request, obj)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._history_object_check(request, unquote(object_id))
        try:
            return super().history_form_view(request, object_id, version_id, extra_context)
        except ServiceError as error:
            service_error_report(self, request, error)
        return HttpResponseRedirect(reverse("admin:rules_ruleset_history", args=[object_id]))


def executions_page_url(page: str, ruleset_id: int) -> str | None:
    """A page of the executions app for a ruleset version (named URL; no import of the app)."""
    try:
        return reverse(f"admin:executions_executionlog_{page}", args=[ruleset_id])
    except NoReverseMatch:
        return None


def try_it_url(ruleset_id: int) -> str | None:
    return executions_page_url("try_it", ruleset_id)


# How the tests page names the checked fields of an evaluation.


def ruleset_part_changes(ruleset_id, limit: int = 100) -> list[dict]:
    """The latest changes of a ruleset's rules, patterns, catalog links and test cases, newest
    first, each with its field-by-field diff against the part's previous revision."""
    rule_names = dict(Rule.history.filter(ruleset_id=ruleset_id).values_list("id", "rule_id"))
    sources = (
        (Rule, "rule", {"ruleset_id": ruleset_id}),
        (Pattern, "pattern", {"ruleset_id": ruleset_id}),
        (RuleCondition, "catalog link", {"rule_id__in": list(rule_names)}),
        (RulesetTestCase, "test case", {"ruleset_id": ruleset_id}),
    )
    changes = []
    for model, kind, lookup in sources:
        latest = list(
            model.history.filter(**lookup)
            .select_related("history_user")
            .order_by("-history_date", "-history_id")[:limit]
        )
        # Every revision of those parts, once, to diff each change against the one before it.
        revisions: dict[int, list] = {}
        for record in model.history.filter(id__in={r.id for r in latest}).order_by(
            "history_date", "history_id"
        ):
            revisions.setdefault(record.id, []).append(record.history_id)
        by_history_id = {r.history_id: r for r in latest}
        previous_ids = {
            later: earlier
            for history_ids in revisions.values()
            for earlier, later in zip(history_ids, history_ids[1:], strict=False)
        }
        earlier_records = {
            r.history_id: r
            for r in model.history.filter(
                history_id__in=[previous_ids[h] for h in by_history_id if h in previous_ids]
            )
        }
        for record in latest:
            diff = []
            before = earlier_records.get(previous_ids.get(record.history_id))
            if before is not None and record.history_type == "~":
                delta = record.diff_against(before, excluded_fields=PART_HISTORY_NOISE_FIELDS)
                diff = [(change.field, change.old, change.new) for change in delta.changes]
            changes.append(
                {
                    "kind": kind,
                    "record": record,
                    "label": _part_label(model, record, rule_names),
                    "diff": diff,
                }
            )
    changes.sort(key=lambda change: change["record"].history_date, reverse=True)
    return changes[:limit]


def _part_label(model, record, rule_names) -> str:
    if model is Rule:
        return f"{record.rule_id} {record.rule_name}".strip()
    if model is Pattern:
        return f"{record.pattern_key} → {record.action_recommendation}"
    if model is RulesetTestCase:
        return record.name
    condition = Condition.objects.filter(pk=record.condition_id).values_list(
        "condition_id", flat=True
    )
    return f"{rule_names.get(record.rule_id, record.rule_id)} uses {condition.first() or '?'}"


# --- Catalogs ------------------------------------------------------------------------------------


class CatalogAdmin(ServiceFormAdminMixin, TenantScopedAdminMixin, SimpleHistoryAdmin):
    """Conditions and actions: read-only once a published version uses them."""

    usage_lookup = ""  # the relation counted for the "used in" column

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

    edit_fields: tuple = ()

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

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._history_object_check(request, unquote(object_id))
        try:
            return super().history_form_view(request, object_id, version_id, extra_context)
        except ServiceError as error:
            service_error_report(self, request, error)
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        return HttpResponseRedirect(reverse(f"admin:{info}_history", args=[object_id]))


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
    edit_fields = (
        "tenant",
        "condition_id",
        "name",
        "description",
        "attribute",
        "operator",
        "value",
        "status",
        "tags",
        "metadata",
    )

    class Media:
        js = ("ruleengine/rule_form.js",)


@admin.register(Action)
class ActionAdmin(CatalogAdmin):
    form = ActionForm
    usage_lookup = "patterns__ruleset"
    list_display = ("action_id", "name", "action_type", "status", "used_in", "tenant")
    list_filter = ("status", "action_type", ("tenant", admin.RelatedOnlyFieldListFilter))
    search_fields = ("action_id", "name", "action_type", "description")
    edit_fields = (
        "tenant",
        "action_id",
        "name",
        "description",
        "action_type",
        "configuration",
        "status",
        "tags",
        "metadata",
    )


# --- Tenants, members and API clients ------------------------------------------------------------


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    """Superusers only: tenants are created by operators."""

    list_display = ("slug", "name", "active", "created_at")
    search_fields = ("slug", "name")

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404  # another tenant is not found, like every other tenant's object
        return obj

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    has_add_permission = has_change_permission = has_delete_permission = has_view_permission

    def get_readonly_fields(self, request, obj=None):
        return ("slug",) if obj is not None else ()

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()
            change_record()
            return
        tenant, _ = tenancy.tenant_create(slug=obj.slug, name=obj.name)
        obj.pk = tenant.pk


class MemberAdminMixin(TenantScopedAdminMixin):
    """Members and API clients are managed by the tenant's admins."""

    view_capability = Capability.MANAGE_MEMBERS
    write_capability = Capability.MANAGE_MEMBERS


@admin.register(Membership)
class MembershipAdmin(ServiceFormAdminMixin, MemberAdminMixin, admin.ModelAdmin):
    list_display = ("user", "tenant", "role", "created_at")
    list_filter = ("role", ("tenant", admin.RelatedOnlyFieldListFilter))
    search_fields = ("user__username", "user__email")
    list_select_related = ("user", "tenant")

    def get_queryset(self, request):
        # API clients' accounts have their own page; their memberships are not edited here.
        return super().get_queryset(request).filter(user__api_client__isnull=True)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = MembershipAddForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("tenant", "username", "password", "role")
        return ("user", "tenant", "role", "created_at")

    def get_readonly_fields(self, request, obj=None):
        return ("user", "tenant", "created_at") if obj is not None else ()

    def save_model(self, request, obj, form, change):
        if change:
            username, password = obj.user.get_username(), None
        else:
            username, password = form.cleaned_data["username"], form.cleaned_data["password"]
        membership, _ = tenancy.member_add(
            username=username, tenant=obj.tenant, role=obj.role, password=password or None
        )
        obj.pk, obj.user = membership.pk, membership.user

    def delete_model(self, request, obj):
        obj.delete()
        change_record()  # cached role maps of this process forget the member now

    def delete_queryset(self, request, queryset):
        queryset.delete()
        change_record()


@admin.register(ApiClient)
class ApiClientAdmin(ServiceFormAdminMixin, MemberAdminMixin, admin.ModelAdmin):
    """Service accounts of applications: create (the token is shown once), rotate, revoke."""

    form = ApiClientAddForm
    list_display = ("name", "tenant", "role", "state", "created_at", "created_by")
    list_filter = (("tenant", admin.RelatedOnlyFieldListFilter),)
    search_fields = ("name",)
    actions = ("revoke_selected", "rotate_selected")

    def get_queryset(self, request):
        role = Membership.objects.filter(user=OuterRef("user"), tenant=OuterRef("tenant"))
        return (
            super()
            .get_queryset(request)
            .select_related("tenant", "created_by")
            .annotate(role_name=Subquery(role.values("role")[:1]))
        )

    @admin.display(description="role")
    def role(self, obj):
        return getattr(obj, "role_name", "")

    @admin.display(description="state", ordering="revoked_at")
    def state(self, obj):
        if obj.revoked_at:
            return status_badge("revoked", f"revoked {obj.revoked_at:%Y-%m-%d}")
        return status_badge("active", "active")

    def has_change_permission(self, request, obj=None):
        return False  # nothing to edit: revoke, or rotate the token

    def has_delete_permission(self, request, obj=None):
        return False  # revoked accounts stay, so logs keep naming their caller

    def has_manage_permission(self, request):
        return caller_may_anywhere(request.user, Capability.MANAGE_MEMBERS)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("tenant", "name", "role", "expires_days")
        return ("name", "tenant", "role", "state", "created_at", "created_by")

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj) if obj is not None else ()

    def save_model(self, request, obj, form, change):
        client, token = api_clients.api_client_create(
            tenant=obj.tenant,
            name=obj.name,
            role=form.cleaned_data["role"],
            actor=request.user,
            expires_days=form.cleaned_data.get("expires_days"),
        )
        obj.pk, obj.user, obj.created_at = client.pk, client.user, client.created_at
        self._token_message(request, client, token)

    def _token_message(self, request, client, token):
        self.message_user(
            request,
            format_html(
                'Token of {}: <code class="api-token">{}</code> — copy it now, it is not shown '
                "again.",
                client.name,
                token,
            ),
            messages.WARNING,
        )

    @admin.action(description="Revoke selected API clients", permissions=["manage"])
    def revoke_selected(self, request, queryset):
        for client in queryset.select_related("user", "tenant"):
            try:
                api_clients.api_client_revoke(client=client, actor=request.user)
            except ServiceError as error:
                service_error_report(self, request, error, client.name)
                continue
            self.message_user(request, f"{client.name} is revoked; its tokens no longer work.")

    @admin.action(description="Replace the token of selected API clients", permissions=["manage"])
    def rotate_selected(self, request, queryset):
        for client in queryset.select_related("user", "tenant"):
            try:
                token = api_clients.api_client_token_rotate(client=client, actor=request.user)
            except ServiceError as error:
                service_error_report(self, request, error, client.name)
                continue
            self._token_message(request, client, token)
