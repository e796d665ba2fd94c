"""Compression, retention and the hourly continuous aggregate of the execution log (TimescaleDB).

Driven by the EXECUTION_LOG_* settings at the time the migration runs; run
`manage.py timeseries_policies` after changing them. On PostgreSQL and SQLite it logs a line and
does nothing. Not atomic: the first refresh of the continuous aggregate cannot run inside a
transaction block.
"""

from django.db import migrations


def policies_apply(apps, schema_editor):
    from executions.timeseries import timeseries_policies_apply

    timeseries_policies_apply(connection=schema_editor.connection)


def policies_remove(apps, schema_editor):
    from executions.timeseries import timeseries_policies_remove

    timeseries_policies_remove(connection=schema_editor.connection)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("executions", "0002_pattern_result_text"),
    ]

    operations = [
        migrations.RunPython(policies_apply, policies_remove, elidable=False),
    ]
