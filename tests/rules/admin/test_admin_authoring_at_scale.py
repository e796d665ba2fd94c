"""Authoring at scale (issue #14): large versions edited a row or a page at a time, the live
validation panel, the activation page's refusals and diff, four-eyes over the whole history."""

import time

import pytest
from django.urls import reverse

from rules.choices import ItemStatus, Role, RulesetStatus
from rules.models import Pattern, Rule, Ruleset
from rules.services import editing, lifecycle
from tests.factories import (
    RulesetTestCaseFactory,
    large_ruleset,
    ruleset_with_rules,
)
from tests.support.admin_forms import rule_post

pytestmark = pytest.mark.django_db


def change_url(ruleset) -> str:
    return reverse("admin:rules_ruleset_change", args=[ruleset.pk])


def rules_url(ruleset) -> str:
    return reverse("admin:rules_rule_changelist") + f"?ruleset={ruleset.pk}"


# --- Any size --------------------------------------------------------------------------------


def test_a_thousand_rule_draft_opens_fast_without_rendering_its_rules(client, tenant, author):
    ruleset = large_ruleset(tenant=tenant, rules=1000)
    client.force_login(author)
    client.get(change_url(ruleset))  # warm caches
    started = time.perf_counter()
    page = client.get(change_url(ruleset))
    elapsed = time.perf_counter() - started
    assert page.status_code == 200
    assert elapsed < 1.5, elapsed
    assert b"rules-TOTAL_FORMS" not in page.content  # no inline of a thousand rows
    assert b"1000 rules" in page.content
    assert rules_url(ruleset).replace("?", "?").encode() in page.content.replace(b"&amp;", b"&")


def test_a_small_draft_keeps_its_inline_rules(client, tenant, author):
    ruleset = ruleset_with_rules(tenant=tenant, rules=3)
    client.force_login(author)
    page = client.get(change_url(ruleset))
    assert b"rules-TOTAL_FORMS" in page.content


def test_the_ruleset_form_of_a_large_draft_saves_posting_only_its_own_fields(
    client, tenant, author
):
    ruleset = large_ruleset(tenant=tenant, rules=1000)
    client.force_login(author)
    data = {
        "name": ruleset.name,
        "version": ruleset.version,
        "description": "now described",
        "tags": "",
        "metadata": "{}",
        "semantics": "strict",
    }
    for prefix in ("patterns", "test_cases"):  # few enough to stay inline, and empty
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": "0",
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
    response = client.post(change_url(ruleset), data)
    assert response.status_code == 302, response.content[:2000]
    ruleset.refresh_from_db()
    assert ruleset.description == "now described"
    assert len(data) < 20  # not a field of the thousand rules


def test_one_rule_of_a_large_draft_is_edited_on_its_own_form(client, tenant, author):
    ruleset = large_ruleset(tenant=tenant, rules=1000)
    rule = Rule.objects.get(ruleset=ruleset, rule_id="R0500")
    revision = ruleset.revision
    client.force_login(author)
    url = reverse("admin:rules_rule_change", args=[rule.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, rule_post(rule, constant="710", message="Score above 710"))
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.constant, rule.message) == ("710", "Score above 710")
    assert rule.history.first().history_user == author  # through the service, with history
    ruleset.refresh_from_db()
    assert ruleset.revision > revision
    assert Rule.objects.filter(ruleset=ruleset, constant="700").count() == 999


def test_the_rules_list_is_scoped_searchable_and_edits_a_page_at_a_time(client, tenant, author):
    ruleset = large_ruleset(tenant=tenant, rules=120)
    other = ruleset_with_rules(tenant=tenant, rules=2, name="other")
    client.force_login(author)
    page = client.get(rules_url(ruleset))
    assert page.status_code == 200
    assert page.context["cl"].result_count == 120
    assert page.context["cl"].formset is not None  # list_editable on a draft
    assert len(page.context["cl"].formset.forms) == 50  # one page, not every rule
    searched = client.get(rules_url(ruleset) + "&q=R0042")
    assert searched.context["cl"].result_count == 1
    other_rules = client.get(rules_url(other))
    assert other_rules.context["cl"].result_count == 2


