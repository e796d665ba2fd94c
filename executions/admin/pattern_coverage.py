"""The coverage of a version's pattern keys: results seen in its logged traffic over the last N
days and in its test cases that no key answers (and those only the default answers), with
counts, and the keys nothing produced. Reads only: any viewer of the version may open it.
"""

from django import forms
from django.http import Http404
from django.urls import reverse

from executions.admin.page import AdminPageView
from executions.pattern_coverage import DEFAULT_DAYS, RESULTS_SHOWN, pattern_coverage
from rules.choices import Capability
from rules.models import Pattern, Ruleset

DAY_CHOICES = (1, 7, 30, 90)


class CoverageForm(forms.Form):
    days = forms.TypedChoiceField(
        choices=[(days, f"Last {days} day{'s' if days != 1 else ''}") for days in DAY_CHOICES],
        coerce=int,
        required=False,
        empty_value=DEFAULT_DAYS,
        initial=DEFAULT_DAYS,
        label="Traffic of the",
    )


class RulesetPatternCoverageView(AdminPageView):
    template_name = "executions/pattern_coverage.html"

    def dispatch(self, request, ruleset_id):
        # Looked up before the method is checked: another tenant's version is 404 whatever the
        # method.
        self.ruleset = (
            Ruleset.objects.visible_to(request.user, Capability.VIEW)
            .select_related("tenant")
            .filter(pk=ruleset_id)
            .first()
        )
        if self.ruleset is None:
            raise Http404
        return super().dispatch(request, ruleset_id)

    def get(self, request, ruleset_id):
        ruleset = self.ruleset
        form = CoverageForm(request.GET or None)
        days = form.cleaned_data["days"] if form.is_valid() else DEFAULT_DAYS
        coverage = pattern_coverage(ruleset=ruleset, days=days)
        opts = Pattern._meta
        return self.render(
            request,
            f"Pattern coverage of {ruleset.name} {ruleset.version}",
            form=form,
            coverage=coverage,
            uncovered=coverage.uncovered[:RESULTS_SHOWN],
            by_default=coverage.by_default[:RESULTS_SHOWN],
            shown=RESULTS_SHOWN,
            ruleset=ruleset,
            ruleset_url=reverse("admin:rules_ruleset_change", args=[ruleset.pk]),
            changelist_url=reverse("admin:rules_ruleset_changelist"),
            patterns_url=(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
                + f"?ruleset={ruleset.pk}"
            ),
        )
