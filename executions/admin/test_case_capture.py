"""“Save as test case” in the admin: an evaluation's input and outcome become a test case of a
draft, from try-it (the run just made) or from a logged execution (its logged output).

The test case is written by rules.services.test_cases; a refusal becomes a form error.
"""

import json

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from executions.admin.page import AdminPageView
from executions.models import ExecutionLog
from ruleengine.admin_display import CHECK_LABELS, shown_value
from rules.choices import Capability, RulesetStatus
from rules.errors import ServiceError
from rules.models import Ruleset
from rules.services import test_cases
from rules.tenant_roles import caller_capabilities


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


class ExecutionLogTestCaseView(AdminPageView):
    """ "Save as test case" from a logged execution: its input and logged output become a test case
    of a chosen draft of the same ruleset name. Needs the edit capability in the log's tenant."""

    template_name = "executions/log_test_case.html"

    def dispatch(self, request, object_id):
        logs = ExecutionLog.objects.visible_to(request.user, Capability.VIEW)
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
