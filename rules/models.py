"""The authoring domain: tenants, memberships, rulesets and their parts, catalogs.

Writes go through `rules.services`; these classes hold fields, constraints and field-level checks.
"""

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from ruleengine.input_check import InputRefused, input_check
from rules.choices import (
    AttributeType,
    ConditionMode,
    InputValidation,
    ItemStatus,
    Role,
    RulesetKind,
    RulesetSemantics,
    RulesetStatus,
)
from rules.tenant_roles import caller_tenant_ids

# \Z, not $: `$` also matches before a final newline, so "A-rules\n" passed (and became a
# snapshot file name ending in a newline). [0-9], not \d, which matches every script's digits.
identifier_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_.\-]*\Z",
    "Use letters, digits, '_', '.' and '-', starting with a letter or digit.",
)
version_validator = RegexValidator(
    r"^[0-9]+(\.[0-9]+)*\Z", "A version is numbers separated by dots, such as 1.0 or 2.3.1."
)


def condition_field_errors(*, attribute: str, operator: str, constant, fields: dict) -> dict:
    """Field errors for one inline condition, found by the engine's own compile checks.

    `fields` maps the spec's names (attribute, condition, constant) to the model's field names.
    """
    from rules.engine import ruleset_problems  # the engine is pure Python; imported lazily

    spec = {
        "ruleset": {"name": "field-check", "version": "1.0"},
        "rules": [
            {
                "rule_id": "field-check",
                "attribute": attribute,
                "condition": operator,
                "constant": constant,
            }
        ],
        "patterns": [],
    }
    errors: dict[str, list[str]] = {}
    for problem in ruleset_problems(spec):
        field = fields.get(problem.path.rsplit(".", 1)[-1], NON_FIELD_ERRORS)
        errors.setdefault(field, []).append(problem.message)
    return errors


class TenantQuerySet(models.QuerySet):
    """Tenant scoping in one place: the admin, the API and the commands all go through it."""

    # The lookup from this model to its Tenant; parts of a ruleset reach it through the ruleset.
    tenant_lookup = "tenant"

    def for_tenant(self, tenant):
        return self.filter(**{self.tenant_lookup: tenant})

    def visible_to(self, user, capability: str = "view", *, tenant=None):
        """Objects in tenants where `user` has a role granting `capability` (superusers: all).

        Reads the cached roles (rules.tenant_roles), so the admin, the API and the commands scope
        alike; `tenant` narrows the result to that one tenant.
        """
        tenant_ids = caller_tenant_ids(user, capability)
        queryset = (
            self if tenant_ids is None else self.filter(**{f"{self.tenant_lookup}__in": tenant_ids})
        )
        return queryset if tenant is None else queryset.for_tenant(tenant)


class RulesetPartQuerySet(TenantQuerySet):
    tenant_lookup = "ruleset__tenant"


class RuleConditionQuerySet(TenantQuerySet):
    tenant_lookup = "rule__ruleset__tenant"


class TenantItselfQuerySet(TenantQuerySet):
    tenant_lookup = "pk"

    def for_tenant(self, tenant):
        return self.filter(pk=tenant.pk)


class Tenant(models.Model):
    slug = models.SlugField(max_length=63, unique=True)
    name = models.CharField(max_length=200)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantItselfQuerySet.as_manager()

    class Meta:
        ordering = ["slug"]

    def __str__(self):
        return self.slug


