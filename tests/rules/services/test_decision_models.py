"""Decision-table rulesets: DMN import, export, new versions, compilation and activation."""

import copy

import pytest

from rules.choices import RulesetKind, RulesetStatus
from rules.engine import dmn
from rules.errors import RulesetInvalid
from rules.models import DecisionModel, Ruleset, RulesetTestCase
from rules.selectors.decision_models import decision_definitions, ruleset_decision_outlines
from rules.services import lifecycle
from rules.services.active_rulesets import active_compiled_ruleset
from rules.services.compilation import ruleset_compile, ruleset_validation_problems
from rules.services.decision_import import dmn_document, ruleset_name_from_definitions
from rules.services.import_report import import_report_lines
from rules.services.ruleset_export import ruleset_export, ruleset_export_file
from rules.services.ruleset_import import ruleset_import
from tests.factories import (
    SAMPLE_DECISION_MODEL,
    DecisionModelFactory,
    RulesetTestCaseFactory,
    authoring_counts,
)
from tests.support import TEST_DATA

pytestmark = pytest.mark.django_db

SAMPLE = (TEST_DATA / "dmn" / "sample_rules.dmn").read_bytes()
CAMUNDA = (TEST_DATA / "dmn" / "tuong_sinh_tuong_khac.dmn").read_bytes()
LOAN = (TEST_DATA / "dmn" / "loan_offer.dmn").read_bytes()


def _import(tenant, document=SAMPLE, **options):
    return ruleset_import(tenant=tenant, actor=None, document=document, **options)


def _broken_model() -> dict:
    model = copy.deepcopy(SAMPLE_DECISION_MODEL)
    model["decisions"][0]["logic"]["rules"][0]["input_entries"][1] = "<< 8"
    return model


def test_dmn_documents_are_told_by_content_or_file_name():
    assert dmn_document(b"\xef\xbb\xbf  \n<?xml version='1.0'?><definitions/>")
    assert dmn_document("  <definitions/>")
    assert dmn_document(b"not xml at all", filename="model.DMN")
    assert not dmn_document(b'{"ruleset": {"name": "a"}}')
    assert not dmn_document(b'{"ruleset": {}}', filename="rules.json")


def test_definitions_name_becomes_an_identifier():
    definitions = dmn.read_dmn(CAMUNDA)
    assert ruleset_name_from_definitions(definitions) == "TuongSinh"
    assert ruleset_name_from_definitions(dmn.read_dmn(SAMPLE)) == "Sample_Rules"


def test_import_creates_a_draft_decision_table_ruleset_with_its_model(tenant):
    report = _import(tenant)
    ruleset = report.created
    assert (ruleset.name, ruleset.version, ruleset.status, ruleset.kind) == (
        "Sample_Rules",
        "1.0",
        RulesetStatus.DRAFT,
        RulesetKind.DECISION_TABLE,
    )
    assert decision_definitions(ruleset) == dmn.read_dmn(SAMPLE)
    assert report.counts["decisions"] == 1 and report.counts["rows"] == 3
    lines = import_report_lines(report)
    assert lines[0].startswith("Imported DMN 1.3 as decision-table ruleset Sample_Rules 1.0")
    assert "Dish Decision: decision table UNIQUE, 2 inputs, 1 outputs, 3 rows" in lines[-1]


def test_import_keeps_every_decision_requirement_and_annotation(tenant):
    report = _import(tenant, LOAN, name="loans", semantics="original")
    definitions = decision_definitions(report.created)
    assert (report.created.name, report.created.semantics) == ("loans", "original")
    assert [d.name for d in definitions.decisions] == ["Risk", "Loan offer"]
    assert definitions.decisions[1].required_decisions == ("Risk",)
    assert definitions.decisions[0].logic.rules[0].annotation == "Prime borrowers"
    assert report.counts == {
        "decisions": 2,
        "decision_tables": 2,
        "rows": 7,
        "literal_expressions": 0,
        "input_data": 2,
        "test_cases": 0,
    }


def test_bad_xml_is_refused_naming_the_element_and_writes_nothing(tenant):
    before = authoring_counts()
    broken = SAMPLE.replace(b"<dmn:decisionTable ", b"<dmn:decisionGrid ", 1).replace(
        b"</dmn:decisionTable>", b"</dmn:decisionGrid>", 1
    )
    with pytest.raises(RulesetInvalid) as raised:
        _import(tenant, broken)
    assert "decisionGrid" in str(raised.value)
    assert "DishDecision" in str(raised.value)
    with pytest.raises(RulesetInvalid, match="not well-formed XML"):
        _import(tenant, b"<definitions><decision")
    assert authoring_counts() == before
    assert not DecisionModel.objects.exists()


def test_a_model_with_a_bad_cell_is_refused_naming_the_cell(tenant):
    broken = SAMPLE.replace(b"&lt;= 8</feel:text>", b"&lt;&lt; 8</feel:text>", 1)
    with pytest.raises(RulesetInvalid) as raised:
        _import(tenant, broken)
    text = str(raised.value)
    assert "rule Rule1" in text and "input_entries[1]" in text and "<< 8" in text
    assert not Ruleset.objects.filter(tenant=tenant).exists()


