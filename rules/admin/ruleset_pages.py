"""What a ruleset version offers beyond its change form: lifecycle transitions (confirmation page,
buttons and bulk actions), new draft versions, the test-case run, and links to the executions
app's try-it and backtest pages (by URL name: rules never imports executions).
"""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html

from ruleengine.admin_display import check_row, json_text, status_badge
from ruleengine.admin_non_production import non_production_page
from rules.admin.ruleset_parts import INLINE_PART_LIMIT, part_list_url
from rules.admin.service_errors import service_error_report
from rules.choices import TRANSITIONS, Capability, RulesetStatus
from rules.errors import ServiceError, problem_text
from rules.models import Pattern, Rule, RulesetTestCase
from rules.selectors.version_diff import ruleset_versions_diff
from rules.selectors.versions import (
    active_version_replaced,
    ruleset_part_counts,
    ruleset_test_cases_by_id,
    rulesets_waiting_for_review,
)
from rules.services import lifecycle, test_cases
from rules.services.validation import ruleset_validation_report
from rules.tenant_roles import caller_capabilities, caller_may_anywhere

# What each lifecycle button says; the allowed targets come from TRANSITIONS.
TRANSITION_LABELS = {
    RulesetStatus.ACTIVE: "Activate",
    RulesetStatus.INACTIVE: "Deactivate",
    RulesetStatus.DEPRECATED: "Deprecate",
    RulesetStatus.ARCHIVED: "Archive",
}


def executions_page_url(page: str, ruleset_id: int) -> str | None:
    """A page of the executions app for a ruleset version (named URL; no import of the app)."""
    try:
        return reverse(f"admin:executions_executionlog_{page}", args=[ruleset_id])
    except NoReverseMatch:
        return None


def try_it_url(ruleset_id: int) -> str | None:
    return executions_page_url("try_it", ruleset_id)


def ruleset_parts_panel(ruleset) -> list[dict]:
    """Counts of the version's rules, patterns and test cases, each with a link to its list."""
    counts = ruleset_part_counts(ruleset)
    return [
        {
            "label": model._meta.verbose_name_plural,
            "count": counts[model._meta.model_name],
            "url": part_list_url(model, ruleset.pk),
            "inline": counts[model._meta.model_name] <= INLINE_PART_LIMIT,
        }
        for model in (Rule, Pattern, RulesetTestCase)
    ]


def ruleset_change_url(ruleset) -> str:
    return reverse("admin:rules_ruleset_change", args=[ruleset.pk])


