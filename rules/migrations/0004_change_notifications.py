"""PostgreSQL triggers that announce committed changes to every app process (LISTEN/NOTIFY).

The API caches tokens and active versions per process; `rules.change_listener` listens on the
channel and drops those caches when a table they come from changes, whoever wrote it (admin, API,
command or SQL). Notifications are delivered at commit, so nothing is announced too early. Other
databases get no triggers: there the caches check the database instead (CACHE_INVALIDATION=query).
"""

from django.db import migrations

CHANNEL = "ruleengine_changes"
TABLES = [
    "rules_tenant",
    "rules_membership",
    "rules_apiclient",
    "rules_ruleset",
    "rules_rule",
    "rules_rulecondition",
    "rules_pattern",
    "rules_condition",
    "rules_action",
    "auth_user",
    "knox_authtoken",
]

FUNCTION = f"""
CREATE OR REPLACE FUNCTION ruleengine_notify_change() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
"""


def triggers_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION)
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS ruleengine_notify_change ON {table}")
        schema_editor.execute(
            f"CREATE TRIGGER ruleengine_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION ruleengine_notify_change()"
        )


def triggers_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS ruleengine_notify_change ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS ruleengine_notify_change()")


class Migration(migrations.Migration):
    dependencies = [
        ("rules", "0003_api_client"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [migrations.RunPython(triggers_create, triggers_drop)]
