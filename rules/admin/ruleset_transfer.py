"""Import (upload a document into a new draft, with the command's report) and export (download a
version's document) in the admin. The work is `rules.services.ruleset_import` / `_export`."""

from django import forms
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse

from rules.choices import Capability, RulesetSemantics
from rules.errors import RulesetInvalid, ServiceError, problem_text
from rules.models import Tenant
from rules.services.import_report import import_report_lines
from rules.services.ruleset_export import ruleset_export_file
from rules.services.ruleset_import import ruleset_import
from rules.tenant_roles import caller_may_anywhere


class RulesetImportForm(forms.Form):
    tenant = forms.ModelChoiceField(queryset=Tenant.objects.none())
    document = forms.FileField(
        help_text="A ruleset document in any format import_rules takes (spec, flat, structured, "
        "the original's files, a DMN file of decision tables)."
    )
    conditions = forms.FileField(
        required=False, help_text="The original's conditions file, for its structured rules."
    )
    name = forms.CharField(required=False, help_text="Empty: the document's name.")
    version = forms.CharField(required=False, help_text="Empty: the document's version.")
    semantics = forms.ChoiceField(
        required=False, choices=[("", "as the document says")] + RulesetSemantics.choices
    )
    dry_run = forms.BooleanField(required=False, label="Check only (write nothing)")


class RulesetTransferMixin:
    def get_urls(self):
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path("import/", view(self.import_view), name=f"{info}_import"),
            path("<path:object_id>/export/", view(self.export_view), name=f"{info}_export"),
        ] + super().get_urls()

    def export_view(self, request, object_id):
        ruleset = self.get_object(request, unquote(object_id))
        content, media_type, suffix = ruleset_export_file(ruleset=ruleset)
        response = HttpResponse(content, content_type=media_type)
        filename = f"{ruleset.name}-{ruleset.version}{suffix}"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def import_view(self, request):
        if not caller_may_anywhere(request.user, Capability.EDIT):
            raise PermissionDenied
        form = RulesetImportForm(request.POST or None, request.FILES or None)
        form.fields["tenant"].queryset = Tenant.objects.visible_to(request.user, Capability.EDIT)
        tenants = list(form.fields["tenant"].queryset[:2])
        if len(tenants) == 1:
            form.fields["tenant"].initial = tenants[0].pk
        context = {
            **self.admin_site.each_context(request),
            "title": "Import a ruleset",
            "opts": self.opts,
            "form": form,
        }
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            upload = data["document"]
            document = upload.read()
            try:
                report = ruleset_import(
                    tenant=data["tenant"],
                    actor=request.user,
                    document=document,
                    filename=upload.name,
                    conditions_document=data["conditions"].read() if data["conditions"] else None,
                    name=data["name"] or None,
                    version=data["version"] or None,
                    dry_run=data["dry_run"],
                    semantics=data["semantics"] or None,
                )
            except RulesetInvalid as error:
                context["import_error"] = str(error).splitlines()[0]
                context["import_problems"] = [problem_text(p) for p in error.problems]
            except ServiceError as error:
                context["import_error"] = str(error)
            else:
                context["report_lines"] = import_report_lines(report)
                if report.created is not None:
                    context["created_url"] = reverse(
                        "admin:rules_ruleset_change", args=[report.created.pk]
                    )
        return TemplateResponse(request, "rules/ruleset_import.html", context)
