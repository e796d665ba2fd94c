from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from rules.choices import Role, RulesetStatus
from rules.errors import NotAllowed, RulesetInvalid, RulesetReadOnly
from rules.models import Ruleset, RulesetTestCase
from rules.services import lifecycle
from rules.services.compilation import ruleset_compile
from rules.services.test_cases import (
    ruleset_tests_run,
    test_case_delete,
    test_case_from_evaluation,
    test_case_save,
)
from tests.factories import credit_ruleset

pytestmark = pytest.mark.django_db

GOOD = {"credit_score": 750, "income": 60000}  # both rules match: YY, 20 points, APPROVE


def add_case(ruleset, name="good applicant", input_data=GOOD, **expected):
    expected = expected or {"expected_action_recommendation": "APPROVE"}
    return RulesetTestCase.objects.create(
        ruleset=ruleset, name=name, input_data=input_data, **expected
    )


def run_command(*args) -> str:
    out = StringIO()
    call_command("test_rules", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


# --- the model and its editing -------------------------------------------------------------
def test_a_test_case_needs_at_least_one_expectation(tenant):
    case = RulesetTestCase(ruleset=credit_ruleset(tenant), name="empty", input_data=GOOD)
    with pytest.raises(ValidationError, match="Expect at least one"):
        case.full_clean()


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"input_data": [1, 2], "expected_pattern_result": "YY"}, "input_data"),
        ({"expected_matched_rules": "R1"}, "expected_matched_rules"),
        ({"expected_matched_rules": [1]}, "expected_matched_rules"),
        ({"expected_total_points": 20, "total_points_tolerance": -1}, "total_points_tolerance"),
    ],
)
def test_a_test_case_rejects_malformed_fields(tenant, fields, error_field):
    case = RulesetTestCase(
        ruleset=credit_ruleset(tenant), name="bad", **{"input_data": {}, **fields}
    )
    with pytest.raises(ValidationError) as refused:
        case.full_clean()
    assert error_field in refused.value.message_dict


def test_test_case_names_are_unique_per_version(tenant, author):
    ruleset = credit_ruleset(tenant)
    add_case(ruleset, name="same")
    duplicate = RulesetTestCase(
        ruleset=ruleset, name="same", input_data=GOOD, expected_pattern_result="YY"
    )
    with pytest.raises(ValidationError):
        test_case_save(test_case=duplicate, actor=author)


def test_saving_a_test_case_bumps_the_revision_and_records_history(tenant, author):
    ruleset = credit_ruleset(tenant)
    revision = ruleset.revision
    case = RulesetTestCase(
        ruleset=ruleset, name="good", input_data=GOOD, expected_pattern_result="YY"
    )
    test_case_save(test_case=case, actor=author)
    ruleset.refresh_from_db()
    assert ruleset.revision == revision + 1
    assert case.history.get().history_user == author
    test_case_delete(test_case=case, actor=author)
    assert not RulesetTestCase.objects.exists()
    assert Ruleset.objects.get(pk=ruleset.pk).revision == revision + 2


@pytest.mark.parametrize("status", ["active", "inactive", "deprecated", "archived"])
def test_test_cases_of_published_versions_are_read_only(tenant, author, status):
    ruleset = credit_ruleset(tenant, status=status)
    case = RulesetTestCase(ruleset=ruleset, name="x", input_data=GOOD, expected_pattern_result="YY")
    with pytest.raises(RulesetReadOnly):
        test_case_save(test_case=case, actor=author)
    existing = add_case(ruleset)
    with pytest.raises(RulesetReadOnly):
        test_case_delete(test_case=existing, actor=author)


def test_a_viewer_cannot_save_test_cases(tenant, member):
    viewer = member(Role.VIEWER, username="vera")
    case = RulesetTestCase(
        ruleset=credit_ruleset(tenant), name="x", input_data=GOOD, expected_pattern_result="YY"
    )
    with pytest.raises(NotAllowed):
        test_case_save(test_case=case, actor=viewer)


def test_test_cases_are_scoped_to_their_rulesets_tenant(tenant, other_tenant):
    mine = add_case(credit_ruleset(tenant))
    add_case(credit_ruleset(other_tenant))
    assert list(RulesetTestCase.objects.for_tenant(tenant)) == [mine]


