import itertools

import pytest
from rest_framework.test import APIClient

from rules.services.api_clients import api_client_create
from rules.services.tenancy import member_add

_client_numbers = itertools.count(1)


@pytest.fixture
def api(db):
    """api(role, tenant) -> an APIClient sending a real token of a new API client with that role.

    `also` gives the client's account further (tenant, role) memberships.
    """

    def make(role, tenant, *, also=()):
        client, token = api_client_create(
            tenant=tenant, name=f"{role}-{next(_client_numbers)}", role=role
        )
        for other_tenant, other_role in also:
            member_add(username=client.user.username, tenant=other_tenant, role=other_role)
        http = APIClient()
        http.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        http.user = client.user
        return http

    return make


def error_of(response) -> dict:
    """The `error` object of the API's one error shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]
