"""Names, versions and ids end where the text ends: `\\Z`, not `$` (which also matches before a
final newline). Issue 19, point 7: "A-rules\\n" was a valid ruleset name and became a snapshot
file name ending in a newline.
"""

import io
from contextlib import redirect_stdout
from importlib import import_module

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError

from rules.errors import RulesetInvalid
from rules.models import Ruleset, identifier_validator, version_validator
from rules.services import editing
from rules.services.ruleset_import import ruleset_import
from tests.factories import ActionFactory, RuleFactory, RulesetFactory

pytestmark = pytest.mark.django_db

REFUSED_NAMES = ["A-rules\n", "A-rules\r\n", "\nA-rules", "A rules", "ab/../c", ""]
REFUSED_VERSIONS = ["1.0\n", "١.٠", "1..0", "1.", ""]


@pytest.mark.parametrize("name", REFUSED_NAMES)
def test_identifier_validator_refuses(name):
    with pytest.raises(ValidationError):
        identifier_validator(name)


@pytest.mark.parametrize("version", REFUSED_VERSIONS)
def test_version_validator_refuses(version):
    with pytest.raises(ValidationError):
        version_validator(version)


def test_well_formed_names_and_versions_pass():
    for name in ("A-rules", "credit_scoring", "R001", "v1.2-beta"):
        identifier_validator(name)
    for version in ("1", "1.0", "2.3.1", "10.20"):
        version_validator(version)


def test_the_editing_service_refuses_a_name_ending_in_a_newline(tenant, author):
    with pytest.raises(ValidationError) as refused:
        editing.ruleset_create(tenant=tenant, actor=author, name="A-rules\n")
    assert "name" in refused.value.message_dict
    assert not Ruleset.objects.exists()


def spec(name="A-rules", version="1.0", rule_id="R1") -> dict:
    return {
        "ruleset": {"name": name, "version": version},
        "rules": [
            {
                "rule_id": rule_id,
                "attribute": "score",
                "condition": "greater_than",
                "constant": 1,
                "rule_point": 1,
            }
        ],
        "patterns": [{"pattern_key": "Y", "action_recommendation": "OK"}],
    }


@pytest.mark.parametrize(
    ("document", "where"),
    [
        (spec(name="A-rules\n"), "name"),
        (spec(version="1.0\n"), "version"),
        (spec(rule_id="R1\n"), "rule_id"),
    ],
)
def test_imports_refuse_names_ending_in_a_newline(tenant, author, document, where):
    with pytest.raises(RulesetInvalid) as refused:
        ruleset_import(tenant=tenant, actor=author, document=document)
    assert where in str(refused.value)
    assert not Ruleset.objects.exists()


def test_the_migration_lists_stored_names_the_validators_now_refuse_and_changes_nothing(tenant):
    bad = RulesetFactory(tenant=tenant, name="A-rules\n")
    RuleFactory(ruleset=bad, rule_id="R1\n")
    ActionFactory(tenant=tenant, action_id="A1")
    good = RulesetFactory(tenant=tenant, name="fine", version="2.0")
    migration = import_module("rules.migrations.0007_invitation_and_strict_names")

    out = io.StringIO()
    with redirect_stdout(out):
        migration.names_refused_report(apps, None)

    lines = out.getvalue().splitlines()
    assert lines == [
        f"WARNING rules 0007: ruleset {bad.pk} of tenant acme: name 'A-rules\\n' is refused by "
        "the validators from now on; rename it (left unchanged)",
        f"WARNING rules 0007: rule {bad.rules.get().pk} of tenant acme: rule_id 'R1\\n' is "
        "refused by the validators from now on; rename it (left unchanged)",
        "WARNING rules 0007: 2 stored name(s) to rename; see the lines above",
    ]
    bad.refresh_from_db()
    assert bad.name == "A-rules\n" and Ruleset.objects.get(pk=good.pk).name == "fine"
