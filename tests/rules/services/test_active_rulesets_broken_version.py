"""An active version that no longer compiles is not reloaded and recompiled on every request."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rules.choices import RulesetStatus
from rules.errors import RulesetInvalid
from rules.models import Rule
from rules.services.active_rulesets import active_compiled_ruleset
from tests.factories import RuleFactory, RulesetFactory

pytestmark = pytest.mark.django_db


def test_a_version_that_does_not_compile_fails_from_cache_until_it_changes(tenant):
    ruleset = RulesetFactory(tenant=tenant, name="broken", status=RulesetStatus.ACTIVE)
    rule = RuleFactory(ruleset=ruleset)
    # As an upgrade can leave it: a stored pattern the engine now refuses.
    Rule.objects.filter(pk=rule.pk).update(operator="regex", constant="(a)\\1")
    with pytest.raises(RulesetInvalid) as first:
        active_compiled_ruleset(tenant=tenant, name="broken")
    assert "backreference" in str(first.value)
    with CaptureQueriesContext(connection) as queries, pytest.raises(RulesetInvalid) as again:
        active_compiled_ruleset(tenant=tenant, name="broken")
    assert str(again.value) == str(first.value) and again.value is not first.value
    # One query for the version pointer (its revision); the rules are not loaded and compiled.
    loads = [q["sql"] for q in queries.captured_queries if 'FROM "rules_rule"' in q["sql"]]
    assert loads == [] and len(queries) <= 1
