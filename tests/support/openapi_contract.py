"""Every API response the test suite receives, checked against the live OpenAPI schema.

The schema is generated once per test session with drf-spectacular's generator, exactly as
`/api/schema/` serves it, and read by openapi-core, a strict OpenAPI 3.1 validator. Each response
that DRF's APIClient receives for an operation of the schema must be described by it: its status
code, its content type and its body. tests/conftest.py wraps APIClient with this for every test,
so a test that gets an undocumented answer fails at the request that got it.

Not checked: paths and methods the schema has no operation for (the admin, the schema itself, a
405), and pages rendered for people (a request that asks for text/html gets the browsable API).
Requests are not validated: tests send invalid requests on purpose.
"""

from __future__ import annotations

import functools
import json

from openapi_core import OpenAPI
from openapi_core.contrib.django import DjangoOpenAPIResponse
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import PathError
from werkzeug.datastructures import Headers, ImmutableMultiDict


class SchemaViolation(AssertionError):
    """A response the schema does not describe."""


@functools.cache
def live_schema() -> dict:
    """The API's OpenAPI document, as `/api/schema/` serves it (JSON types only)."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document, renderer_context={}))


@functools.cache
def live_openapi() -> OpenAPI:
    return OpenAPI.from_dict(live_schema())


class RequestOfResponse:
    """The request as openapi-core reads it, to find the operation: URL, method and parameters.

    The path is matched against the schema's templates (no Django route translation), and the
    body is not needed: only the response is validated.
    """

    def __init__(self, request):
        self.host_url = f"{request.scheme}://{request.get_host()}"
        self.path = request.path
        self.path_pattern = None
        self.method = request.method.lower()
        self.body = b""
        self.content_type = request.META.get("CONTENT_TYPE", "")
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(request.GET),
            header=Headers(request.headers.items()),
            cookie=ImmutableMultiDict(dict(request.COOKIES)),
        )


def _for_people(request) -> bool:
    accept = request.headers.get("Accept", "")
    return "text/html" in accept and "application/json" not in accept


def _problems(openapi_request, openapi_response) -> list[str]:
    errors = list(live_openapi().iter_response_errors(openapi_request, openapi_response))
    if any(isinstance(error, PathError) for error in errors):
        return []  # not an operation of the schema
    return [error_text(error) for error in errors]


def response_problems(response) -> list[str]:
    """What the schema says is wrong with an APIClient response; empty when it is described."""
    request = getattr(response, "wsgi_request", None)
    if request is None or _for_people(request):
        return []
    return _problems(RequestOfResponse(request), DjangoOpenAPIResponse(response))


class _HttpxRequest:
    def __init__(self, request):
        self.host_url = f"{request.url.scheme}://{request.url.netloc.decode()}"
        self.path = request.url.path
        self.path_pattern = None
        self.method = request.method.lower()
        self.body = b""
        self.content_type = request.headers.get("content-type", "")
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(request.url.params.multi_items()),
            header=Headers(request.headers.multi_items()),
        )


class _HttpxResponse:
    def __init__(self, response):
        self.data = response.content
        self.status_code = response.status_code
        self.headers = Headers(response.headers.multi_items())
        self.content_type = response.headers.get("content-type", "")


def httpx_response_problems(response) -> list[str]:
    """The same check for a response of a real server, received with httpx."""
    response.read()
    return _problems(_HttpxRequest(response.request), _HttpxResponse(response))


def _schema_error_lines(errors, indent: str) -> list[str]:
    # A oneOf's error only says no alternative matched; its context says why each one did not.
    lines = []
    for nested in errors or ():
        path = "/".join(str(part) for part in nested.absolute_path)
        lines.append(f"{indent}at /{path}: {nested.message}")
        lines += _schema_error_lines(getattr(nested, "context", None), indent + "  ")
    return lines


def error_text(error: Exception) -> str:
    causes = [str(error)]
    causes += _schema_error_lines(getattr(error, "schema_errors", None), "  ")
    cause = error.__cause__
    while cause is not None:
        causes.append(f"  {type(cause).__name__}: {cause}")
        causes += _schema_error_lines(getattr(cause, "schema_errors", None), "    ")
        cause = cause.__cause__
    return "\n".join(causes)


def schema_checked(request_method):
    """APIClient.request, raising SchemaViolation for a response the schema does not describe."""

    @functools.wraps(request_method)
    def request(self, **kwargs):
        response = request_method(self, **kwargs)
        problems = response_problems(response)
        if problems:
            wsgi_request = response.wsgi_request
            raise SchemaViolation(
                f"{wsgi_request.method} {wsgi_request.get_full_path()} answered "
                f"{response.status_code}, which the OpenAPI schema does not describe:\n"
                + "\n".join(problems)
                + f"\nbody: {response.content[:2000]!r}"
            )
        return response

    request.schema_checked = True
    return request
