"""Request bodies are JSON only (issue #17).

Before: every write also took form-urlencoded and multipart bodies, and the schema declared all
three, so a generated client sent multipart: list fields were stored doubled, dict fields could
not be sent, and `action: null` on a pattern was a 400.
"""

import pytest

from rules.choices import Role
from tests.factories import RulesetFactory
from tests.rules.api.conftest import error_of

RULESETS = "/api/v1/rulesets"


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data; boundary=BoUnDaRy",
        "application/x-www-form-urlencoded",
        "text/plain",
    ],
)
def test_a_body_that_is_not_json_is_refused_with_415(api, tenant, content_type):
    author = api(Role.AUTHOR, tenant)
    refused = author.generic("POST", RULESETS, "name=loans&tags=a&tags=b", content_type)
    assert refused.status_code == 415, refused.content
    error = error_of(refused)
    assert error["code"] == "unsupported_media_type"
    assert content_type.split(";")[0] in error["message"]


def test_json_bodies_keep_lists_objects_and_null(api, tenant):
    author = api(Role.AUTHOR, tenant)
    created = author.post(
        RULESETS,
        {"name": "loans", "tags": ["retail", "risk"], "metadata": {"owner": {"team": "risk"}}},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["tags"] == ["retail", "risk"]
    assert created.json()["metadata"] == {"owner": {"team": "risk"}}

    ruleset = RulesetFactory(tenant=tenant)
    pattern = author.post(
        "/api/v1/patterns",
        {"ruleset": ruleset.pk, "pattern_key": "Y", "action_recommendation": "OK", "action": None},
        format="json",
    )
    assert pattern.status_code == 201, pattern.content
    assert pattern.json()["action"] is None
