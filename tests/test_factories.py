"""Every factory in tests/factories.py makes a row that passes its model's validation."""

import pytest

from rules.choices import RulesetStatus
from rules.services.compilation import ruleset_compile
from tests import factories

pytestmark = pytest.mark.django_db

FACTORIES = [
    factories.TenantFactory,
    factories.UserFactory,
    factories.MembershipFactory,
    factories.RulesetFactory,
    factories.RuleFactory,
    factories.ConditionFactory,
    factories.RuleConditionFactory,
    factories.ActionFactory,
    factories.AttributeFactory,
    factories.PatternFactory,
    factories.RulesetTestCaseFactory,
    factories.SnapshotPublicationFactory,
    factories.ApiClientFactory,
    factories.ExecutionLogFactory,
    factories.DecisionModelFactory,
]


@pytest.mark.parametrize("factory", FACTORIES, ids=lambda f: f.__name__)
def test_factory_makes_a_valid_row(factory):
    row = factory()
    row.full_clean()
    assert type(row).objects.filter(pk=row.pk).exists()


def test_api_client_factory_makes_the_membership_and_optionally_a_token():
    client = factories.ApiClientFactory(role="author", token=True)
    assert not client.user.has_usable_password()
    assert list(client.user.memberships.values_list("tenant", "role")) == [
        (client.tenant.pk, "author")
    ]
    assert client.token and factories.ApiClientFactory().token is None


def test_execution_log_factory_takes_the_ruleset_identity():
    ruleset = factories.RulesetFactory(version="2.1")
    log = factories.ExecutionLogFactory(ruleset=ruleset)
    assert (log.tenant, log.ruleset_id, log.ruleset_name, log.ruleset_version) == (
        ruleset.tenant,
        ruleset.pk,
        ruleset.name,
        "2.1",
    )


def test_default_test_case_passes_on_ruleset_with_rules():
    ruleset = factories.ruleset_with_rules(status=RulesetStatus.DRAFT)
    case = factories.RulesetTestCaseFactory(ruleset=ruleset)
    evaluation = ruleset_compile(ruleset).evaluate(case.input_data)
    assert evaluation.action_recommendation == case.expected_action_recommendation


@pytest.mark.parametrize(
    ("income_weight", "points"), [(0.5, 20.0), (1.0, 30.0)], ids=["half", "full"]
)
def test_credit_ruleset_scores_both_rules(income_weight, points):
    ruleset = factories.credit_ruleset(factories.TenantFactory(), income_weight=income_weight)
    evaluation = ruleset_compile(ruleset).evaluate({"credit_score": 750, "income": 60000})
    assert (evaluation.pattern_result, evaluation.total_points) == ("YY", points)
    assert evaluation.action_recommendation == "APPROVE"
