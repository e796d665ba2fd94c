"""History pages: field-by-field diffs of a ruleset and of its parts, and reverts (drafts only).

Reverting goes through the admin's save_model, so through the services like any other save.
"""

from django.contrib.admin.utils import unquote
from django.http import HttpResponseRedirect
from django.urls import reverse
from simple_history.models import is_historic

from rules.admin.service_errors import service_error_report
from rules.choices import RulesetStatus
from rules.errors import ServiceError
from rules.models import Ruleset
from rules.selectors.history import (
    HISTORY_NOISE_FIELDS,
    ruleset_part_changes,
    ruleset_stored_status,
)
from rules.selectors.version_diff import ruleset_parts_state, states_diff
from rules.selectors.version_history import ruleset_entry_moment, ruleset_state_at


def ruleset_status_now(ruleset) -> str:
    """The status that decides what may be done: a revision from a history page carries its old
    one, so the stored row is asked."""
    return ruleset_stored_status(ruleset.pk) if is_historic(ruleset) else ruleset.status


class RevisionAdminMixin:
    """A revision of another tenant's object answers 404; a refused revert is a message."""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._history_object_check(request, unquote(object_id))
        try:
            return super().history_form_view(request, object_id, version_id, extra_context)
        except ServiceError as error:
            service_error_report(self, request, error)
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        return HttpResponseRedirect(reverse(f"admin:{info}_history", args=[object_id]))


class RulesetHistoryAdminMixin(RevisionAdminMixin):
    """The history of a ruleset version lists its own revisions and the changes of its parts."""

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        previous = None
        for current in historical_records:
            if previous is not None:
                delta = previous.diff_against(
                    current,
                    excluded_fields=HISTORY_NOISE_FIELDS,
                    foreign_keys_are_objs=foreign_keys_are_objs,
                )
                helper = self.get_historical_record_context_helper(request, previous)
                previous.history_delta_changes = helper.context_for_delta_changes(delta)
            previous = current

    object_history_form_template = "admin/rules/ruleset/object_history_form.html"

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        """The revision page shows the whole version at that entry: rules, patterns, tests."""
        self._history_object_check(request, unquote(object_id))
        context = dict(extra_context or {})
        ruleset_id = int(unquote(object_id))
        entry = Ruleset.history.filter(id=ruleset_id, history_id=version_id).first()
        if entry is not None:
            moment = ruleset_entry_moment(ruleset_id=ruleset_id, history_id=entry.history_id)
            state = ruleset_state_at(ruleset_id=ruleset_id, at=moment)
            context["version_state"] = state
            current = Ruleset.objects.filter(pk=ruleset_id).first()
            if current is not None:
                context["state_diff"] = states_diff(
                    ruleset_parts_state(current), state.as_diffable()
                )
                context["diff_against"] = current
        return super().history_form_view(request, object_id, version_id, context)

    def history_view(self, request, object_id, extra_context=None):
        self._history_object_check(request, unquote(object_id))
        context = {
            "part_changes": ruleset_part_changes(unquote(object_id)),
            **(extra_context or {}),
        }
        return super().history_view(request, object_id, context)

    def revert_disabled(self, request, obj=None):
        if obj is not None and ruleset_status_now(obj) != RulesetStatus.DRAFT:
            return True
        return super().revert_disabled(request, obj)