def test_the_rules_list_edits_a_page_through_the_service(client, tenant, author):
    ruleset = large_ruleset(tenant=tenant, rules=60)
    client.force_login(author)
    page = client.get(rules_url(ruleset))
    formset = page.context["cl"].formset
    data = {key: value for key, value in formset.management_form.initial.items()}
    data = {f"form-{k}": v for k, v in data.items()}
    for index, form in enumerate(formset.forms):
        rule = form.instance
        row = rule_post(rule, weight=str(rule.weight), rule_point="1", priority=str(rule.priority))
        row.pop("rule_id")
        row.pop("catalog_condition_ids")
        row.pop("message")
        if index == 3:
            row["constant"] = "650"
        data.update({f"form-{index}-{k}": v for k, v in row.items()})
        data[f"form-{index}-id"] = str(rule.pk)
    data["_save"] = "Save"
    response = client.post(rules_url(ruleset), data)
    assert response.status_code == 302, response.context and response.context["cl"].formset.errors
    changed = Rule.objects.get(pk=formset.forms[3].instance.pk)
    assert changed.constant == "650"
    assert changed.history.first().history_user == author
    assert Rule.objects.filter(ruleset=ruleset, constant="700").count() == 59


def test_bulk_action_deactivates_selected_rules(client, tenant, author):
    ruleset = large_ruleset(tenant=tenant, rules=60)
    chosen = list(Rule.objects.filter(ruleset=ruleset).order_by("rule_id")[:3])
    client.force_login(author)
    client.post(
        rules_url(ruleset),
        {"action": "deactivate_selected", "_selected_action": [r.pk for r in chosen]},
    )
    assert Rule.objects.filter(ruleset=ruleset, status=ItemStatus.INACTIVE).count() == 3


def test_rules_of_a_published_version_are_listed_read_only(client, tenant, author):
    ruleset = ruleset_with_rules(tenant=tenant, rules=2, status=RulesetStatus.ACTIVE)
    rule = ruleset.rules.first()
    client.force_login(author)
    page = client.get(rules_url(ruleset))
    assert page.context["cl"].formset is None
    response = client.post(
        reverse("admin:rules_rule_change", args=[rule.pk]), rule_post(rule, constant="1")
    )
    assert response.status_code == 403
    rule.refresh_from_db()
    assert rule.constant == "700"


def test_patterns_and_test_cases_have_lists_of_their_own(client, tenant, author):
    ruleset = ruleset_with_rules(tenant=tenant, rules=2)
    RulesetTestCaseFactory(ruleset=ruleset, name="approves")
    client.force_login(author)
    patterns = client.get(reverse("admin:rules_pattern_changelist") + f"?ruleset={ruleset.pk}")
    assert patterns.context["cl"].result_count == 1
    cases = client.get(reverse("admin:rules_rulesettestcase_changelist") + f"?ruleset={ruleset.pk}")
    assert cases.context["cl"].result_count == 1
    pattern = Pattern.objects.get(ruleset=ruleset)
    response = client.post(
        reverse("admin:rules_pattern_change", args=[pattern.pk]),
        {"pattern_key": "YY", "action_recommendation": "REVIEW", "action": "", "description": ""},
    )
    assert response.status_code == 302
    pattern.refresh_from_db()
    assert pattern.action_recommendation == "REVIEW"


# --- Live validation -------------------------------------------------------------------------


@pytest.mark.parametrize("constant", ["abc", "10,000"])
def test_a_non_numeric_constant_on_an_ordering_operator_stops_the_save(
    client, tenant, author, constant
):
    ruleset = ruleset_with_rules(tenant=tenant, rules=1)
    rule = ruleset.rules.get()
    client.force_login(author)
    response = client.post(
        reverse("admin:rules_rule_change", args=[rule.pk]), rule_post(rule, constant=constant)
    )
    assert response.status_code == 200
    assert "is not a number" in str(response.context["adminform"].form.errors["constant"])
    rule.refresh_from_db()
    assert rule.constant == "700"


def test_an_iso_date_constant_on_an_ordering_operator_is_accepted(client, tenant, author):
    ruleset = ruleset_with_rules(tenant=tenant, rules=1)
    rule = ruleset.rules.get()
    client.force_login(author)
    client.post(
        reverse("admin:rules_rule_change", args=[rule.pk]),
        rule_post(rule, attribute="opened", constant="2024-01-31"),
    )
    rule.refresh_from_db()
    assert rule.constant == "2024-01-31"


def test_the_validation_panel_lists_what_activation_would_refuse(client, tenant, author):
    ruleset = ruleset_with_rules(tenant=tenant, rules=2)
    client.force_login(author)
    clean = client.get(change_url(ruleset))
    assert b'id="validation-panel"' in clean.content
    assert clean.context["validation"].errors == []
    # Written past the form (as an import or the API could): the panel still says so.
    Rule.objects.filter(ruleset=ruleset).update(constant="10,000")
    Pattern.objects.filter(ruleset=ruleset).update(pattern_key="YYYY")
    page = client.get(change_url(ruleset))
    errors = page.context["validation"].errors
    assert any("10000" in error for error in errors), errors
    assert len(errors) >= 3, errors