class Membership(models.Model):
    """A user's role in one tenant."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)
    # The password hash this tenant's admin set when they made the account (member_create), so
    # the account cannot join another tenant while it still signs in with that password.
    password_set_by_admin = models.CharField(max_length=128, blank=True, default="", editable=False)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "tenant"], name="membership_one_role_per_tenant"
            )
        ]
        ordering = ["tenant__slug", "user__username"]

    def __str__(self):
        return f"{self.user} in {self.tenant} as {self.role}"


class Invitation(models.Model):
    """An offer, sent by e-mail, to join a tenant with a role; the membership exists only once
    the invited person accepts it while signed in.

    This is how an existing account joins another tenant: no tenant admin adds an account by
    its username. Only a SHA-256 digest of the link's token is stored.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)
    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["tenant__slug", "-created_at"]

    def __str__(self):
        return f"{self.email} to {self.tenant} as {self.role}"


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Ruleset(TimestampedModel):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="rulesets")
    name = models.CharField(max_length=100, validators=[identifier_validator])
    description = models.TextField(blank=True)
    version = models.CharField(max_length=20, default="1.0", validators=[version_validator])
    status = models.CharField(
        max_length=20, choices=RulesetStatus.choices, default=RulesetStatus.DRAFT
    )
    # Set at creation (an import of a DMN file makes a decision-table ruleset), never changed.
    kind = models.CharField(
        max_length=20,
        choices=RulesetKind.choices,
        default=RulesetKind.SCORING,
        editable=False,
    )
    is_default = models.BooleanField(
        default=False, help_text="Evaluated when a request names no ruleset."
    )
    semantics = models.CharField(
        max_length=10,
        choices=RulesetSemantics.choices,
        default=RulesetSemantics.STRICT,
        help_text="Original: only the rules whose attributes are in the input run, as in the "
        "original system; patterns and results of any length.",
    )
    default_recommendation = models.CharField(
        max_length=200,
        blank=True,
        help_text="Recommended when no pattern key matches the result; empty for none.",
    )
    input_validation = models.CharField(
        max_length=10,
        choices=InputValidation.choices,
        default=InputValidation.OFF,
        help_text="Check inputs against the tenant's attributes catalog.",
    )
    tags = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # Bumped by every write to the ruleset or its parts; caches of compiled rulesets compare it.
    revision = models.PositiveIntegerField(default=1, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = TenantQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["revision"])

    class Meta:
        ordering = ["tenant__slug", "name", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name", "version"], name="ruleset_unique_version"
            ),
            models.UniqueConstraint(
                fields=["tenant", "name"],
                condition=Q(status=RulesetStatus.ACTIVE),
                name="ruleset_one_active_version",
            ),
            models.UniqueConstraint(
                fields=["tenant"],
                condition=Q(is_default=True),
                name="ruleset_one_default_per_tenant",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "status"], name="ruleset_tenant_status")]

    def __str__(self):
        return f"{self.name} {self.version} ({self.status})"

    @property
    def is_editable(self) -> bool:
        return self.status == RulesetStatus.DRAFT

    def clean(self):
        if not isinstance(self.tags, list) or not all(isinstance(t, str) for t in self.tags):
            raise ValidationError({"tags": "Tags are a list of strings."})
        if not isinstance(self.metadata, dict):
            raise ValidationError({"metadata": "Metadata is a JSON object."})


class CatalogEntry(TimestampedModel):
    """Fields shared by the per-tenant catalogs of conditions and actions."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=ItemStatus.choices, default=ItemStatus.ACTIVE)
    tags = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


class Condition(CatalogEntry):
    """A reusable condition `attribute operator value`, referenced by rules of the tenant."""

    condition_id = models.CharField(max_length=64, validators=[identifier_validator])
    attribute = models.CharField(max_length=200)
    operator = models.CharField(max_length=40)
    value = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["tenant__slug", "condition_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "condition_id"], name="condition_unique_id_per_tenant"
            )
        ]

    def __str__(self):
        return f"{self.condition_id}: {self.attribute} {self.operator} {self.value}"

    def clean(self):
        if self.attribute and self.operator:
            errors = condition_field_errors(
                attribute=self.attribute,
                operator=self.operator,
                constant=self.value,
                fields={"attribute": "attribute", "condition": "operator", "constant": "value"},
            )
            if errors:
                raise ValidationError(errors)


class Action(CatalogEntry):
    """A reusable action a pattern can point to (returned with the recommendation)."""

    action_id = models.CharField(max_length=64, validators=[identifier_validator])
    action_type = models.CharField(max_length=64, blank=True)
    configuration = models.JSONField(default=dict, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["tenant__slug", "action_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "action_id"], name="action_unique_id_per_tenant"
            )
        ]

    def __str__(self):
        return f"{self.action_id}: {self.name}"


class Attribute(TimestampedModel):
    """An input attribute of the tenant's catalog: what rules read and inputs carry."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=200, help_text="The input key, e.g. credit_score.")
    data_type = models.CharField(
        max_length=10, choices=AttributeType.choices, default=AttributeType.STRING
    )
    description = models.TextField(blank=True)
    allowed_values = models.JSONField(
        default=list, blank=True, help_text="A JSON list; empty for any value of the type."
    )
    example = models.JSONField(
        null=True, blank=True, help_text="A JSON value; try-it starts from it."
    )

    objects = TenantQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["tenant__slug", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name"], name="attribute_unique_name_per_tenant"
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.data_type})"


