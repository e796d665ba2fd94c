"""History of decision-table versions: compare shows decisions and rows cell by cell, the
point-in-time view diffs the DMN model as it stood, and revert restores it (issue #15)."""

import copy

import pytest
from django.urls import reverse

from rules.models import DecisionModel, Ruleset
from rules.selectors.version_diff import ruleset_versions_diff
from rules.services import lifecycle
from rules.services.ruleset_import import ruleset_import
from rules.services.version_revert import ruleset_revert
from tests.support import TEST_DATA

pytestmark = pytest.mark.django_db

LOAN = (TEST_DATA / "dmn" / "loan_offer.dmn").read_bytes()


@pytest.fixture
def loans(tenant):
    return ruleset_import(tenant=tenant, actor=None, document=LOAN, name="loans").created


def model_edit(ruleset, change, actor=None):
    """Change the version's stored model as the editor's save does (a history record)."""
    model = DecisionModel.objects.get(ruleset=ruleset)
    definitions = copy.deepcopy(model.definitions)
    change(definitions)
    model.definitions = definitions
    model._history_user = actor
    model.save()


def risk(definitions):
    return definitions["decisions"][0]["logic"]


def edit_draft(definitions):
    table = risk(definitions)
    table["rules"][0]["input_entries"][0] = ">= 740"  # risk_low: a changed cell
    table["rules"][1]["annotation"] = "Near prime"
    table["rules"].pop()  # risk_high removed
    table["rules"].append(
        {
            "id": "risk_none",
            "input_entries": ["null"],
            "output_entries": ['"unknown"'],
            "annotation": "",
        }
    )
    table["hit_policy"] = "UNIQUE"


def diff_by_kind(old, new):
    return {part.kind: part for part in ruleset_versions_diff(old=old, new=new)}


def test_versions_diff_names_rows_and_cells(loans):
    draft = lifecycle.ruleset_new_version(ruleset_id=loans.pk, actor=None)
    assert all(part.empty for part in ruleset_versions_diff(old=loans, new=draft))

    model_edit(draft, edit_draft)
    parts = diff_by_kind(loans, draft)

    assert "rules" not in parts and "patterns" not in parts  # a decision table has neither
    rows = parts['rows of "Risk"']
    assert rows.added == ["risk_none"] and rows.removed == ["risk_high"]
    changed = dict(rows.changed)
    assert changed["risk_low"] == [("input 'Credit score'", ">= 720", ">= 740")]
    assert changed["risk_medium"] == [("annotation", "", "Near prime")]
    assert dict(parts["decisions"].changed)["Risk"] == [("hit policy", "FIRST", "UNIQUE")]
    assert parts['rows of "Loan offer"'].empty


def test_rows_without_an_id_are_compared_by_position(loans):
    def drop_ids(definitions):
        for row in risk(definitions)["rules"]:
            row["id"] = ""

    model_edit(loans, drop_ids)
    draft = lifecycle.ruleset_new_version(ruleset_id=loans.pk, actor=None)
    model_edit(draft, lambda d: risk(d)["rules"][2]["output_entries"].__setitem__(0, '"none"'))

    changed = dict(diff_by_kind(loans, draft)['rows of "Risk"'].changed)
    assert changed == {"row 3": [("output 'risk'", '"high"', '"none"')]}


def test_compare_page_shows_a_changed_cell(client, author, loans):
    draft = lifecycle.ruleset_new_version(ruleset_id=loans.pk, actor=None)
    model_edit(draft, edit_draft)
    client.force_login(author)

    page = client.get(reverse("admin:rules_ruleset_compare", args=[draft.pk]))

    content = page.content.decode()
    assert page.status_code == 200
    assert "Rows of &quot;Risk&quot;" in content
    assert "<del>&gt;= 720</del> &rarr; <ins>&gt;= 740</ins>" in content
    assert "No rules changed" not in content


def test_point_in_time_view_and_revert_restore_the_model(client, author, loans):
    created = Ruleset.history.filter(id=loans.pk).earliest("history_date")
    original = copy.deepcopy(DecisionModel.objects.get(ruleset=loans).definitions)
    model_edit(loans, edit_draft, actor=author)

    client.force_login(author)
    page = client.get(
        reverse("admin:rules_ruleset_history", args=[loans.pk]) + f"{created.history_id}/"
    )
    assert page.status_code == 200
    assert [d for d in page.context["state_diff"] if not d.empty], "the edit shows as a change"

    ruleset_revert(ruleset_id=loans.pk, history_id=created.history_id, actor=author)

    model = DecisionModel.objects.get(ruleset=loans)
    assert model.definitions == original
    assert model.history.latest("history_date").history_change_reason.startswith("Reverted")


def test_history_page_lists_a_model_edit_cell_by_cell(client, author, loans):
    model_edit(loans, edit_draft, actor=author)
    client.force_login(author)

    page = client.get(reverse("admin:rules_ruleset_history", args=[loans.pk]))

    change = next(c for c in page.context["part_changes"] if c["kind"] == "DMN model")
    assert change["record"].history_user == author
    diff = change["diff"]
    assert ("rows of \"Risk\": risk_low, input 'Credit score'", ">= 720", ">= 740") in diff
    assert ('rows of "Risk": added', "", "risk_none") in diff
    assert ('rows of "Risk": removed', "risk_high", "") in diff
    assert ("decisions: Risk, hit policy", "FIRST", "UNIQUE") in diff
    assert "<del>&gt;= 720</del> &rarr; <ins>&gt;= 740</ins>" in page.content.decode()


def test_compare_lists_a_decision_tables_own_fields(loans):
    draft = lifecycle.ruleset_new_version(ruleset_id=loans.pk, actor=None)
    Ruleset.objects.filter(pk=draft.pk).update(description="Loan offers, reviewed")
    draft.refresh_from_db()

    fields = dict(diff_by_kind(loans, draft)["ruleset"].changed)["loans"]
    assert ("description", loans.description, "Loan offers, reviewed") in fields
