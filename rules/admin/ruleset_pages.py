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
from rules.admin.service_errors import service_error_report
from rules.choices import TRANSITIONS, Capability, RulesetStatus
from rules.errors import ServiceError, problem_text
from rules.selectors.versions import active_version_replaced, ruleset_test_cases_by_id
from rules.services import lifecycle, test_cases
from rules.services.compilation import ruleset_validation_problems
from rules.tenant_roles import caller_capabilities

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
        ] + super().get_urls()

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
            context["problems"] = [problem_text(p) for p in ruleset_validation_problems(ruleset)]
            context["warnings"] = lifecycle.ruleset_activation_warnings(ruleset=ruleset)
            context["replaces"] = active_version_replaced(ruleset)
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

    # Test cases -----------------------------------------------------------------------------

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
            "activate_url": (
                reverse("admin:rules_ruleset_transition", args=[ruleset.pk, RulesetStatus.ACTIVE])
                if may_activate
                else None
            ),
        }
        return TemplateResponse(request, "rules/ruleset_tests.html", context)
