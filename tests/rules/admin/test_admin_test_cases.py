"""Test cases in the admin: the inline, "Run tests", and "Save as test case" (try-it, logs)."""

import json
import re

import pytest
from django.urls import reverse
from django.utils.html import escape

from executions.models import ExecutionLog, ExecutionSource
from executions.services.log_rows import execution_log_row
from rules.choices import Role, RulesetStatus
from rules.models import Ruleset, RulesetTestCase
from rules.services import test_cases
from rules.services.compilation import ruleset_compile
from tests import factories
from tests.factories import RuleFactory

pytestmark = pytest.mark.django_db

RICH = {"credit_score": 750, "income": 60000}
MIDDLE = {"credit_score": 650, "income": 60000}
POOR = {"credit_score": 550, "income": 0}


def credit_ruleset(tenant, **fields):
    """tests.factories.credit_ruleset with R2 at full weight: both rules matched make 30 points."""
    return factories.credit_ruleset(tenant, income_weight=1.0, **fields)


def case(ruleset, name, data, **expected) -> RulesetTestCase:
    return RulesetTestCase.objects.create(ruleset=ruleset, name=name, input_data=data, **expected)


@pytest.fixture
def draft(tenant):
    return credit_ruleset(tenant)


@pytest.fixture
def viewer(member):
    return member(Role.VIEWER, username="vera")


def change_url(ruleset) -> str:
    return reverse("admin:rules_ruleset_change", args=[ruleset.pk])


def run_tests_url(ruleset) -> str:
    return reverse("admin:rules_ruleset_tests", args=[ruleset.pk])


def try_it_url(ruleset) -> str:
    return reverse("admin:executions_executionlog_try_it", args=[ruleset.pk])


def management_form(prefix: str, total: int, initial: int = 0) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def change_post(ruleset, *test_case_rows, initial: int = 0) -> dict:
    """The change form of `ruleset` as posted: its rules and patterns unchanged, test case rows."""
    data = {
        "name": ruleset.name,
        "version": ruleset.version,
        "description": ruleset.description,
        "tags": "",
        "metadata": "{}",
        **management_form("rules", 0),
        **management_form("patterns", 0),
        **management_form("test_cases", len(test_case_rows), initial),
    }
    for index, row in enumerate(test_case_rows):
        values = {
            "name": "",
            "description": "",
            "input_data": "{}",
            "expected_pattern_result": "",
            "expected_action_recommendation": "",
            "expected_total_points": "",
            "total_points_tolerance": "0.000001",
            "expected_matched_rules": "",
            "ruleset": str(ruleset.pk),
            **row,
        }
        data.update({f"test_cases-{index}-{key}": value for key, value in values.items()})
    return data


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- The inline ----------------------------------------------------------------------------------


