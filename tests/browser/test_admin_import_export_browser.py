"""Import and export in the admin, in a real browser (issue #14): a file uploaded on "Import a
ruleset" becomes a new draft with the import's report; an invalid upload lists every problem and
writes nothing; "Export" on a version downloads `<name>-<version>.json`.

Screenshots: test-artifacts/screenshots/import-report.png, import-original-report.png,
import-problems.png and export-roundtrip.png.
"""

import json
from pathlib import Path

import pytest

from rules.choices import Role, RulesetStatus
from rules.models import Condition, Rule, Ruleset
from rules.services.tenancy import member_add, tenant_create
from tests.browser.conftest import PASSWORD
from tests.factories import authoring_counts, ruleset_with_rules
from tests.support import TEST_DATA

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

ORIGINAL = TEST_DATA / "original"

# A document in the project's own format (docs/format.md), with a catalog of two conditions.
PRODUCT_DOCUMENT = {
    "format": "ruleengine.ruleset",
    "format_version": 1,
    "ruleset": {"name": "credit_scoring", "version": "1.0", "description": "From a file"},
    "rules": [
        {
            "rule_id": "R001",
            "rule_name": "High score",
            "attribute": "credit_score",
            "condition": "greater_than",
            "constant": "700",
            "rule_point": 100,
            "priority": 1,
        },
        {
            "rule_id": "R002",
            "rule_name": "Adult with income",
            "conditions": {"mode": "all", "items": ["C001", "C002"]},
            "rule_point": 50,
            "priority": 2,
        },
    ],
    "conditions": [
        {
            "condition_id": "C001",
            "name": "Adult",
            "attribute": "age",
            "operator": "greater_than_or_equal",
            "value": "18",
        },
        {
            "condition_id": "C002",
            "name": "Has income",
            "attribute": "applicant.income",
            "operator": "greater_than",
            "value": "1000",
        },
    ],
    "patterns": [{"pattern_key": "YY", "action_recommendation": "APPROVE"}],
}

# Three problems in one document: the page must list all of them, not the first.
BROKEN_DOCUMENT = {
    "format": "ruleengine.ruleset",
    "ruleset": {"name": "broken", "version": "1.0"},
    "rules": [
        {"rule_id": "R1", "attribute": "age", "condition": "bigger_than", "constant": "18"},
        {"rule_id": "R2", "attribute": "income", "condition": "greater_than", "constant": "5"},
        {"rule_id": "R2", "attribute": "x", "condition": "equal", "constant": "1"},
    ],
    "patterns": [{"pattern_key": "YY", "action_recommendation": "APPROVE"}],
}


@pytest.fixture
def acme(db):
    tenant, _ = tenant_create(slug="acme", name="Acme Bank")
    member_add(username="ana.author", tenant=tenant, role=Role.AUTHOR, password=PASSWORD)
    return tenant


def open_import_page(page, live_server):
    page.goto(f"{live_server.url}/admin/rules/ruleset/")
    page.click("a.import-button")
    page.wait_for_selector("body.ruleset-import")
    assert page.inner_text("#content h1") == "Import a ruleset"


def test_a_product_json_document_is_imported_into_a_new_draft_with_its_report(
    acme, signed_in, live_server, screenshot, tmp_path
):
    document = tmp_path / "credit_scoring.json"
    document.write_text(json.dumps(PRODUCT_DOCUMENT))
    page = signed_in("ana.author")
    open_import_page(page, live_server)
    # The author's only tenant is chosen already.
    assert page.locator("#id_tenant option:checked").inner_text() == str(acme)
    page.set_input_files("#id_document", str(document))
    page.click("input[type=submit][value=Import]")
    page.wait_for_selector(".import-report")
    report = page.inner_text(".import-report-text")
    screenshot(page, "import-report")
    assert report.startswith("Imported"), report
    assert "credit_scoring 1.0 (draft): 2 rules, 1 patterns" in report, report
    assert page.locator(".import-problems").count() == 0

    draft = Ruleset.objects.get(tenant=acme, name="credit_scoring", version="1.0")
    assert draft.status == RulesetStatus.DRAFT and draft.description == "From a file"
    assert sorted(draft.rules.values_list("rule_id", flat=True)) == ["R001", "R002"]
    assert set(Condition.objects.filter(tenant=acme).values_list("condition_id", flat=True)) == {
        "C001",
        "C002",
    }
    assert draft.created_by.username == "ana.author"

    page.click("a.open-imported")
    page.wait_for_selector("#ruleset-parts")
    assert f"/admin/rules/ruleset/{draft.pk}/change/" in page.url
    assert "2 rules" in page.inner_text("#ruleset-parts")


