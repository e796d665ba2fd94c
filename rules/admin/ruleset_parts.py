"""Rules, patterns and test cases of one version as changelists of their own, for rulesets of any
size: search, filters, `list_editable` one page at a time and bulk actions, or a change form that
saves one row. The ruleset's change form embeds them as inlines only while they are few
(INLINE_PART_LIMIT), so a 1,000-rule draft opens fast and editing one rule posts only that rule.

Every write goes through `rules.services`; `?ruleset=<id>` scopes a list to one version.
"""

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.html import format_html

from rules.admin.attribute_widgets import attribute_catalog_choices
from rules.admin.forms import PatternInlineForm, RuleInlineForm, TestCaseInlineForm
from rules.admin.service_errors import ServiceFormAdminMixin, service_error_report
from rules.admin.tenancy import TenantScopedAdminMixin
from rules.choices import Capability, ItemStatus, RulesetStatus
from rules.errors import ServiceError
from rules.models import Action, Condition, Pattern, Rule, Ruleset, RulesetTestCase
from rules.services import editing, test_cases
from rules.services.validation import ruleset_validation_report_cached

# Above this many rules (or patterns, or test cases) a version's change form links to the part's
# own list instead of rendering every row as an inline form.
INLINE_PART_LIMIT = 50

RULESET_PARAMETER = "ruleset"


def part_list_url(model, ruleset_id: int) -> str:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?{RULESET_PARAMETER}={ruleset_id}"


def validation_panel(ruleset: Ruleset | None):
    """The draft's validation panel (services/validation.py), or None off a draft. Lazy: only a
    page that renders it pays for it, not a list's POST that redirects."""
    if ruleset is None or ruleset.status != RulesetStatus.DRAFT:
        return None
    return SimpleLazyObject(lambda: ruleset_validation_report_cached(ruleset))


def pattern_rewrite_report(model_admin, request, part) -> None:
    """Tell the analyst that a rule edit rewrote the version's keys and test expectations
    (services/pattern_rewrite.py); a warning when keys collapsed."""
    report = getattr(part, "pattern_rewrite", None)
    if report is not None:
        # Later formsets of the same save must not write back the values they were drawn with.
        request.pattern_rewritten = True
        level = messages.WARNING if report.collapsed else messages.INFO
        model_admin.message_user(request, str(report), level)


class VersionFilter(admin.SimpleListFilter):
    """The version a list is scoped to (`?ruleset=<id>`): the editable drafts are offered."""

    title = "version"
    parameter_name = RULESET_PARAMETER

    def lookups(self, request, model_admin):
        chosen = self.value()
        versions = Ruleset.objects.visible_to(request.user, Capability.VIEW)
        shown = versions.filter(status=RulesetStatus.DRAFT).order_by("name", "version")[:30]
        choices = [(str(r.pk), f"{r.name} {r.version}") for r in shown]
        if chosen and chosen not in {pk for pk, _ in choices}:
            extra = versions.filter(pk=chosen).first() if chosen.isdigit() else None
            if extra is not None:
                choices.append((chosen, f"{extra.name} {extra.version} ({extra.status})"))
        return choices

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(ruleset_id=int(value))
        return queryset


