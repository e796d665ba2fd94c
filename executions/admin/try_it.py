"""Try it: run one input through a ruleset version (any status) and explain every rule.

The input goes through the evaluation step (executions.services.evaluation), like the API's: a
refused input is a form error, like invalid JSON, and is not logged. Runs are logged with source
"admin" when TRY_IT_LOG is on.
"""

import json
from dataclasses import dataclass, field

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse

from executions.admin.decision_try_it import decision_try_it_result
from executions.admin.page import AdminPageView
from executions.admin.test_case_capture import (
    SaveTestCaseForm,
    drafts_of,
    test_case_save_from_outcome,
    test_case_saved_message,
)
from executions.models import ExecutionLog, ExecutionSource
from executions.services.decision_evaluation import is_decision_evaluation
from executions.services.evaluation import evaluation_run
from executions.services.log_writes import execution_logs_commit
from ruleengine.admin_non_production import non_production_page
from ruleengine.input_check import InputRefused, json_text_load
from rules.choices import Capability, RulesetStatus
from rules.engine import RulesetCompileError
from rules.errors import problem_text
from rules.models import Rule, Ruleset
from rules.selectors.input_example import version_input_example
from rules.services.compilation import ruleset_compile
from rules.tenant_roles import caller_capabilities

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


class TryItForm(forms.Form):
    input = forms.CharField(
        label="Input (JSON object)",
        widget=forms.Textarea(attrs={"rows": 14, "cols": 60, "class": "json-input"}),
    )

    def clean_input(self):
        text = self.cleaned_data["input"]
        try:
            # NaN, 1e400 and 5,000-digit integers come back marked; the evaluation step's input
            # check refuses them with their path, as it does deep nesting, which json_text_load
            # refuses itself when it is too deep to read.
            data = json_text_load(text)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(
                f"Not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."
            ) from error
        except InputRefused as error:
            raise forms.ValidationError(f"The input is {error.message}.") from error
        if not isinstance(data, dict):
            raise forms.ValidationError('The input is a JSON object, such as {"age": 30}.')
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
        Ruleset.objects.for_tenant(ruleset.tenant)
        .filter(name=ruleset.name)
        .order_by("-created_at")
        .values_list("pk", flat=True)[:5]
    )
    logs = []
    for version_id in {ruleset.pk, *versions}:
        logs += list(
            ExecutionLog.objects.for_tenant(ruleset.tenant)
            .filter(ruleset_id=version_id)
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
        if "input" not in initial:
            # Start from the attributes this version reads, not another ruleset's example.
            example = version_input_example(self.ruleset)
            initial["input"] = json.dumps(example, indent=2, ensure_ascii=False)
        return self._page(request, TryItForm(initial=initial), recent, chosen=chosen)

    def post(self, request, ruleset_id):
        # Non-production work: TRY_IT_RATE_LIMIT per user, in one of the node's worker slots.
        return non_production_page(
            request, "try_it", admin_site=self.admin_site, run=lambda: self._post(request)
        )

    def _post(self, request):
        if "save_test_case" in request.POST:
            return self._save_test_case(request)
        form = TryItForm(request.POST)
        result = self._run(request, form) if form.is_valid() else None
        return self._page(request, form, recent_inputs(self.ruleset), result=result)

    def _save_test_case(self, request):
        """Evaluate the input again (the draft may have changed since the run) and save it."""
        if not self.may_edit:
            raise PermissionDenied
        form = TryItForm(request.POST)
        save_form = SaveTestCaseForm(request.POST, drafts=self._drafts())
        result = self._run(request, form, log=False) if form.is_valid() else None
        if result is not None:
            data = form.cleaned_data["input"]
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
            return (
                ExecutionLog.objects.for_tenant(self.ruleset.tenant)
                .filter(pk=execution_id, ruleset_name=self.ruleset.name)
                .first()
            )
        except Exception:  # noqa: BLE001 - not a UUID: nothing to load
            return None

    def _run(self, request, form: TryItForm, *, log: bool = True) -> dict | None:
        """Evaluate the form's input with a trace; None (and a form error) if it is refused."""
        ruleset = self.ruleset
        try:
            compiled = ruleset_compile(ruleset)
        except RulesetCompileError as error:
            return {"problems": [problem_text(p) for p in error.problems]}
        data = form.cleaned_data["input"]
        log = log and settings.TRY_IT_LOG
        outcome = evaluation_run(
            compiled=compiled,
            identity={"ruleset_id": ruleset.pk, "name": ruleset.name, "version": ruleset.version},
            tenant_id=ruleset.tenant_id,
            data=data,
            source=ExecutionSource.ADMIN if log else None,
            caller=request.user.get_username(),
            trace=True,
            where="input",
        )
        if outcome.problem is not None:
            form.add_error("input", outcome.problem)
            return None
        logged = bool(log and execution_logs_commit([outcome.row], deadline=None))
        evaluation = outcome.evaluation
        if is_decision_evaluation(evaluation):
            return {
                "evaluation": evaluation,
                "decision": decision_try_it_result(evaluation),
                "elapsed_ms": outcome.elapsed_ms,
                "input_problems": outcome.input_problems,
                "logged": logged,
                "input_json": json.dumps(data, ensure_ascii=False),
            }
        rule_names = dict(Rule.objects.filter(ruleset=ruleset).values_list("rule_id", "rule_name"))
        return {
            "evaluation": evaluation,
            "action": evaluation.action,
            "rows": trace_rows(evaluation.trace, rule_names),
            "elapsed_ms": outcome.elapsed_ms,
            "input_problems": outcome.input_problems,
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
