"""The evaluate endpoint under concurrent load on a real gunicorn server and real PostgreSQL.

A 2xx response promises that its log row is committed: after the load, the log holds exactly one
row per 2xx response, with the execution ids the responses gave.
"""

import os
import threading
import time

import pytest
from django.db import connection

from executions.models import ExecutionLog
from rules.choices import Role
from rules.models import Tenant
from rules.services.api_clients import api_client_create
from rules.services.demo import demo_seed
from tests.support.app_server import AppServer, database_url_of, request

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CLIENTS = 8
REQUESTS_PER_CLIENT = int(os.environ.get("RULEENGINE_LOAD_REQUESTS", "2000"))
INPUTS = [
    {"applicant": {"credit_score": 650 + i % 100, "income": 40000 + 500 * i}, "debt_ratio": 0.3}
    for i in range(50)
]


@pytest.fixture
def served(transactional_db):
    demo_seed(password="pw-for-tests-2026")
    tenant = Tenant.objects.get(slug="demo")
    _, token = api_client_create(tenant=tenant, name="load", role=Role.VIEWER)
    # Multi-threaded (gthread): concurrent requests of one process share group commits, the
    # demanding case for "a 2xx means the row is committed".
    with AppServer(database_url_of(connection.settings_dict), workers=2, threads=8) as server:
        yield server, token


def test_every_2xx_response_has_its_log_row_under_concurrent_load(served):
    server, token = served
    ids: list[list[str]] = [[] for _ in range(CLIENTS)]
    failures: list[tuple] = []

    def client(number: int):
        http = server.connection()
        for i in range(REQUESTS_PER_CLIENT):
            body = {"ruleset": "credit_scoring", "data": INPUTS[(number + i) % len(INPUTS)]}
            status, answer, _ = request(http, "POST", "/api/v1/evaluate", body, token=token)
            if status == 200:
                ids[number].append(answer["execution_id"])
            else:
                failures.append((status, answer))

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - started

    answered = [execution_id for client_ids in ids for execution_id in client_ids]
    assert failures == []
    assert len(answered) == CLIENTS * REQUESTS_PER_CLIENT
    assert ExecutionLog.objects.count() == len(answered)
    logged = set(map(str, ExecutionLog.objects.values_list("execution_id", flat=True)))
    assert logged == set(answered)
    print(f"\n{len(answered)} evaluations in {seconds:.1f}s ({len(answered) / seconds:.0f}/s)")


def test_activation_through_the_service_is_served_at_once(served):
    """A change committed elsewhere reaches the server's caches through LISTEN/NOTIFY."""
    from rules.models import Ruleset
    from rules.services.lifecycle import ruleset_activate, ruleset_new_version

    server, token = served
    body = {"data": INPUTS[0]}
    status, answer, _ = server.post("/api/v1/evaluate", body, token=token)
    assert status == 200 and answer["ruleset"]["version"] == "1.0"
    tenant = Tenant.objects.get(slug="demo")
    author = tenant.memberships.get(role=Role.AUTHOR).user
    approver = tenant.memberships.get(role=Role.APPROVER).user
    active = Ruleset.objects.get(tenant=tenant, name="credit_scoring", status="active")
    draft = ruleset_new_version(ruleset_id=active.pk, actor=author)
    ruleset_activate(ruleset_id=draft.pk, actor=approver)
    deadline = time.monotonic() + 1.0
    versions = set()
    while time.monotonic() < deadline:
        status, answer, _ = server.post("/api/v1/evaluate", body, token=token)
        versions.add(answer["ruleset"]["version"])
        if answer["ruleset"]["version"] == draft.version:
            break
    assert answer["ruleset"]["version"] == draft.version, versions
