"""The demo tenant, users and credit-scoring ruleset used by the quick start (idempotent)."""

from django.contrib.auth import get_user_model
from django.db import transaction

from rules.choices import Role
from rules.models import Action, Ruleset, RulesetTestCase
from rules.services import test_cases
from rules.services.editing import catalog_entry_save, pattern_create, rule_create, ruleset_create
from rules.services.lifecycle import ruleset_activate, ruleset_set_default
from rules.services.tenancy import member_add, tenant_create

DEMO_TENANT = "demo"
DEMO_RULES = [
    dict(
        rule_id="R001",
        rule_name="Good credit score",
        attribute="applicant.credit_score",
        operator="greater_than",
        constant="700",
        rule_point=100,
        weight=1.0,
        priority=1,
        message="Credit score above 700",
    ),
    dict(
        rule_id="R002",
        rule_name="Stable income",
        attribute="applicant.income",
        operator="greater_than_or_equal",
        constant="50000",
        rule_point=50,
        weight=1.0,
        priority=2,
        message="Yearly income of at least 50,000",
    ),
    dict(
        rule_id="R003",
        rule_name="Low debt ratio",
        attribute="debt_ratio",
        operator="less_than",
        constant="0.4",
        rule_point=50,
        weight=1.5,
        priority=3,
        message="Debt below 40% of income",
    ),
]
DEMO_PATTERNS = {
    "YYY": ("APPROVE", "A_APPROVE"),
    "YY-": ("REVIEW", "A_REVIEW"),
    "Y-Y": ("REVIEW", "A_REVIEW"),
    "-YY": ("REVIEW", "A_REVIEW"),
    "Y--": ("DECLINE", None),
    "-Y-": ("DECLINE", None),
    "--Y": ("DECLINE", None),
    "---": ("DECLINE", None),
}

# The activation gate runs these; with them the demo activates without the "no test cases"
# warning. Clear cases, far from the thresholds, so tightening a rule a little (a demo of new
# versions) still passes. R003 weighs 1.5, so an approval scores 100 + 50 + 50 × 1.5.
DEMO_TEST_CASES = [
    dict(
        name="strong applicant is approved",
        description="Every rule matches.",
        input_data={"applicant": {"credit_score": 820, "income": 85000}, "debt_ratio": 0.2},
        expected_pattern_result="YYY",
        expected_action_recommendation="APPROVE",
        expected_total_points=225,
        expected_matched_rules=["R001", "R002", "R003"],
    ),
    dict(
        name="weak applicant is declined",
        description="No rule matches.",
        input_data={"applicant": {"credit_score": 580, "income": 24000}, "debt_ratio": 0.65},
        expected_pattern_result="---",
        expected_action_recommendation="DECLINE",
        expected_total_points=0,
        expected_matched_rules=[],
    ),
]


@transaction.atomic
def demo_seed(*, password: str) -> dict:
    """Create the demo data unless it exists; returns the logins."""
    tenant, _ = tenant_create(slug=DEMO_TENANT, name="Demo Bank")
    user_model = get_user_model()
    if not user_model.objects.filter(username="admin").exists():
        user_model.objects.create_superuser("admin", "admin@example.com", password)
    author = member_add(username="author", tenant=tenant, role=Role.AUTHOR, password=password)[0]
    approver = member_add(
        username="approver", tenant=tenant, role=Role.APPROVER, password=password
    )[0]
    if not Ruleset.objects.filter(tenant=tenant, name="credit_scoring").exists():
        author_user, approver_user = author.user, approver.user
        actions = {}
        for action_id, name, queue in (
            ("A_APPROVE", "Approve automatically", "auto"),
            ("A_REVIEW", "Send to manual review", "underwriting"),
        ):
            actions[action_id] = catalog_entry_save(
                entry=Action(
                    tenant=tenant,
                    action_id=action_id,
                    name=name,
                    action_type="decision",
                    configuration={"queue": queue},
                ),
                actor=author_user,
            )
        ruleset = ruleset_create(
            tenant=tenant,
            actor=author_user,
            name="credit_scoring",
            version="1.0",
            description="Scores loan applications",
            tags=["credit", "demo"],
        )
        for position, fields in enumerate(DEMO_RULES):
            rule_create(ruleset=ruleset, actor=author_user, position=position, **fields)
        for key, (recommendation, action_id) in DEMO_PATTERNS.items():
            pattern_create(
                ruleset=ruleset,
                actor=author_user,
                pattern_key=key,
                action_recommendation=recommendation,
                action=actions.get(action_id),
            )
        for fields in DEMO_TEST_CASES:
            test_cases.test_case_save(
                test_case=RulesetTestCase(ruleset=ruleset, **fields), actor=author_user
            )
        ruleset_activate(ruleset_id=ruleset.pk, actor=approver_user)
        ruleset_set_default(ruleset_id=ruleset.pk, actor=approver_user)
    return {"admin": password, "author": password, "approver": password}
