import itertools
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from executions.models import ExecutionLog, ExecutionSource
from executions.stats import bucket_floor
from rules.choices import Role
from rules.services.api_clients import api_client_create

_client_numbers = itertools.count(1)


@pytest.fixture
def viewer_api(db):
    """viewer_api(tenant) -> an APIClient with the token of a new viewer API client there."""

    def make(tenant, role=Role.VIEWER):
        api_client, token = api_client_create(
            tenant=tenant, name=f"reader-{next(_client_numbers)}", role=role
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        client.user = api_client.user
        return client

    return make


def log_row(tenant, **fields) -> ExecutionLog:
    defaults = dict(
        tenant=tenant,
        ruleset_id=1,
        ruleset_name="credit",
        ruleset_version="1.0",
        input_data={"score": 720},
        output_data={"pattern_result": "Y"},
        total_points=10.0,
        pattern_result="Y",
        action_recommendation="APPROVE",
        execution_time_ms=1.0,
        success=True,
        source=ExecutionSource.API,
        caller="client-1",
    )
    return ExecutionLog(**{**defaults, **fields})


@pytest.fixture
def stats_base():
    """The start of a day three days ago, plus 10 hours: an hour (and 2-hour) boundary."""
    return bucket_floor(timezone.now() - timedelta(days=3), timedelta(days=1)) + timedelta(hours=10)


@pytest.fixture
def stats_logs(tenant, other_tenant, stats_base):
    """A known data set; expected numbers in tests/executions/test_execution_stats.py."""
    hour0, hour1 = stats_base, stats_base + timedelta(hours=1)
    rows = []
    # Hour 0, credit 1.0: times 1..10 ms; 8 successes (5 APPROVE, 3 REVIEW), 2 failures.
    for i in range(10):
        success = i < 8
        rows.append(
            log_row(
                tenant,
                timestamp=hour0 + timedelta(minutes=i),
                execution_time_ms=float(i + 1),
                success=success,
                total_points=10.0 if success else None,
                action_recommendation=("APPROVE" if i < 5 else "REVIEW") if success else None,
                error_message="" if success else "boom",
            )
        )
    # Hour 1, credit 1.0: times 2, 4, 6, 8 ms, all DECLINE with 20 points.
    for i in range(4):
        rows.append(
            log_row(
                tenant,
                timestamp=hour1 + timedelta(minutes=i),
                execution_time_ms=float(2 * (i + 1)),
                total_points=20.0,
                action_recommendation="DECLINE",
            )
        )
    # Never counted for credit 1.0: admin try-it runs, another ruleset, another version,
    # another tenant.
    rows += [
        log_row(tenant, timestamp=hour0 + timedelta(minutes=20), source=ExecutionSource.ADMIN)
        for _ in range(3)
    ]
    rows += [log_row(tenant, timestamp=hour0, ruleset_name="fraud") for _ in range(2)]
    rows += [log_row(tenant, timestamp=hour1, ruleset_version="2.0")]
    rows += [log_row(other_tenant, timestamp=hour0) for _ in range(5)]
    ExecutionLog.objects.bulk_create(rows)
    return rows
