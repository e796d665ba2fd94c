"""Invitations, and name validators anchored with \\Z instead of $.

`$` also matched before a final newline, so names such as "A-rules\\n" were accepted. The
new validators refuse them from now on; rows stored before are listed here (one warning line
each) and left unchanged: a migration cannot ask what to rename them to.
"""

import re

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


# Frozen copies of rules.models' validators as of this migration.
IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*\Z")
VERSION = re.compile(r"^[0-9]+(\.[0-9]+)*\Z")

# (model, field, pattern, lookup of the row's tenant slug)
CHECKED_FIELDS = [
    ("Ruleset", "name", IDENTIFIER, "tenant__slug"),
    ("Ruleset", "version", VERSION, "tenant__slug"),
    ("Rule", "rule_id", IDENTIFIER, "ruleset__tenant__slug"),
    ("Condition", "condition_id", IDENTIFIER, "tenant__slug"),
    ("Action", "action_id", IDENTIFIER, "tenant__slug"),
    ("ApiClient", "name", IDENTIFIER, "tenant__slug"),
]


def names_refused_report(apps, schema_editor):
    """Print one warning line per stored name the new validators refuse; change nothing."""
    refused = 0
    for model_name, field, pattern, tenant_lookup in CHECKED_FIELDS:
        rows = apps.get_model("rules", model_name).objects.values_list("pk", field, tenant_lookup)
        for pk, value, tenant_slug in rows.order_by("pk").iterator(chunk_size=2000):
            if not pattern.search(value):
                refused += 1
                print(
                    f"WARNING rules 0007: {model_name.lower()} {pk} of tenant {tenant_slug}: "
                    f"{field} {value!r} is refused by the validators from now on; rename it "
                    "(left unchanged)"
                )
    if refused:
        print(f"WARNING rules 0007: {refused} stored name(s) to rename; see the lines above")


class Migration(migrations.Migration):
    dependencies = [
        ("rules", "0006_rule_operator"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="action",
            name="action_id",
            field=models.CharField(
                max_length=64,
                validators=[
                    django.core.validators.RegexValidator(
                        "^[A-Za-z0-9][A-Za-z0-9_.\\-]*\\Z",
                        "Use letters, digits, '_', '.' and '-', starting with a letter or digit.",
                    )
                ],
            ),
        ),
        migrations.AlterField(
            model_name="apiclient",
            name="name",
            field=models.CharField(
                max_length=100,
                validators=[
                    django.core.validators.RegexValidator(
                        "^[A-Za-z0-9][A-Za-z0-9_.\\-]*\\Z",
                        "Use letters, digits, '_', '.' and '-', starting with a letter or digit.",
                    )
                ],
            ),
        ),
        migrations.AlterField(
            model_name="condition",
            name="condition_id",
            field=models.CharField(
                max_length=64,
                validators=[
                    django.core.validators.RegexValidator(
                        "^[A-Za-z0-9][A-Za-z0-9_.\\-]*\\Z",
                        "Use letters, digits, '_', '.' and '-', starting with a letter or digit.",
                    )
                ],
            ),
        ),
        migrations.AlterField(
            model_name="historicalaction",
            name="action_id",
            field=models.CharField(
                max_length=64,
                validators=[
                    django.core.validators.RegexValidator(
                        "^[A-Za-z0-9][A-Za-z0-9_.\\-]*\\Z",
                        "Use letters, digits, '_', '.' and '-', starting with a letter or digit.",
                    )
                ],
            ),
        ),
        migrations.AlterField(
            model_name="historicalcondition",
            name="condition_id",
            field=models.CharField(
                max_length=64,
                validators=[
                    django.core.validators.RegexValidator(
                        "^[A-Za-z0-9][A-Za-z0-9_.\\-]*\\Z",
                        "Use letters, digits, '_', '.' and '-', starting with a letter or digit.",
                    )
                ],
            ),
        ),
        migrations.AlterField(
            model_name="historicalrule",
            name="rule_id",
            field=models.CharField(
                max_length=64,
                validators=[
                    django.core.validators.RegexValidator(
                        "^[A-Za-z0-9][A-Za-z0-9_.\\-]*\\Z",
                        "Use letters, digits, '_', '.' and '-', starting with a letter or digit.",
                    )
                ],
            ),
        ),
        migrations.AlterField(
            model_name="historicalruleset",
            name="name",
            field=models.CharField(
                max_length=100,
                validators=[
                    django.core.validators.RegexValidator(
                        "^[A-Za-z0-9][A-Za-z0-9_.\\-]*\\Z",
                        "Use letters, digits, '_', '.' and '-', starting with a letter or digit.",
                    )
                ],
            ),
        ),
        migrations.AlterField(
            model_name="historicalruleset",
            name="version",
            field=models.CharField(
                default="1.0",
                max_length=20,
                validators=[
                    django.core.validators.RegexValidator(
                        "^[0-9]+(\\.[0-9]+)*\\Z",
                        "A version is numbers separated by dots, such as 1.0 or 2.3.1.",
                    )
                ],
            ),
        ),
        migrations.AlterField(
            model_name="rule",
            name="rule_id",
            field=models.CharField(
                max_length=64,
                validators=[
                    django.core.validators.RegexValidator(
                        "^[A-Za-z0-9][A-Za-z0-9_.\\-]*\\Z",
                        "Use letters, digits, '_', '.' and '-', starting with a letter or digit.",
                    )
                ],
            ),
        ),
        migrations.AlterField(
            model_name="ruleset",
            name="name",
            field=models.CharField(
                max_length=100,
                validators=[
                    django.core.validators.RegexValidator(
                        "^[A-Za-z0-9][A-Za-z0-9_.\\-]*\\Z",
                        "Use letters, digits, '_', '.' and '-', starting with a letter or digit.",
                    )
                ],
            ),
        ),
        migrations.AlterField(
            model_name="ruleset",
            name="version",
            field=models.CharField(
                default="1.0",
                max_length=20,
                validators=[
                    django.core.validators.RegexValidator(
                        "^[0-9]+(\\.[0-9]+)*\\Z",
                        "A version is numbers separated by dots, such as 1.0 or 2.3.1.",
                    )
                ],
            ),
        ),
        migrations.CreateModel(
            name="Invitation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("email", models.EmailField(max_length=254)),
                (
                    "role",
                    models.CharField(
                        choices=[
                            ("viewer", "Viewer"),
                            ("author", "Author"),
                            ("approver", "Approver"),
                            ("admin", "Admin"),
                        ],
                        default="viewer",
                        max_length=20,
                    ),
                ),
                ("token_digest", models.CharField(editable=False, max_length=64, unique=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("expires_at", models.DateTimeField()),
                ("accepted_at", models.DateTimeField(blank=True, null=True)),
                (
                    "accepted_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "invited_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="invitations",
                        to="rules.tenant",
                    ),
                ),
            ],
            options={
                "ordering": ["tenant__slug", "-created_at"],
            },
        ),
        migrations.RunPython(names_refused_report, migrations.RunPython.noop, elidable=True),
    ]
