"""/api/v1/test-cases, POST /api/v1/rulesets/{id}/test and the warnings of activate."""

import pytest

from rules.choices import Role, RulesetStatus
from rules.models import Ruleset, RulesetTestCase, Tenant
from rules.services import lifecycle
from rules.services.demo import demo_seed
from tests.factories import credit_ruleset
from tests.rules.api.conftest import error_of

GOOD = {"credit_score": 750, "income": 60000}  # both rules match: YY, 20 points, APPROVE
FAIR = {"credit_score": 650, "income": 60000}  # only R2: -Y, 10 points, REVIEW


@pytest.fixture
def author_api(api, tenant):
    return api(Role.AUTHOR, tenant)


@pytest.fixture
def approver_api(api, tenant):
    return api(Role.APPROVER, tenant)


def add_case(ruleset, name, input_data, **expected):
    return RulesetTestCase.objects.create(
        ruleset=ruleset, name=name, input_data=input_data, **expected
    )


# --- CRUD ------------------------------------------------------------------------------------
def test_create_a_test_case_in_a_draft(author_api, tenant):
    draft = credit_ruleset(tenant)
    revision = draft.revision

    response = author_api.post(
        "/api/v1/test-cases",
        {
            "ruleset": draft.pk,
            "name": "good applicant",
            "description": "Both rules match.",
            "input_data": GOOD,
            "expected_pattern_result": "YY",
            "expected_total_points": 20,
            "expected_matched_rules": ["R1", "R2"],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    case = RulesetTestCase.objects.get(pk=body["id"])
    assert body == {
        "id": case.pk,
        "ruleset": draft.pk,
        "tenant": "acme",
        "name": "good applicant",
        "description": "Both rules match.",
        "input_data": {"credit_score": 750, "income": 60000},
        "expected_pattern_result": "YY",
        "expected_action_recommendation": None,
        "expected_total_points": 20.0,
        "total_points_tolerance": 1e-6,
        "expected_matched_rules": ["R1", "R2"],
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    draft.refresh_from_db()
    assert draft.revision == revision + 1 and draft.updated_by == author_api.user
    assert case.history.get().history_user == author_api.user


def test_list_filters_by_ruleset_and_read_change_delete(author_api, tenant):
    draft = credit_ruleset(tenant)
    other = credit_ruleset(tenant, version="1.1")
    case = add_case(draft, "good", GOOD, expected_action_recommendation="APPROVE")
    add_case(draft, "fair", FAIR, expected_action_recommendation="REVIEW")
    add_case(other, "good", GOOD, expected_action_recommendation="APPROVE")
    url = f"/api/v1/test-cases/{case.pk}"

    listed = author_api.get(f"/api/v1/test-cases?ruleset={draft.pk}")
    read = author_api.get(url)
    changed = author_api.patch(
        url, {"expected_action_recommendation": "REVIEW", "input_data": FAIR}, format="json"
    )
    deleted = author_api.delete(url)

    assert listed.status_code == 200
    assert [(r["ruleset"], r["name"]) for r in listed.json()["results"]] == [
        (draft.pk, "fair"),
        (draft.pk, "good"),
    ]
    assert read.status_code == 200 and read.json()["expected_action_recommendation"] == "APPROVE"
    assert changed.status_code == 200, changed.json()
    assert (changed.json()["expected_action_recommendation"], changed.json()["input_data"]) == (
        "REVIEW",
        FAIR,
    )
    assert deleted.status_code == 204
    assert list(RulesetTestCase.objects.filter(ruleset=draft).values_list("name", flat=True)) == [
        "fair"
    ]


def test_invalid_test_cases_answer_400_with_field_errors(author_api, tenant):
    draft = credit_ruleset(tenant)
    add_case(draft, "taken", GOOD, expected_pattern_result="YY")

    def create(**fields):
        return author_api.post(
            "/api/v1/test-cases",
            {"ruleset": draft.pk, "name": "new", "input_data": GOOD, **fields},
            format="json",
        )

    no_expectation = create()
    duplicate = create(name="taken", expected_pattern_result="YY")
    list_input = create(input_data=[1, 2], expected_pattern_result="YY")
    negative_tolerance = create(expected_total_points=20, total_points_tolerance=-1)

    for response in (no_expectation, duplicate, list_input, negative_tolerance):
        assert response.status_code == 400
        assert error_of(response)["code"] == "invalid"
    assert error_of(no_expectation)["details"] == {
        "non_field_errors": [
            "Expect at least one of: pattern result, action recommendation, total points, "
            "matched rules."
        ]
    }
    assert error_of(duplicate)["details"] == {
        "non_field_errors": ["Ruleset test case with this Ruleset and Name already exists."]
    }
    assert error_of(list_input)["details"] == {
        "input_data": ['Expected a dictionary of items but got type "list".']
    }
    assert error_of(negative_tolerance)["details"] == {
        "total_points_tolerance": ["The tolerance cannot be negative."]
    }
    assert RulesetTestCase.objects.filter(ruleset=draft).count() == 1


def test_a_test_case_cannot_move_to_another_version(author_api, tenant):
    draft = credit_ruleset(tenant)
    other = credit_ruleset(tenant, version="1.1")
    case = add_case(draft, "good", GOOD, expected_pattern_result="YY")

    response = author_api.patch(
        f"/api/v1/test-cases/{case.pk}", {"ruleset": other.pk}, format="json"
    )

    assert response.status_code == 400
    assert error_of(response)["details"] == {
        "ruleset": ["A test case cannot move to another ruleset; create it there instead."]
    }


def test_test_cases_of_published_versions_are_read_only(author_api, tenant):
    active = credit_ruleset(tenant, status=RulesetStatus.ACTIVE)
    case = add_case(active, "good", GOOD, expected_pattern_result="YY")
    url = f"/api/v1/test-cases/{case.pk}"
    payload = {"ruleset": active.pk, "name": "new", "input_data": GOOD, "expected_total_points": 1}

    created = author_api.post("/api/v1/test-cases", payload, format="json")
    changed = author_api.patch(url, {"expected_pattern_result": "Y-"}, format="json")
    deleted = author_api.delete(url)

    for response in (created, changed, deleted):
        assert response.status_code == 409
        assert error_of(response) == {
            "code": "read_only",
            "message": "credit 1.0 is active and therefore read-only; create a new draft "
            "version to change it.",
            "details": None,
        }
    assert list(RulesetTestCase.objects.values_list("name", "expected_pattern_result")) == [
        ("good", "YY")
    ]


def test_another_tenants_test_cases_are_not_found(api, tenant, other_tenant):
    theirs = add_case(credit_ruleset(other_tenant), "theirs", GOOD, expected_pattern_result="YY")
    ours = api(Role.ADMIN, tenant)

    listed = ours.get(f"/api/v1/test-cases?ruleset={theirs.ruleset_id}")
    read = ours.get(f"/api/v1/test-cases/{theirs.pk}")
    changed = ours.patch(f"/api/v1/test-cases/{theirs.pk}", {"name": "x"}, format="json")

    assert listed.status_code == 200 and listed.json()["results"] == []
    for response in (read, changed):
        assert response.status_code == 404
        assert error_of(response) == {"code": "not_found", "message": "Not found.", "details": None}
    assert RulesetTestCase.objects.get(pk=theirs.pk).name == "theirs"


# --- Running the test cases ------------------------------------------------------------------
def test_run_reports_each_case_with_its_differences_and_answers_200(api, tenant):
    viewer_api = api(Role.VIEWER, tenant)
    active = credit_ruleset(tenant, status=RulesetStatus.ACTIVE)
    good = add_case(active, "good", GOOD, expected_action_recommendation="APPROVE")
    fair = add_case(
        active,
        "fair expected as good",
        FAIR,
        expected_pattern_result="YY",
        expected_total_points=20,
        expected_matched_rules=["R1", "R2"],
    )

    response = viewer_api.post(f"/api/v1/rulesets/{active.pk}/test")

    assert response.status_code == 200, response.json()
    assert response.json() == {
        "ruleset_id": active.pk,
        "name": "credit",
        "version": "1.0",
        "total": 2,
        "failed": 1,
        "passed": False,
        "compile_problems": [],
        "results": [
            {
                "test_case_id": fair.pk,
                "name": "fair expected as good",
                "passed": False,
                "diff": "pattern_result: expected 'YY', got '-Y' (differs at position 1 (R1)); "
                "total_points: expected 20 ± 0.000001, got 10 (-10); "
                "matched_rules: expected but not matched R1",
                "checks": [
                    {
                        "field": "pattern_result",
                        "expected": "YY",
                        "actual": "-Y",
                        "passed": False,
                        "difference": "pattern_result: expected 'YY', got '-Y' "
                        "(differs at position 1 (R1))",
                    },
                    {
                        "field": "total_points",
                        "expected": 20.0,
                        "actual": 10.0,
                        "passed": False,
                        "difference": "total_points: expected 20 ± 0.000001, got 10 (-10)",
                    },
                    {
                        "field": "matched_rules",
                        "expected": ["R1", "R2"],
                        "actual": ["R2"],
                        "passed": False,
                        "difference": "matched_rules: expected but not matched R1",
                    },
                ],
            },
            {
                "test_case_id": good.pk,
                "name": "good",
                "passed": True,
                "diff": "",
                "checks": [
                    {
                        "field": "action_recommendation",
                        "expected": "APPROVE",
                        "actual": "APPROVE",
                        "passed": True,
                        "difference": "",
                    }
                ],
            },
        ],
    }
    assert Ruleset.objects.get(pk=active.pk).revision == active.revision  # nothing written


def test_run_of_a_version_that_does_not_compile_fails_every_case(author_api, tenant):
    draft = credit_ruleset(tenant)
    draft.rules.filter(rule_id="R1").update(operator="greather_than")
    case = add_case(draft, "good", GOOD, expected_action_recommendation="APPROVE")

    response = author_api.post(f"/api/v1/rulesets/{draft.pk}/test")

    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["failed"], body["passed"]) == (1, 1, False)
    assert [(p["rule_id"], p["path"]) for p in body["compile_problems"]] == [
        ("R1", "rules[0].condition")
    ]
    assert body["results"] == [
        {
            "test_case_id": case.pk,
            "name": "good",
            "passed": False,
            "diff": "credit 1.0 does not compile",
            "checks": [],
        }
    ]


def test_run_without_test_cases_passes_with_total_zero(author_api, tenant):
    draft = credit_ruleset(tenant)

    response = author_api.post(f"/api/v1/rulesets/{draft.pk}/test")

    assert response.status_code == 200
    assert (response.json()["total"], response.json()["passed"]) == (0, True)


def test_run_of_another_tenants_version_is_not_found(api, tenant, other_tenant):
    theirs = credit_ruleset(other_tenant)

    response = api(Role.ADMIN, tenant).post(f"/api/v1/rulesets/{theirs.pk}/test")

    assert response.status_code == 404 and error_of(response)["code"] == "not_found"


# --- Activation and its warnings -------------------------------------------------------------
def test_activate_without_test_cases_warns_and_activates(approver_api, tenant):
    draft = credit_ruleset(tenant)

    response = approver_api.post(f"/api/v1/rulesets/{draft.pk}/activate")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["id"], body["status"]) == (draft.pk, "active")
    assert body["warnings"] == [
        "credit 1.0 has no test cases, so nothing checked its outcomes; add test cases (or save "
        "try-it results as test cases) before activating."
    ]
    read = approver_api.get(f"/api/v1/rulesets/{draft.pk}").json()
    assert {k: v for k, v in body.items() if k != "warnings"} == read


def test_activate_with_passing_test_cases_has_no_warnings(approver_api, tenant):
    draft = credit_ruleset(tenant)
    add_case(draft, "good", GOOD, expected_action_recommendation="APPROVE")

    response = approver_api.post(f"/api/v1/rulesets/{draft.pk}/activate")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["warnings"]) == ("active", [])


