"""factory_boy factories for test data (they bypass services on purpose: tests set up state)."""

import copy

import factory
from django.contrib.auth import get_user_model
from knox.models import AuthToken

from executions.models import ExecutionLog, ExecutionSource
from rules.choices import Role, RulesetKind, RulesetStatus
from rules.models import (
    Action,
    ApiClient,
    Attribute,
    Condition,
    DecisionModel,
    Membership,
    Pattern,
    Rule,
    RuleCondition,
    Ruleset,
    RulesetTestCase,
    SnapshotPublication,
    Tenant,
)


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"tenant-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-1")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    tenant = factory.SubFactory(TenantFactory)
    role = Role.AUTHOR


class RulesetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ruleset

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"ruleset_{n}")
    version = "1.0"
    status = RulesetStatus.DRAFT


class RuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rule

    ruleset = factory.SubFactory(RulesetFactory)
    rule_id = factory.Sequence(lambda n: f"R{n:03d}")
    rule_name = factory.LazyAttribute(lambda o: f"Rule {o.rule_id}")
    attribute = "credit_score"
    operator = "greater_than"
    constant = "700"
    rule_point = 10
    weight = 1.0
    priority = factory.Sequence(lambda n: n)
    action_result = "Y"


class ConditionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Condition

    tenant = factory.SubFactory(TenantFactory)
    condition_id = factory.Sequence(lambda n: f"C{n:04d}")
    name = factory.LazyAttribute(lambda o: f"Condition {o.condition_id}")
    attribute = "age"
    operator = "greater_than_or_equal"
    value = "18"


class RuleConditionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RuleCondition

    rule = factory.SubFactory(
        RuleFactory, attribute="", operator="", constant="", condition_mode="all"
    )
    condition = factory.SubFactory(
        ConditionFactory, tenant=factory.SelfAttribute("..rule.ruleset.tenant")
    )


class ActionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Action

    tenant = factory.SubFactory(TenantFactory)
    action_id = factory.Sequence(lambda n: f"A{n:03d}")
    name = factory.LazyAttribute(lambda o: f"Action {o.action_id}")
    action_type = "decision"
    configuration = factory.LazyFunction(lambda: {"queue": "auto"})


class AttributeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attribute

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"attribute_{n}")
    data_type = "number"
    description = "A number the rules read."
    example = 42


class PatternFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pattern

    ruleset = factory.SubFactory(RulesetFactory)
    pattern_key = "Y"
    action_recommendation = "APPROVE"


class RulesetTestCaseFactory(factory.django.DjangoModelFactory):
    """A test case that passes on ruleset_with_rules(): credit_score 750 matches every default
    rule (credit_score > 700), so the all-matched pattern's APPROVE comes out."""

    class Meta:
        model = RulesetTestCase

    ruleset = factory.SubFactory(RulesetFactory)
    name = factory.Sequence(lambda n: f"case {n}")
    input_data = factory.LazyFunction(lambda: {"credit_score": 750})
    expected_action_recommendation = "APPROVE"


class SnapshotPublicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SnapshotPublication

    ruleset = factory.SubFactory(RulesetFactory, status=RulesetStatus.ACTIVE)
    status = SnapshotPublication.Status.PENDING


class ApiClientFactory(factory.django.DjangoModelFactory):
    """A service account as api_client_create makes it (passwordless user, one membership),
    without its checks. `role=` sets the membership's role (viewer by default); `token=True`
    also creates a knox token and leaves the plain token on `client.token`."""

    class Meta:
        model = ApiClient
        skip_postgeneration_save = True

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"client_{n}")
    user = factory.SubFactory(
        UserFactory,
        username=factory.LazyAttribute(
            lambda u: f"api.{u.factory_parent.tenant.slug}.{u.factory_parent.name}"
        ),
        is_staff=False,
    )

    @factory.post_generation
    def role(obj, create, extracted, **kwargs):
        if create:
            obj.user.set_unusable_password()
            obj.user.save(update_fields=["password"])
            role = extracted or Role.VIEWER
            Membership.objects.create(user=obj.user, tenant=obj.tenant, role=role)

    @factory.post_generation
    def token(obj, create, extracted, **kwargs):
        obj.token = AuthToken.objects.create(user=obj.user)[1] if create and extracted else None


