"""manage.py import_rules / export_rules with DMN files (decision-table rulesets)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from rules.choices import RulesetKind
from rules.engine import dmn
from rules.models import Ruleset
from rules.selectors.decision_models import decision_definitions
from tests.support import TEST_DATA

pytestmark = pytest.mark.django_db

LOAN = TEST_DATA / "dmn" / "loan_offer.dmn"


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_import_rules_reads_a_dmn_file_named_by_its_definitions(tenant):
    out = run("import_rules", str(LOAN), "--tenant", tenant.slug)
    ruleset = Ruleset.objects.get(tenant=tenant)
    assert (ruleset.name, ruleset.kind) == ("Loan_offer", RulesetKind.DECISION_TABLE)
    assert "Imported DMN 1.3 as decision-table ruleset Loan_offer 1.0 (draft)" in out
    assert "Loan offer: decision table UNIQUE, 2 inputs, 2 outputs, 4 rows" in out


def test_import_rules_takes_the_name_option_and_dry_run(tenant):
    out = run("import_rules", str(LOAN), "--tenant", tenant.slug, "--name", "loans", "--dry-run")
    assert "Dry run (DMN 1.3): would create draft decision-table ruleset loans 1.0" in out
    assert not Ruleset.objects.exists()


def test_import_rules_refuses_a_dmn_file_that_is_not_xml(tenant, tmp_path):
    path = tmp_path / "model.dmn"
    path.write_text("definitions, but not XML")
    with pytest.raises(CommandError, match="not well-formed XML"):
        run("import_rules", str(path), "--tenant", tenant.slug)
    assert not Ruleset.objects.exists()


def test_export_rules_writes_dmn_13_xml(tenant, tmp_path):
    run("import_rules", str(LOAN), "--tenant", tenant.slug, "--name", "loans")
    destination = tmp_path / "loans.dmn"
    call_command(
        "export_rules", "loans", str(destination), "--tenant", tenant.slug, stderr=StringIO()
    )
    content = destination.read_bytes()
    assert (
        content.startswith(b"<?xml") and b"https://www.omg.org/spec/DMN/20191111/MODEL/" in content
    )
    assert dmn.read_dmn(content) == decision_definitions(Ruleset.objects.get(name="loans"))
