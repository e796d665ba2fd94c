"""Ruleset versions and their parts (rules, patterns, test cases) on one change form.

Lifecycle, test runs and new versions are in `ruleset_pages`, history in `history`; every write
goes through `rules.services`.
"""

from django.contrib import admin
from django.db.models import Count, Prefetch
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import is_historic, to_historic

from ruleengine.admin_display import json_block, shown_value, status_badge
from rules.admin.attribute_widgets import attribute_catalog_choices
from rules.admin.decision_tables import DecisionTablesAdminMixin
from rules.admin.forms import PatternInlineForm, RuleInlineForm, RulesetForm, TestCaseInlineForm
from rules.admin.history import RulesetHistoryAdminMixin, ruleset_status_now
from rules.admin.ruleset_pages import RulesetPagesMixin, try_it_url
from rules.admin.ruleset_parts import INLINE_PART_LIMIT, pattern_rewrite_report
from rules.admin.ruleset_transfer import RulesetTransferMixin
from rules.admin.service_errors import ServiceFormAdminMixin, service_error_report
from rules.admin.tenancy import DraftPartInline, TenantScopedAdminMixin
from rules.choices import Capability, RulesetStatus
from rules.errors import ServiceError
from rules.models import Action, Condition, Pattern, Rule, RuleCondition, Ruleset, RulesetTestCase
from rules.selectors.versions import ruleset_part_counts
from rules.services import editing, test_cases, version_revert
from rules.tenant_roles import caller_may_anywhere