# --- Activation page and four-eyes -----------------------------------------------------------


def transition_url(ruleset):
    return reverse("admin:rules_ruleset_transition", args=[ruleset.pk, "active"])


def test_activation_page_lists_failing_tests_and_disables_the_button(client, tenant, approver):
    ruleset = ruleset_with_rules(tenant=tenant, rules=2)
    RulesetTestCaseFactory(
        ruleset=ruleset, name="expects decline", expected_action_recommendation="DECLINE"
    )
    client.force_login(approver)
    page = client.get(transition_url(ruleset))
    assert page.context["test_failures"]
    assert page.context["refused"] is True
    assert b'value="Activate" disabled' in page.content
    assert b"failing test cases" in page.content


def test_activation_page_of_a_clean_draft_offers_an_enabled_button_and_the_diff(
    client, tenant, approver, author
):
    active = ruleset_with_rules(tenant=tenant, rules=2, name="loans", status=RulesetStatus.ACTIVE)
    draft = lifecycle.ruleset_new_version(ruleset_id=active.pk, actor=author)
    rule = draft.rules.order_by("rule_id").first()
    rule.constant = "720"
    editing.ruleset_part_save(part=rule, actor=author)
    client.force_login(approver)
    page = client.get(transition_url(draft))
    assert page.context["refused"] is False
    assert b'value="Activate" disabled' not in page.content
    rules_diff = page.context["diff"][0]
    assert rules_diff.changed == [(rule.rule_id, [("constant", "700", "720")])]
    assert b"<del>700</del>" in page.content


def test_four_eyes_refuses_anyone_in_the_history_not_only_the_last_editor(
    client, tenant, member, settings
):
    settings.RULESET_FOUR_EYES = True
    admin_user = member(Role.ADMIN, username="adam")
    author = member(Role.AUTHOR, username="aria")
    approver = member(Role.APPROVER, username="apollo")
    ruleset = ruleset_with_rules(tenant=tenant, rules=2)
    rule = ruleset.rules.first()
    rule.rule_name = "changed by the admin"
    editing.ruleset_part_save(part=rule, actor=admin_user)
    editing.ruleset_update(
        ruleset=Ruleset.objects.get(pk=ruleset.pk), actor=author, description="last"
    )
    client.force_login(admin_user)
    page = client.get(transition_url(ruleset))
    assert page.context["four_eyes"]
    assert b'value="Activate" disabled' in page.content
    with pytest.raises(Exception, match="Four-eyes"):
        lifecycle.ruleset_activate(ruleset_id=ruleset.pk, actor=admin_user)
    assert lifecycle.ruleset_activate(ruleset_id=ruleset.pk, actor=approver).status == "active"


# --- Whole-version history -------------------------------------------------------------------


def revision_url(ruleset, record):
    return reverse("admin:rules_ruleset_simple_history", args=[ruleset.pk, record.history_id])


def revert_post(ruleset) -> dict:
    return {
        "name": ruleset.name,
        "version": ruleset.version,
        "description": "x",
        "tags": "",
        "metadata": "{}",
    }


def test_revert_to_the_created_entry_restores_rules_patterns_and_test_cases(client, tenant, author):
    ruleset = ruleset_with_rules(tenant=tenant, rules=2, description="first")
    RulesetTestCaseFactory(ruleset=ruleset, name="kept")
    created = ruleset.history.order_by("history_date").first()
    first, second = ruleset.rules.order_by("rule_id")
    first.constant = "800"
    editing.ruleset_part_save(part=first, actor=author)
    editing.ruleset_part_delete(part=second, actor=author)
    editing.ruleset_update(
        ruleset=Ruleset.objects.get(pk=ruleset.pk), actor=author, description="second"
    )
    editing.rule_create(
        ruleset=ruleset, actor=author, rule_id="NEW", attribute="x", operator="equal", constant="1"
    )
    client.force_login(author)

    page = client.get(revision_url(ruleset, created))
    assert page.status_code == 200
    state = page.context["version_state"]
    assert sorted(r.rule_id for r in state.rules) == sorted([first.rule_id, second.rule_id])
    assert b'id="version-at-point"' in page.content
    before = Rule.history.count()

    response = client.post(revision_url(ruleset, created), revert_post(ruleset))
    assert response.status_code == 302
    ruleset.refresh_from_db()
    assert ruleset.description == "first"
    rules = {r.rule_id: r.constant for r in ruleset.rules.all()}
    assert rules == {first.rule_id: "700", second.rule_id: "700"}
    assert ruleset.test_cases.filter(name="kept").exists()
    assert ruleset.patterns.count() == 1
    # One history entry: every record of the revert has one date, user and reason.
    records = Rule.history.all()[: Rule.history.count() - before]
    assert len({(r.history_date, r.history_user_id, r.history_change_reason) for r in records}) == 1
    assert ruleset.history.first().history_change_reason.startswith("Reverted to")