def test_an_original_system_file_with_its_conditions_file_is_imported(
    acme, signed_in, live_server, screenshot
):
    page = signed_in("ana.author")
    open_import_page(page, live_server)
    page.set_input_files("#id_document", str(ORIGINAL / "rules_config_v4.json"))
    page.set_input_files("#id_conditions", str(ORIGINAL / "conditions_config.json"))
    page.fill("#id_name", "backlog")
    page.click("input[type=submit][value=Import]")
    page.wait_for_selector(".import-report")
    report = page.inner_text(".import-report-text")
    screenshot(page, "import-original-report")
    assert "Imported structured format as backlog 1.0 (draft): 3 rules, 4 patterns" in report
    assert "mode 'inclusive' read as 'all'" in report
    assert "Semantics: original" in report

    draft = Ruleset.objects.get(tenant=acme, name="backlog")
    assert (draft.status, draft.semantics) == (RulesetStatus.DRAFT, "original")
    assert draft.rules.count() == 3
    assert Rule.objects.get(ruleset=draft, rule_id="R0002").condition_links.count() == 2


def test_an_invalid_upload_lists_every_problem_and_writes_nothing(
    acme, signed_in, live_server, screenshot, tmp_path
):
    ruleset_with_rules(tenant=acme, rules=1, name="existing")
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(BROKEN_DOCUMENT))
    malformed = tmp_path / "malformed.json"
    malformed.write_text("{not json")
    before = authoring_counts()

    page = signed_in("ana.author")
    open_import_page(page, live_server)
    page.set_input_files("#id_document", str(broken))
    page.click("input[type=submit][value=Import]")
    page.wait_for_selector(".import-problems")
    problems = page.locator(".import-problems li").all_inner_texts()
    screenshot(page, "import-problems")
    assert len(problems) == 3, problems
    assert "unknown operator 'bigger_than'" in problems[0]
    assert "duplicate rule id 'R2'" in problems[1]
    assert "pattern key 'YY' has length 2" in problems[2]
    assert "Nothing was written." in page.inner_text(".import-problems")
    assert page.locator(".import-report").count() == 0
    assert authoring_counts() == before

    page.set_input_files("#id_document", str(malformed))
    page.click("input[type=submit][value=Import]")
    page.wait_for_selector(".import-problems")
    assert "malformed JSON" in page.inner_text(".import-problems")
    assert authoring_counts() == before
    assert not Ruleset.objects.filter(name__in=["broken", "malformed"]).exists()


def test_export_downloads_the_version_and_the_file_imports_again(
    acme, signed_in, live_server, screenshot
):
    source = ruleset_with_rules(tenant=acme, rules=3, name="loans", status=RulesetStatus.ACTIVE)
    page = signed_in("ana.author")
    page.goto(f"{live_server.url}/admin/rules/ruleset/{source.pk}/change/")
    with page.expect_download() as download_info:
        page.click("a.export-button")
    download = download_info.value
    assert download.suggested_filename == "loans-1.0.json"
    document = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert document["format"] == "ruleengine.ruleset"
    assert (document["ruleset"]["name"], document["ruleset"]["version"]) == ("loans", "1.0")
    assert sorted(rule["rule_id"] for rule in document["rules"]) == sorted(
        source.rules.values_list("rule_id", flat=True)
    )

    # The downloaded file goes back in as a new draft version of the same name.
    open_import_page(page, live_server)
    page.set_input_files("#id_document", download.path())
    page.fill("#id_version", "2.0")
    page.click("input[type=submit][value=Import]")
    page.wait_for_selector(".import-report")
    assert "loans 2.0 (draft): 3 rules, 1 patterns" in page.inner_text(".import-report-text")
    screenshot(page, "export-roundtrip")
    draft = Ruleset.objects.get(tenant=acme, name="loans", version="2.0")
    assert draft.status == RulesetStatus.DRAFT and draft.rules.count() == 3
    source.refresh_from_db()
    assert source.status == RulesetStatus.ACTIVE
