"""The admin of decision-table rulesets: the read-only tables on the change page, the DMN
download, the upload, and try-it's outputs with the row-by-row explanation."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from executions.models import ExecutionLog
from rules.choices import RulesetKind
from rules.engine import dmn
from rules.models import Ruleset
from rules.selectors.decision_models import decision_definitions
from rules.services.ruleset_import import ruleset_import
from tests.support import TEST_DATA

pytestmark = pytest.mark.django_db

LOAN = (TEST_DATA / "dmn" / "loan_offer.dmn").read_bytes()


@pytest.fixture
def loans(tenant):
    return ruleset_import(tenant=tenant, actor=None, document=LOAN, name="loans").created


def test_change_page_shows_each_decision_as_a_read_only_table(client, author, loans):
    client.force_login(author)
    page = client.get(reverse("admin:rules_ruleset_change", args=[loans.pk]))
    assert page.status_code == 200
    content = page.content.decode()
    assert [d["name"] for d in page.context["decision_tables"]] == ["Risk", "Loan offer"]
    assert '<th scope="col" class="hit-policy" title="hit policy">FIRST</th>' in content
    assert "<code>[620..720)</code>" in content and "Prime borrowers" in content
    assert "Requires decisions: Risk; input data: income" in content
    assert "Decision tables (DMN 1.3)" in content  # the version's kind, read-only
    # A decision table has no rules or patterns to edit inline; its test cases stay.
    prefixes = {formset.formset.prefix for formset in page.context["inline_admin_formsets"]}
    assert prefixes == {"test_cases"}
    download = client.get(page.context["dmn_download_url"])
    assert download["Content-Type"] == "application/xml"
    assert download["Content-Disposition"] == 'attachment; filename="loans-1.0.dmn"'
    assert dmn.read_dmn(download.content) == decision_definitions(loans)


def test_a_scoring_ruleset_page_has_no_decision_tables(client, author, tenant):
    from tests.factories import ruleset_with_rules

    ruleset = ruleset_with_rules(tenant=tenant)
    client.force_login(author)
    page = client.get(reverse("admin:rules_ruleset_change", args=[ruleset.pk]))
    assert "decision_tables" not in page.context and b"decision-tables" not in page.content


def test_upload_of_a_dmn_file_creates_a_decision_table_draft(client, author, tenant):
    client.force_login(author)
    page = client.post(
        reverse("admin:rules_ruleset_import"),
        {"tenant": str(tenant.pk), "document": SimpleUploadedFile("offers.dmn", LOAN)},
    )
    assert page.status_code == 200
    assert page.context["report_lines"][0].startswith(
        "Imported DMN 1.3 as decision-table ruleset Loan_offer 1.0 (draft)"
    )
    assert Ruleset.objects.get(tenant=tenant, name="Loan_offer").kind == RulesetKind.DECISION_TABLE


def test_try_it_shows_outputs_and_explains_each_row(client, author, loans, settings):
    settings.TRY_IT_LOG = True
    client.force_login(author)
    page = client.post(
        reverse("admin:executions_executionlog_try_it", args=[loans.pk]),
        {"input": '{"credit_score": 650, "income": 20000}'},
    )
    assert page.status_code == 200
    decisions = page.context["result"]["decision"]["decisions"]
    assert [(d["name"], d["result"]) for d in decisions] == [
        ("Risk", '"medium"'),
        ("Loan offer", '{"decision": "DECLINE", "rate": null}'),
    ]
    offer_rows = decisions[1]["rows"]
    assert [row["rule_id"] for row in offer_rows if row["matched"]] == ["offer_decline_medium"]
    content = page.content.decode()
    assert "Loan offer: rows in table order (UNIQUE)" in content
    assert "<code>&lt; 50000</code>" in content
    log = ExecutionLog.objects.get(ruleset_id=loans.pk)
    assert log.source == "admin" and log.output_data["outputs"]["Risk"] == "medium"


def test_history_compare_and_tests_pages_open_on_a_decision_table_ruleset(client, author, loans):
    from rules.services import lifecycle

    draft = lifecycle.ruleset_new_version(ruleset_id=loans.pk, actor=None)
    client.force_login(author)
    for url in (
        reverse("admin:rules_ruleset_history", args=[draft.pk]),
        reverse("admin:rules_ruleset_compare", args=[draft.pk]),
        reverse("admin:rules_ruleset_tests", args=[draft.pk]),
        reverse("admin:executions_executionlog_try_it", args=[draft.pk]),
        reverse("admin:executions_executionlog_backtest", args=[draft.pk]),
        reverse("admin:executions_executionlog_pattern_coverage", args=[draft.pk]),
    ):
        assert client.get(url).status_code == 200, url


def test_whole_version_revert_keeps_the_decision_model(tenant, loans):
    from rules.models import DecisionModel
    from rules.services.version_revert import ruleset_revert

    entry = Ruleset.history.filter(id=loans.pk).earliest("history_date")
    ruleset_revert(ruleset_id=loans.pk, history_id=entry.history_id, actor=None)
    assert DecisionModel.objects.get(ruleset=loans).definitions
    assert decision_definitions(loans) == dmn.read_dmn(LOAN)


def test_try_it_starts_from_the_inputs_the_tables_read(client, author, loans):
    import json

    client.force_login(author)
    page = client.get(reverse("admin:executions_executionlog_try_it", args=[loans.pk]))
    # Risk's ">= 720" and Loan offer's ">= 50000" (its "Risk" column is a decision's result).
    assert json.loads(page.context["form"].initial["input"]) == {
        "credit_score": 720,
        "income": 50000,
    }