def test_revert_of_a_published_version_is_refused_and_changes_nothing(client, tenant, author):
    ruleset = ruleset_with_rules(tenant=tenant, rules=2)
    created = ruleset.history.order_by("history_date").first()
    rule = ruleset.rules.first()
    rule.constant = "800"
    editing.ruleset_part_save(part=rule, actor=author)
    Ruleset.objects.filter(pk=ruleset.pk).update(status="active")
    client.force_login(author)
    client.post(revision_url(ruleset, created), revert_post(ruleset))
    rule.refresh_from_db()
    assert rule.constant == "800"


# --- Review and comparison -------------------------------------------------------------------


def test_an_author_requests_review_and_the_approver_sees_who_asked(
    client, tenant, author, approver
):
    draft = ruleset_with_rules(tenant=tenant, rules=2, name="loans")
    quiet = ruleset_with_rules(tenant=tenant, rules=2, name="untouched")
    client.force_login(author)
    client.post(reverse("admin:rules_ruleset_request_review", args=[draft.pk]), {"note": "please"})
    assert client.get(reverse("admin:rules_ruleset_review")).status_code == 403  # authors: no list
    client.force_login(approver)
    page = client.get(reverse("admin:rules_ruleset_review"))
    waiting = page.context["waiting"]
    assert [row["ruleset"].pk for row in waiting] == [draft.pk]
    assert waiting[0]["requested_by"] == author and waiting[0]["note"] == "please"
    assert quiet.name.encode() not in page.content
    lifecycle.ruleset_activate(ruleset_id=draft.pk, actor=approver)
    assert client.get(reverse("admin:rules_ruleset_review")).context["waiting"] == []


def test_any_version_is_compared_with_the_active_one_and_an_earlier_one(client, tenant, author):
    first = ruleset_with_rules(tenant=tenant, rules=2, name="loans", status=RulesetStatus.ACTIVE)
    second = lifecycle.ruleset_new_version(ruleset_id=first.pk, actor=author)
    editing.rule_create(
        ruleset=second,
        actor=author,
        rule_id="R_NEW",
        attribute="age",
        operator="greater_than",
        constant="18",
    )
    third = lifecycle.ruleset_new_version(ruleset_id=second.pk, actor=author)
    dropped = third.rules.order_by("rule_id").first()
    editing.ruleset_part_delete(part=dropped, actor=author)
    client.force_login(author)
    url = reverse("admin:rules_ruleset_compare", args=[third.pk])
    against_active = client.get(url).context["diff"][0]
    assert against_active.added == ["R_NEW"] and against_active.removed == [dropped.rule_id]
    against_second = client.get(url + f"?with={second.pk}").context["diff"][0]
    assert against_second.added == [] and against_second.removed == [dropped.rule_id]


# --- Smaller items of point 7 -----------------------------------------------------------------


def test_messages_keep_identifiers_as_written(client, tenant, approver):
    ruleset = ruleset_with_rules(tenant=tenant, rules=1, name="fraud_check")
    client.force_login(approver)
    response = client.post(
        reverse("admin:rules_ruleset_transition", args=[ruleset.pk, "active"]), follow=True
    )
    assert b"fraud_check 1.0 is now active." in response.content
    assert b"Fraud_check" not in response.content


def test_the_catalog_conditions_picker_shows_several_rows(client, tenant, author):
    ruleset = ruleset_with_rules(tenant=tenant, rules=1)
    client.force_login(author)
    page = client.get(change_url(ruleset))
    assert b'size="6" class="catalog-select"' in page.content


def test_the_rule_form_edits_the_message(client, tenant, author):
    ruleset = ruleset_with_rules(tenant=tenant, rules=1)
    rule = ruleset.rules.get()
    client.force_login(author)
    page = client.get(reverse("admin:rules_rule_change", args=[rule.pk]))
    assert b'name="message"' in page.content


# --- Test upkeep -----------------------------------------------------------------------------