class RulesetPagesMixin:
    """Extra views and actions of RulesetAdmin; every write goes through rules.services."""

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
            path("<path:object_id>/compare/", view(self.compare_view), name=f"{info}_compare"),
            path(
                "<path:object_id>/request-review/",
                view(self.review_request_view),
                name=f"{info}_request_review",
            ),
            path("review/", view(self.review_list_view), name=f"{info}_review"),
            path(
                "<path:object_id>/tests/<int:test_case_id>/accept/",
                view(self.test_case_accept_view),
                name=f"{info}_test_accept",
            ),
            path("drafts-tests/", view(self.drafts_tests_view), name=f"{info}_drafts_tests"),
        ] + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        approver = caller_may_anywhere(request.user, Capability.TRANSITION)
        context = {
            "import_url": (
                reverse("admin:rules_ruleset_import")
                if caller_may_anywhere(request.user, Capability.EDIT)
                else None
            ),
            "review_url": reverse("admin:rules_ruleset_review") if approver else None,
            "drafts_tests_url": reverse("admin:rules_ruleset_drafts_tests") if approver else None,
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)

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
            "coverage_url": executions_page_url("pattern_coverage", ruleset.pk),
            "parts": ruleset_parts_panel(ruleset),
            "compare_url": reverse("admin:rules_ruleset_compare", args=[ruleset.pk]),
            "export_url": reverse("admin:rules_ruleset_export", args=[ruleset.pk]),
            "request_review_url": (
                reverse("admin:rules_ruleset_request_review", args=[ruleset.pk])
                if Capability.EDIT in capabilities and ruleset.status == RulesetStatus.DRAFT
                else None
            ),
            "validation": (
                ruleset_validation_report(ruleset)
                if ruleset.status == RulesetStatus.DRAFT
                else None
            ),
            "new_version_url": (
                reverse("admin:rules_ruleset_new_version", args=[ruleset.pk])
                if Capability.EDIT in capabilities
                else None
            ),
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, context)

    # Lifecycle ------------------------------------------------------------------------------

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
            return HttpResponseRedirect(ruleset_change_url(ruleset))
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
            "change_url": ruleset_change_url(ruleset),
        }
        if allowed and target == RulesetStatus.ACTIVE:
            refusals = lifecycle.ruleset_activation_refusals(ruleset=ruleset, actor=request.user)
            context["problems"] = refusals["problems"]
            context["test_failures"] = refusals["tests"]
            context["four_eyes"] = refusals["four_eyes"]
            context["refused"] = any(refusals.values())
            context["warnings"] = lifecycle.ruleset_activation_warnings(ruleset=ruleset)
            replaces = active_version_replaced(ruleset)
            context["replaces"] = replaces
            if replaces is not None:
                context["diff"] = ruleset_versions_diff(old=replaces, new=ruleset)
                context["diff_against"] = replaces
        return TemplateResponse(request, "rules/ruleset_transition.html", context)

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

    # New versions ---------------------------------------------------------------------------

    def new_version_view(self, request, object_id):
        ruleset = self.get_object(request, unquote(object_id))
        if request.method != "POST":
            return HttpResponseRedirect(ruleset_change_url(ruleset))
        try:
            draft = lifecycle.ruleset_new_version(ruleset_id=ruleset.pk, actor=request.user)
        except ServiceError as error:
            service_error_report(self, request, error, f"{ruleset.name} {ruleset.version}")
            return HttpResponseRedirect(ruleset_change_url(ruleset))
        self.message_user(
            request,
            f"Created draft {draft.name} {draft.version} from version {ruleset.version}.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(ruleset_change_url(draft))

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
                    ruleset_change_url(draft),
                    draft.name,
                    draft.version,
                    ruleset.version,
                ),
                messages.SUCCESS,
            )

    # Review and comparison -------------------------------------------------------------------

    def compare_view(self, request, object_id):
        """This version against another of its name (`?with=<id>`; the active one by default)."""
        ruleset = self.get_object(request, unquote(object_id))
        others = list(
            self.get_queryset(request)
            .filter(tenant_id=ruleset.tenant_id, name=ruleset.name)
            .exclude(pk=ruleset.pk)
            .order_by("-created_at")
        )
        chosen = request.GET.get("with", "")
        other = next((o for o in others if str(o.pk) == chosen), None)
        if other is None:
            other = active_version_replaced(ruleset) or (others[0] if others else None)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Compare {ruleset.name} {ruleset.version}",
            "opts": self.opts,
            "ruleset": ruleset,
            "others": others,
            "diff_against": other,
            "diff": ruleset_versions_diff(old=other, new=ruleset) if other else None,
            "change_url": ruleset_change_url(ruleset),
        }
        return TemplateResponse(request, "rules/ruleset_compare.html", context)

    def review_request_view(self, request, object_id):
        ruleset = self.get_object(request, unquote(object_id))
        if request.method != "POST":
            return HttpResponseRedirect(ruleset_change_url(ruleset))
        try:
            lifecycle.ruleset_review_request(
                ruleset_id=ruleset.pk, actor=request.user, note=request.POST.get("note", "")
            )
        except ServiceError as error:
            service_error_report(self, request, error, f"{ruleset.name} {ruleset.version}")
        else:
            self.message_user(
                request,
                f"Review of {ruleset.name} {ruleset.version} requested; approvers see it under "
                "“Waiting for review”.",
                messages.SUCCESS,
            )
        return HttpResponseRedirect(ruleset_change_url(ruleset))

    def review_list_view(self, request):
        """Drafts whose authors asked for review, for the approvers of their tenants."""
        if not caller_may_anywhere(request.user, Capability.TRANSITION):
            raise PermissionDenied
        scoped = self.model.objects.visible_to(request.user, Capability.TRANSITION)
        waiting = rulesets_waiting_for_review(scoped.select_related("tenant"))
        for row in waiting:
            row["compare_url"] = reverse("admin:rules_ruleset_compare", args=[row["ruleset"].pk])
            row["change_url"] = ruleset_change_url(row["ruleset"])
        context = {
            **self.admin_site.each_context(request),
            "title": "Waiting for review",
            "opts": self.opts,
            "waiting": waiting,
        }
        return TemplateResponse(request, "rules/ruleset_review.html", context)

    # Test cases -----------------------------------------------------------------------------

    def test_case_accept_view(self, request, object_id, test_case_id):
        """POST: the failing test case's expectations become what the draft produces now."""
        ruleset = self.get_object(request, unquote(object_id))
        tests_url = reverse("admin:rules_ruleset_tests", args=[ruleset.pk])
        if request.method != "POST":
            return HttpResponseRedirect(tests_url)
        test_case = ruleset_test_cases_by_id(ruleset).get(test_case_id)
        if test_case is None:
            raise Http404
        try:
            test_cases.test_case_accept_actual(test_case=test_case, actor=request.user)
        except ServiceError as error:
            service_error_report(self, request, error, test_case.name)
        else:
            self.message_user(
                request, f"{test_case.name} now expects the actual result.", messages.SUCCESS
            )
        return HttpResponseRedirect(tests_url)

    def drafts_tests_view(self, request):
        """Run the tests of every draft the approver may activate: one row per draft."""
        if not caller_may_anywhere(request.user, Capability.TRANSITION):
            raise PermissionDenied
        rulesets = self.model.objects.visible_to(request.user, Capability.TRANSITION)
        return non_production_page(
            request,
            "test_run",
            admin_site=self.admin_site,
            run=lambda: TemplateResponse(
                request,
                "rules/drafts_tests.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Tests of every draft",
                    "opts": self.opts,
                    "reports": [
                        {
                            "report": report,
                            "tests_url": reverse(
                                "admin:rules_ruleset_tests", args=[report.ruleset_id]
                            ),
                            "failed": len(report.failures),
                        }
                        for report in test_cases.drafts_tests_run(rulesets=rulesets)
                    ],
                },
            ),
        )

    def tests_view(self, request, object_id):
        """Run the version's test cases: a pass/fail table and the differences of the failures.

        Anyone who may view the version may run them: it writes nothing. Like the API's test
        runs: TEST_RUN_RATE_LIMIT per user, in one of the node's non-production worker slots.
        """
        ruleset = self.get_object(request, unquote(object_id))
        return non_production_page(
            request,
            "test_run",
            admin_site=self.admin_site,
            run=lambda: self._tests_page(request, ruleset),
        )

    def _tests_page(self, request, ruleset):
        report = test_cases.ruleset_tests_run(ruleset=ruleset)
        cases = ruleset_test_cases_by_id(ruleset)
        # Failures first: they are what the page is for.
        results = [
            {
                "result": result,
                "test_case": cases.get(result.test_case_id),
                "input": json_text(getattr(cases.get(result.test_case_id), "input_data", {})),
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
            "change_url": ruleset_change_url(ruleset),
            "draft": ruleset.status == RulesetStatus.DRAFT,
            "may_edit": Capability.EDIT in capabilities,
            "accept_urls": (
                {
                    result.test_case_id: reverse(
                        "admin:rules_ruleset_test_accept", args=[ruleset.pk, result.test_case_id]
                    )
                    for result in report.failures
                    if not report.compile_problems
                }
                if ruleset.status == RulesetStatus.DRAFT and Capability.EDIT in capabilities
                else {}
            ),
            "activate_url": (
                reverse("admin:rules_ruleset_transition", args=[ruleset.pk, RulesetStatus.ACTIVE])
                if may_activate
                else None
            ),
        }
        return TemplateResponse(request, "rules/ruleset_tests.html", context)