def test_dry_run_reports_and_writes_nothing(tenant):
    report = _import(tenant, dry_run=True)
    assert report.dry_run and report.created is None and report.counts["rows"] == 3
    assert not Ruleset.objects.filter(tenant=tenant).exists()


def test_same_model_again_is_unchanged_and_a_new_model_is_the_next_version(tenant):
    first = _import(tenant).created
    RulesetTestCaseFactory(
        ruleset=first,
        input_data={"season": "Fall", "guests": 4},
        expected_action_recommendation=None,
        expected_outputs={"Dish Decision": "Spareribs"},
    )
    again = _import(tenant)
    assert again.unchanged and again.existing == first
    changed = _import(tenant, SAMPLE.replace(b"Spareribs", b"Ribs"))
    assert changed.created.version == "1.1"
    assert changed.counts["test_cases"] == 1
    assert RulesetTestCase.objects.filter(ruleset=changed.created).count() == 1


def test_a_dmn_file_cannot_become_a_version_of_a_scoring_ruleset(tenant):
    from tests.factories import RulesetFactory

    RulesetFactory(tenant=tenant, name="Sample_Rules")
    with pytest.raises(RulesetInvalid, match="is a scoring ruleset"):
        _import(tenant)


def test_export_writes_dmn_13_that_reads_back_to_the_same_model(tenant):
    ruleset = _import(tenant, LOAN).created
    content, media_type, suffix = ruleset_export_file(ruleset=ruleset)
    assert (media_type, suffix) == ("application/xml", ".dmn")
    assert b"https://www.omg.org/spec/DMN/20191111/MODEL/" in content
    assert dmn.read_dmn(content) == decision_definitions(ruleset)
    document = ruleset_export(ruleset=ruleset)
    assert document["kind"] == "decision_table"
    assert dmn.definitions_from_dict(document["decision_model"]) == decision_definitions(ruleset)


def test_new_version_copies_the_decision_model(tenant):
    model = DecisionModelFactory(ruleset__tenant=tenant)
    draft = lifecycle.ruleset_new_version(ruleset_id=model.ruleset_id, actor=None)
    assert draft.kind == RulesetKind.DECISION_TABLE
    assert DecisionModel.objects.get(ruleset=draft).definitions == model.definitions
    assert DecisionModel.history.filter(ruleset_id=draft.pk).count() == 1


def test_compile_evaluates_the_stored_model(tenant):
    model = DecisionModelFactory(ruleset__tenant=tenant)
    evaluation = ruleset_compile(model.ruleset).evaluate({"season": "Winter", "guests": 20})
    assert evaluation.outputs == {"Dish Decision": "Stew"}
    assert evaluation.matched_rules == {"Dish Decision": ["R2"]}


def test_activation_refuses_a_model_with_problems_naming_the_cell(tenant):
    model = DecisionModelFactory(ruleset__tenant=tenant, definitions=_broken_model())
    problems = ruleset_validation_problems(model.ruleset)
    assert [p.path for p in problems] == ["decisions[DishDecision].rules[0].input_entries[1]"]
    with pytest.raises(RulesetInvalid) as raised:
        lifecycle.ruleset_activate(ruleset_id=model.ruleset_id, actor=None)
    assert "rule R1" in str(raised.value) and "<< 8" in str(raised.value)
    model.ruleset.refresh_from_db()
    assert model.ruleset.status == RulesetStatus.DRAFT


def test_a_decision_ruleset_without_a_model_cannot_be_activated(tenant):
    from tests.factories import RulesetFactory

    ruleset = RulesetFactory(tenant=tenant, kind=RulesetKind.DECISION_TABLE)
    with pytest.raises(RulesetInvalid, match="has no DMN model"):
        lifecycle.ruleset_activate(ruleset_id=ruleset.pk, actor=None)


def test_active_version_is_compiled_once_and_recompiled_after_a_change(tenant):
    model = DecisionModelFactory(ruleset__tenant=tenant)
    lifecycle.ruleset_activate(ruleset_id=model.ruleset_id, actor=None)
    compiled, identity = active_compiled_ruleset(tenant=tenant, name=model.ruleset.name)
    again, _ = active_compiled_ruleset(tenant=tenant, name=model.ruleset.name)
    assert isinstance(compiled, dmn.CompiledDefinitions) and again is compiled
    assert identity["ruleset_id"] == model.ruleset_id
    lifecycle.ruleset_deactivate(ruleset_id=model.ruleset_id, actor=None)
    lifecycle.ruleset_activate(ruleset_id=model.ruleset_id, actor=None)
    recompiled, _ = active_compiled_ruleset(tenant=tenant, name=model.ruleset.name)
    assert recompiled is not compiled


