"""The ruleset change page of a decision-table ruleset: its decisions as read-only tables (inputs,
outputs, hit policy, rows with annotations) and the DMN download. Editing a table (dmn-js or a
grid editor) is not here yet: a new model comes in by importing a DMN file."""

from django.contrib.admin.utils import unquote
from django.urls import reverse

from rules.models import RulesetTestCase
from rules.selectors.decision_models import ruleset_decision_outlines, ruleset_is_decision_table


class DecisionTablesAdminMixin:
    def change_view(self, request, object_id, form_url="", extra_context=None):
        context = dict(extra_context or {})
        ruleset = self.get_object(request, unquote(object_id))
        if ruleset is not None and ruleset_is_decision_table(ruleset):
            context["decision_tables"] = ruleset_decision_outlines(ruleset)
            context["dmn_download_url"] = reverse("admin:rules_ruleset_export", args=[ruleset.pk])
        return super().change_view(request, object_id, form_url, context)

    def get_inline_instances(self, request, obj=None):
        instances = super().get_inline_instances(request, obj)
        if obj is not None and ruleset_is_decision_table(obj):
            # Rules and patterns are a scoring ruleset's parts; a decision table has test cases.
            instances = [inline for inline in instances if inline.model is RulesetTestCase]
        return instances
