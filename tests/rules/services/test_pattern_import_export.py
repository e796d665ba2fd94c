"""Wildcard keys and the default recommendation travel through export and import."""

import pytest

from rules.models import Ruleset
from rules.services.compilation import ruleset_compile
from rules.services.ruleset_export import ruleset_export
from rules.services.ruleset_import import ruleset_import
from tests.factories import PatternFactory, RuleFactory, RulesetFactory

pytestmark = pytest.mark.django_db


def wildcard_ruleset(tenant):
    ruleset = RulesetFactory(tenant=tenant, name="credit", default_recommendation="MANUAL")
    RuleFactory(ruleset=ruleset, rule_id="R1", priority=1)
    RuleFactory(ruleset=ruleset, rule_id="R2", priority=2, attribute="income", constant="50000")
    PatternFactory(ruleset=ruleset, pattern_key="YY", action_recommendation="APPROVE")
    PatternFactory(ruleset=ruleset, pattern_key="Y*", action_recommendation="REVIEW")
    return ruleset


def test_export_carries_the_default_and_wildcards_and_import_reads_them_back(tenant, author):
    document = ruleset_export(ruleset=wildcard_ruleset(tenant))
    assert document["ruleset"]["default_recommendation"] == "MANUAL"
    assert {p["pattern_key"] for p in document["patterns"]} == {"YY", "Y*"}

    report = ruleset_import(tenant=tenant, actor=author, document=document, name="copy")
    copy = Ruleset.objects.get(tenant=tenant, name="copy", version=report.version)
    assert copy.default_recommendation == "MANUAL"
    again = ruleset_export(ruleset=copy)
    assert {**again, "ruleset": {**again["ruleset"], "name": "credit"}} == document
    compiled = ruleset_compile(copy)
    assert compiled.evaluate({"credit_score": 750}).action_recommendation == "REVIEW"
    assert compiled.evaluate({"income": 60000}).action_recommendation == "MANUAL"


def test_a_document_without_a_default_imports_with_none(tenant, author):
    document = ruleset_export(ruleset=wildcard_ruleset(tenant))
    del document["ruleset"]["default_recommendation"]
    report = ruleset_import(tenant=tenant, actor=author, document=document, name="plain")
    assert Ruleset.objects.get(name="plain", version=report.version).default_recommendation == ""