class RuleInline(DraftPartInline):
    model = Rule
    form = RuleInlineForm
    fields = (*RuleInlineForm.Meta.fields, "catalog_condition_ids")
    ordering = ("priority", "position", "rule_id")
    classes = ("rules-inline",)

    def get_queryset(self, request):
        links = RuleCondition.objects.select_related("condition").order_by("position", "id")
        return (
            super()
            .get_queryset(request)
            .prefetch_related(Prefetch("condition_links", queryset=links))
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
        "expected_outputs",
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
        return json_block(test_case.input_data, "test-case-json")

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
class RulesetAdmin(
    DecisionTablesAdminMixin,
    RulesetTransferMixin,
    RulesetPagesMixin,
    RulesetHistoryAdminMixin,
    ServiceFormAdminMixin,
    TenantScopedAdminMixin,
    SimpleHistoryAdmin,
):
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
        "kind",
        "is_default",
        "revision",
        "created_by_name",
        "created_at",
        "updated_by_name",
        "updated_at",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "tenant",
                    "name",
                    "version",
                    "description",
                    "tags",
                    "semantics",
                    "default_recommendation",
                    "input_validation",
                )
            },
        ),
        (
            "Lifecycle",
            {
                "fields": (
                    ("status_badge", "kind", "is_default", "revision"),
                    ("created_by_name", "created_at"),
                    ("updated_by_name", "updated_at"),
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

    # Permissions and the shape of the form --------------------------------------------------

    def has_change_permission(self, request, obj=None):
        if obj is not None and ruleset_status_now(obj) != RulesetStatus.DRAFT:
            return False  # published versions render read-only
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        deletable = (RulesetStatus.DRAFT, RulesetStatus.ARCHIVED)
        if obj is not None and ruleset_status_now(obj) not in deletable:
            return False
        return super().has_delete_permission(request, obj)

    def has_transition_permission(self, request):
        return caller_may_anywhere(request.user, Capability.TRANSITION)

    def has_edit_permission(self, request):
        return caller_may_anywhere(request.user, Capability.EDIT)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return ("tenant_name", *self.readonly_fields)
        return self.readonly_fields

    def get_fieldsets(self, request, obj=None):
        if obj is None:  # a new ruleset has no lifecycle yet
            return (self.fieldsets[0], self.fieldsets[2])
        # Plain text, not links: the tenant and user pages are for tenant admins and operators,
        # and answered a bare 403 to the members who followed them.
        name, options = self.fieldsets[0]
        fields = tuple("tenant_name" if f == "tenant" else f for f in options["fields"])
        return ((name, {**options, "fields": fields}), *self.fieldsets[1:])

    @admin.display(description="tenant")
    def tenant_name(self, obj):
        return str(obj.tenant)

    @admin.display(description="created by")
    def created_by_name(self, obj):
        return str(obj.created_by) if obj.created_by_id else "—"

    @admin.display(description="updated by")
    def updated_by_name(self, obj):
        return str(obj.updated_by) if obj.updated_by_id else "—"

    def get_inlines(self, request, obj):
        if obj is None:  # test cases come once there are rules to test
            return [inline for inline in self.inlines if inline is not TestCaseInline]
        # A large version's parts are edited in their own lists (ruleset_parts), one page or
        # one row at a time: the form never posts a thousand rules.
        counts = ruleset_part_counts(obj)
        return [
            inline
            for inline in self.inlines
            if counts[inline.model._meta.model_name] <= INLINE_PART_LIMIT
        ]

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        # Choices for every row are loaded once: the ruleset's tenant's catalog, or (on a new
        # ruleset whose tenant is not chosen yet) every catalog the user may edit. The ruleset
        # itself is already scoped, so its tenant's catalog is the user's to see.
        if obj is not None and obj.tenant_id:
            scope = {"capability": Capability.VIEW, "tenant": obj.tenant}
        else:
            scope = {"capability": Capability.EDIT}
        if isinstance(inline, RuleInline):
            conditions = Condition.objects.visible_to(request.user, **scope)
            kwargs["form_kwargs"] = {
                "catalog_choices": [
                    (str(c.pk), f"{c.condition_id}: {c.attribute} {c.operator} {c.value}")
                    for c in conditions.select_related("tenant")
                ],
                "attribute_catalog": attribute_catalog_choices(getattr(obj, "tenant_id", None)),
            }
        elif isinstance(inline, PatternInline):
            actions = Action.objects.visible_to(request.user, **scope).select_related("tenant")
            kwargs["form_kwargs"] = {"actions": {a.pk: a for a in actions}}
        return kwargs

    # Writes (all through rules.services) ----------------------------------------------------

    def save_model(self, request, obj, form, change):
        if is_historic(obj):
            # Revert from a history page: the whole version (its fields, rules, catalog links,
            # patterns, test cases) as it was at that entry, as one history entry. Its status,
            # default flag and authorship stay as they are now.
            version_revert.ruleset_revert(
                ruleset_id=obj.pk, history_id=to_historic(obj).history_id, actor=request.user
            )
            return
        if change and not form.has_changed():
            return  # only the rules or patterns changed: no empty revision of the ruleset
        editing.ruleset_save(ruleset=obj, actor=request.user)

    def save_formset(self, request, form, formset, change):
        if formset.model is RulesetTestCase:
            changed = formset.save(commit=False)
            _rewritten_values_keep(request, formset, changed, "expected_pattern_result")
            for test_case in changed:
                test_cases.test_case_save(test_case=test_case, actor=request.user)
            for test_case in formset.deleted_objects:
                test_cases.test_case_delete(test_case=test_case, actor=request.user)
            return
        changed = formset.save(commit=False)
        if formset.model is Pattern:
            _rewritten_values_keep(request, formset, changed, "pattern_key")
        for part in changed:
            editing.ruleset_part_save(part=part, actor=request.user)
            pattern_rewrite_report(self, request, part)
        for part in formset.deleted_objects:
            editing.ruleset_part_delete(part=part, actor=request.user)
            pattern_rewrite_report(self, request, part)
        if formset.model is Rule:
            for rule_form in formset.forms:
                if rule_form in formset.deleted_forms or not rule_form.has_changed():
                    continue
                if "catalog_condition_ids" in rule_form.changed_data:
                    self._catalog_links_save(
                        request, rule_form.instance, rule_form.cleaned_data["catalog_condition_ids"]
                    )

    def _catalog_links_save(self, request, rule, condition_ids) -> None:
        chosen = Condition.objects.visible_to(request.user, Capability.EDIT).filter(
            pk__in={int(pk) for pk in condition_ids}
        )
        by_id = {c.pk: c for c in chosen}
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


def _rewritten_values_keep(request, formset, changed, field: str) -> None:
    """A rule saved earlier in this post rewrote the version's keys and expectations
    (pattern_rewrite): a row the analyst changed in another field keeps the rewritten `field`,
    not the value its form was drawn with; a value they typed themselves wins."""
    if not getattr(request, "pattern_rewritten", False):
        return
    drawn = {f.instance.pk for f in formset.forms if f.instance.pk and field not in f.changed_data}
    current = dict(formset.model.objects.filter(pk__in=drawn).values_list("pk", field))
    for part in changed:
        if part.pk in current:
            setattr(part, field, current[part.pk])