def test_a_new_draft_version_copies_the_test_cases_with_history(tenant, author):
    source = credit_ruleset(tenant, status=RulesetStatus.ACTIVE)
    add_case(source, name="a", expected_pattern_result="YY", expected_matched_rules=["R1", "R2"])
    add_case(source, name="b", expected_total_points=20, total_points_tolerance=0.5)
    draft = lifecycle.ruleset_new_version(ruleset_id=source.pk, actor=author)
    copied = {c.name: c for c in RulesetTestCase.objects.filter(ruleset=draft)}
    assert sorted(copied) == ["a", "b"]
    assert copied["a"].expected_matched_rules == ["R1", "R2"]
    assert (copied["b"].expected_total_points, copied["b"].total_points_tolerance) == (20, 0.5)
    assert RulesetTestCase.objects.filter(ruleset=source).count() == 2
    assert copied["a"].history.get().history_user == author


# --- running -------------------------------------------------------------------------------
def test_a_run_reports_every_case_with_expected_and_actual(tenant):
    ruleset = credit_ruleset(tenant)
    add_case(
        ruleset,
        name="all fields pass",
        expected_pattern_result="YY",
        expected_action_recommendation="APPROVE",
        expected_total_points=20,
        expected_matched_rules=["R2", "R1"],  # any order
    )
    add_case(
        ruleset,
        name="all fields fail",
        input_data={"credit_score": 650, "income": 60000},  # -Y, 10 points, REVIEW
        expected_pattern_result="YY",
        expected_action_recommendation="APPROVE",
        expected_total_points=20,
        expected_matched_rules=["R1"],
    )
    report = ruleset_tests_run(ruleset=ruleset)
    assert (report.total, len(report.failures), report.passed) == (2, 1, False)
    failing, passing = report.results  # ordered by name
    assert passing.passed and passing.diff == ""
    checks = {check.field: check for check in failing.checks}
    assert (checks["pattern_result"].expected, checks["pattern_result"].actual) == ("YY", "-Y")
    assert checks["action_recommendation"].actual == "REVIEW"
    assert checks["total_points"].actual == 10
    assert checks["matched_rules"].actual == ["R2"]
    assert failing.diff == (
        "pattern_result: expected 'YY', got '-Y' (differs at position 1 (R1)); "
        "action_recommendation: expected 'APPROVE', got 'REVIEW'; "
        "total_points: expected 20 ± 0.000001, got 10 (-10); "
        "matched_rules: expected but not matched R1; matched but not expected R2"
    )
    assert report.as_dict()["failed"] == 1


def test_total_points_pass_within_the_tolerance(tenant):
    ruleset = credit_ruleset(tenant)
    add_case(ruleset, name="close", expected_total_points=20.4, total_points_tolerance=0.5)
    add_case(ruleset, name="too far", expected_total_points=20.6, total_points_tolerance=0.5)
    results = {r.name: r.passed for r in ruleset_tests_run(ruleset=ruleset).results}
    assert results == {"close": True, "too far": False}


def test_a_ruleset_that_does_not_compile_fails_every_case(tenant):
    ruleset = credit_ruleset(tenant)
    add_case(ruleset)
    ruleset.rules.filter(rule_id="R1").update(operator="greater_than_ish")
    report = ruleset_tests_run(ruleset=ruleset)
    assert report.compile_problems and not report.passed
    assert report.results[0].diff == "credit 1.0 does not compile"


def test_an_evaluation_saved_as_a_test_case_passes(tenant, author):
    ruleset = credit_ruleset(tenant)
    evaluation = ruleset_compile(ruleset).evaluate({"credit_score": 720, "income": 10})
    case = test_case_from_evaluation(
        ruleset=ruleset,
        name="from try-it",
        input={"credit_score": 720, "income": 10},
        outcome=evaluation.as_dict(),
        actor=author,
    )
    assert (case.expected_pattern_result, case.expected_action_recommendation) == ("Y-", "REVIEW")
    assert (case.expected_total_points, case.expected_matched_rules) == (10, ["R1"])
    assert ruleset_tests_run(ruleset=ruleset).passed


