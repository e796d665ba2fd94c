"""Admin pages of the executions app: try a ruleset version on an input, save an outcome as a test
case, backtest a version against logged traffic, and the dashboard.

Registered by `ExecutionLogAdmin.get_urls` (the rules admin links to them by URL name). Charts are
SVG drawn here and rendered by templates: no JavaScript, nothing inline a strict
Content-Security-Policy would refuse.
"""

import json
import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views import View

from executions.backtest import BacktestRefused, backtest_run
from executions.models import ExecutionLog, ExecutionSource
from executions.services import (
    InputRefused,
    evaluation_input_check,
    execution_log_row,
    execution_logs_write,
)
from executions.stats import execution_stats, execution_stats_summary
from ruleengine.admin_display import CHECK_LABELS, shown_value
from rules.choices import Capability, RulesetStatus
from rules.engine import RulesetCompileError
from rules.errors import RulesetInvalid, ServiceError, problem_text
from rules.models import Rule, Ruleset, Tenant
from rules.services import test_cases
from rules.services.compilation import ruleset_compile
from rules.tenant_roles import caller_capabilities, caller_tenant_ids

RECENT_INPUTS = 10
REASONS = {
    "matched": "condition holds",
    "not_matched": "condition does not hold",
    "missing": "attribute missing from the input",
    "null": "value is null",
    "type_mismatch": "type mismatch (e.g. a string compared with a number)",
    "regex_timeout": "regular expression timed out",
    "input_too_long": "input too long for a regular expression",
}


class AdminPageView(View):
    """A page inside the admin: the site's context (sidebar, user links) and a title."""

    admin_site = None
    template_name = ""

    def render(self, request, title: str, **context):
        return TemplateResponse(
            request,
            self.template_name,
            {**self.admin_site.each_context(request), "title": title, **context},
        )


# --- Try it ------------------------------------------------------------------------------------


class TryItForm(forms.Form):
    input = forms.CharField(
        label="Input (JSON object)",
        widget=forms.Textarea(attrs={"rows": 14, "cols": 60, "class": "json-input"}),
    )

    def clean_input(self):
        text = self.cleaned_data["input"]
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(
                f"Not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."
            ) from error
        if not isinstance(data, dict):
            raise forms.ValidationError('The input is a JSON object, such as {"age": 30}.')
        try:
            evaluation_input_check(data)
        except InputRefused as error:
            raise forms.ValidationError(str(error)) from error
        return data


@dataclass
class TraceRow:
    rule_id: str
    rule_name: str
    condition: str
    value: str
    matched: bool
    reason: str
    reason_text: str
    points: float
    conditions: list = field(default_factory=list)


def _shown_value(value, reason: str) -> str:
    if reason == "missing":
        return "—"
    return json.dumps(value, ensure_ascii=False)


def trace_rows(trace: list[dict], rule_names: dict[str, str]) -> list[TraceRow]:
    rows = []
    for entry in trace:
        rows.append(
            TraceRow(
                rule_id=entry["rule_id"],
                rule_name=rule_names.get(entry["rule_id"], ""),
                condition=entry["condition"],
                value=""
                if entry.get("conditions")
                else _shown_value(entry["value"], entry["reason"]),
                matched=entry["matched"],
                reason=entry["reason"],
                reason_text=REASONS.get(entry["reason"], entry["reason"]),
                points=entry["points"],
                conditions=[
                    {
                        **condition,
                        "shown_value": _shown_value(condition["value"], condition["reason"]),
                        "reason_text": REASONS.get(condition["reason"], condition["reason"]),
                    }
                    for condition in entry.get("conditions", ())
                ],
            )
        )
    return rows


def recent_inputs(ruleset: Ruleset) -> list[ExecutionLog]:
    """The latest logged inputs of the ruleset's name (its newest versions), newest first.

    One query per version on the (ruleset_id, timestamp) index, each reading at most
    RECENT_INPUTS rows, instead of one query that sorts every log row of the name.
    """
    versions = (
        Ruleset.objects.filter(tenant_id=ruleset.tenant_id, name=ruleset.name)
        .order_by("-created_at")
        .values_list("pk", flat=True)[:5]
    )
    logs = []
    for version_id in {ruleset.pk, *versions}:
        logs += list(
            ExecutionLog.objects.filter(ruleset_id=version_id, tenant_id=ruleset.tenant_id)
            .only(
                "execution_id",
                "timestamp",
                "tenant_id",
                "ruleset_version",
                "action_recommendation",
                "input_data",
            )
            .order_by("-timestamp")[:RECENT_INPUTS]
        )
    logs.sort(key=lambda log: log.timestamp, reverse=True)
    return logs[:RECENT_INPUTS]


