"""Forms of the analysts' admin: operator dropdowns with per-operator help, catalog links, tags.

Validation stays in the models (`Rule.clean`, `Condition.clean`, which ask the engine) so that a
problem shows next to its field; these forms only translate between widgets and model values.
"""

import json

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from ruleengine.input_check import InputRefused, json_text_load
from rules.admin.attribute_widgets import attribute_catalog_attach, attribute_constant_check
from rules.choices import ConditionMode, Role
from rules.engine import OPERATORS
from rules.models import (
    CONDITION_FIELDS,
    TEST_CASE_FIELDS,
    ApiClient,
    Condition,
    Invitation,
    Membership,
    Pattern,
    Rule,
    Ruleset,
    RulesetTestCase,
)
from rules.services.editing import rule_catalog_form_check
from rules.services.tenancy import member_create_problems
from rules.services.validation import constant_fit_error


def constant_help(operator: str) -> str:
    info = OPERATORS.get(operator)
    return info.constant_help if info else "Choose an operator; its constant is explained here."


class OperatorSelect(forms.Select):
    """The engine's operators; each option carries its constant help (shown by rule_form.js)."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        info = OPERATORS.get(value)
        if info is not None:
            option["attrs"]["title"] = f"{info.label}. {info.constant_help}"
            option["attrs"]["data-constant-help"] = info.constant_help
        elif str(value).startswith(CATALOG_MODE_PREFIX):
            option["attrs"]["data-constant-help"] = CATALOG_HELP
        return option


def operator_field(label: str = "Operator") -> forms.ChoiceField:
    return forms.ChoiceField(
        choices=[(name, name) for name in OPERATORS],
        label=label,
        widget=OperatorSelect(attrs={"class": "operator-select"}),
    )


class ConstantInput(forms.TextInput):
    """A text input with the help of the row's operator underneath."""

    help_text = ""

    def render(self, name, value, attrs=None, renderer=None):
        # Rendered here rather than by a widget template: the form renderer only reads the apps'
        # template folders.
        html = super().render(name, value, attrs, renderer)
        return format_html('{}<div class="constant-help help">{}</div>', html, self.help_text)


def constant_widget(operator: str) -> ConstantInput:
    widget = ConstantInput(attrs={"class": "constant-input"})
    widget.help_text = constant_help(operator)
    return widget


class CompactFloatField(forms.FloatField):
    """Shows 100.0 as 100 and 1e-06 as 0.000001, so narrow number inputs read plainly."""

    def prepare_value(self, value):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, float) and abs(value) < 1e-4:
            return f"{value:.12f}".rstrip("0")
        return value


class TagsField(forms.CharField):
    """Tags typed as `credit, demo`, stored as a JSON list of strings."""

    def prepare_value(self, value):
        if isinstance(value, list):
            return ", ".join(str(tag) for tag in value)
        return value

    def to_python(self, value):
        if isinstance(value, list):
            return value
        return [tag.strip() for tag in (value or "").split(",") if tag.strip()]

    def has_changed(self, initial, data):
        return self.to_python(initial) != self.to_python(data)


