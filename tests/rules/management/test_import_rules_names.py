"""Which name an import gives a ruleset when none is given: the same rule for import_rules, the
admin upload and the service (rules.services.ruleset_import decides it, from the file's name).

A ruleset document names itself in its header, a DMN file by its definitions' name; only the
original system's files, which carry no name, are named after the file.
"""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from rules.models import Ruleset
from rules.services.ruleset_import import ruleset_import

pytestmark = pytest.mark.django_db

SPEC = {
    "format": "ruleengine.ruleset",
    "format_version": 1,
    "ruleset": {"name": "spec_named", "version": "1.0"},
    "rules": [{"rule_id": "R1", "attribute": "score", "condition": "greater_than", "constant": 1}],
}


def import_rules(path) -> str:
    out = StringIO()
    call_command("import_rules", str(path), "--tenant", "acme", stdout=out)
    return out.getvalue()


def test_a_ruleset_document_keeps_the_name_in_its_header(tenant, tmp_path):
    path = tmp_path / "exported_copy.json"
    path.write_text(json.dumps(SPEC))

    import_rules(path)

    assert list(Ruleset.objects.filter(tenant=tenant).values_list("name", flat=True)) == [
        "spec_named"
    ]


def test_an_original_file_is_named_after_the_file(tenant, data_path):
    import_rules(data_path("flat_small.json"))

    assert Ruleset.objects.filter(tenant=tenant, name="flat_small").exists()


def test_the_service_names_an_original_file_from_its_filename(tenant, admin_user, data_path):
    report = ruleset_import(
        tenant=tenant,
        actor=admin_user,
        document=Path(data_path("flat_small.json")).read_bytes(),
        filename="uploads/my_rules.json",
    )

    assert report.name == "my_rules"


def test_standard_input_gives_an_original_file_no_name(tenant, admin_user, data_path):
    with pytest.raises(Exception, match="have no name"):
        ruleset_import(
            tenant=tenant,
            actor=admin_user,
            document=Path(data_path("flat_small.json")).read_bytes(),
            filename="-",
        )
