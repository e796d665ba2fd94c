"""What the test-run and import actions of a ruleset answer, and the options an import takes."""

from rest_framework import serializers

from rules.api.serializers import RulesetSerializer
from rules.choices import RulesetSemantics
from rules.models import version_validator


class FieldCheckSerializer(serializers.Serializer):
    field = serializers.ChoiceField(
        choices=[
            "pattern_result",
            "action_recommendation",
            "total_points",
            "matched_rules",
            "outputs",
        ]
    )
    expected = serializers.JSONField()
    actual = serializers.JSONField()
    passed = serializers.BooleanField()
    difference = serializers.CharField(help_text="For people; empty when passed.")


class TestCaseResultSerializer(serializers.Serializer):
    test_case_id = serializers.IntegerField()
    name = serializers.CharField()
    passed = serializers.BooleanField()
    diff = serializers.CharField(
        help_text="Every difference in one line (or why the case could not run); empty when passed."
    )
    checks = FieldCheckSerializer(many=True, help_text="One per expectation of the test case.")


class ProblemSerializer(serializers.Serializer):
    rule_id = serializers.CharField(allow_null=True)
    message = serializers.CharField()
    path = serializers.CharField(help_text="A JSON path in the ruleset's document.")


class TestRunReportSerializer(serializers.Serializer):
    """Every test case of a version run with the engine (rules.services.test_cases)."""

    ruleset_id = serializers.IntegerField()
    name = serializers.CharField()
    version = serializers.CharField()
    total = serializers.IntegerField(help_text="Test cases run.")
    failed = serializers.IntegerField()
    passed = serializers.BooleanField(
        help_text="Every test case passed; also true when there are none (see `total`)."
    )
    compile_problems = ProblemSerializer(
        many=True, help_text="Why the version does not compile; every test case fails then."
    )
    results = TestCaseResultSerializer(many=True, help_text="One per test case, by name.")


class ImportOptionsSerializer(serializers.Serializer):
    """Query parameters of an import."""

    name = serializers.CharField(
        required=False,
        help_text="Ruleset name: required for the original system's files, overrides the "
        "document's otherwise.",
    )
    version = serializers.CharField(
        required=False,
        max_length=20,
        validators=[version_validator],
        help_text="Version of the new draft, instead of the document's; created even when the "
        "content equals the latest version. Default: the document's version, or the next free.",
    )
    dry_run = serializers.BooleanField(
        required=False, default=False, help_text="Check everything, write nothing."
    )
    semantics = serializers.ChoiceField(
        choices=RulesetSemantics.choices,
        required=False,
        help_text="How the draft evaluates. Default: the document's; `original` for the "
        "original system's files.",
    )
    strict = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Every warning (an unknown catalog id skipped, a rule left out) is an error.",
    )


class ImportReportSerializer(serializers.Serializer):
    format = serializers.ChoiceField(
        choices=["spec", "flat", "structured", "dmn"],
        help_text="The detected format of the document (dmn: a decision-table ruleset).",
    )
    name = serializers.CharField()
    version = serializers.CharField(help_text="The version created (or, on a dry run, it would).")
    dry_run = serializers.BooleanField()
    unchanged = serializers.BooleanField(
        help_text="The content equals the latest version of that name, so nothing was created."
    )
    existing = serializers.IntegerField(
        allow_null=True, help_text="Id of the equal version, when unchanged."
    )
    counts = serializers.DictField(child=serializers.IntegerField())
    semantics = serializers.ChoiceField(choices=RulesetSemantics.choices)
    generated_rule_ids = serializers.ListField(
        child=serializers.CharField(), help_text="Ids given to rules the file left without one."
    )
    normalisations = ProblemSerializer(
        many=True, help_text="Every rewrite of the original's forms (an alias, a default)."
    )
    warnings = ProblemSerializer(
        many=True, help_text="What the original would skip with a warning; `strict` refuses."
    )
    created = RulesetSerializer(read_only=True, allow_null=True)
