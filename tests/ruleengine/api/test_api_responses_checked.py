"""The schema check every APIClient response goes through (tests/support/openapi_contract.py).

It must catch a response the schema does not describe, or it would let everything pass; and the
issue's finding must be reproducible with it: under the OpenAPI 3.0.3 document the API used to
emit, a strict validator rejected evaluate whenever `action` was null (`allOf` + `nullable`
without a type), which the 3.1 document describes.
"""

import json

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from drf_spectacular.settings import patched_settings
from openapi_core import OpenAPI
from openapi_core.contrib.django import DjangoOpenAPIResponse
from rest_framework.test import APIClient

from rules.choices import Role
from rules.models import Tenant
from rules.services.api_clients import api_client_create
from rules.services.demo import demo_seed
from tests.support import openapi_contract

DECLINED = {"applicant": {"credit_score": 640, "income": 42000}, "debt_ratio": 0.5}


@pytest.fixture
def declined(db):
    """A real evaluate response whose pattern has no action (`action: null`)."""
    demo_seed(password="pw-for-tests-2026")
    _, token = api_client_create(tenant=Tenant.objects.get(slug="demo"), name="c", role=Role.VIEWER)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.post("/api/v1/evaluate", {"data": DECLINED}, format="json")
    assert response.status_code == 200
    assert response.json()["action"] is None
    return response


def test_every_api_client_request_is_checked():
    assert getattr(APIClient.request, "schema_checked", False)


def test_a_response_the_schema_does_not_describe_fails_the_request(declined):
    assert openapi_contract.response_problems(declined) == []
    declined.content = declined.content.replace(b'"total_points":0.0', b'"total_points":"none"')
    problems = openapi_contract.response_problems(declined)
    assert problems and "total_points" in "\n".join(problems)

    checked = openapi_contract.schema_checked(lambda self, **kwargs: declined)
    violation = "POST /api/v1/evaluate answered 200"
    with pytest.raises(openapi_contract.SchemaViolation, match=violation):
        checked(APIClient())


def test_an_undeclared_status_is_a_violation(declined):
    declined.status_code = 418
    assert "Unknown response http status: 418" in "\n".join(
        openapi_contract.response_problems(declined)
    )


def test_the_openapi_303_document_rejected_a_null_action_and_the_live_one_does_not(declined):
    with patched_settings(
        {
            "OAS_VERSION": "3.0.3",
            "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums"],
        }
    ):
        document = SchemaGenerator().get_schema(request=None, public=True)
    old = OpenAPI.from_dict(json.loads(OpenApiJsonRenderer().render(document, {})))
    request = openapi_contract.RequestOfResponse(declined.wsgi_request)
    rejected = [
        openapi_contract.error_text(error)
        for error in old.iter_response_errors(request, DjangoOpenAPIResponse(declined))
    ]
    assert rejected and "None is not of type 'object'" in "\n".join(rejected)
    live = openapi_contract.live_openapi()
    assert list(live.iter_response_errors(request, DjangoOpenAPIResponse(declined))) == []
