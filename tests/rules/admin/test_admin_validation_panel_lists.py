"""The live validation panel (issue #14) on every draft page: the scoped lists of a version's
rules, patterns and test cases and a part's own change form, refreshed on save."""

import html

import pytest
from django.urls import reverse

from rules.choices import RulesetStatus
from rules.models import Pattern, Rule
from rules.services import validation
from tests.factories import (
    PatternFactory,
    RuleFactory,
    RulesetFactory,
    RulesetTestCaseFactory,
    large_ruleset,
    ruleset_with_rules,
)
from tests.support.admin_forms import rule_post

pytestmark = pytest.mark.django_db

PART_LISTS = ("rule", "pattern", "rulesettestcase")
WRONG_LENGTH = "pattern key 'YYY' has length 3"
NOT_A_NUMBER = "R_ABC: 'abc' is not a number"


def list_url(model_name: str, ruleset) -> str:
    return reverse(f"admin:rules_{model_name}_changelist") + f"?ruleset={ruleset.pk}"


def change_url(part) -> str:
    return reverse(f"admin:rules_{part._meta.model_name}_change", args=[part.pk])


def text(page) -> str:
    return html.unescape(page.content.decode())


def version_with_problems(tenant, status=RulesetStatus.DRAFT):
    """Two rules, one comparing greater_than "abc", and a pattern key one character too long
    (written by the factories, as an import or the API could write them past the form)."""
    ruleset = RulesetFactory(tenant=tenant, status=status)
    RuleFactory(ruleset=ruleset, rule_id="R_OK")
    RuleFactory(ruleset=ruleset, rule_id="R_ABC", constant="abc")
    PatternFactory(ruleset=ruleset, pattern_key="YY", action_recommendation="APPROVE")
    PatternFactory(ruleset=ruleset, pattern_key="YYY", action_recommendation="DECLINE")
    RulesetTestCaseFactory(ruleset=ruleset, name="approves")
    return ruleset


def report_calls(monkeypatch) -> list:
    """The revisions the panel's report is computed for, as the admin asks for it."""
    calls = []
    compute = validation.ruleset_validation_report

    def counted(ruleset):
        calls.append(ruleset.revision)
        return compute(ruleset)

    monkeypatch.setattr(validation, "ruleset_validation_report", counted)
    return calls


@pytest.mark.parametrize("model_name", PART_LISTS)
def test_the_scoped_list_of_a_draft_shows_the_panel_with_its_problems(
    client, tenant, author, model_name
):
    ruleset = version_with_problems(tenant)
    client.force_login(author)
    page = client.get(list_url(model_name, ruleset))
    assert page.status_code == 200
    assert 'id="validation-panel"' in text(page)
    assert WRONG_LENGTH in text(page) and NOT_A_NUMBER in text(page)
    assert "2 problems activation would refuse" in text(page)


@pytest.mark.parametrize("model_name", PART_LISTS)
def test_a_part_form_of_a_draft_shows_the_whole_versions_panel(client, tenant, author, model_name):
    ruleset = version_with_problems(tenant)
    part = {
        "rule": lambda: ruleset.rules.get(rule_id="R_OK"),
        "pattern": lambda: ruleset.patterns.get(pattern_key="YY"),
        "rulesettestcase": lambda: ruleset.test_cases.get(),
    }[model_name]()
    client.force_login(author)
    page = client.get(change_url(part))
    assert page.status_code == 200
    # The version's problems, not only this part's: one row's edit can break another's.
    assert 'id="validation-panel"' in text(page)
    assert WRONG_LENGTH in text(page) and NOT_A_NUMBER in text(page)


def test_the_add_form_of_a_scoped_draft_shows_the_panel(client, tenant, author):
    ruleset = version_with_problems(tenant)
    client.force_login(author)
    page = client.get(reverse("admin:rules_rule_add") + f"?ruleset={ruleset.pk}")
    assert page.status_code == 200
    assert NOT_A_NUMBER in text(page)


