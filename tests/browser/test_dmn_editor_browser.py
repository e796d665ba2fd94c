"""The DMN editor (dmn-js) in a real browser: an author adds a row to a draft decision table,
types FEEL into its cells and saves; a bad cell is refused naming it, and nothing is written.

Needs the editor built (`make install`: esbuild bundles dmn-js into static/); screenshots go to
test-artifacts/screenshots/.
"""

import pytest
from django.contrib.staticfiles import finders

from rules.choices import Role
from rules.models import DecisionModel
from rules.selectors.decision_models import decision_definitions
from rules.services.ruleset_import import ruleset_import
from rules.services.tenancy import member_add, tenant_create
from tests.browser.conftest import PASSWORD
from tests.support import TEST_DATA

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

LOAN = (TEST_DATA / "dmn" / "loan_offer.dmn").read_bytes()
EDITOR = "ruleengine/vendor/dmn-editor/dmn_editor.js"


@pytest.fixture
def loans(db):
    if not finders.find(EDITOR):
        pytest.fail(f"the DMN editor is not built ({EDITOR}): run `make install`")
    acme, _ = tenant_create(slug="acme", name="Acme Bank")
    member_add(username="ana.author", tenant=acme, role=Role.AUTHOR, password=PASSWORD)
    member_add(username="vic.viewer", tenant=acme, role=Role.VIEWER, password=PASSWORD)
    return ruleset_import(tenant=acme, actor=None, document=LOAN, name="loans").created


def _risk_rows(ruleset):
    risk = next(d for d in decision_definitions(ruleset).decisions if d.id == "Risk")
    return [(rule.input_entries, rule.output_entries) for rule in risk.logic.rules]


def _open_risk_table(page, live_server, ruleset):
    page.goto(f"{live_server.url}/admin/rules/ruleset/{ruleset.pk}/change/")
    page.click("a.dmn-editor-link")
    page.wait_for_selector(".dmn-editor[data-ready=true]")
    page.click(".dmn-editor-view[data-view-id=Risk]")
    table = page.locator(".dmn-editor-canvas .tjs-table")
    table.wait_for()
    return table


def _add_row(page, table, cells):
    """Add a rule row with dmn-js's button in the table foot and type each cell's FEEL."""
    rows_before = table.locator("tbody tr").count()
    table.locator("tfoot .add-rule-add").click()
    row = table.locator("tbody tr").nth(rows_before)
    row.wait_for()
    for index, text in enumerate(cells):
        # A cell is contenteditable; dmn-js turns the focused one into a FEEL editor.
        row.locator("td.cell").nth(index).click()
        editor = row.locator("td.cell").nth(index).locator("[contenteditable=true]:visible")
        editor.first.wait_for()
        page.keyboard.press("Control+A")
        page.keyboard.type(text)
    page.locator(".dmn-editor-views").click()  # leave the last cell


def test_author_adds_a_row_types_feel_and_saves(loans, signed_in, live_server, screenshot):
    page = signed_in("ana.author")
    table = _open_risk_table(page, live_server, loans)
    assert table.locator("tbody tr").count() == 3
    assert "[620..720)" in table.locator("tbody").inner_text()
    _add_row(page, table, ["< 300", '"very high"'])
    page.click(".dmn-editor-save")
    page.wait_for_selector(".dmn-editor-status .success")
    assert page.locator(".dmn-editor-status").inner_text().strip() == "Saved"
    screenshot(page, "dmn_editor_saved")
    rows = _risk_rows(loans)
    assert len(rows) == 4
    assert rows[-1] == (("< 300",), ('"very high"',))
    assert rows[0] == ((">= 720",), ('"low"',))


def test_bad_cell_is_refused_naming_it_and_nothing_is_written(
    loans, signed_in, live_server, screenshot
):
    before = DecisionModel.objects.get(ruleset=loans).definitions
    page = signed_in("ana.author")
    table = _open_risk_table(page, live_server, loans)
    _add_row(page, table, ["<< 5", '"very high"'])
    page.click(".dmn-editor-save")
    problems = page.locator(".dmn-editor-problems li")
    problems.first.wait_for()
    text = problems.all_inner_texts()
    assert len(text) == 1
    assert text[0].startswith("decision Risk, row 4 (")
    assert ", input 1: input 'Credit score': '<< 5'" in text[0]
    assert "nothing was written" in page.locator(".dmn-editor-status").inner_text()
    screenshot(page, "dmn_editor_refused")
    assert DecisionModel.objects.get(ruleset=loans).definitions == before


def test_viewer_sees_the_tables_without_save(loans, signed_in, live_server):
    page = signed_in("vic.viewer")
    page.goto(f"{live_server.url}/admin/rules/ruleset/{loans.pk}/decision-model/")
    page.wait_for_selector(".dmn-editor[data-ready=true]")
    page.locator(".dmn-editor-canvas .tjs-table").wait_for()
    assert page.locator(".dmn-editor-save").count() == 0
    assert "Read-only" in page.locator(".dmn-editor-read-only").inner_text()