class RulesetForm(forms.ModelForm):
    tags = TagsField(required=False, help_text="Separate tags with commas.")

    class Meta:
        model = Ruleset
        fields = (
            "tenant",
            "name",
            "version",
            "description",
            "tags",
            "metadata",
            "semantics",
            "default_recommendation",
            "input_validation",
        )
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2, "cols": 80}),
            "metadata": forms.Textarea(attrs={"rows": 3, "cols": 80}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("semantics", "input_validation"):
            if name in self.fields:
                # A form posted without it (older pages, scripts) keeps the ruleset's value.
                self.fields[name].required = False

    def clean_semantics(self):
        return self.cleaned_data.get("semantics") or self.instance.semantics

    def clean_input_validation(self):
        return self.cleaned_data.get("input_validation") or self.instance.input_validation

    def clean(self):
        cleaned = super().clean()
        # The tenant is read-only once the ruleset exists, so Django's constraint check skips
        # (tenant, name, version); check it here, next to the version field.
        tenant_id = self.instance.tenant_id or getattr(cleaned.get("tenant"), "pk", None)
        name, version = cleaned.get("name"), cleaned.get("version")
        if tenant_id and name and version:
            taken = (
                Ruleset.objects.filter(tenant_id=tenant_id, name=name, version=version)
                .exclude(pk=self.instance.pk)
                .exists()
            )
            if taken:
                self.add_error("version", f"{name} already has a version {version}.")
        return cleaned


# The operator dropdown also offers the catalog form of a rule: a rule is either
# `attribute operator constant` or catalog conditions combined with all / any.
CATALOG_MODE_PREFIX = "catalog:"
CATALOG_MODE_CHOICES = [
    (CATALOG_MODE_PREFIX + mode, f"catalog conditions: {mode}") for mode in ConditionMode.values
]
CATALOG_HELP = "No constant: the rule uses the catalog conditions chosen in the last column."


class RuleInlineForm(forms.ModelForm):
    """One rule: inline condition (attribute, operator, constant) or catalog conditions."""

    operator = forms.ChoiceField(
        required=False,  # the model says which of the two forms is missing, next to the field
        label="Operator",
        choices=[("", "—")] + CATALOG_MODE_CHOICES + [(name, name) for name in OPERATORS],
        widget=OperatorSelect(attrs={"class": "operator-select"}),
    )
    catalog_condition_ids = forms.MultipleChoiceField(
        required=False,
        label="Catalog conditions",
        help_text="Used with the operator “catalog conditions: all / any”.",
        # Tall enough to read several entries and pick with Ctrl/Shift (two rows were not).
        widget=forms.SelectMultiple(attrs={"size": 6, "class": "catalog-select"}),
    )

    class Meta:
        model = Rule
        fields = (
            "rule_id",
            "rule_name",
            "attribute",
            "operator",
            "constant",
            "weight",
            "rule_point",
            "priority",
            "action_result",
            "status",
        )
        widgets = {
            "rule_id": forms.TextInput(attrs={"class": "rule-id-input"}),
            "rule_name": forms.TextInput(attrs={"class": "rule-name-input"}),
            "attribute": forms.TextInput(attrs={"class": "attribute-input"}),
            "weight": forms.NumberInput(attrs={"class": "number-input", "step": "any"}),
            "rule_point": forms.NumberInput(attrs={"class": "number-input", "step": "any"}),
            "priority": forms.NumberInput(attrs={"class": "number-input"}),
            "action_result": forms.TextInput(attrs={"class": "char-input", "maxlength": 200}),
        }
        labels = {"rule_point": "Points", "action_result": "Result"}
        field_classes = {"weight": CompactFloatField, "rule_point": CompactFloatField}

    def __init__(self, *args, catalog_choices=(), attribute_catalog=None, **kwargs):
        super().__init__(*args, **kwargs)
        attribute_catalog_attach(self, attribute_catalog)
        self.condition_mode = self.instance.condition_mode
        self.fields["catalog_condition_ids"].choices = list(catalog_choices)
        if self.instance.condition_mode:
            self.initial["operator"] = CATALOG_MODE_PREFIX + self.instance.condition_mode
        if "constant" in self.fields:  # absent when the ruleset is read-only
            operator = self._operator()
            widget = constant_widget(operator)
            if operator.startswith(CATALOG_MODE_PREFIX):
                widget.help_text = CATALOG_HELP
            self.fields["constant"].widget = widget
        if self.instance.pk:
            # condition_links are prefetched by the inline's queryset: no query per row.
            self.initial["catalog_condition_ids"] = [
                str(link.condition_id) for link in self.instance.condition_links.all()
            ]

    def _operator(self) -> str:
        if self.is_bound:
            return self.data.get(self.add_prefix("operator"), "")
        return self.initial.get("operator") or self.instance.operator or ""

    def clean_operator(self):
        value = self.cleaned_data.get("operator", "")
        if value.startswith(CATALOG_MODE_PREFIX):
            self.condition_mode = value.removeprefix(CATALOG_MODE_PREFIX)
            return ""
        self.condition_mode = ""
        return value

    def clean(self):
        cleaned = super().clean()
        # Set before the model's own clean() runs, which checks the two forms exclude each other.
        self.instance.condition_mode = self.condition_mode
        try:
            rule_catalog_form_check(
                condition_mode=self.condition_mode,
                # Forms without the field (the rules list, a rule's own form) keep the links.
                conditions=(
                    cleaned.get("catalog_condition_ids") or []
                    if "catalog_condition_ids" in self.fields
                    else None
                ),
            )
        except ValidationError as error:
            # The domain rule's keys, as the fields of this form.
            fields = {"conditions": "catalog_condition_ids", "condition_mode": "operator"}
            for key, messages in error.message_dict.items():
                self.add_error(fields[key], messages)
        fit_error = constant_fit_error(
            operator=cleaned.get("operator", ""), constant=cleaned.get("constant", "")
        )
        if fit_error and "constant" not in self.errors:
            self.add_error("constant", fit_error)
        attribute_constant_check(self, cleaned)
        return cleaned


class PatternInlineForm(forms.ModelForm):
    action = forms.ChoiceField(required=False, label="Action")

    class Meta:
        model = Pattern
        fields = ("pattern_key", "action_recommendation", "action", "description")
        widgets = {
            "pattern_key": forms.TextInput(attrs={"class": "pattern-key-input"}),
            "description": forms.TextInput(attrs={"class": "description-input"}),
        }

    def __init__(self, *args, actions=None, **kwargs):
        super().__init__(*args, **kwargs)
        # {pk: Action} of the ruleset's tenant, loaded once for every row of the formset.
        self.actions = actions or {}
        self.fields["action"].choices = [("", "—")] + [
            (str(pk), str(action)) for pk, action in self.actions.items()
        ]
        if self.instance.action_id:
            self.initial["action"] = str(self.instance.action_id)

    def clean_action(self):
        value = self.cleaned_data.get("action")
        return self.actions.get(int(value)) if value else None


class PrettyJSONField(forms.JSONField):
    """JSON shown indented with sorted keys, so an input of a dozen attributes reads like a
    document.

    Read with ruleengine.input_check.json_text_load, not json.loads: NaN, 1e400 and 5,000-digit
    integers come back marked, for the model's input check to refuse with their path, and
    nesting too deep to read is a form error, not a 500. What was typed is shown again as typed.
    """

    def to_python(self, value):
        if self.disabled or not isinstance(value, str) or value in self.empty_values:
            return super().to_python(value)
        try:
            converted = json_text_load(value)
        except json.JSONDecodeError as error:
            raise ValidationError(
                f"{self.error_messages['invalid']} {error.msg} (line {error.lineno}, column "
                f"{error.colno}).",
                code="invalid",
            ) from error
        except InputRefused as error:
            raise ValidationError(f"The input is {error.message}.", code="invalid") from error
        return forms.fields.JSONString(converted) if isinstance(converted, str) else converted

    def bound_data(self, data, initial):
        if self.disabled or not isinstance(data, str):
            return super().bound_data(data, initial)
        return forms.fields.InvalidJSONInput(data)

    def has_changed(self, initial, data):
        try:
            return super().has_changed(initial, data)
        except (TypeError, ValueError, RecursionError):
            return True  # marked numbers or deep nesting: changed, so the form says why

    def prepare_value(self, value):
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        # Sorted: PostgreSQL's jsonb keeps keys in its own order (shortest first).
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, cls=self.encoder)


