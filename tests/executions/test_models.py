"""The same migration makes a hypertable on TimescaleDB and a plain table elsewhere."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from executions.models import ExecutionLog
from tests.executions.conftest import log_row
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db
TABLE = ExecutionLog._meta.db_table


def primary_key_columns() -> list[str]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    return [c["columns"] for c in constraints.values() if c["primary_key"]]


def index_columns() -> list[list[str]]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    return [c["columns"] for c in constraints.values() if c["index"] or c["unique"]]


@pytest.mark.smoke
def test_logs_are_written_and_read_newest_first():
    tenant = TenantFactory()
    now = timezone.now()
    ExecutionLog.objects.bulk_create(
        [log_row(tenant, timestamp=now - timedelta(hours=h)) for h in range(5)]
    )
    newest = ExecutionLog.objects.for_tenant(tenant).first()
    assert newest.timestamp == now
    assert ExecutionLog.objects.for_tenant(tenant).count() == 5


def test_log_survives_its_rulesets_deletion_by_storing_its_identity():
    tenant = TenantFactory()
    log = log_row(tenant, ruleset_id=999_999)
    log.save()
    stored = ExecutionLog.objects.get(execution_id=log.execution_id)
    assert (stored.ruleset_name, stored.ruleset_version) == ("credit", "1.0")


def test_indexes_serve_latest_logs_of_a_tenant_and_of_a_ruleset():
    columns = index_columns()
    assert ["tenant_id", "timestamp"] in columns
    assert ["ruleset_id", "timestamp"] in columns
    assert ["execution_id", "timestamp"] in columns


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql" or "timescale" in connection.settings_dict["ENGINE"],
    reason="plain PostgreSQL only",
)
def test_plain_postgresql_gets_a_plain_table_with_its_primary_key():
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'")
        assert cursor.fetchone()[0] == 0
    assert primary_key_columns() == [["execution_id"]]


@pytest.mark.timescaledb
class TestHypertable:
    def test_migration_created_a_hypertable_with_one_day_chunks(self):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT hypertable_name FROM timescaledb_information.hypertables "
                "WHERE hypertable_name = %s",
                [TABLE],
            )
            assert cursor.fetchall() == [(TABLE,)]
            cursor.execute(
                "SELECT column_name, time_interval FROM timescaledb_information.dimensions "
                "WHERE hypertable_name = %s",
                [TABLE],
            )
            assert cursor.fetchall() == [("timestamp", timedelta(days=1))]

    def test_primary_key_is_replaced_by_a_unique_key_including_time(self):
        assert primary_key_columns() == []
        with connection.cursor() as cursor:
            constraints = connection.introspection.get_constraints(cursor, TABLE)
        assert any(
            c["unique"] and c["columns"] == ["execution_id", "timestamp"]
            for c in constraints.values()
        )

    def test_rows_spread_over_daily_chunks(self):
        tenant = TenantFactory()
        now = timezone.now()
        ExecutionLog.objects.bulk_create(
            [log_row(tenant, timestamp=now - timedelta(days=d)) for d in range(3)]
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM show_chunks(%s)", [TABLE])
            assert cursor.fetchone()[0] >= 3
        assert ExecutionLog.objects.for_tenant(tenant).count() == 3

    def test_lookup_by_execution_id_works_without_a_primary_key(self):
        tenant = TenantFactory()
        log = log_row(tenant, execution_id=uuid.uuid4())
        log.save(force_insert=True)
        assert ExecutionLog.objects.get(execution_id=log.execution_id).caller == "client-1"
