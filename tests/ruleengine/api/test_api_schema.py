"""Schemathesis against the OpenAPI schema of the whole API, with a valid token (issue #5).

Every operation gets generated requests (bounded: a few examples each) and must never answer 5xx
nor answer anything its schema does not describe.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from rules.choices import Role
from rules.models import Tenant
from rules.services.api_clients import api_client_create
from rules.services.demo import demo_seed

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# Every operation of the schema, a few generated requests each: minutes, not seconds.
pytestmark = pytest.mark.slow


@pytest.fixture
def api_schema(db):
    from django.core import signals
    from django.db import close_old_connections

    from ruleengine.wsgi import application

    # As Django's test client does: the start and end of a request must not close the test's
    # connection (and with it the transaction that holds the test data).
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/schema/", application)
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def admin_token(db):
    demo_seed(password="pw-for-tests-2026")
    tenant = Tenant.objects.get(slug="demo")
    return api_client_create(tenant=tenant, name="schemathesis", role=Role.ADMIN)[1]


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request):
    # schemathesis 4.32 reads Node._nodeid, which pytest 9 no longer has.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@hypothesis_settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_answers_within_its_schema(case, admin_token):
    case.call_and_validate(headers={"Authorization": f"Token {admin_token}"}, checks=CHECKS)
