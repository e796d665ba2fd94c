"""The pattern coverage page: results of logged traffic and test cases no key covers, those only
the default covers, and keys nothing produced (executions/pattern_coverage.py)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from executions.models import ExecutionSource
from executions.pattern_coverage import pattern_coverage
from rules.choices import Role
from tests.factories import (
    ExecutionLogFactory,
    MembershipFactory,
    PatternFactory,
    RuleFactory,
    RulesetFactory,
    RulesetTestCaseFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def ruleset(tenant):
    """Two rules (credit_score > 700: Y, income >= 50000: Y); keys YY, Y*; logs and a test."""
    ruleset = RulesetFactory(tenant=tenant, name="credit")
    RuleFactory(ruleset=ruleset, rule_id="R1", priority=1)
    RuleFactory(
        ruleset=ruleset,
        rule_id="R2",
        priority=2,
        attribute="income",
        operator="greater_than_or_equal",
        constant="50000",
    )
    PatternFactory(ruleset=ruleset, pattern_key="YY", action_recommendation="APPROVE")
    PatternFactory(ruleset=ruleset, pattern_key="Y*", action_recommendation="REVIEW")
    PatternFactory(ruleset=ruleset, pattern_key="--", action_recommendation="DECLINE")
    now = timezone.now()
    for result, count, age in (("YY", 3, 1), ("Y-", 2, 2), ("-Y", 5, 3), ("-Y", 4, 40)):
        for _ in range(count):
            ExecutionLogFactory(
                ruleset=ruleset, pattern_result=result, timestamp=now - timedelta(days=age)
            )
    # Try-it runs and failures are not traffic.
    ExecutionLogFactory(ruleset=ruleset, pattern_result="-Y", source=ExecutionSource.ADMIN)
    ExecutionLogFactory(ruleset=ruleset, pattern_result="-Y", success=False)
    RulesetTestCaseFactory(ruleset=ruleset, name="income only", input_data={"income": 60000})
    return ruleset


def test_coverage_counts_uncovered_results_of_traffic_and_tests_and_unused_keys(ruleset):
    coverage = pattern_coverage(ruleset=ruleset, days=30)
    assert [(i.result, i.traffic, i.tests) for i in coverage.uncovered] == [("-Y", 5, 1)]
    assert coverage.by_default == []
    uses = {key.pattern_key: (key.traffic, key.tests) for key in coverage.keys}
    assert uses == {"YY": (3, 0), "Y*": (2, 0), "--": (0, 0)}
    assert [key.pattern_key for key in coverage.never_produced] == ["--"]
    assert (coverage.traffic_total, coverage.tests_total) == (10, 1)


def test_the_window_is_selectable_and_the_default_is_shown_apart(ruleset):
    ruleset.default_recommendation = "MANUAL"
    ruleset.save()
    coverage = pattern_coverage(ruleset=ruleset, days=90)
    assert coverage.uncovered == []
    assert [(i.result, i.traffic, i.tests) for i in coverage.by_default] == [("-Y", 9, 1)]


def test_the_page_is_linked_from_the_ruleset_and_lists_the_coverage(client, ruleset, author):
    client.force_login(author)
    url = reverse("admin:executions_executionlog_pattern_coverage", args=[ruleset.pk])
    change = client.get(reverse("admin:rules_ruleset_change", args=[ruleset.pk]))
    assert url.encode() in change.content
    page = client.get(url, {"days": "7"}).content.decode()
    assert 'class="uncovered-result"><td><code>-Y</code></td><td>5</td><td>1</td>' in page
    assert 'class="never-produced"><td><code>--</code>' in page
    assert "Results only the default covers (0)" in page


def test_another_tenants_member_gets_404(client, ruleset, other_tenant):
    outsider = MembershipFactory(tenant=other_tenant, role=Role.ADMIN).user
    client.force_login(outsider)
    url = reverse("admin:executions_executionlog_pattern_coverage", args=[ruleset.pk])
    assert client.get(url).status_code == 404


def test_try_it_says_which_key_answered(client, ruleset, author):
    client.force_login(author)
    url = reverse("admin:executions_executionlog_try_it", args=[ruleset.pk])
    page = client.post(url, {"input": '{"credit_score": 750}'}).content.decode()
    assert '<dd class="pattern-match">wildcard key <code>Y*</code></dd>' in page
    ruleset.default_recommendation = "MANUAL"
    ruleset.save()
    page = client.post(url, {"input": '{"income": 60000}'}).content.decode()
    assert "the default recommendation (no key matches)" in page
