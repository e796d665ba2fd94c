"""Backtest in the admin: replay the inputs logged for a baseline version through a candidate
(usually a draft) and show what would change: the transition matrix, points, rules, examples.

The numbers come from executions.backtest, the code behind the API's backtest endpoint.
"""

from datetime import datetime, timedelta

from django import forms
from django.conf import settings
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from executions.admin.charts import histogram_chart
from executions.admin.page import AdminPageView
from executions.backtest import BacktestRefused, backtest_run
from ruleengine.admin_non_production import non_production_page
from rules.choices import Capability, RulesetStatus
from rules.errors import RulesetInvalid, problem_text
from rules.models import Rule, Ruleset
from rules.selectors.backtest_baseline import backtest_baseline

EXAMPLES_SHOWN = 5  # per changed transition; the report keeps more
MINUTE_INPUT = "%Y-%m-%dT%H:%M"


class BacktestForm(forms.Form):
    baseline = forms.ModelChoiceField(
        queryset=Ruleset.objects.none(),
        empty_label=None,
        help_text="Its logged inputs are replayed; its logged outcomes are the “before”.",
    )
    since = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=MINUTE_INPUT)
    )
    until = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=MINUTE_INPUT)
    )

    def __init__(self, *args, baselines, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["baseline"].queryset = baselines
        self.fields["baseline"].label_from_instance = lambda r: f"{r.version} ({r.status})"
        # Here rather than on the class: the cap is a setting, read when the form is made.
        self.fields["max_inputs"] = forms.IntegerField(
            min_value=1,
            max_value=settings.BACKTEST_MAX_INPUTS,
            label="Max inputs",
            help_text="The newest inputs are replayed first.",
            widget=forms.NumberInput(attrs={"class": "max-inputs-input"}),
        )

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since >= until:
            self.add_error("until", "The end of the window must be after its start.")
        return cleaned


class RulesetBacktestView(AdminPageView):
    """Replay the inputs logged for a baseline version (by default the active one) through this
    version, usually a draft, and show what would change. Reads only: any viewer may run it."""

    template_name = "executions/backtest.html"

    def dispatch(self, request, ruleset_id):
        # Looked up before the method is checked: another tenant's version is 404 whatever the
        # method.
        self.candidate = (
            Ruleset.objects.visible_to(request.user, Capability.VIEW)
            .select_related("tenant")
            .filter(pk=ruleset_id)
            .first()
        )
        if self.candidate is None:
            raise Http404
        return super().dispatch(request, ruleset_id)

    def get(self, request, ruleset_id):
        if "baseline" in request.GET:
            # Running one: BACKTEST_RATE_LIMIT per user, in one of the node's worker slots.
            return non_production_page(
                request, "backtest", admin_site=self.admin_site, run=lambda: self._page(request)
            )
        return self._page(request)

    def _page(self, request):
        candidate = self.candidate
        baselines = (
            Ruleset.objects.for_tenant(candidate.tenant)
            .filter(name=candidate.name)
            .order_by("-created_at", "-pk")
        )
        if "baseline" in request.GET:
            form = BacktestForm(request.GET, baselines=baselines)
        else:
            form = BacktestForm(baselines=baselines, initial=self._initial(candidate))
        report, problems, refusal = None, [], ""
        if form.is_bound and form.is_valid():
            choice = form.cleaned_data
            try:
                report = backtest_run(
                    candidate=candidate,
                    baseline=choice["baseline"],
                    since=choice["since"],
                    until=choice["until"],
                    max_inputs=choice["max_inputs"],
                )
            except RulesetInvalid as error:
                problems = [problem_text(p) for p in error.problems]
            except BacktestRefused as error:
                refusal = str(error)
        return self.render(
            request,
            f"Backtest {candidate.name} {candidate.version}",
            candidate=candidate,
            form=form,
            report=report,
            view=backtest_view_data(report, candidate) if report else None,
            problems=problems,
            refusal=refusal,
            time_zone=timezone.get_current_timezone_name(),
            ruleset_url=reverse("admin:rules_ruleset_change", args=[candidate.pk]),
            changelist_url=reverse("admin:rules_ruleset_changelist"),
        )

    @staticmethod
    def _initial(candidate) -> dict:
        # The window ends at the next whole minute, so inputs logged a moment ago are included.
        until = timezone.localtime().replace(second=0, microsecond=0) + timedelta(minutes=1)
        return {
            "baseline": (backtest_baseline(candidate=candidate) or candidate).pk,
            "since": until - timedelta(days=settings.BACKTEST_DEFAULT_DAYS),
            "until": until,
            "max_inputs": settings.BACKTEST_MAX_INPUTS,
        }


def _recommendation_label(value) -> str:
    return "no match" if value is None else value


def backtest_view_data(report: dict, candidate: Ruleset) -> dict:
    """The report reshaped for the page: the transition matrix as rows and columns, the points
    summary side by side, the histogram as SVG, examples linked to their log pages."""
    transitions = report["transitions"]
    # Recommendations in order of logged traffic, "no match" last.
    volume: dict = {}
    for item in transitions:
        volume[item["from"]] = volume.get(item["from"], 0) + item["count"]
        volume.setdefault(item["to"], 0)
    labels = sorted(volume, key=lambda value: (value is None, -volume[value], str(value)))
    cells = {(item["from"], item["to"]): item for item in transitions}
    matrix = []
    for before in labels:
        row = []
        for after in labels:
            item = cells.get((before, after))
            row.append(
                {
                    "count": item["count"] if item else 0,
                    "percent": item["percent"] if item else 0,
                    "changed": bool(item and item["changed"]),
                    "same": before == after,
                }
            )
        matrix.append(
            {
                "label": _recommendation_label(before),
                "none": before is None,
                "cells": row,
                "total": volume[before],
            }
        )
    column_totals = [sum(cells[(b, a)]["count"] for b in labels if (b, a) in cells) for a in labels]
    points = report["total_points"]
    before, after = points["before"], points["after"]
    point_rows = [
        {
            "label": label,
            "before": before[key],
            "after": after[key],
            "shift": after[key] - before[key]
            if after[key] is not None and before[key] is not None
            else None,
        }
        for key, label in (("mean", "Mean"), ("p50", "Median (p50)"), ("p95", "p95"))
    ]
    names = dict(
        Rule.objects.filter(
            ruleset_id__in=[report["candidate"]["id"], report["baseline"]["id"]]
        ).values_list("rule_id", "rule_name")
    )
    rules = [
        {
            **rate,
            "name": names.get(rate["rule_id"], ""),
            "before_percent": 100 * rate["before"],
            "after_percent": 100 * rate["after"],
            "change_points": 100 * rate["change"],
        }
        for rate in report["rule_match_rates"]
    ]
    examples = [
        {
            "from": _recommendation_label(group["from"]),
            "to": _recommendation_label(group["to"]),
            "count": group["count"],
            "shown": len(group["examples"][:EXAMPLES_SHOWN]),
            "examples": [
                {
                    **example,
                    "time": datetime.fromisoformat(example["timestamp"]),
                    "url": reverse(
                        "admin:executions_executionlog_change", args=[example["execution_id"]]
                    ),
                }
                for example in group["examples"][:EXAMPLES_SHOWN]
            ],
        }
        for group in report["examples"]
    ]
    window = report["window"]
    return {
        "labels": [_recommendation_label(value) for value in labels],
        "matrix": matrix,
        "column_totals": column_totals,
        "point_rows": point_rows,
        "histogram": histogram_chart(points["histogram"]) if points["histogram"] else None,
        "rules": rules,
        "examples": examples,
        "since": datetime.fromisoformat(window["since"]),
        "until": datetime.fromisoformat(window["until"]),
        "replayed_from": datetime.fromisoformat(window["replayed_from"])
        if window["replayed_from"]
        else None,
        "baseline_url": reverse("admin:rules_ruleset_change", args=[report["baseline"]["id"]]),
        "candidate_is_draft": candidate.status == RulesetStatus.DRAFT,
    }
