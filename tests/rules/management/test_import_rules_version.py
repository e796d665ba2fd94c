"""manage.py import_rules --version: the same service argument as the API's ?version= (issue 17).

Before, a document with the latest version's content imported under a new --version reported
"Unchanged" and created nothing.
"""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from rules.models import Ruleset

pytestmark = pytest.mark.django_db


def import_rules(path, *options) -> str:
    out = StringIO()
    call_command("import_rules", str(path), "--tenant", "acme", *options, stdout=out)
    return out.getvalue()


def test_a_new_version_of_unchanged_content_is_created(tenant, data_path):
    import_rules(data_path("flat_small.json"), "--name", "flat")

    output = import_rules(data_path("flat_small.json"), "--name", "flat", "--version", "2.0")

    assert "as flat 2.0 (draft)" in output
    versions = Ruleset.objects.filter(tenant=tenant, name="flat")
    assert sorted(versions.values_list("version", flat=True)) == ["1.0", "2.0"]


def test_the_documents_version_is_overridden(tenant, tmp_path):
    document = {
        "format": "ruleengine.ruleset",
        "format_version": 1,
        "ruleset": {"name": "spec", "version": "1.0"},
        "rules": [
            {"rule_id": "R1", "attribute": "score", "condition": "greater_than", "constant": 1}
        ],
        "patterns": [{"pattern_key": "Y", "action_recommendation": "APPROVE"}],
    }
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(document))

    output = import_rules(path, "--version", "3.1")

    assert "as spec 3.1 (draft)" in output
    assert Ruleset.objects.get(tenant=tenant, name="spec").version == "3.1"