class RulesetPartAdmin(ServiceFormAdminMixin, TenantScopedAdminMixin, admin.ModelAdmin):
    """Shared shape: scoped to the user's tenants, editable only in drafts, saved by services."""

    list_per_page = 50
    list_select_related = ("ruleset",)
    # Both add the draft's validation panel (one include shared with the version's form).
    change_list_template = "admin/rules/ruleset_part_change_list.html"
    change_form_template = "admin/rules/ruleset_part_change_form.html"

    def object_tenant_id(self, obj) -> int:
        return obj.ruleset.tenant_id

    def _editable(self, request, ruleset) -> bool:
        return editing.ruleset_editable_by(ruleset, request.user)

    def has_change_permission(self, request, obj=None):
        if obj is not None:
            return self._editable(request, obj.ruleset)
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None:
            return self._editable(request, obj.ruleset)
        return super().has_delete_permission(request, obj)

    def scoped_ruleset(self, request) -> Ruleset | None:
        value = request.GET.get(RULESET_PARAMETER, "")
        if not value.isdigit():
            return None
        return Ruleset.objects.visible_to(request.user, Capability.VIEW).filter(pk=value).first()

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        ruleset = self.scoped_ruleset(request)
        # Rows are editable in the list only when it shows one draft the user may edit.
        if ruleset is None or not self._editable(request, ruleset):
            changelist.list_editable = ()
            changelist.formset = None
        return changelist

    def changelist_view(self, request, extra_context=None):
        ruleset = self.scoped_ruleset(request)
        context = {
            "scoped_ruleset": ruleset,
            "validation": validation_panel(ruleset),
            **(extra_context or {}),
        }
        if ruleset is not None:
            context["title"] = f"{self.opts.verbose_name_plural.capitalize()} of {ruleset}"
        return super().changelist_view(request, context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        ruleset = obj.ruleset if obj is not None else self.scoped_ruleset(request)
        context.setdefault("validation", validation_panel(ruleset))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        ruleset = self.scoped_ruleset(request)
        if ruleset is not None:
            initial["ruleset"] = ruleset.pk
        return initial

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "ruleset":
            kwargs["queryset"] = Ruleset.objects.visible_to(request.user, Capability.EDIT).filter(
                status=RulesetStatus.DRAFT
            )
            return db_field.formfield(**kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return ("ruleset",) if obj is not None else ()

    @admin.display(description="version", ordering="ruleset__name")
    def version_link(self, part):
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:rules_ruleset_change", args=[part.ruleset_id]),
            part.ruleset,
        )

    def response_post_save_change(self, request, obj):
        return self._back_to_list(request, obj) or super().response_post_save_change(request, obj)

    def response_post_save_add(self, request, obj):
        return self._back_to_list(request, obj) or super().response_post_save_add(request, obj)

    def _back_to_list(self, request, obj):
        if "_continue" in request.POST or "_addanother" in request.POST:
            return None
        return HttpResponseRedirect(part_list_url(self.model, obj.ruleset_id))

    # Writes ---------------------------------------------------------------------------------

    def save_model(self, request, obj, form, change):
        editing.ruleset_part_save(part=obj, actor=request.user)
        pattern_rewrite_report(self, request, obj)

    def delete_model(self, request, obj):
        editing.ruleset_part_delete(part=obj, actor=request.user)
        pattern_rewrite_report(self, request, obj)

    def delete_queryset(self, request, queryset):
        for part in queryset.select_related("ruleset"):
            try:
                self.delete_model(request, part)
            except ServiceError as error:
                service_error_report(self, request, error, str(part))


class RuleListForm(RuleInlineForm):
    """A row of the rules list: the inline form with the message, without catalog links (those
    are edited on the rule's own form)."""

    class Meta(RuleInlineForm.Meta):
        fields = (*RuleInlineForm.Meta.fields, "message")


class RuleChangelistForm(RuleListForm):
    """A row of the rules list: catalog links stay as they are (edited on the rule's form)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["catalog_condition_ids"]


@admin.register(Rule)
class RuleAdmin(RulesetPartAdmin):
    form = RuleListForm
    list_editable = (
        "rule_name",
        "attribute",
        "operator",
        "constant",
        "weight",
        "rule_point",
        "priority",
        "action_result",
        "status",
    )
    list_display = ("rule_id", *list_editable, "version_link")
    list_display_links = ("rule_id",)
    list_filter = (VersionFilter, "status", "operator")
    search_fields = ("rule_id", "rule_name", "attribute", "constant", "message")
    ordering = ("ruleset", "priority", "position", "rule_id")
    actions = ("activate_selected", "deactivate_selected", "delete_selected")

    class Media:
        js = ("ruleengine/rule_form.js",)

    def get_fields(self, request, obj=None):
        return ["ruleset", *RuleListForm.Meta.fields, "catalog_condition_ids"]

    def get_changelist_form(self, request, **kwargs):
        ruleset = self.scoped_ruleset(request)
        catalog = attribute_catalog_choices(ruleset.tenant_id if ruleset is not None else None)

        class RuleRowForm(RuleChangelistForm):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, attribute_catalog=catalog, **kwargs)

        return RuleRowForm

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        scope = {"tenant_id": obj.ruleset.tenant_id} if obj is not None else {}
        conditions = Condition.objects.visible_to(request.user, Capability.VIEW).filter(**scope)
        choices = [
            (str(c.pk), f"{c.condition_id}: {c.attribute} {c.operator} {c.value}")
            for c in conditions
        ]

        ruleset = obj.ruleset if obj is not None else self.scoped_ruleset(request)
        catalog = attribute_catalog_choices(ruleset.tenant_id if ruleset is not None else None)

        class RuleForm(form):
            def __init__(self, *args, **kwargs):
                super().__init__(
                    *args, catalog_choices=choices, attribute_catalog=catalog, **kwargs
                )

        return RuleForm

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if "catalog_condition_ids" in form.changed_data:
            wanted = [int(pk) for pk in form.cleaned_data["catalog_condition_ids"]]
            chosen = Condition.objects.visible_to(request.user, Capability.EDIT).in_bulk(wanted)
            editing.rule_catalog_conditions_set(
                rule=obj,
                conditions=[chosen[pk] for pk in wanted if pk in chosen],
                actor=request.user,
            )

    def _status_set(self, request, queryset, status):
        changed = 0
        for rule in queryset.select_related("ruleset"):
            if rule.status == status:
                continue
            rule.status = status
            try:
                editing.ruleset_part_save(part=rule, actor=request.user)
                pattern_rewrite_report(self, request, rule)
            except ServiceError as error:
                service_error_report(self, request, error, rule.rule_id)
                continue
            changed += 1
        self.message_user(request, f"{changed} rule(s) now {status}.", messages.SUCCESS)

    @admin.action(description="Set selected rules active", permissions=["change"])
    def activate_selected(self, request, queryset):
        self._status_set(request, queryset, ItemStatus.ACTIVE)

    @admin.action(description="Set selected rules inactive", permissions=["change"])
    def deactivate_selected(self, request, queryset):
        self._status_set(request, queryset, ItemStatus.INACTIVE)


@admin.register(Pattern)
class PatternAdmin(RulesetPartAdmin):
    form = PatternInlineForm
    list_display = ("pattern_key", "action_recommendation", "description", "version_link")
    list_display_links = ("pattern_key",)
    list_editable = ("action_recommendation", "description")
    list_filter = (VersionFilter,)
    search_fields = ("pattern_key", "action_recommendation", "description")
    ordering = ("ruleset", "pattern_key")
    actions = ("delete_selected",)

    def get_fields(self, request, obj=None):
        return ["ruleset", *PatternInlineForm.Meta.fields]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        tenant_id = obj.ruleset.tenant_id if obj is not None else None
        scope = {"tenant_id": tenant_id} if tenant_id else {}
        actions = {
            a.pk: a
            for a in Action.objects.visible_to(request.user, Capability.VIEW)
            .filter(**scope)
            .select_related("tenant")
        }

        class PatternForm(form):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, actions=actions, **kwargs)

        return PatternForm


@admin.register(RulesetTestCase)
class TestCaseAdmin(RulesetPartAdmin):
    __test__ = False  # not a pytest class, despite the name

    form = TestCaseInlineForm
    list_display = (
        "name",
        "expected_pattern_result",
        "expected_action_recommendation",
        "expected_total_points",
        "version_link",
    )
    list_filter = (VersionFilter,)
    search_fields = ("name", "description", "expected_action_recommendation")
    ordering = ("ruleset", "name")
    actions = ("delete_selected",)

    def get_fields(self, request, obj=None):
        return ["ruleset", *TestCaseInlineForm.Meta.fields]

    def save_model(self, request, obj, form, change):
        test_cases.test_case_save(test_case=obj, actor=request.user)

    def delete_model(self, request, obj):
        test_cases.test_case_delete(test_case=obj, actor=request.user)