class SaveTestCaseForm(forms.Form):
    """ "Save as test case": a name, and the draft that receives the case."""

    name = forms.CharField(
        max_length=200,
        label="Test case name",
        widget=forms.TextInput(attrs={"placeholder": "e.g. good applicant", "size": 28}),
    )
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 60})
    )
    target = forms.ModelChoiceField(queryset=Ruleset.objects.none(), label="Draft")

    def __init__(self, *args, drafts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = drafts
        self.fields["target"].label_from_instance = lambda r: f"{r.name} {r.version} (draft)"


def drafts_of(ruleset_name: str, tenant_id: int):
    """The drafts of a ruleset name in a tenant, newest first: where test cases can be saved."""
    return Ruleset.objects.filter(
        tenant_id=tenant_id, name=ruleset_name, status=RulesetStatus.DRAFT
    ).order_by("-created_at", "-pk")


def test_case_save_from_outcome(request, form: SaveTestCaseForm, *, input: dict, outcome: dict):
    """Save the outcome through the service; a refusal becomes a form error. Returns the draft
    that received the case, or None."""
    target = form.cleaned_data["target"]
    try:
        test_cases.test_case_from_evaluation(
            ruleset=target,
            name=form.cleaned_data["name"],
            input=input,
            outcome=outcome,
            actor=request.user,
            description=form.cleaned_data["description"],
        )
    except ValidationError as error:
        form.add_error(None, "; ".join(error.messages))
        return None
    except ServiceError as error:
        form.add_error(None, str(error))
        return None
    return target


def test_case_saved_message(request, draft: Ruleset, name: str) -> None:
    messages.success(
        request,
        format_html(
            'Saved test case “{}” to <a href="{}#test_cases-group">{} {}</a>. '
            '<a href="{}">Run its tests</a>.',
            name,
            reverse("admin:rules_ruleset_change", args=[draft.pk]),
            draft.name,
            draft.version,
            reverse("admin:rules_ruleset_tests", args=[draft.pk]),
        ),
    )


class RulesetTryItView(AdminPageView):
    """Run one input through a ruleset version (any status) and explain every rule."""

    template_name = "executions/try_it.html"

    def dispatch(self, request, ruleset_id):
        self.ruleset = (
            Ruleset.objects.visible_to(request.user, Capability.VIEW)
            .select_related("tenant")
            .filter(pk=ruleset_id)
            .first()
        )
        if self.ruleset is None:
            raise Http404
        self.may_edit = Capability.EDIT in caller_capabilities(request.user, self.ruleset.tenant_id)
        return super().dispatch(request, ruleset_id)

    def get(self, request, ruleset_id):
        recent = recent_inputs(self.ruleset)
        initial = {}
        chosen = request.GET.get("log", "")
        if chosen:
            log = next((r for r in recent if str(r.execution_id) == chosen), None)
            if log is None:
                log = self._log(chosen)
            if log is not None:
                initial["input"] = json.dumps(log.input_data, indent=2, ensure_ascii=False)
        return self._page(request, TryItForm(initial=initial), recent, chosen=chosen)

    def post(self, request, ruleset_id):
        if "save_test_case" in request.POST:
            return self._save_test_case(request)
        form = TryItForm(request.POST)
        result = None
        if form.is_valid():
            result = self._run(request, form.cleaned_data["input"])
        return self._page(request, form, recent_inputs(self.ruleset), result=result)

    def _save_test_case(self, request):
        """Evaluate the input again (the draft may have changed since the run) and save it."""
        if not self.may_edit:
            raise PermissionDenied
        form = TryItForm(request.POST)
        save_form = SaveTestCaseForm(request.POST, drafts=self._drafts())
        result = None
        if form.is_valid():
            data = form.cleaned_data["input"]
            result = self._run(request, data, log=False)
            form = TryItForm(initial={"input": json.dumps(data, indent=2, ensure_ascii=False)})
            if save_form.is_valid() and "evaluation" in result:
                outcome = result["evaluation"].as_dict()
                draft = test_case_save_from_outcome(request, save_form, input=data, outcome=outcome)
                if draft is not None:
                    test_case_saved_message(request, draft, save_form.cleaned_data["name"])
                    save_form = None  # a fresh form for the next case
        return self._page(
            request, form, recent_inputs(self.ruleset), result=result, save_form=save_form
        )

    def _drafts(self):
        ruleset = self.ruleset
        if ruleset.status == RulesetStatus.DRAFT:
            return Ruleset.objects.filter(pk=ruleset.pk)
        # Test cases belong to drafts: a published version's outcome goes to its newest draft.
        newest = drafts_of(ruleset.name, ruleset.tenant_id).values_list("pk", flat=True).first()
        return Ruleset.objects.filter(pk=newest)

    def _log(self, execution_id: str):
        try:
            return ExecutionLog.objects.filter(
                pk=execution_id, tenant_id=self.ruleset.tenant_id, ruleset_name=self.ruleset.name
            ).first()
        except Exception:  # noqa: BLE001 - not a UUID: nothing to load
            return None

    def _run(self, request, data: dict, *, log: bool = True) -> dict:
        ruleset = self.ruleset
        try:
            compiled = ruleset_compile(ruleset)
        except RulesetCompileError as error:
            return {"problems": [problem_text(p) for p in error.problems]}
        started = time.perf_counter()
        evaluation = compiled.evaluate(data, trace=True)
        elapsed_ms = (time.perf_counter() - started) * 1000
        logged = False
        if log and settings.TRY_IT_LOG:
            row = execution_log_row(
                tenant_id=ruleset.tenant_id,
                ruleset={
                    "ruleset_id": ruleset.pk,
                    "name": ruleset.name,
                    "version": ruleset.version,
                },
                data=data,
                evaluation=evaluation,
                elapsed_ms=elapsed_ms,
                source=ExecutionSource.ADMIN,
                caller=request.user.get_username(),
            )
            logged = bool(execution_logs_write([row]))
        rule_names = dict(Rule.objects.filter(ruleset=ruleset).values_list("rule_id", "rule_name"))
        return {
            "evaluation": evaluation,
            "action": evaluation.action,
            "rows": trace_rows(evaluation.trace, rule_names),
            "elapsed_ms": elapsed_ms,
            "logged": logged,
            "input_json": json.dumps(data, ensure_ascii=False),
        }

    def _page(self, request, form, recent, *, result=None, chosen="", save_form=None):
        ruleset = self.ruleset
        draft = ruleset.status == RulesetStatus.DRAFT
        save_target = None
        if self.may_edit:
            save_target = self._drafts().first()
            if save_form is None and save_target is not None:
                save_form = SaveTestCaseForm(
                    drafts=self._drafts(), initial={"target": save_target.pk}
                )
        return self.render(
            request,
            f"Try {ruleset.name} {ruleset.version}",
            ruleset=ruleset,
            form=form,
            recent=recent,
            chosen=chosen,
            result=result,
            ruleset_url=reverse("admin:rules_ruleset_change", args=[ruleset.pk]),
            changelist_url=reverse("admin:rules_ruleset_changelist"),
            try_it_logged=settings.TRY_IT_LOG,
            draft=draft,
            may_edit=self.may_edit,
            save_target=save_target,
            save_form=save_form,
        )


class ExecutionLogTestCaseView(AdminPageView):
    """ "Save as test case" from a logged execution: its input and logged output become a test case
    of a chosen draft of the same ruleset name. Needs the edit capability in the log's tenant."""

    template_name = "executions/log_test_case.html"

    def dispatch(self, request, object_id):
        tenant_ids = caller_tenant_ids(request.user, Capability.VIEW)
        logs = ExecutionLog.objects.all()
        if tenant_ids is not None:
            logs = logs.filter(tenant_id__in=tenant_ids)
        try:
            self.log = logs.select_related("tenant").filter(pk=object_id).first()
        except ValidationError:  # not a UUID
            self.log = None
        if self.log is None:
            raise Http404  # missing and another tenant's log answer alike
        if Capability.EDIT not in caller_capabilities(request.user, self.log.tenant_id):
            raise PermissionDenied
        self.drafts = drafts_of(self.log.ruleset_name, self.log.tenant_id)
        return super().dispatch(request, object_id)

    def get(self, request, object_id):
        log = self.log
        first = self.drafts.first()
        initial = {
            "target": first.pk if first else None,
            "description": f"Logged execution {log.execution_id} of "
            f"{log.ruleset_name} {log.ruleset_version}, "
            f"{timezone.localtime(log.timestamp):%Y-%m-%d %H:%M:%S}.",
        }
        return self._page(request, SaveTestCaseForm(drafts=self.drafts, initial=initial))

    def post(self, request, object_id):
        form = SaveTestCaseForm(request.POST, drafts=self.drafts)
        if form.is_valid() and self.log.success:
            draft = test_case_save_from_outcome(
                request, form, input=self.log.input_data, outcome=self.log.output_data
            )
            if draft is not None:
                test_case_saved_message(request, draft, form.cleaned_data["name"])
                return HttpResponseRedirect(
                    reverse("admin:rules_ruleset_change", args=[draft.pk]) + "#test_cases-group"
                )
        return self._page(request, form)

    def _page(self, request, form):
        log = self.log
        output = log.output_data or {}
        # What test_case_from_evaluation will expect; a missing (None) field is not checked.
        expectations = [
            (label, None if output.get(key) is None else shown_value(output[key], key))
            for key, label in CHECK_LABELS.items()
        ]
        logged_version = (
            Ruleset.objects.filter(pk=log.ruleset_id, tenant_id=log.tenant_id).first()
            if log.ruleset_id
            else None
        )
        return self.render(
            request,
            "Save execution as a test case",
            log=log,
            form=form,
            drafts=self.drafts,
            expectations=expectations,
            input_json=json.dumps(log.input_data, indent=2, sort_keys=True, ensure_ascii=False),
            log_url=reverse("admin:executions_executionlog_change", args=[log.pk]),
            logs_url=reverse("admin:executions_executionlog_changelist"),
            logged_version_url=(
                reverse("admin:rules_ruleset_change", args=[logged_version.pk])
                if logged_version
                else None
            ),
        )


# --- Charts ------------------------------------------------------------------------------------

WIDE_CHART = 760  # width of a chart spanning the page (viewBox units, scaled to fit)
HALF_CHART = 420  # width of a chart in half the page: same text size once scaled
CHART_HEIGHT = 220
MARGIN = {"left": 56, "right": 14, "top": 14, "bottom": 34}
PALETTE = ("#2563eb", "#16a34a", "#d97706", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d")
NICE_STEPS = (1, 1.2, 1.6, 2, 2.4, 3, 4, 5, 6, 8, 10)  # quarters of each are round numbers


@dataclass(frozen=True)
class Frame:
    """The plotting area of a chart inside its viewBox."""

    width: int
    height: int = CHART_HEIGHT

    @property
    def left(self) -> int:
        return MARGIN["left"]

    @property
    def right(self) -> int:
        return self.width - MARGIN["right"]

    @property
    def top(self) -> int:
        return MARGIN["top"]

    @property
    def bottom(self) -> int:
        return self.height - MARGIN["bottom"]

    @property
    def plot_width(self) -> int:
        return self.right - self.left

    @property
    def plot_height(self) -> int:
        return self.bottom - self.top

    def context(self) -> dict:
        return {
            "width": self.width,
            "height": self.height,
            "plot_left": self.left,
            "plot_right": self.right,
            "plot_bottom": self.bottom,
            "label_y": self.bottom + 18,
            "center_x": (self.left + self.right) / 2,
            "center_y": (self.top + self.bottom) / 2,
        }


def nice_ceiling(value: float) -> float:
    """The smallest round number at least `value` whose quarters are round too (axis maxima)."""
    if value <= 0:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in NICE_STEPS:
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _axis(frame: Frame, maximum: float, unit: str = "") -> list[dict]:
    ticks = []
    for index in range(5):
        value = maximum * index / 4
        label = f"{value:,.0f}" if maximum >= 8 or value.is_integer() else f"{value:,.2f}"
        ticks.append({"y": frame.top + frame.plot_height * (1 - index / 4), "label": label + unit})
    return ticks


def _time_labels(frame: Frame, buckets: list[dict]) -> list[dict]:
    """A few x-axis labels: hours for a day, days for a week."""
    count = len(buckets)
    wanted = 8 if frame.width >= WIDE_CHART else 5
    labels = []
    for index, item in enumerate(buckets):
        start = timezone.localtime(item["bucket_start"])
        if count <= 48:
            if index % max(round(count / wanted), 1):
                continue
            text = start.strftime("%H:%M")
        else:
            every_days = 1 if frame.width >= WIDE_CHART else 2
            if start.hour != 0 or start.toordinal() % every_days:
                continue
            text = start.strftime("%a %d")
        x = frame.left + frame.plot_width * (index + 0.5) / count
        labels.append({"x": x, "text": text})
    return labels


def _bucket_title(item: dict) -> str:
    return f"{timezone.localtime(item['bucket_start']):%a %d %b %H:%M}"


def bar_chart(buckets: list[dict]) -> dict:
    """Executions per bucket, successes and failures stacked."""
    frame = Frame(WIDE_CHART)
    maximum = nice_ceiling(max((b["count"] for b in buckets), default=0))
    slot = frame.plot_width / max(len(buckets), 1)
    bars = []
    for index, item in enumerate(buckets):
        failures = item["count"] - item["success_count"]
        ok_height = frame.plot_height * item["success_count"] / maximum
        failed_height = frame.plot_height * failures / maximum
        bars.append(
            {
                "x": frame.left + slot * index + slot * 0.12,
                "width": max(slot * 0.76, 1),
                "ok_y": frame.bottom - ok_height,
                "ok_height": ok_height,
                "failed_y": frame.bottom - ok_height - failed_height,
                "failed_height": failed_height,
                "title": f"{_bucket_title(item)}: {item['count']:,} executions, "
                f"{failures:,} failed",
            }
        )
    return {
        "bars": bars,
        "ticks": _axis(frame, maximum),
        "labels": _time_labels(frame, buckets),
        **frame.context(),
    }


def line_chart(buckets: list[dict], key: str, *, scale: float = 1, unit: str = "") -> dict:
    """One value per bucket as a line; buckets without a value break the line."""
    frame = Frame(HALF_CHART)
    values = [None if b[key] is None else b[key] * scale for b in buckets]
    present = [v for v in values if v is not None]
    maximum = 100 if unit == "%" else nice_ceiling(max(present, default=0))
    count = max(len(buckets), 1)
    segments, current, points = [], [], []
    for index, value in enumerate(values):
        if value is None:
            if current:
                segments.append(" ".join(current))
            current = []
            continue
        x = frame.left + frame.plot_width * (index + 0.5) / count
        y = frame.top + frame.plot_height * (1 - value / maximum)
        current.append(f"{x:.1f},{y:.1f}")
        title = f"{_bucket_title(buckets[index])}: {value:,.2f}{unit}"
        points.append({"x": x, "y": y, "title": title})
    if current:
        segments.append(" ".join(current))
    return {
        "segments": segments,
        "points": points if len(points) <= 48 else [],
        "ticks": _axis(frame, maximum, unit),
        "labels": _time_labels(frame, buckets),
        "empty": not present,
        **frame.context(),
    }


def distribution_chart(recommendations: dict[str, int]) -> dict:
    """Horizontal bars: one per action recommendation, largest first (at most ten)."""
    ordered = sorted(recommendations.items(), key=lambda item: (-item[1], item[0]))[:10]
    total = sum(recommendations.values()) or 1
    maximum = max((count for _, count in ordered), default=1) or 1
    row_height, label_width, width = 26, 150, WIDE_CHART
    bar_space = width - label_width - 110
    rows = []
    for index, (name, count) in enumerate(ordered):
        bar_width = max(bar_space * count / maximum, 2)
        rows.append(
            {
                "y": index * row_height + 6,
                "text_y": index * row_height + 19,
                "name": name,
                "width": bar_width,
                "count": count,
                "share": 100 * count / total,
                "color": PALETTE[index % len(PALETTE)],
                "value_x": label_width + bar_width + 8,
            }
        )
    return {
        "rows": rows,
        "width": width,
        "height": max(len(rows) * row_height + 10, 40),
        "label_width": label_width,
        "label_x": label_width - 8,
    }


def _edge_label(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def histogram_chart(bins: list[dict]) -> dict:
    """Total points before and after, side by side per bin, on one count axis."""
    frame = Frame(WIDE_CHART)
    largest = max((max(b["before"], b["after"]) for b in bins), default=0)
    maximum = nice_ceiling(largest)
    if maximum < 8:  # counts: keep the quarter ticks whole numbers
        maximum = 4 * max(math.ceil(largest / 4), 1)
    slot = frame.plot_width / max(len(bins), 1)
    groups = []
    for index, item in enumerate(bins):
        x = frame.left + slot * index
        span = f"{_edge_label(item['from'])} to {_edge_label(item['to'])} points"
        pair = []
        for offset, key, css in ((0.12, "before", "bar-before"), (0.5, "after", "bar-after")):
            height = frame.plot_height * item[key] / maximum
            pair.append(
                {
                    "x": x + slot * offset,
                    "y": frame.bottom - height,
                    "width": slot * 0.38,
                    "height": height,
                    "css": css,
                    "title": f"{span}, {key}: {item[key]:,} inputs",
                }
            )
        groups.append(pair)
    edges = [item["from"] for item in bins] + [bins[-1]["to"]] if bins else []
    every = 1 if len(edges) <= 12 else math.ceil(len(edges) / 11)
    labels = [
        {"x": frame.left + slot * index, "text": _edge_label(edge)}
        for index, edge in enumerate(edges)
        if index % every == 0
    ]
    return {
        "groups": groups,
        "ticks": _axis(frame, maximum),
        "labels": labels,
        **frame.context(),
    }


# --- Dashboard ---------------------------------------------------------------------------------

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
    """Executions per hour, success rate, p95 time and recommendations, per tenant and ruleset.

    Numbers come from `executions.stats`, the code behind the API's statistics (try-it runs are
    not counted there).
    """

    template_name = "executions/dashboard.html"

    def get(self, request):
        tenant_ids = caller_tenant_ids(request.user, Capability.VIEW)
        tenants = Tenant.objects.order_by("slug")
        if tenant_ids is not None:
            if not tenant_ids:
                raise PermissionDenied
            tenants = tenants.filter(pk__in=tenant_ids)
        tenants = list(tenants)
        rulesets = Ruleset.objects.filter(tenant__in=[t.pk for t in tenants])
        names = sorted(set(rulesets.values_list("name", flat=True)))
        form = DashboardForm(request.GET or None, tenants=tenants, ruleset_names=names)
        choice = form.cleaned_data if form.is_valid() else {}
        window_key = choice.get("window") or "24h"
        window_label, window = WINDOWS[window_key]
        selected_ids = [choice["tenant"]] if choice.get("tenant") else [t.pk for t in tenants]
        ruleset_name = choice.get("ruleset") or None

        until = timezone.now()
        since = until - window
        hour = timedelta(hours=1)
        buckets = execution_stats(
            tenant_ids=selected_ids,
            ruleset_name=ruleset_name,
            bucket=hour,
            since=since,
            until=until,
        )
        summary = execution_stats_summary(
            tenant_ids=selected_ids, ruleset_name=ruleset_name, since=since, until=until
        )
        by_tenant = []
        if len(selected_ids) > 1:
            for tenant in [t for t in tenants if t.pk in selected_ids][:BREAKDOWN_LIMIT]:
                by_tenant.append(
                    {
                        "label": f"{tenant.name} ({tenant.slug})",
                        **execution_stats_summary(
                            tenant_ids=[tenant.pk],
                            ruleset_name=ruleset_name,
                            since=since,
                            until=until,
                        ),
                    }
                )
        by_ruleset = []
        if not ruleset_name:
            # The names with an active version, which is what receives traffic.
            active_names = sorted(
                set(
                    rulesets.filter(
                        tenant__in=selected_ids, status=RulesetStatus.ACTIVE
                    ).values_list("name", flat=True)
                )
            )[:BREAKDOWN_LIMIT]
            for name in active_names:
                by_ruleset.append(
                    {
                        "label": name,
                        **execution_stats_summary(
                            tenant_ids=selected_ids, ruleset_name=name, since=since, until=until
                        ),
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


# --- Backtest ----------------------------------------------------------------------------------

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
        candidate = self.candidate
        baselines = Ruleset.objects.filter(
            tenant_id=candidate.tenant_id, name=candidate.name
        ).order_by("-created_at", "-pk")
        if "baseline" in request.GET:
            form = BacktestForm(request.GET, baselines=baselines)
        else:
            form = BacktestForm(baselines=baselines, initial=self._initial(candidate, baselines))
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
    def _initial(candidate, baselines) -> dict:
        # The window ends at the next whole minute, so inputs logged a moment ago are included.
        until = timezone.localtime().replace(second=0, microsecond=0) + timedelta(minutes=1)
        active = next((r for r in baselines if r.status == RulesetStatus.ACTIVE), None)
        return {
            "baseline": (active or candidate).pk,
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
