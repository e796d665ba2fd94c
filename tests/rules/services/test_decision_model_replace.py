"""decision_model_replace: the DMN editor's save of a draft decision-table version."""

import pytest

from rules.choices import RulesetStatus
from rules.errors import NotAllowed, RulesetInvalid, RulesetReadOnly
from rules.models import DecisionModel, Ruleset
from rules.selectors.decision_models import decision_definitions
from rules.services.decision_models import decision_model_replace, decision_model_xml
from rules.services.ruleset_import import ruleset_import
from tests.factories import ruleset_with_rules
from tests.support import TEST_DATA

pytestmark = pytest.mark.django_db

LOAN = (TEST_DATA / "dmn" / "loan_offer.dmn").read_text()


@pytest.fixture
def loans(tenant):
    return ruleset_import(tenant=tenant, actor=None, document=LOAN, name="loans").created


def _risk_rows(ruleset):
    risk = next(d for d in decision_definitions(ruleset).decisions if d.id == "Risk")
    return [(rule.id, rule.input_entries, rule.output_entries) for rule in risk.logic.rules]


def _with_new_risk_row(xml: str, entry: str = "&lt; 300") -> str:
    row = (
        '<rule id="risk_very_high"><inputEntry id="rvh_in"><text>'
        + entry
        + '</text></inputEntry><outputEntry id="rvh_out"><text>"very high"</text></outputEntry>'
        "</rule>"
    )
    return xml.replace('<rule id="risk_low">', row + '<rule id="risk_low">', 1)


def _unchanged(ruleset, before):
    ruleset.refresh_from_db()
    return (
        DecisionModel.objects.get(ruleset=ruleset).definitions == before["definitions"]
        and ruleset.revision == before["revision"]
        and DecisionModel.history.filter(ruleset_id=ruleset.pk).count() == before["history"]
    )


def _state(ruleset):
    ruleset.refresh_from_db()
    return {
        "definitions": DecisionModel.objects.get(ruleset=ruleset).definitions,
        "revision": ruleset.revision,
        "history": DecisionModel.history.filter(ruleset_id=ruleset.pk).count(),
    }


def test_saves_the_model_with_history_and_a_new_revision(loans, author):
    revision = loans.revision
    xml = _with_new_risk_row(decision_model_xml(loans))
    model = decision_model_replace(ruleset=loans, xml=xml, actor=author)
    assert _risk_rows(loans)[0] == ("risk_very_high", ("< 300",), ('"very high"',))
    assert len(_risk_rows(loans)) == 4
    loans.refresh_from_db()
    assert loans.revision == revision + 1 and loans.updated_by == author
    last = model.history.order_by("-history_date").first()
    assert last.history_user == author
    assert last.history_change_reason == "Edited in the DMN editor"


def test_saving_what_was_loaded_keeps_the_model(loans, author):
    before = decision_definitions(loans)
    decision_model_replace(ruleset=loans, xml=decision_model_xml(loans), actor=author)
    assert decision_definitions(loans) == before


def test_refuses_xml_that_cannot_be_read_naming_the_element(loans, author):
    before = _state(loans)
    xml = decision_model_xml(loans).replace('hitPolicy="FIRST"', 'hitPolicy="BOGUS"', 1)
    with pytest.raises(RulesetInvalid) as refused:
        decision_model_replace(ruleset=loans, xml=xml, actor=author)
    [problem] = refused.value.problems
    assert "unknown hitPolicy 'BOGUS'" in problem.message
    assert "decision[@id='Risk']/decisionTable" in problem.path
    assert _unchanged(loans, before)


def test_refuses_xml_that_is_not_well_formed(loans, author):
    before = _state(loans)
    with pytest.raises(RulesetInvalid) as refused:
        decision_model_replace(ruleset=loans, xml="<definitions><decision", actor=author)
    assert "not well-formed XML" in refused.value.problems[0].message
    assert refused.value.problems[0].path.startswith("line 1")
    assert _unchanged(loans, before)


def test_refuses_a_bad_feel_cell_naming_decision_row_and_cell(loans, author):
    before = _state(loans)
    xml = _with_new_risk_row(decision_model_xml(loans), entry="&lt;&lt; 5")
    xml = xml.replace("<text>[620..720)</text>", "<text>[620..</text>")
    with pytest.raises(RulesetInvalid) as refused:
        decision_model_replace(ruleset=loans, xml=xml, actor=author)
    problems = refused.value.problems
    assert [(p.rule_id, p.path) for p in problems] == [
        ("risk_very_high", "decisions[Risk].rules[0].input_entries[0]"),
        ("risk_medium", "decisions[Risk].rules[2].input_entries[0]"),
    ]  # every problem, not the first
    assert "'<< 5'" in problems[0].message and "Credit score" in problems[0].message
    assert _unchanged(loans, before)


def test_refuses_a_published_version(loans, author):
    Ruleset.objects.filter(pk=loans.pk).update(status=RulesetStatus.ACTIVE)
    loans.refresh_from_db()
    before = _state(loans)
    with pytest.raises(RulesetReadOnly, match="read-only"):
        decision_model_replace(
            ruleset=loans, xml=_with_new_risk_row(decision_model_xml(loans)), actor=author
        )
    assert _unchanged(loans, before)


def test_refuses_a_scoring_ruleset(tenant, author):
    scoring = ruleset_with_rules(tenant=tenant)
    with pytest.raises(RulesetInvalid, match="scoring ruleset"):
        decision_model_replace(ruleset=scoring, xml=LOAN, actor=author)
    assert not DecisionModel.objects.filter(ruleset=scoring).exists()


def test_refuses_a_viewer_and_an_approver(loans, member):
    from rules.choices import Role

    before = _state(loans)
    xml = _with_new_risk_row(decision_model_xml(loans))
    for role in (Role.VIEWER, Role.APPROVER):
        with pytest.raises(NotAllowed):
            decision_model_replace(ruleset=loans, xml=xml, actor=member(role))
    assert _unchanged(loans, before)
