"""The ruleset change page of a decision-table ruleset: its decisions as read-only tables (inputs,
outputs, hit policy, rows with annotations), the DMN download, and the DMN editor (dmn-js, built
by `make install` into static/ruleengine/vendor/dmn-editor/). The editor's Save posts the model's
XML here; rules.services.decision_models.decision_model_replace checks and stores it."""

import re

from django.contrib.admin.utils import unquote
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse

from rules.choices import Capability
from rules.errors import NotAllowed, RulesetInvalid, ServiceError
from rules.models import RulesetTestCase
from rules.selectors.decision_models import ruleset_decision_outlines, ruleset_is_decision_table
from rules.services.decision_models import decision_model_replace, decision_model_xml
from rules.services.editing import ruleset_editable_by
from rules.tenant_roles import caller_capabilities

EDITOR_SCRIPT = "ruleengine/vendor/dmn-editor/dmn_editor.js"
EDITOR_STYLE = "ruleengine/vendor/dmn-editor/dmn_editor.css"
# decisions[Risk].rules[1].input_entries[0]: what definitions_problems names a cell by.
_CELL_PATH = re.compile(
    r"^decisions\[(?P<decision>[^\]]+)\]\.rules\[(?P<row>\d+)\]"
    r"(?:\.(?P<kind>input|output)_entries\[(?P<column>\d+)\])?"
)


def problem_where(problem) -> str:
    """Where a problem is, for people: "decision Risk, row 2 (risk_medium), input 1"."""
    match = _CELL_PATH.match(problem.path or "")
    if match is None:
        return problem.path or ""
    where = f"decision {match['decision']}, row {int(match['row']) + 1}"
    if problem.rule_id:
        where += f" ({problem.rule_id})"
    if match["kind"]:
        where += f", {match['kind']} {int(match['column']) + 1}"
    return where


def problems_json(problems) -> list[dict]:
    return [
        {
            "message": problem.message,
            "path": problem.path,
            "rule_id": problem.rule_id,
            "where": problem_where(problem),
        }
        for problem in problems
    ]


def editor_built() -> bool:
    return bool(finders.find(EDITOR_SCRIPT))


class DecisionTablesAdminMixin:
    def get_urls(self):
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path(
                "<path:object_id>/decision-model/",
                self.admin_site.admin_view(self.decision_model_editor_view),
                name=f"{info}_decision_model",
            ),
        ] + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        context = dict(extra_context or {})
        ruleset = self.get_object(request, unquote(object_id))
        if ruleset is not None and ruleset_is_decision_table(ruleset):
            context["decision_tables"] = ruleset_decision_outlines(ruleset)
            context["dmn_download_url"] = reverse("admin:rules_ruleset_export", args=[ruleset.pk])
            context["decision_model_editor_url"] = reverse(
                "admin:rules_ruleset_decision_model", args=[ruleset.pk]
            )
            context["decision_model_editable"] = ruleset_editable_by(ruleset, request.user)
        return super().change_view(request, object_id, form_url, context)

    def get_inline_instances(self, request, obj=None):
        instances = super().get_inline_instances(request, obj)
        if obj is not None and ruleset_is_decision_table(obj):
            # Rules and patterns are a scoring ruleset's parts; a decision table has test cases.
            instances = [inline for inline in instances if inline.model is RulesetTestCase]
        return instances

    def decision_model_editor_view(self, request, object_id):
        """GET: the version's model in dmn-js (read-only unless a draft the user may edit);
        POST (the editor's Save, the model's XML as the body): JSON {ok} or {problems} (400)."""
        ruleset = self.get_object(request, unquote(object_id))  # another tenant's: 404
        if not ruleset_is_decision_table(ruleset):
            raise Http404
        if request.method == "POST":
            return self._decision_model_save(request, ruleset)
        editable = ruleset_editable_by(ruleset, request.user)
        try:
            xml = decision_model_xml(ruleset)
        except RulesetInvalid:
            xml = None
        context = {
            **self.admin_site.each_context(request),
            "title": f"Edit decision model of {ruleset.name} {ruleset.version}",
            "opts": self.opts,
            "ruleset": ruleset,
            "editable": editable,
            "xml": xml,
            "editor_built": editor_built(),
            "editor_script": EDITOR_SCRIPT,
            "editor_style": EDITOR_STYLE,
            "save_url": reverse("admin:rules_ruleset_decision_model", args=[ruleset.pk]),
            "change_url": reverse("admin:rules_ruleset_change", args=[ruleset.pk]),
        }
        return TemplateResponse(request, "rules/decision_model_editor.html", context)

    def _decision_model_save(self, request, ruleset):
        if Capability.VIEW not in caller_capabilities(request.user, ruleset.tenant_id):
            raise PermissionDenied
        try:
            decision_model_replace(ruleset=ruleset, xml=request.body, actor=request.user)
        except NotAllowed as error:
            return JsonResponse({"ok": False, "error": str(error)}, status=403)
        except RulesetInvalid as error:
            return JsonResponse(
                {"ok": False, "error": error.heading, "problems": problems_json(error.problems)},
                status=400,
            )
        except ServiceError as error:  # a published version: read-only
            return JsonResponse({"ok": False, "error": str(error)}, status=409)
        return JsonResponse({"ok": True})
