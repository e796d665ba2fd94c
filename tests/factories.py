"""factory_boy factories for test data (they bypass services on purpose: tests set up state)."""

import factory
from django.contrib.auth import get_user_model

from rules.choices import Role, RulesetStatus
from rules.models import (
    Action,
    Condition,
    Membership,
    Pattern,
    Rule,
    RuleCondition,
    Ruleset,
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
    condition = "greater_than"
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
        RuleFactory, attribute="", condition="", constant="", condition_mode="all"
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


class PatternFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pattern

    ruleset = factory.SubFactory(RulesetFactory)
    pattern_key = "Y"
    action_recommendation = "APPROVE"


def ruleset_with_rules(*, tenant=None, rules=2, status=RulesetStatus.DRAFT, **fields) -> Ruleset:
    """A valid ruleset with `rules` inline rules and the all-matched pattern."""
    ruleset = RulesetFactory(tenant=tenant or TenantFactory(), status=status, **fields)
    for _ in range(rules):
        RuleFactory(ruleset=ruleset)
    PatternFactory(ruleset=ruleset, pattern_key="Y" * rules, action_recommendation="APPROVE")
    return ruleset