def test_author_adds_a_test_case_through_the_service_with_history_and_a_new_revision(
    client, draft, author
):
    revision = draft.revision
    client.force_login(author)
    data = change_post(
        draft,
        {
            "name": "rich applicant",
            "description": "both rules match",
            "input_data": '{\n  "credit_score": 750,\n  "income": 60000\n}',
            "expected_pattern_result": "YY",
            "expected_action_recommendation": "APPROVE",
            "expected_total_points": "30",
            "expected_matched_rules": "R1, R2",
        },
    )
    response = client.post(change_url(draft), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    saved = RulesetTestCase.objects.get(ruleset=draft)
    assert saved.name == "rich applicant"
    assert saved.input_data == RICH
    assert saved.expectations == {
        "pattern_result": "YY",
        "action_recommendation": "APPROVE",
        "total_points": 30.0,
        "matched_rules": ["R1", "R2"],
    }
    assert saved.total_points_tolerance == 1e-6
    assert RulesetTestCase.history.get(id=saved.pk).history_user == author
    assert Ruleset.objects.get(pk=draft.pk).revision > revision  # caches see the change


def test_empty_expectations_are_not_checked_and_brackets_expect_no_matched_rule(
    client, draft, author
):
    client.force_login(author)
    data = change_post(
        draft,
        {"name": "poor", "input_data": json.dumps(POOR), "expected_matched_rules": "[]"},
    )
    assert client.post(change_url(draft), data).status_code == 302
    saved = RulesetTestCase.objects.get(ruleset=draft)
    assert saved.expectations == {"matched_rules": []}
    assert saved.expected_pattern_result is None
    assert saved.expected_action_recommendation is None


def test_the_inline_shows_the_input_as_indented_json_and_rule_ids_as_a_list(client, draft, author):
    case(draft, "rich", RICH, expected_matched_rules=["R1", "R2"], expected_total_points=30.0)
    client.force_login(author)
    page = client.get(change_url(draft))
    assert page.status_code == 200
    textarea = re.search(
        rb'<textarea name="test_cases-0-input_data"[^>]*>(.*?)</textarea>', page.content, re.S
    )
    assert textarea.group(1).decode() == escape('\n{\n  "credit_score": 750,\n  "income": 60000\n}')
    assert b'name="test_cases-0-expected_matched_rules" value="R1, R2"' in page.content
    assert b'name="test_cases-0-expected_total_points" value="30"' in page.content
    assert b'name="test_cases-0-total_points_tolerance" value="0.000001"' in page.content


@pytest.mark.parametrize(
    "row, field, message",
    [
        ({"input_data": "{not json"}, "input_data", "Enter a valid JSON."),
        ({"input_data": "[1, 2]"}, "input_data", "The input is a JSON object."),
        ({"expected_pattern_result": ""}, "__all__", "Expect at least one of"),
        ({"name": "existing"}, "__all__", "Please correct the duplicate values below."),
    ],
)
def test_an_invalid_test_case_is_reported_next_to_its_field_and_nothing_is_saved(
    client, draft, author, row, field, message
):
    case(draft, "existing", RICH, expected_pattern_result="YY")
    client.force_login(author)
    existing = RulesetTestCase.objects.get(ruleset=draft)
    rows = [
        {
            "id": str(existing.pk),
            "name": "existing",
            "input_data": json.dumps(RICH),
            "expected_pattern_result": "YY",
        },
        {"name": "new", "input_data": json.dumps(MIDDLE), "expected_pattern_result": "-Y", **row},
    ]
    response = client.post(change_url(draft), change_post(draft, *rows, initial=1))
    assert response.status_code == 200
    form = response.context["inline_admin_formsets"][2].formset.forms[1]
    assert message in " ".join(form.errors[field])
    assert RulesetTestCase.objects.filter(ruleset=draft).count() == 1


def test_deleting_a_test_case_goes_through_the_service(client, draft, author):
    existing = case(draft, "rich", RICH, expected_pattern_result="YY")
    client.force_login(author)
    row = {
        "id": str(existing.pk),
        "name": "rich",
        "input_data": json.dumps(RICH),
        "expected_pattern_result": "YY",
        "DELETE": "on",
    }
    assert client.post(change_url(draft), change_post(draft, row, initial=1)).status_code == 302
    assert not RulesetTestCase.objects.filter(ruleset=draft).exists()
    deleted = RulesetTestCase.history.filter(id=existing.pk, history_type="-").get()
    assert deleted.history_user == author


def test_test_cases_of_a_published_version_are_read_only(client, tenant, approver):
    active = credit_ruleset(tenant, status=RulesetStatus.ACTIVE)
    case(active, "rich", RICH, expected_matched_rules=["R1", "R2"], expected_total_points=30.0)
    client.force_login(approver)
    page = client.get(change_url(active))
    assert page.status_code == 200
    assert b"test_cases-0-input_data" not in page.content
    assert b'<pre class="json-block test-case-json">' in page.content
    html = page.content.decode()
    for field, text in (
        ("total_points_text", "30"),
        ("tolerance_text", "0.000001"),
        ("matched_rules_text", "R1, R2"),
    ):
        assert re.search(rf'<td class="field-{field}">\s*<p>{re.escape(text)}</p>', html), field
    assert b"test_cases-group" in page.content


def test_a_viewer_sees_test_cases_of_a_draft_read_only(client, draft, viewer):
    case(draft, "rich", RICH, expected_pattern_result="YY")
    client.force_login(viewer)
    page = client.get(change_url(draft))
    assert page.status_code == 200
    assert b"test_cases-0-input_data" not in page.content
    assert b'<pre class="json-block test-case-json">' in page.content


def test_new_ruleset_form_has_no_test_case_inline(client, author):
    client.force_login(author)
    page = client.get(reverse("admin:rules_ruleset_add"))
    assert page.status_code == 200
    assert b"test_cases-TOTAL_FORMS" not in page.content


def test_change_form_links_to_run_tests_and_backtest(client, draft, viewer):
    client.force_login(viewer)
    page = client.get(change_url(draft)).content.decode()
    assert f'<a class="run-tests-button" href="{run_tests_url(draft)}">Run tests</a>' in page
    backtest = reverse("admin:executions_executionlog_backtest", args=[draft.pk])
    assert f'<a class="backtest-button" href="{backtest}">Backtest</a>' in page


def test_history_lists_test_case_changes(client, draft, author):
    test_cases.test_case_save(
        test_case=RulesetTestCase(
            ruleset=draft, name="rich", input_data=RICH, expected_pattern_result="YY"
        ),
        actor=author,
    )
    client.force_login(author)
    page = client.get(reverse("admin:rules_ruleset_history", args=[draft.pk]))
    assert '<span class="part-kind">test case</span> rich' in page.content.decode()


# --- Run tests -----------------------------------------------------------------------------------


def test_run_tests_shows_passes_failures_first_and_each_field_expected_against_actual(
    client, draft, viewer
):
    case(draft, "rich", RICH, expected_pattern_result="YY", expected_total_points=30.0)
    case(draft, "poor", POOR, expected_action_recommendation="DECLINE")
    case(
        draft,
        "middle",
        MIDDLE,
        expected_pattern_result="YY",
        expected_action_recommendation="APPROVE",
        expected_total_points=30.0,
        expected_matched_rules=["R1", "R2"],
    )
    client.force_login(viewer)  # running tests writes nothing: viewers may
    page = client.get(run_tests_url(draft))
    assert page.status_code == 200
    report = page.context["report"]
    assert (report.total, len(report.failures), page.context["passed_count"]) == (3, 1, 2)
    assert [row["result"].name for row in page.context["results"]] == ["middle", "poor", "rich"]
    failed = page.context["results"][0]
    assert failed["result"].diff == (
        "pattern_result: expected 'YY', got '-Y' (differs at position 1 (R1)); "
        "action_recommendation: expected 'APPROVE', got 'REVIEW'; "
        "total_points: expected 30 ± 0.000001, got 20 (-10); "
        "matched_rules: expected but not matched R1"
    )
    assert [(c["field"], c["expected"], c["actual"], c["passed"]) for c in failed["checks"]] == [
        ("Pattern", "YY", "-Y", False),
        ("Recommendation", "APPROVE", "REVIEW", False),
        ("Total points", "30", "20", False),
        ("Matched rules", "R1, R2", "R2", False),
    ]
    assert failed["checks"][0]["actual_marks"] == [("-", True), ("Y", False)]
    html = page.content.decode()
    assert "1 of 3 test cases fails." in html
    assert html.count('<span class="result-badge result-pass">pass</span>') == 2
    assert html.count('<span class="result-badge result-fail">fail</span>') == 1
    assert '<td><code class="pattern"><mark>-</mark>Y</code></td>' in html
    assert "Edit test cases" not in html  # a viewer does not edit
    assert RulesetTestCase.objects.filter(ruleset=draft).count() == 3


def test_run_tests_all_passing_offers_activation_to_an_approver(client, draft, approver):
    case(draft, "rich", RICH, expected_pattern_result="YY")
    client.force_login(approver)
    page = client.get(run_tests_url(draft))
    html = page.content.decode()
    assert "All 1 test case pass." in html
    activate = reverse("admin:rules_ruleset_transition", args=[draft.pk, "active"])
    assert f'href="{activate}"' in html


def test_run_tests_without_test_cases_says_so(client, draft, author):
    client.force_login(author)
    page = client.get(run_tests_url(draft))
    assert page.status_code == 200
    assert "No test cases yet." in page.content.decode()
    assert page.context["report"].total == 0


def test_run_tests_of_a_version_that_does_not_compile_lists_its_problems(client, tenant, author):
    broken = credit_ruleset(tenant)
    RuleFactory(ruleset=broken, rule_id="R3", operator="between", constant="5", priority=3)
    case(broken, "rich", RICH, expected_pattern_result="YY")
    client.force_login(author)
    page = client.get(run_tests_url(broken))
    assert page.status_code == 200
    assert page.context["compile_problems"]
    assert "R3" in page.context["compile_problems"][0]
    assert "does not compile, so every test case fails" in page.content.decode()
    assert page.context["report"].failures[0].diff == "credit 1.0 does not compile"


def test_run_tests_of_another_tenants_version_answers_404(client, other_tenant, author):
    theirs = credit_ruleset(other_tenant)
    case(theirs, "secret case", RICH, expected_pattern_result="YY")
    client.force_login(author)
    response = client.get(run_tests_url(theirs))
    assert response.status_code == 404
    assert b"secret case" not in response.content


# --- Save as test case from try-it ---------------------------------------------------------------


def save_from_try_it(client, ruleset, target, name="middle", data=MIDDLE):
    return client.post(
        try_it_url(ruleset),
        {
            "input": json.dumps(data),
            "name": name,
            "target": str(target.pk),
            "save_test_case": "1",
        },
    )


def test_try_it_offers_saving_a_run_of_a_draft_as_a_test_case(client, draft, author):
    client.force_login(author)
    page = client.post(try_it_url(draft), {"input": json.dumps(MIDDLE)})
    html = page.content.decode()
    assert "Save as test case" in html
    assert f'<input type="hidden" name="target" value="{draft.pk}">' in html
    assert "Test cases belong to drafts" not in html


def test_try_it_saves_the_outcome_as_a_test_case_of_the_draft(client, draft, author):
    client.force_login(author)
    response = save_from_try_it(client, draft, draft)
    assert response.status_code == 200
    saved = RulesetTestCase.objects.get(ruleset=draft)
    assert (saved.name, saved.input_data) == ("middle", MIDDLE)
    assert saved.expectations == {
        "pattern_result": "-Y",
        "action_recommendation": "REVIEW",
        "total_points": 20.0,
        "matched_rules": ["R2"],
    }
    assert RulesetTestCase.history.get(id=saved.pk).history_user == author
    assert "Saved test case “middle” to" in messages_of(response)[0]
    # The save is not a try-it run: nothing is logged for it.
    assert not ExecutionLog.objects.filter(ruleset_id=draft.pk).exists()
    assert test_cases.ruleset_tests_run(ruleset=draft).passed


def test_try_it_reports_a_duplicate_name_and_keeps_the_first(client, draft, author):
    case(draft, "middle", MIDDLE, expected_pattern_result="YY")
    client.force_login(author)
    response = save_from_try_it(client, draft, draft)
    assert response.status_code == 200
    assert "already exists" in str(response.context["save_form"].non_field_errors())
    assert RulesetTestCase.objects.get(ruleset=draft).expected_pattern_result == "YY"


def test_try_it_of_an_active_version_saves_to_the_newest_draft_of_its_name(client, tenant, author):
    active = credit_ruleset(tenant, status=RulesetStatus.ACTIVE)
    credit_ruleset(tenant, version="1.1")
    newest = credit_ruleset(tenant, version="1.2")
    credit_ruleset(tenant, name="other", version="9.0")
    client.force_login(author)
    page = client.post(try_it_url(active), {"input": json.dumps(RICH)})
    html = page.content.decode()
    assert "Test cases belong to drafts" in html
    assert f'<input type="hidden" name="target" value="{newest.pk}">' in html
    assert "Save to draft 1.2" in html
    save_from_try_it(client, active, newest, name="rich", data=RICH)
    saved = RulesetTestCase.objects.get(ruleset=newest)
    assert saved.expectations["action_recommendation"] == "APPROVE"


def test_try_it_of_an_active_version_without_a_draft_explains_and_offers_no_form(
    client, tenant, author
):
    active = credit_ruleset(tenant, status=RulesetStatus.ACTIVE)
    client.force_login(author)
    html = client.post(try_it_url(active), {"input": json.dumps(RICH)}).content.decode()
    assert "credit has no draft version" in html
    assert 'name="save_test_case"' not in html
    assert save_from_try_it(client, active, active).status_code == 200
    assert not RulesetTestCase.objects.exists()


def test_try_it_refuses_another_draft_as_target(client, tenant, other_tenant, draft, author):
    other_name = credit_ruleset(tenant, name="other")
    foreign = credit_ruleset(other_tenant)
    client.force_login(author)
    for target in (other_name, foreign):
        response = save_from_try_it(client, draft, target)
        assert "target" in response.context["save_form"].errors
    assert not RulesetTestCase.objects.exists()


def test_a_viewer_gets_no_save_form_and_cannot_save(client, draft, viewer):
    client.force_login(viewer)
    html = client.post(try_it_url(draft), {"input": json.dumps(RICH)}).content.decode()
    assert "Save as test case" not in html
    assert save_from_try_it(client, draft, draft).status_code == 403
    assert not RulesetTestCase.objects.exists()


# --- Save as test case from an execution log -----------------------------------------------------


def logged(ruleset, data, *, success=True) -> ExecutionLog:
    row = execution_log_row(
        tenant_id=ruleset.tenant_id,
        ruleset={"ruleset_id": ruleset.pk, "name": ruleset.name, "version": ruleset.version},
        data=data,
        evaluation=ruleset_compile(ruleset).evaluate(data),
        elapsed_ms=0.1,
        source=ExecutionSource.API,
    )
    if not success:
        row.success, row.output_data = False, {}
    row.save()
    return row


def log_save_url(log) -> str:
    return reverse("admin:executions_executionlog_save_test_case", args=[log.pk])


def test_log_detail_offers_save_as_test_case_to_authors(client, tenant, author, viewer):
    active = credit_ruleset(tenant, status=RulesetStatus.ACTIVE)
    log = logged(active, MIDDLE)
    detail = reverse("admin:executions_executionlog_change", args=[log.pk])
    client.force_login(author)
    assert f'href="{log_save_url(log)}"' in client.get(detail).content.decode()
    client.force_login(viewer)
    assert b"save-test-case-button" not in client.get(detail).content
    assert client.get(log_save_url(log)).status_code == 403


def test_a_logged_execution_becomes_a_test_case_of_the_chosen_draft(client, tenant, author):
    active = credit_ruleset(tenant, status=RulesetStatus.ACTIVE)
    older, newer = credit_ruleset(tenant, version="1.1"), credit_ruleset(tenant, version="1.2")
    credit_ruleset(tenant, name="other", version="1.3")
    log = logged(active, MIDDLE)
    client.force_login(author)
    page = client.get(log_save_url(log))
    assert page.status_code == 200
    assert list(page.context["form"].fields["target"].queryset) == [newer, older]
    assert page.context["form"].initial["target"] == newer.pk
    assert page.context["expectations"] == [
        ("Pattern", "-Y"),
        ("Recommendation", "REVIEW"),
        ("Total points", "20"),
        ("Matched rules", "R2"),
    ]
    response = client.post(
        log_save_url(log), {"target": str(older.pk), "name": "logged middle", "description": ""}
    )
    assert response.status_code == 302
    assert response["Location"] == change_url(older) + "#test_cases-group"
    saved = RulesetTestCase.objects.get(ruleset=older)
    assert saved.input_data == MIDDLE
    assert saved.expectations == {
        "pattern_result": "-Y",
        "action_recommendation": "REVIEW",
        "total_points": 20.0,
        "matched_rules": ["R2"],
    }
    assert not RulesetTestCase.objects.filter(ruleset=newer).exists()


def test_a_log_without_a_draft_of_its_name_explains_what_to_do(client, tenant, author):
    active = credit_ruleset(tenant, status=RulesetStatus.ACTIVE)
    log = logged(active, RICH)
    client.force_login(author)
    page = client.get(log_save_url(log))
    assert "credit has no draft version" in page.content.decode()
    assert f'href="{change_url(active)}"' in page.content.decode()
    response = client.post(log_save_url(log), {"target": str(active.pk), "name": "x"})
    assert response.status_code == 200
    assert not RulesetTestCase.objects.exists()


def test_a_failed_execution_is_not_saved_as_a_test_case(client, tenant, draft, author):
    log = logged(draft, RICH, success=False)
    client.force_login(author)
    detail = reverse("admin:executions_executionlog_change", args=[log.pk])
    assert b"save-test-case-button" not in client.get(detail).content
    response = client.post(log_save_url(log), {"target": str(draft.pk), "name": "x"})
    assert "has no outcome to expect" in response.content.decode()
    assert not RulesetTestCase.objects.exists()


def test_another_tenants_log_answers_404(client, other_tenant, author):
    theirs = credit_ruleset(other_tenant)
    log = logged(theirs, RICH)
    client.force_login(author)
    assert client.get(log_save_url(log)).status_code == 404
    response = client.post(log_save_url(log), {"target": str(theirs.pk), "name": "x"})
    assert response.status_code == 404
    assert client.get(log_save_url(log).replace(str(log.pk), "not-a-uuid")).status_code == 404
    assert not RulesetTestCase.objects.exists()