def test_the_panel_is_on_a_drafts_lists_and_not_on_a_published_versions(client, tenant, author):
    draft = version_with_problems(tenant)
    published = version_with_problems(tenant, status=RulesetStatus.ACTIVE)
    client.force_login(author)
    for model_name in PART_LISTS:
        assert 'id="validation-panel"' in text(client.get(list_url(model_name, draft)))
        page = client.get(list_url(model_name, published))
        assert page.status_code == 200
        assert page.context["validation"] is None
        assert 'id="validation-panel"' not in text(page), model_name
        # An unscoped list spans versions: no one version's panel.
        unscoped = client.get(reverse(f"admin:rules_{model_name}_changelist"))
        assert 'id="validation-panel"' not in text(unscoped), model_name
    read_only = client.get(change_url(published.rules.get(rule_id="R_ABC")))
    assert read_only.status_code == 200
    assert 'id="validation-panel"' not in text(read_only)


def test_the_panel_is_refreshed_after_each_save(client, tenant, author):
    ruleset = version_with_problems(tenant)
    client.force_login(author)
    assert WRONG_LENGTH in text(client.get(list_url("pattern", ruleset)))

    wrong = ruleset.patterns.get(pattern_key="YYY")
    response = client.post(
        change_url(wrong),
        {"pattern_key": "Y-", "action_recommendation": "DECLINE", "action": "", "description": ""},
    )
    assert response.status_code == 302
    patterns = text(client.get(list_url("pattern", ruleset)))
    assert WRONG_LENGTH not in patterns
    assert NOT_A_NUMBER in patterns and "1 problem activation would refuse" in patterns

    rule = Rule.objects.get(ruleset=ruleset, rule_id="R_ABC")
    response = client.post(change_url(rule), rule_post(rule, constant="650"))
    assert response.status_code == 302, response.context and response.context["errors"]
    for model_name in PART_LISTS:
        page = text(client.get(list_url(model_name, ruleset)))
        assert NOT_A_NUMBER not in page, model_name
        assert "No problems: activation would accept what is saved now." in page, model_name
    own_form = text(client.get(change_url(Pattern.objects.get(ruleset=ruleset, pattern_key="Y-"))))
    assert "No problems" in own_form


def test_a_list_save_redirects_without_computing_the_panel_and_the_reload_shows_it(
    client, tenant, author, monkeypatch
):
    ruleset = ruleset_with_rules(tenant=tenant, rules=2)
    calls = report_calls(monkeypatch)
    client.force_login(author)
    pattern = ruleset.patterns.get()
    data = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "form-0-id": str(pattern.pk),
        "form-0-action_recommendation": "APPROVE",
        "form-0-description": "approved",
        "_save": "Save",
    }
    response = client.post(list_url("pattern", ruleset), data)
    assert response.status_code == 302
    assert calls == []  # the POST only redirects: no report for a page nobody sees
    pattern.refresh_from_db()
    assert pattern.description == "approved"
    page = client.get(response["Location"])
    assert "No problems: activation would accept what is saved now." in text(page)
    assert len(calls) == 1


def test_a_thousand_rule_draft_computes_its_panel_once_per_revision(
    client, tenant, author, monkeypatch
):
    ruleset = large_ruleset(tenant=tenant, rules=1000)
    calls = report_calls(monkeypatch)
    client.force_login(author)
    page = client.get(list_url("rule", ruleset))
    assert "No problems: activation would accept what is saved now." in text(page)
    assert len(page.context["cl"].formset.forms) == 50  # still one page of rows
    rule = Rule.objects.get(ruleset=ruleset, rule_id="R0500")
    # Paging, the other lists and a rule's form reuse the report of this revision.
    for url in (
        list_url("rule", ruleset) + "&p=2",
        list_url("pattern", ruleset),
        list_url("rulesettestcase", ruleset),
        change_url(rule),
    ):
        assert 'id="validation-panel"' in text(client.get(url)), url
    assert len(calls) == 1
    response = client.post(change_url(rule), rule_post(rule, constant="710"))
    assert response.status_code == 302
    assert 'id="validation-panel"' in text(client.get(list_url("rule", ruleset)))
    assert len(calls) == 2  # the save made a new revision