class ExecutionLogFactory(factory.django.DjangoModelFactory):
    """A successful API evaluation log row; `ruleset=` fills the tenant and ruleset identity."""

    class Meta:
        model = ExecutionLog

    class Params:
        ruleset = None

    tenant = factory.Maybe(
        "ruleset",
        yes_declaration=factory.SelfAttribute("ruleset.tenant"),
        no_declaration=factory.SubFactory(TenantFactory),
    )
    ruleset_id = factory.LazyAttribute(lambda o: o.ruleset.pk if o.ruleset else None)
    ruleset_name = factory.LazyAttribute(lambda o: o.ruleset.name if o.ruleset else "credit")
    ruleset_version = factory.LazyAttribute(lambda o: o.ruleset.version if o.ruleset else "1.0")
    input_data = factory.LazyFunction(lambda: {"credit_score": 750})
    total_points = 10.0
    pattern_result = "Y"
    action_recommendation = "APPROVE"
    output_data = factory.LazyAttribute(
        lambda o: {
            "total_points": o.total_points,
            "pattern_result": o.pattern_result,
            "action_recommendation": o.action_recommendation,
            "matched_rules": [],
        }
    )
    execution_time_ms = 1.0
    success = True
    source = ExecutionSource.API


def ruleset_with_rules(*, tenant=None, rules=2, status=RulesetStatus.DRAFT, **fields) -> Ruleset:
    """A valid ruleset with `rules` inline rules and the all-matched pattern."""
    ruleset = RulesetFactory(tenant=tenant or TenantFactory(), status=status, **fields)
    for _ in range(rules):
        RuleFactory(ruleset=ruleset)
    PatternFactory(ruleset=ruleset, pattern_key="Y" * rules, action_recommendation="APPROVE")
    return ruleset


def credit_ruleset(
    tenant,
    *,
    version="1.0",
    status=RulesetStatus.DRAFT,
    name="credit",
    threshold=700,
    income_weight=0.5,
) -> Ruleset:
    """R1 "Good score" credit_score > threshold (10 points), R2 "Steady income" income >= 50000
    (20 points × income_weight); patterns YY APPROVE, Y- and -Y REVIEW, -- DECLINE."""
    ruleset = RulesetFactory(tenant=tenant, name=name, version=version, status=status)
    RuleFactory(
        ruleset=ruleset,
        rule_id="R1",
        rule_name="Good score",
        priority=1,
        rule_point=10,
        constant=str(threshold),
    )
    RuleFactory(
        ruleset=ruleset,
        rule_id="R2",
        rule_name="Steady income",
        priority=2,
        attribute="income",
        operator="greater_than_or_equal",
        constant="50000",
        rule_point=20,
        weight=income_weight,
    )
    for key, recommendation in (("YY", "APPROVE"), ("Y-", "REVIEW"), ("-Y", "REVIEW")):
        PatternFactory(ruleset=ruleset, pattern_key=key, action_recommendation=recommendation)
    PatternFactory(ruleset=ruleset, pattern_key="--", action_recommendation="DECLINE")
    return ruleset


def authoring_counts() -> dict:
    """Rows of every authoring table, to prove a failed import wrote nothing."""
    return {
        model.__name__: model.objects.count()
        for model in (Ruleset, Rule, RuleCondition, Pattern, Condition, Action)
    }


def large_ruleset(*, tenant, rules=1000, **fields) -> Ruleset:
    """A valid draft with `rules` rules in one bulk INSERT (credit_score > 700 each) and the
    all-matched pattern when it fits Pattern.pattern_key (500 characters): the size analysts'
    real scoring rulesets reach."""
    ruleset = RulesetFactory(tenant=tenant, **fields)
    Rule.objects.bulk_create(
        Rule(
            ruleset=ruleset,
            rule_id=f"R{number:04d}",
            rule_name=f"Rule {number}",
            attribute="credit_score",
            operator="greater_than",
            constant="700",
            rule_point=1,
            priority=number,
            position=number,
        )
        for number in range(rules)
    )
    PatternFactory(ruleset=ruleset, pattern_key="Y" * rules, action_recommendation="APPROVE")
    return ruleset


SAMPLE_DECISION_MODEL = {
    "id": "dish",
    "name": "Dish",
    "decisions": [
        {
            "id": "DishDecision",
            "name": "Dish Decision",
            "logic": {
                "id": "DishTable",
                "inputs": [
                    {"id": "In1", "expression": "season", "label": "Season", "type_ref": "string"},
                    {"id": "In2", "expression": "guests", "label": "Guests", "type_ref": "number"},
                ],
                "outputs": [{"id": "Out1", "name": "dish", "label": "Dish", "type_ref": "string"}],
                "rules": [
                    {"id": "R1", "input_entries": ['"Fall"', "<= 8"], "output_entries": ['"Ribs"']},
                    {"id": "R2", "input_entries": ['"Winter"', "-"], "output_entries": ['"Stew"']},
                ],
                "hit_policy": "UNIQUE",
            },
        }
    ],
}


class DecisionModelFactory(factory.django.DjangoModelFactory):
    """A decision-table ruleset's DMN model: one UNIQUE table (season, guests -> dish)."""

    class Meta:
        model = DecisionModel

    ruleset = factory.SubFactory(RulesetFactory, kind=RulesetKind.DECISION_TABLE)
    definitions = factory.LazyFunction(lambda: copy.deepcopy(SAMPLE_DECISION_MODEL))