def test_outlines_list_each_table_with_its_rows(tenant):
    model = DecisionModelFactory(ruleset__tenant=tenant)
    [outline] = ruleset_decision_outlines(model.ruleset)
    assert outline["hit_policy"] == "UNIQUE"
    assert [column["label"] for column in outline["inputs"]] == ["Season", "Guests"]
    assert outline["rows"][1] == {
        "number": 2,
        "id": "R2",
        "input_entries": ['"Winter"', "-"],
        "output_entries": ['"Stew"'],
        "annotation": "",
    }


def _case(ruleset, **fields):
    fields = {"expected_action_recommendation": None, **fields}
    return RulesetTestCaseFactory(
        ruleset=ruleset, input_data={"season": "Fall", "guests": 4}, **fields
    )


def test_test_cases_compare_expected_outputs_and_rows(tenant):
    from rules.services.test_cases import ruleset_tests_run

    model = DecisionModelFactory(ruleset__tenant=tenant)
    _case(model.ruleset, name="ribs", expected_outputs={"Dish Decision": "Ribs"})
    _case(model.ruleset, name="rows", expected_matched_rules=["R2"])
    _case(model.ruleset, name="top", expected_action_recommendation="Ribs")
    _case(model.ruleset, name="stew", expected_outputs={"Dish Decision": "Stew"})
    _case(model.ruleset, name="unknown", expected_outputs={"Dessert": "Pie"})
    report = ruleset_tests_run(ruleset=model.ruleset)
    results = {result.name: result for result in report.results}
    assert results["ribs"].passed and results["top"].passed
    assert results["rows"].diff == (
        "matched_rules: expected but not matched R2; matched but not expected R1"
    )
    assert results["stew"].diff == "outputs: Dish Decision: expected 'Stew', got 'Ribs'"
    assert "no decision named 'Dessert'" in results["unknown"].diff


def test_activation_refuses_a_decision_ruleset_whose_test_case_fails(tenant):
    model = DecisionModelFactory(ruleset__tenant=tenant)
    _case(model.ruleset, name="stew", expected_outputs={"Dish Decision": "Stew"})
    with pytest.raises(RulesetInvalid, match="test 'stew' fails: outputs: Dish Decision"):
        lifecycle.ruleset_activate(ruleset_id=model.ruleset_id, actor=None)


def test_accept_actual_rewrites_the_expected_outputs(tenant):
    from rules.services.test_cases import test_case_accept_actual

    model = DecisionModelFactory(ruleset__tenant=tenant)
    case = _case(model.ruleset, name="stew", expected_outputs={"Dish Decision": "Stew"})
    test_case_accept_actual(test_case=case, actor=None)
    case.refresh_from_db()
    assert case.expected_outputs == {"Dish Decision": "Ribs"}


def test_a_try_it_outcome_becomes_a_test_case_with_outputs(tenant):
    from rules.services.test_cases import test_case_from_evaluation

    model = DecisionModelFactory(ruleset__tenant=tenant)
    evaluation = ruleset_compile(model.ruleset).evaluate({"season": "Winter"})
    case = test_case_from_evaluation(
        ruleset=model.ruleset,
        name="winter",
        input={"season": "Winter"},
        outcome=evaluation.as_dict(),
        actor=None,
    )
    assert case.expected_outputs == {"Dish Decision": "Stew"}
    assert case.expected_matched_rules == ["R2"]


def test_an_active_decision_table_is_served_from_its_snapshot_without_the_database(
    tenant, settings, snapshot_root, django_capture_on_commit_callbacks
):
    draft = _import(tenant, LOAN, name="loans").created
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.ruleset_activate(ruleset_id=draft.pk, actor=None)
    settings.USE_DATABASE = False
    Ruleset.objects.all().delete()  # proves the model comes from the file
    compiled, identity = active_compiled_ruleset(tenant=tenant, name="loans")
    assert (identity["source"], identity["version"]) == ("file", "1.0")
    assert compiled.evaluate({"credit_score": 730}).outputs["Risk"] == "low"


def test_a_scoring_document_cannot_become_a_version_of_a_decision_table_ruleset(tenant):
    _import(tenant, name="dishes")
    document = b'{"ruleset": {"name": "dishes", "version": "2.0"}, "rules": [], "patterns": []}'
    with pytest.raises(RulesetInvalid, match="dishes is a decision-table ruleset"):
        _import(tenant, document)
    assert list(Ruleset.objects.filter(name="dishes").values_list("version", flat=True)) == ["1.0"]


def test_a_decision_table_test_case_needs_an_expectation_named_in_its_terms(tenant):
    from django.core.exceptions import ValidationError

    model = DecisionModelFactory(ruleset__tenant=tenant)
    case = RulesetTestCase(ruleset=model.ruleset, name="empty", input_data={})
    with pytest.raises(ValidationError, match="Expect at least one of: outputs, matched rules"):
        case.full_clean()
    case.expected_outputs = ["not", "an", "object"]
    with pytest.raises(ValidationError, match="Expected outputs are a JSON object"):
        case.full_clean()
