"""POST /api/v1/evaluate serving the original system's rules file (USE_DATABASE=false, #16.4)."""

import json
import os
import shutil

import orjson
import pytest
from rest_framework.test import APIClient

from executions.models import ExecutionLog
from rules.choices import Role
from rules.services.api_clients import api_client_create
from tests.support import TEST_DATA

ORIGINAL = TEST_DATA / "original"


@pytest.fixture
def rules_file(tmp_path, settings):
    path = tmp_path / "rules_config.json"
    shutil.copy(ORIGINAL / "rules_config.json", path)
    shutil.copy(ORIGINAL / "conditions_config.json", tmp_path / "conditions_config.json")
    settings.USE_DATABASE = False
    settings.RULES_CONFIG_PATH = path
    settings.CONDITIONS_CONFIG_PATH = str(tmp_path / "conditions_config.json")
    settings.RULES_CONFIG_TENANT = "acme"
    settings.RULES_CONFIG_CHECK_SECONDS = 0
    return path


def client_of(tenant) -> APIClient:
    _, token = api_client_create(tenant=tenant, name="comics-app", role=Role.VIEWER)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def evaluate(client, body):
    return client.post("/api/v1/evaluate", orjson.dumps(body), content_type="application/json")


def test_evaluate_answers_from_the_file_with_the_originals_semantics_and_logs_it(
    tenant, rules_file
):
    client = client_of(tenant)
    response = evaluate(client, {"data": {"issue": 35, "title": "Superman", "publisher": "DC"}})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["pattern_result"], body["action_recommendation"]) == ("YYY", "Approved")
    assert body["ruleset"]["name"] == "rules_config" and body["ruleset"]["id"] is None

    # No publisher: the original leaves R0003 out of the pattern ("Y-", no pattern of that key);
    # strict semantics would answer "Y--", Rejected.
    response = evaluate(
        client, {"ruleset": "rules_config", "data": {"issue": 35, "title": "Batman"}}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["pattern_result"], body["action_recommendation"]) == ("Y-", None)
    assert body["matched_rules"] == ["R0001"]
    log = ExecutionLog.objects.get(execution_id=body["execution_id"])
    assert (log.ruleset_name, log.ruleset_version) == ("rules_config", body["ruleset"]["version"])
    assert log.ruleset_id is None and log.tenant_id == tenant.pk


def test_evaluate_serves_a_changed_file_without_a_restart(tenant, rules_file):
    client = client_of(tenant)
    data = {"data": {"issue": 35}}
    assert evaluate(client, data).json()["pattern_result"] == "Y"
    document = json.loads(rules_file.read_text())
    document["patterns"]["Y"] = "Fast track"
    stat = rules_file.stat()
    rules_file.write_text(json.dumps(document))
    os.utime(rules_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert evaluate(client, data).json()["action_recommendation"] == "Fast track"


def test_another_tenant_finds_no_ruleset(other_tenant, rules_file):
    response = evaluate(client_of(other_tenant), {"data": {"issue": 35}})
    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"
