"""The executions dashboard: executions per hour, success rate, p95 time and recommendations, per
tenant and ruleset, over the last day or week.

Numbers come from `executions.stats`, the code behind the API's statistics (try-it runs are not
counted there).
"""

from datetime import timedelta

from django import forms
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from executions.admin.charts import bar_chart, distribution_chart, line_chart
from executions.admin.page import AdminPageView
from executions.stats import execution_stats, execution_stats_summary
from rules.choices import Capability, RulesetStatus
from rules.models import Ruleset, Tenant
from rules.tenant_roles import caller_may_anywhere

WINDOWS = {"24h": ("Last 24 hours", timedelta(hours=24)), "7d": ("Last 7 days", timedelta(days=7))}
BREAKDOWN_LIMIT = 12


class DashboardForm(forms.Form):
    window = forms.ChoiceField(
        choices=[(key, label) for key, (label, _) in WINDOWS.items()], required=False
    )
    tenant = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    ruleset = forms.ChoiceField(required=False)

    def __init__(self, *args, tenants, ruleset_names, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tenant"].choices = [("", "All my tenants")] + [
            (t.pk, f"{t.name} ({t.slug})") for t in tenants
        ]
        self.fields["ruleset"].choices = [("", "All rulesets")] + [(n, n) for n in ruleset_names]


class ExecutionsDashboardView(AdminPageView):
    """Statistics of the tenants the user may view, or of the one chosen."""

    template_name = "executions/dashboard.html"

    def get(self, request):
        if not caller_may_anywhere(request.user, Capability.VIEW):
            raise PermissionDenied
        tenants = list(Tenant.objects.visible_to(request.user, Capability.VIEW).order_by("slug"))
        rulesets = Ruleset.objects.visible_to(request.user, Capability.VIEW)
        names = sorted(set(rulesets.values_list("name", flat=True)))
        form = DashboardForm(request.GET or None, tenants=tenants, ruleset_names=names)
        choice = form.cleaned_data if form.is_valid() else {}
        window_label, window = WINDOWS[choice.get("window") or "24h"]
        # The form offers only visible tenants: the chosen one is among them.
        selected = (
            [t for t in tenants if t.pk == choice["tenant"]] if choice.get("tenant") else tenants
        )
        tenant_ids = [t.pk for t in selected]
        ruleset_name = choice.get("ruleset") or None

        until = timezone.now()
        since = until - window
        scope = {
            "tenant_ids": tenant_ids,
            "ruleset_name": ruleset_name,
            "since": since,
            "until": until,
        }
        # The charts draw local times.
        buckets = [
            {**item, "bucket_start": timezone.localtime(item["bucket_start"])}
            for item in execution_stats(**scope, bucket=timedelta(hours=1))
        ]
        summary = _for_display(execution_stats_summary(**scope))
        by_tenant = []
        if len(selected) > 1:
            for tenant in selected[:BREAKDOWN_LIMIT]:
                by_tenant.append(
                    {
                        "label": f"{tenant.name} ({tenant.slug})",
                        **_for_display(
                            execution_stats_summary(**{**scope, "tenant_ids": [tenant.pk]})
                        ),
                    }
                )
        by_ruleset = []
        if not ruleset_name:
            # The names with an active version, which is what receives traffic.
            active_names = sorted(
                set(
                    rulesets.filter(tenant__in=tenant_ids, status=RulesetStatus.ACTIVE).values_list(
                        "name", flat=True
                    )
                )
            )[:BREAKDOWN_LIMIT]
            for name in active_names:
                by_ruleset.append(
                    {
                        "label": name,
                        **_for_display(execution_stats_summary(**{**scope, "ruleset_name": name})),
                    }
                )
        return self.render(
            request,
            "Executions dashboard",
            form=form,
            window_label=window_label,
            summary=summary,
            executions_chart=bar_chart(buckets),
            success_chart=line_chart(buckets, "success_rate", scale=100, unit="%"),
            p95_chart=line_chart(buckets, "p95_execution_ms", unit=" ms"),
            recommendations_chart=distribution_chart(summary["recommendations"]),
            by_tenant=by_tenant,
            by_ruleset=by_ruleset,
            since=since,
            until=until,
            logs_url=reverse("admin:executions_executionlog_changelist"),
        )


# Successful evaluations that no pattern key matched: a bar and a chip of their own.
NO_RECOMMENDATION_LABEL = "(no recommendation)"


def _for_display(summary: dict) -> dict:
    """A stats summary as the dashboard shows it: successes without a recommendation counted
    under their own label, and the success rate as text that reads 100% only when nothing
    failed (1 failure in 323 is 99.7%, not a rounded 100%)."""
    recommendations = dict(summary["recommendations"])
    unmatched = summary["success_count"] - sum(recommendations.values())
    if unmatched > 0:
        recommendations[NO_RECOMMENDATION_LABEL] = unmatched
    rate = summary["success_rate"]
    if rate is None:
        rate_text = None
    elif summary["success_count"] == summary["count"]:
        rate_text = "100%"
    else:
        # One decimal, and never up to 100% while anything failed.
        rate_text = f"{min(round(rate * 100, 1), 99.9):.1f}%"
    return {**summary, "recommendations": recommendations, "success_rate_text": rate_text}
