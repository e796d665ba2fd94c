"""Rollups of the execution log and a time-leading index (issue #18).

* ExecutionLogRollup and its state: the PostgreSQL rollup table kept by
  `manage.py rollup_execution_logs` (executions.rollups).
* `executionlog_time` (timestamp DESC): on PostgreSQL and SQLite a new index (CONCURRENTLY on
  PostgreSQL: writes go on while it builds); on TimescaleDB the hypertable already has this index
  (create_hypertable's default), which is renamed.
* The tenant foreign key's own index is dropped: `executionlog_tenant_time` serves it.
* TimescaleDB: the hourly continuous aggregate gains its histogram (timeseries
  .hourly_aggregate_upgrade). Not atomic: CREATE INDEX CONCURRENTLY and the aggregate's first
  refresh cannot run in a transaction block.
"""

import django.db.models.deletion
import django.utils.timezone
import executions.models
from django.db import migrations, models


TABLE = "executions_executionlog"
TIME_INDEX = "executionlog_time"


def time_index_create(apps, schema_editor):
    from executions.timeseries import timescaledb_hypertable

    connection = schema_editor.connection
    if timescaledb_hypertable(connection):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s",
                [TABLE, '%USING btree ("timestamp" DESC)'],
            )
            row = cursor.fetchone()
            if row:
                cursor.execute(f'ALTER INDEX "{row[0]}" RENAME TO {TIME_INDEX}')
            else:
                cursor.execute(f'CREATE INDEX {TIME_INDEX} ON {TABLE} ("timestamp" DESC)')
        return
    concurrently = "CONCURRENTLY " if connection.vendor == "postgresql" else ""
    schema_editor.execute(
        f'CREATE INDEX {concurrently}IF NOT EXISTS {TIME_INDEX} ON {TABLE} ("timestamp" DESC)'
    )


def time_index_drop(apps, schema_editor):
    schema_editor.execute(f"DROP INDEX IF EXISTS {TIME_INDEX}")


def hourly_aggregate_upgrade(apps, schema_editor):
    from executions.timeseries import hourly_aggregate_upgrade

    hourly_aggregate_upgrade(connection=schema_editor.connection)


class Migration(migrations.Migration):
    atomic = False


    dependencies = [
        ('executions', '0004_request_ids_and_idempotency_keys'),
        ('rules', '0010_ruleset_default_recommendation_and_attributes'),
    ]

    operations = [
        migrations.CreateModel(
            name='ExecutionLogRollupState',
            fields=[
                ('name', models.CharField(max_length=50, primary_key=True, serialize=False)),
                ('rolled_until', models.DateTimeField()),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
        migrations.CreateModel(
            name='ExecutionLogRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('hour', models.DateTimeField()),
                ('ruleset_name', models.CharField(blank=True, max_length=100)),
                ('ruleset_version', models.CharField(blank=True, max_length=20)),
                ('action_recommendation', models.CharField(blank=True, max_length=200, null=True)),
                ('executions', models.BigIntegerField()),
                ('successes', models.BigIntegerField()),
                ('execution_ms_sum', models.FloatField()),
                ('points_sum', models.FloatField(null=True)),
                ('points_count', models.BigIntegerField()),
                ('execution_ms_bins', executions.models.IntegerArrayField()),
                ('execution_ms_counts', executions.models.IntegerArrayField()),
                ('tenant', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='rules.tenant')),
            ],
            options={
                'indexes': [models.Index(fields=['tenant', 'hour'], name='executionlogrollup_tenant')],
            },
        ),
        # executionlog_tenant_time starts with the tenant: the foreign key's own index goes.
        migrations.AlterField(
            model_name="executionlog",
            name="tenant",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="rules.tenant",
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name="executionlog",
                    index=models.Index(fields=["-timestamp"], name=TIME_INDEX),
                ),
            ],
            database_operations=[
                migrations.RunPython(time_index_create, time_index_drop, elidable=False),
            ],
        ),
        migrations.RunPython(hourly_aggregate_upgrade, migrations.RunPython.noop, elidable=False),
    ]