class Rule(TimestampedModel):
    ruleset = models.ForeignKey(Ruleset, on_delete=models.CASCADE, related_name="rules")
    rule_id = models.CharField(max_length=64, validators=[identifier_validator])
    rule_name = models.CharField(max_length=200, blank=True)
    # Inline form: `attribute operator constant` (the ruleset spec calls the operator "condition").
    attribute = models.CharField(max_length=200, blank=True)
    operator = models.CharField(max_length=40, blank=True)
    constant = models.TextField(blank=True)
    # Catalog form: conditions from the tenant's catalog combined with all/any.
    condition_mode = models.CharField(
        max_length=10, choices=ConditionMode.choices, blank=True, default=""
    )
    catalog_conditions = models.ManyToManyField(
        Condition, through="RuleCondition", blank=True, related_name="rules"
    )
    message = models.TextField(blank=True)
    weight = models.FloatField(default=1.0)
    rule_point = models.FloatField(default=0)
    priority = models.IntegerField(default=0, help_text="Rules run in ascending priority.")
    # Source order, so equal priorities keep the order of the ruleset (and of imported files).
    position = models.PositiveIntegerField(default=0)
    # One character in `strict` semantics (the engine checks it); any text, with templates, in
    # `original`, where the original's files may leave it empty.
    action_result = models.CharField(
        max_length=200,
        blank=True,
        default="Y",
        help_text="Appended to the pattern when the rule matches.",
    )
    status = models.CharField(max_length=20, choices=ItemStatus.choices, default=ItemStatus.ACTIVE)
    version = models.PositiveIntegerField(default=1, editable=False)
    tags = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    objects = RulesetPartQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["ruleset", "priority", "position", "rule_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ruleset", "rule_id"], name="rule_unique_id_per_ruleset"
            )
        ]

    def __str__(self):
        return f"{self.rule_id} {self.rule_name}".strip()

    @property
    def uses_catalog(self) -> bool:
        return bool(self.condition_mode)

    def clean(self):
        if self.condition_mode:
            if self.attribute or self.operator or self.constant:
                raise ValidationError(
                    "A rule uses either an inline condition (attribute, operator, constant) or "
                    "catalog conditions, not both."
                )
            return
        errors = {}
        if not self.attribute:
            errors["attribute"] = "Give the attribute to test, or choose catalog conditions."
        if not self.operator:
            errors["operator"] = "Choose an operator, or catalog conditions."
        if not errors:
            errors = condition_field_errors(
                attribute=self.attribute,
                operator=self.operator,
                constant=self.constant,
                fields={"attribute": "attribute", "condition": "operator", "constant": "constant"},
            )
        if errors:
            raise ValidationError(errors)


class RuleCondition(models.Model):
    """A rule's link to one catalog condition, in order."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="condition_links")
    condition = models.ForeignKey(Condition, on_delete=models.PROTECT, related_name="rule_links")
    position = models.PositiveIntegerField(default=0)

    objects = RuleConditionQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["rule", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "condition"], name="rulecondition_unique")
        ]

    def __str__(self):
        return f"{self.rule.rule_id} uses {self.condition.condition_id}"


class Pattern(TimestampedModel):
    ruleset = models.ForeignKey(Ruleset, on_delete=models.CASCADE, related_name="patterns")
    # Text, not a bounded CharField: a strict ruleset of 1,000 rules has 1,000-character keys.
    pattern_key = models.TextField(
        help_text="One character per active rule, in execution order, e.g. Y-Y; * matches any."
    )
    action_recommendation = models.CharField(max_length=200)
    action = models.ForeignKey(
        Action, null=True, blank=True, on_delete=models.PROTECT, related_name="patterns"
    )
    description = models.TextField(blank=True)

    objects = RulesetPartQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["ruleset", "pattern_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["ruleset", "pattern_key"], name="pattern_unique_key_per_ruleset"
            )
        ]

    def __str__(self):
        return f"{self.pattern_key} → {self.action_recommendation}"


class SnapshotPublication(models.Model):
    """Whether an activated version's snapshot reached snapshot storage, so failures are retried.

    Activation never waits for storage: it commits first, then publishes; a failed write stays
    `failed` here until `manage.py publish_snapshots` succeeds.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PUBLISHED = "published", "Published"
        FAILED = "failed", "Failed"

    ruleset = models.OneToOneField(
        Ruleset, on_delete=models.CASCADE, related_name="snapshot_publication"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    location = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self):
        return f"snapshot of {self.ruleset}: {self.status}"