class RuleIdsField(forms.CharField):
    """Rule ids typed as `R1, R2`; empty means "not checked", `[]` means "no rule matches"."""

    def prepare_value(self, value):
        if isinstance(value, list):
            return ", ".join(value) if value else "[]"
        return value

    def to_python(self, value):
        if isinstance(value, list) or value is None:
            return value
        text = value.strip()
        if not text:
            return None
        if text in ("[]", "none"):
            return []
        return [rule_id.strip() for rule_id in text.strip("[]").split(",") if rule_id.strip()]

    def has_changed(self, initial, data):
        return self.to_python(initial) != self.to_python(data)


class TestCaseInlineForm(forms.ModelForm):
    """One test case of a draft: the input as indented JSON and the expected outcome."""

    __test__ = False  # not a pytest class, despite the name

    input_data = PrettyJSONField(
        label="Input",
        required=False,  # {} is a valid input (every attribute missing), and empty for JSON
        initial=dict,
        widget=forms.Textarea(attrs={"rows": 6, "class": "json-input test-case-input"}),
    )
    expected_matched_rules = RuleIdsField(
        required=False,
        label="Matched rules",
        help_text="Rule ids, e.g. R1, R3; [] for none; empty: not checked.",
        widget=forms.TextInput(attrs={"class": "matched-rules-input"}),
    )
    # A TextField's form field keeps "" where the model means "not checked" (None).
    expected_pattern_result = forms.CharField(
        required=False,
        empty_value=None,
        label="Pattern",
        help_text="One character per active rule; * accepts any result there.",
        widget=forms.TextInput(attrs={"class": "pattern-key-input"}),
    )

    class Meta:
        model = RulesetTestCase
        fields = TEST_CASE_FIELDS
        widgets = {
            "name": forms.TextInput(attrs={"class": "test-name-input"}),
            "description": forms.Textarea(attrs={"rows": 2, "class": "test-description-input"}),
            "expected_pattern_result": forms.TextInput(attrs={"class": "pattern-key-input"}),
            "expected_action_recommendation": forms.TextInput(
                attrs={"class": "recommendation-input"}
            ),
            "expected_total_points": forms.NumberInput(
                attrs={"class": "number-input", "step": "any"}
            ),
            "total_points_tolerance": forms.NumberInput(
                attrs={"class": "number-input", "step": "any"}
            ),
        }
        labels = {
            "expected_pattern_result": "Pattern",
            "expected_action_recommendation": "Recommendation",
            "expected_total_points": "Total points",
            "total_points_tolerance": "± tolerance",
        }
        help_texts = {
            "expected_pattern_result": "Empty: not checked.",
            "expected_action_recommendation": "Empty: not checked.",
            "expected_total_points": "Empty: not checked.",
            "total_points_tolerance": "",
        }
        field_classes = {
            "expected_total_points": CompactFloatField,
            "total_points_tolerance": CompactFloatField,
        }

    def clean_input_data(self):
        value = self.cleaned_data.get("input_data")
        return {} if value is None else value