def test_a_logged_output_without_a_recommendation_is_saved_without_checking_it(tenant, author):
    logged_output = {"total_points": 0, "pattern_result": "??", "action_recommendation": None}
    case = test_case_from_evaluation(
        ruleset=credit_ruleset(tenant), name="logged", input={}, outcome=logged_output, actor=author
    )
    assert case.expectations == {"pattern_result": "??", "total_points": 0}


# --- activation ----------------------------------------------------------------------------
def test_activation_is_refused_listing_every_failing_test(tenant, approver):
    ruleset = credit_ruleset(tenant)
    add_case(ruleset, name="passes")
    add_case(ruleset, name="wrong recommendation", expected_action_recommendation="DECLINE")
    add_case(ruleset, name="wrong points", expected_total_points=99)
    with pytest.raises(RulesetInvalid) as refused:
        lifecycle.ruleset_activate(ruleset_id=ruleset.pk, actor=approver)
    messages = [problem.message for problem in refused.value.problems]
    assert messages == [
        "test 'wrong points' fails: total_points: expected 99 ± 0.000001, got 20 (-79)",
        "test 'wrong recommendation' fails: action_recommendation: expected 'DECLINE', "
        "got 'APPROVE'",
    ]
    assert "credit 1.0 cannot be activated: test cases fail (2)" in str(refused.value)
    assert Ruleset.objects.get(pk=ruleset.pk).status == RulesetStatus.DRAFT


def test_activation_succeeds_when_every_test_passes(tenant, approver):
    ruleset = credit_ruleset(tenant)
    add_case(ruleset)
    assert lifecycle.ruleset_activation_warnings(ruleset=ruleset) == []
    lifecycle.ruleset_activate(ruleset_id=ruleset.pk, actor=approver)
    assert Ruleset.objects.get(pk=ruleset.pk).status == RulesetStatus.ACTIVE


def test_a_version_without_tests_activates_with_a_warning(tenant, approver, caplog):
    ruleset = credit_ruleset(tenant)
    warnings = lifecycle.ruleset_activation_warnings(ruleset=ruleset)
    assert warnings == [
        "credit 1.0 has no test cases, so nothing checked its outcomes; add test cases (or save "
        "try-it results as test cases) before activating."
    ]
    lifecycle.ruleset_activate(ruleset_id=ruleset.pk, actor=approver)
    assert Ruleset.objects.get(pk=ruleset.pk).status == RulesetStatus.ACTIVE
    assert warnings[0] in caplog.text


# --- the command ---------------------------------------------------------------------------
def test_command_prints_a_table_and_exits_zero_when_all_pass(tenant):
    ruleset = credit_ruleset(tenant, status=RulesetStatus.ACTIVE)
    add_case(ruleset, name="good")
    add_case(ruleset, name="poor", input_data={}, expected_action_recommendation="DECLINE")
    out = run_command("credit", "--tenant", "acme")
    assert out.splitlines() == [
        "credit 1.0 (active): 2 test cases",
        "  PASS  good",
        "  PASS  poor",
        "2 passed, 0 failed",
    ]


def test_command_exits_non_zero_naming_the_failing_tests(tenant):
    ruleset = credit_ruleset(tenant)
    add_case(ruleset, name="good")
    add_case(ruleset, name="broken", expected_action_recommendation="DECLINE")
    out = StringIO()
    with pytest.raises(CommandError, match="1 passed, 1 failed"):
        call_command("test_rules", "credit", "--tenant", "acme", stdout=out)
    assert "  FAIL  broken  action_recommendation: expected 'DECLINE', got 'APPROVE'" in (
        out.getvalue()
    )


def test_command_defaults_to_the_active_version_then_the_newest_draft(tenant):
    credit_ruleset(tenant, version="1.0", status=RulesetStatus.DEPRECATED)
    credit_ruleset(tenant, version="1.2")
    credit_ruleset(tenant, version="1.10")
    assert "credit 1.10 (draft)" in run_command("credit", "--tenant", "acme")
    credit_ruleset(tenant, version="1.1", status=RulesetStatus.ACTIVE)
    assert "credit 1.1 (active)" in run_command("credit", "--tenant", "acme")
    assert "credit 1.0 (deprecated)" in run_command(
        "credit", "--tenant", "acme", "--version", "1.0"
    )


