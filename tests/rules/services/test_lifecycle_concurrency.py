"""Two approvers activating two versions of one ruleset at the same moment (real PostgreSQL)."""

import threading

import pytest
from django.db import connections

from rules.choices import Role
from rules.models import Ruleset
from rules.services import lifecycle
from tests.factories import MembershipFactory, TenantFactory, ruleset_with_rules

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,  # row locks
]


def test_concurrent_activations_serialise_and_leave_one_active_version():
    tenant = TenantFactory(slug="race")
    approver = MembershipFactory(tenant=tenant, role=Role.APPROVER).user
    drafts = [ruleset_with_rules(tenant=tenant, name="credit", version=v) for v in ("1.1", "1.2")]
    start = threading.Barrier(len(drafts))
    errors = []

    def activate(ruleset_id):
        try:
            start.wait()
            lifecycle.ruleset_activate(ruleset_id=ruleset_id, actor=approver)
        except Exception as error:  # collected and asserted below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=activate, args=(d.pk,)) for d in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    statuses = sorted(Ruleset.objects.filter(name="credit").values_list("status", flat=True))
    assert statuses == ["active", "deprecated"]