class ConditionForm(forms.ModelForm):
    operator = operator_field()
    tags = TagsField(required=False, help_text="Separate tags with commas.")

    class Meta:
        model = Condition
        fields = ("tenant", *CONDITION_FIELDS)
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2, "cols": 80}),
            "value": forms.TextInput(attrs={"class": "vTextField"}),
            "metadata": forms.Textarea(attrs={"rows": 3, "cols": 80}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "value" in self.fields:
            operator = (
                self.data.get(self.add_prefix("operator"), "")
                if self.is_bound
                else self.instance.operator
            )
            widget = constant_widget(operator)
            widget.attrs["class"] = "vTextField constant-input"
            self.fields["value"].widget = widget


class ActionForm(forms.ModelForm):
    tags = TagsField(required=False, help_text="Separate tags with commas.")


class MembershipAddForm(forms.ModelForm):
    """A new account for the tenant, signed in as `name@tenant`; existing accounts are invited.

    Nothing here looks a username up outside the tenant's own `@tenant` names, so the answers
    are the same whether or not an account of that name exists elsewhere.
    """

    name = forms.CharField(
        max_length=100,
        help_text=(
            "The new account signs in as NAME@TENANT (the tenant's slug). Someone who has an "
            "account already: invite them by e-mail under Invitations instead."
        ),
    )
    email = forms.EmailField(required=False)
    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=(
            "Set now or never here: leave it empty and an operator sets it later. No tenant admin "
            "changes the password of an existing account. An account whose password is set here "
            "joins other tenants only after its owner has changed it."
        ),
    )

    class Meta:
        model = Membership
        fields = ("tenant", "role")

    def clean(self):
        cleaned = super().clean()
        tenant, name = cleaned.get("tenant"), (cleaned.get("name") or "").strip()
        if tenant and name:
            cleaned["name"] = name
            problems = member_create_problems(
                tenant=tenant,
                name=name,
                password=cleaned.get("password") or None,
                email=cleaned.get("email") or "",
            )
            for field, texts in problems.items():
                self.add_error(field, texts)
        return cleaned


class InvitationForm(forms.ModelForm):
    """Invite someone who has an account (in any tenant, or none yet) by their e-mail address."""

    class Meta:
        model = Invitation
        fields = ("tenant", "email", "role")
        help_texts = {
            "email": (
                "The link goes to this address; only an account with this e-mail address can "
                "accept it, while signed in."
            ),
        }


class ApiClientAddForm(forms.ModelForm):
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)
    expires_days = forms.IntegerField(
        required=False, min_value=1, help_text="Days until the token expires; empty: never."
    )

    class Meta:
        model = ApiClient
        fields = ("tenant", "name")