def test_command_reports_a_version_without_tests_and_unknown_versions(tenant):
    credit_ruleset(tenant)
    assert "credit 1.0 (draft): no test cases." in run_command("credit", "--tenant", "acme")
    with pytest.raises(CommandError, match=r"no version 9.9 \(versions: 1.0\)"):
        run_command("credit", "--tenant", "acme", "--version", "9.9")
    with pytest.raises(CommandError, match="no ruleset named nope"):
        run_command("nope", "--tenant", "acme")


# --- imports keep the test cases of the latest version -------------------------------------
FAIR = {"credit_score": 650, "income": 60000}  # only R2 matches: -Y, 10 points, REVIEW


def import_document(tenant, actor, document, **options):
    from rules.services.ruleset_import import ruleset_import

    return ruleset_import(tenant=tenant, actor=actor, document=document, **options)


def exported_with_r1_above(ruleset, threshold: int) -> dict:
    """The version's export document with R1's threshold changed, so its content is new."""
    from rules.services.ruleset_export import ruleset_export

    document = ruleset_export(ruleset=ruleset)
    (rule,) = [rule for rule in document["rules"] if rule["rule_id"] == "R1"]
    rule["constant"] = threshold
    return document


def case_fields(ruleset) -> list[tuple]:
    return list(
        RulesetTestCase.objects.filter(ruleset=ruleset)
        .order_by("name")
        .values_list(
            "name",
            "description",
            "input_data",
            "expected_pattern_result",
            "expected_action_recommendation",
            "expected_total_points",
            "total_points_tolerance",
            "expected_matched_rules",
        )
    )


def test_an_imported_version_copies_the_test_cases_and_activation_still_runs_them(
    tenant, author, approver
):
    active = credit_ruleset(tenant, status=RulesetStatus.ACTIVE)
    add_case(active, name="good", expected_pattern_result="YY", expected_matched_rules=["R1", "R2"])
    add_case(active, name="fair", input_data=FAIR, expected_action_recommendation="REVIEW")

    report = import_document(tenant, author, exported_with_r1_above(active, 600))

    draft = report.created
    assert (draft.version, draft.status, report.counts["test_cases"]) == ("1.1", "draft", 2)
    assert case_fields(draft) == [
        ("fair", "", FAIR, None, "REVIEW", None, 1e-6, None),
        ("good", "", GOOD, "YY", None, None, 1e-6, ["R1", "R2"]),
    ]
    copied = RulesetTestCase.objects.get(ruleset=draft, name="good")
    assert copied.history.get().history_user == author
    assert len(case_fields(active)) == 2  # the source keeps its own
    # R1 now matches credit scores above 600, so "fair" is approved and the gate refuses.
    with pytest.raises(RulesetInvalid) as refused:
        lifecycle.ruleset_activate(ruleset_id=draft.pk, actor=approver)
    assert [problem.message for problem in refused.value.problems] == [
        "test 'fair' fails: action_recommendation: expected 'REVIEW', got 'APPROVE'"
    ]


def test_an_import_that_activates_is_refused_when_a_copied_test_case_fails(tenant, member):
    admin = member(Role.ADMIN, username="ada")
    active = credit_ruleset(tenant, status=RulesetStatus.ACTIVE)
    add_case(active, name="fair", input_data=FAIR, expected_action_recommendation="REVIEW")

    with pytest.raises(RulesetInvalid, match="test 'fair' fails"):
        import_document(tenant, admin, exported_with_r1_above(active, 600), activate=True)

    assert list(Ruleset.objects.values_list("version", "status")) == [("1.0", "active")]


def test_an_import_copies_from_the_highest_version_and_a_new_name_starts_empty(tenant, author):
    active = credit_ruleset(tenant, status=RulesetStatus.ACTIVE)
    add_case(active, name="of 1.0")
    newer = credit_ruleset(tenant, version="1.1")
    add_case(newer, name="of 1.1")
    document = exported_with_r1_above(active, 600)

    dry_run = import_document(tenant, author, document, dry_run=True)
    imported = import_document(tenant, author, document)
    other_name = import_document(tenant, author, document, name="fresh")

    assert (dry_run.version, dry_run.counts["test_cases"], dry_run.created) == ("1.2", 1, None)
    assert [name for name, *_ in case_fields(imported.created)] == ["of 1.1"]
    assert (other_name.created.name, other_name.counts["test_cases"]) == ("fresh", 0)
    assert case_fields(other_name.created) == []
