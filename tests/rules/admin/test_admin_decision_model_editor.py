"""The admin's DMN editor page (dmn-js) of a decision-table version and its save endpoint."""

import json

import pytest
from django.urls import reverse

from rules.choices import Role, RulesetStatus
from rules.models import DecisionModel, Ruleset
from rules.selectors.decision_models import decision_definitions
from rules.services.decision_models import decision_model_xml
from rules.services.ruleset_import import ruleset_import
from tests.factories import ruleset_with_rules
from tests.support import TEST_DATA

pytestmark = pytest.mark.django_db

LOAN = (TEST_DATA / "dmn" / "loan_offer.dmn").read_bytes()


@pytest.fixture
def loans(tenant):
    return ruleset_import(tenant=tenant, actor=None, document=LOAN, name="loans").created


def _url(ruleset):
    return reverse("admin:rules_ruleset_decision_model", args=[ruleset.pk])


def _post(client, ruleset, xml):
    return client.post(_url(ruleset), data=xml, content_type="application/xml")


def _rows(ruleset):
    return sum(len(d.logic.rules) for d in decision_definitions(ruleset).decisions)


def _with_row(xml, entry="&lt; 300"):
    row = (
        f'<rule id="risk_new"><inputEntry id="rn_in"><text>{entry}</text></inputEntry>'
        '<outputEntry id="rn_out"><text>"very high"</text></outputEntry></rule>'
    )
    return xml.replace('<rule id="risk_low">', row + '<rule id="risk_low">', 1)


def test_author_opens_the_editor_of_a_draft_and_saves(client, author, loans):
    client.force_login(author)
    page = client.get(_url(loans))
    assert page.status_code == 200
    assert page.context["editable"] is True
    content = page.content.decode()
    assert 'id="dmn-editor-xml" type="application/json"' in content
    assert "dmn_editor.js" in content and "dmn-editor-save" in content
    assert "<script>" not in content  # no inline script: the XML is a JSON data block
    answer = _post(client, loans, _with_row(page.context["xml"]))
    assert answer.status_code == 200 and answer.json() == {"ok": True}
    assert _rows(loans) == 8


def test_change_page_links_a_draft_to_the_editor(client, author, loans):
    client.force_login(author)
    page = client.get(reverse("admin:rules_ruleset_change", args=[loans.pk]))
    assert f'class="button dmn-editor-link" href="{_url(loans)}"' in page.content.decode()


def test_bad_cell_answers_400_with_every_problem_and_writes_nothing(client, author, loans):
    client.force_login(author)
    before = DecisionModel.objects.get(ruleset=loans).definitions
    answer = _post(client, loans, _with_row(decision_model_xml(loans), entry="&lt;&lt; 5"))
    assert answer.status_code == 400
    [problem] = answer.json()["problems"]
    assert problem["where"] == "decision Risk, row 1 (risk_new), input 1"
    assert problem["path"] == "decisions[Risk].rules[0].input_entries[0]"
    assert "'<< 5'" in problem["message"]
    assert DecisionModel.objects.get(ruleset=loans).definitions == before


def test_unreadable_xml_answers_400_naming_the_element(client, author, loans):
    client.force_login(author)
    xml = decision_model_xml(loans).replace('id="OfferTable"', 'id="OfferTable" hitPolicy="NOPE"')
    answer = _post(client, loans, xml)
    assert answer.status_code == 400
    assert "decision[@id='Offer']/decisionTable" in answer.json()["problems"][0]["where"]


def test_viewer_sees_a_read_only_editor_and_cannot_save(client, member, loans):
    viewer = member(Role.VIEWER)
    client.force_login(viewer)
    page = client.get(_url(loans))
    assert page.status_code == 200 and page.context["editable"] is False
    assert b"dmn-editor-save" not in page.content and b"dmn-editor-read-only" in page.content
    answer = _post(client, loans, _with_row(decision_model_xml(loans)))
    assert answer.status_code == 403
    assert _rows(loans) == 7


def test_another_tenants_member_gets_404(client, member, other_tenant, loans):
    stranger = member(Role.ADMIN, in_tenant=other_tenant)
    client.force_login(stranger)
    assert client.get(_url(loans)).status_code == 404
    assert _post(client, loans, _with_row(decision_model_xml(loans))).status_code == 404
    assert _rows(loans) == 7


def test_a_published_version_is_read_only(client, author, loans):
    Ruleset.objects.filter(pk=loans.pk).update(status=RulesetStatus.ACTIVE)
    loans.refresh_from_db()
    client.force_login(author)
    page = client.get(_url(loans))
    assert page.context["editable"] is False
    answer = _post(client, loans, _with_row(decision_model_xml(loans)))
    assert answer.status_code == 409 and "read-only" in answer.json()["error"]
    assert _rows(loans) == 7


def test_a_scoring_ruleset_has_no_editor(client, author, tenant):
    client.force_login(author)
    assert client.get(_url(ruleset_with_rules(tenant=tenant))).status_code == 404


def test_unbuilt_editor_shows_how_to_build_it(client, author, loans, monkeypatch):
    monkeypatch.setattr("rules.admin.decision_tables.finders.find", lambda path: None)
    client.force_login(author)
    page = client.get(_url(loans))
    assert page.status_code == 200
    content = page.content.decode()
    assert "The DMN editor is not built: run <code>make install</code>" in content
    assert "dmn_editor.js" not in content


def test_save_needs_the_csrf_token(author, loans):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(author)
    answer = client.post(_url(loans), data=decision_model_xml(loans), content_type="text/xml")
    assert answer.status_code == 403
    assert json.dumps(DecisionModel.objects.get(ruleset=loans).definitions)