def test_activate_refuses_failing_test_cases_listing_them(approver_api, tenant):
    draft = credit_ruleset(tenant)
    add_case(draft, "fair", FAIR, expected_action_recommendation="APPROVE")

    response = approver_api.post(f"/api/v1/rulesets/{draft.pk}/activate")

    assert response.status_code == 409
    assert error_of(response) == {
        "code": "invalid_ruleset",
        "message": "credit 1.0 cannot be activated: test cases fail (1):\n"
        "- test 'fair' fails: action_recommendation: expected 'APPROVE', got 'REVIEW' "
        "[test_cases]",
        "details": {
            "problems": [
                {
                    "rule_id": None,
                    "path": "test_cases",
                    "message": "test 'fair' fails: action_recommendation: expected 'APPROVE', "
                    "got 'REVIEW'",
                    "text": "test 'fair' fails: action_recommendation: expected 'APPROVE', "
                    "got 'REVIEW' [test_cases]",
                }
            ]
        },
    }
    assert Ruleset.objects.get(pk=draft.pk).status == RulesetStatus.DRAFT


def test_the_demo_ruleset_was_activated_with_passing_test_cases(api, db):
    demo_seed(password="pw-for-tests-2026")
    ruleset = Ruleset.objects.get(tenant__slug="demo", name="credit_scoring")
    viewer_api = api(Role.VIEWER, Tenant.objects.get(slug="demo"))

    report = viewer_api.post(f"/api/v1/rulesets/{ruleset.pk}/test").json()

    assert ruleset.status == RulesetStatus.ACTIVE
    assert [(r["name"], r["passed"]) for r in report["results"]] == [
        ("strong applicant is approved", True),
        ("weak applicant is declined", True),
    ]
    assert [len(r["checks"]) for r in report["results"]] == [4, 4]
    assert lifecycle.ruleset_activation_warnings(ruleset=ruleset) == []