def test_accepting_the_actual_result_makes_a_failing_test_case_pass(client, tenant, author):
    ruleset = ruleset_with_rules(tenant=tenant, rules=2)
    case = RulesetTestCaseFactory(
        ruleset=ruleset, name="stale", expected_action_recommendation="DECLINE"
    )
    client.force_login(author)
    tests_url = reverse("admin:rules_ruleset_tests", args=[ruleset.pk])
    page = client.get(tests_url)
    assert b"Accept the actual result as expected" in page.content
    client.post(reverse("admin:rules_ruleset_test_accept", args=[ruleset.pk, case.pk]))
    case.refresh_from_db()
    assert case.expected_action_recommendation == "APPROVE"
    assert case.expected_pattern_result is None  # unchecked fields stay unchecked
    assert case.history.first().history_user == author
    assert client.get(tests_url).context["report"].passed


def test_an_approver_runs_the_tests_of_every_draft(client, tenant, other_tenant, approver, author):
    passing = ruleset_with_rules(tenant=tenant, rules=1, name="passing")
    RulesetTestCaseFactory(ruleset=passing)
    failing = ruleset_with_rules(tenant=tenant, rules=1, name="failing")
    RulesetTestCaseFactory(ruleset=failing, expected_action_recommendation="DECLINE")
    ruleset_with_rules(tenant=tenant, rules=1, name="published", status=RulesetStatus.ACTIVE)
    ruleset_with_rules(tenant=other_tenant, rules=1, name="foreign")
    url = reverse("admin:rules_ruleset_drafts_tests")
    client.force_login(author)
    assert client.get(url).status_code == 403
    client.force_login(approver)
    rows = {row["report"].name: row for row in client.get(url).context["reports"]}
    assert set(rows) == {"passing", "failing"}
    assert rows["passing"]["report"].passed and rows["failing"]["failed"] == 1


# --- Import and export -----------------------------------------------------------------------


def test_a_version_is_exported_and_the_file_imported_into_a_new_draft(client, tenant, author):
    from django.core.files.uploadedfile import SimpleUploadedFile

    source = ruleset_with_rules(tenant=tenant, rules=3, name="loans")
    client.force_login(author)
    exported = client.get(reverse("admin:rules_ruleset_export", args=[source.pk]))
    assert exported.status_code == 200
    assert 'filename="loans-1.0.json"' in exported["Content-Disposition"]
    upload = SimpleUploadedFile("loans.json", exported.content, "application/json")
    page = client.post(
        reverse("admin:rules_ruleset_import"),
        {"tenant": str(tenant.pk), "document": upload, "name": "", "version": "2.0"},
    )
    assert page.status_code == 200
    lines = page.context["report_lines"]
    assert lines[0].startswith("Imported") and "loans 2.0 (draft): 3 rules, 1 patterns" in lines[0]
    draft = Ruleset.objects.get(tenant=tenant, name="loans", version="2.0")
    assert draft.status == "draft" and draft.rules.count() == 3


def test_an_invalid_upload_reports_every_problem_and_writes_nothing(client, tenant, author):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(author)
    before = Ruleset.objects.count()
    page = client.post(
        reverse("admin:rules_ruleset_import"),
        {"tenant": str(tenant.pk), "document": SimpleUploadedFile("bad.json", b"{not json")},
    )
    assert "malformed JSON" in " ".join(page.context["import_problems"])
    assert Ruleset.objects.count() == before


def test_a_catalog_rule_is_edited_on_its_own_form_keeping_its_conditions(client, tenant, author):
    from tests.factories import RuleConditionFactory

    link = RuleConditionFactory(rule__ruleset__tenant=tenant)
    rule = link.rule
    client.force_login(author)
    response = client.post(
        reverse("admin:rules_rule_change", args=[rule.pk]),
        rule_post(rule, operator="catalog:all", attribute="", constant="", rule_name="renamed"),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    rule.refresh_from_db()
    assert rule.rule_name == "renamed" and rule.condition_links.count() == 1


def test_a_read_only_version_links_no_tenant_or_user_page_a_member_cannot_open(
    client, tenant, author
):
    ruleset = ruleset_with_rules(tenant=tenant, rules=1, status=RulesetStatus.ACTIVE)
    Ruleset.objects.filter(pk=ruleset.pk).update(created_by=author, updated_by=author)
    client.force_login(author)
    page = client.get(change_url(ruleset))
    tenant_url = reverse("admin:rules_tenant_change", args=[tenant.pk]).encode()
    user_url = reverse("admin:auth_user_change", args=[author.pk]).encode()
    assert tenant_url not in page.content and user_url not in page.content
    assert b"alice" in page.content and str(tenant).encode() in page.content