class ApiClient(models.Model):
    """A service account an application uses to call the API with a token.

    The account is a Django user with no password and one membership (its role), so the API's
    scoping is the same code as everyone else's. Its tokens are django-rest-knox AuthTokens: only
    a SHA-512 digest is stored, the token itself is shown once at creation.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_clients")
    name = models.CharField(max_length=100, validators=[identifier_validator])
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_client"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="apiclient_unique_name")
        ]
        ordering = ["tenant__slug", "name"]

    def __str__(self):
        return f"{self.name} ({self.tenant})"


class RulesetTestCase(TimestampedModel):
    """An input and the outcome a ruleset version must produce for it; checked at activation.

    Each `expected_*` field left empty (None) is not checked; at least one must be set. A new
    draft version copies its source's test cases.
    """

    ruleset = models.ForeignKey(Ruleset, on_delete=models.CASCADE, related_name="test_cases")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    input_data = models.JSONField(default=dict, blank=True, help_text="The input, a JSON object.")
    expected_pattern_result = models.TextField(null=True, blank=True)
    expected_action_recommendation = models.CharField(max_length=200, null=True, blank=True)
    expected_total_points = models.FloatField(null=True, blank=True)
    total_points_tolerance = models.FloatField(
        default=1e-6, help_text="The total points pass within ± this much of the expected value."
    )
    expected_matched_rules = models.JSONField(
        null=True, blank=True, help_text="Rule ids that must match, and no others (any order)."
    )
    # Decision-table rulesets: {decision name: expected result}; only the decisions named here
    # are compared.
    expected_outputs = models.JSONField(
        null=True,
        blank=True,
        help_text="Decision tables: a JSON object of decision name → expected result.",
    )

    objects = RulesetPartQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["ruleset", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["ruleset", "name"], name="rulesettestcase_unique_name_per_ruleset"
            )
        ]

    def __str__(self):
        return self.name

    @property
    def expectations(self) -> dict:
        """The checked fields and their expected values, in the evaluation's field names."""
        expected = {
            "pattern_result": self.expected_pattern_result,
            "action_recommendation": self.expected_action_recommendation,
            "total_points": self.expected_total_points,
            "matched_rules": self.expected_matched_rules,
            "outputs": self.expected_outputs,
        }
        return {field: value for field, value in expected.items() if value is not None}

    def clean_fields(self, exclude=None):
        # The input is an evaluate input: the evaluation step's input check (finite numbers
        # within ±(2^53 − 1), depth, size, no NUL or lone surrogates) runs first, and a refused
        # input is not validated further: Django's JSON check of a 5,000-deep one overflows.
        errors = {}
        if isinstance(self.input_data, dict) and "input_data" not in (exclude or ()):
            try:
                input_check(
                    self.input_data, where="input_data", max_bytes=settings.API_MAX_BODY_BYTES
                )
            except InputRefused as error:
                errors["input_data"] = [str(error)]
                exclude = {*(exclude or ()), "input_data"}
        try:
            super().clean_fields(exclude=exclude)
        except ValidationError as error:
            errors = {**error.message_dict, **errors}
        if errors:
            raise ValidationError(errors)

    def clean(self):
        errors = {}
        if not isinstance(self.input_data, dict):
            errors["input_data"] = "The input is a JSON object."
        rules = self.expected_matched_rules
        if rules is not None and (
            not isinstance(rules, list) or not all(isinstance(r, str) for r in rules)
        ):
            errors["expected_matched_rules"] = "Matched rules are a list of rule ids."
        if self.expected_outputs is not None and not isinstance(self.expected_outputs, dict):
            errors["expected_outputs"] = "Expected outputs are a JSON object of decision names."
        if self.total_points_tolerance is not None and self.total_points_tolerance < 0:
            errors["total_points_tolerance"] = "The tolerance cannot be negative."
        if not errors and not self.expectations:
            decision_table = self.ruleset_id and self.ruleset.kind == RulesetKind.DECISION_TABLE
            errors[NON_FIELD_ERRORS] = (
                "Expect at least one of: outputs, matched rules, action recommendation."
                if decision_table
                else "Expect at least one of: pattern result, action recommendation, total "
                "points, matched rules."
            )
        if errors:
            raise ValidationError(errors)


class DecisionModel(TimestampedModel):
    """The DMN model of a decision-table ruleset version: `definitions` is the engine's
    `Definitions.as_dict()` (rules.engine.dmn), read back with `definitions_from_dict`."""

    ruleset = models.OneToOneField(Ruleset, on_delete=models.CASCADE, related_name="decision_model")
    definitions = models.JSONField(default=dict)

    objects = RulesetPartQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["ruleset"]

    def __str__(self):
        return f"decision model of {self.ruleset}"


# What an author sets on a ruleset version itself, besides its name and version: edited through
# editing.ruleset_update, restored by a revert, compared by version_diff.
RULESET_AUTHORED_FIELDS = (
    "description",
    "tags",
    "semantics",
    "default_recommendation",
    "input_validation",
    "metadata",
)

# A test case's own fields: what the admin edits and what imports copy into a new draft.
TEST_CASE_FIELDS = (
    "name",
    "description",
    "input_data",
    "expected_pattern_result",
    "expected_action_recommendation",
    "expected_total_points",
    "total_points_tolerance",
    "expected_matched_rules",
    "expected_outputs",
)

# A catalog entry's own fields, in the order people read them: the admin form and page and the
# API serializer all list these, so a new field is added in one place.
CONDITION_FIELDS = (
    "condition_id",
    "name",
    "description",
    "attribute",
    "operator",
    "value",
    "status",
    "tags",
    "metadata",
)
ACTION_FIELDS = (
    "action_id",
    "name",
    "description",
    "action_type",
    "configuration",
    "status",
    "tags",
    "metadata",
)
