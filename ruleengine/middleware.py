"""Project-wide middleware."""

import re
import uuid

from csp.middleware import CSPMiddleware
from csp.utils import build_policy


class StaticCSPMiddleware(CSPMiddleware):
    """django-csp's middleware with the policy built once per process.

    The stock middleware rebuilds the header string on every response, which is a measurable
    share of an evaluate request; this project uses neither nonces nor per-view policy
    overrides, so the policy is the same for every response. A response that carries its own
    header, or is exempted with @csp_exempt, is left alone.
    """

    _header: str | None = None

    def process_request(self, request):
        return None

    def process_response(self, request, response):
        if "Content-Security-Policy" in response or getattr(response, "_csp_exempt", False):
            return response
        if StaticCSPMiddleware._header is None:
            StaticCSPMiddleware._header = build_policy()
        if StaticCSPMiddleware._header:
            response["Content-Security-Policy"] = StaticCSPMiddleware._header
        return response


# A client's own id is kept if it is plain enough to put in logs and headers; else a new one.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}\Z")


class RequestIdMiddleware:
    """`X-Request-ID`: the client's (when it is 1-128 characters of letters, digits and
    ``._:@/+=-``) or a new one; set as `request.request_id`, echoed on the response, and stored
    on the evaluation's log row (executions)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.META.get("HTTP_X_REQUEST_ID", "")
        request.request_id = given if REQUEST_ID_PATTERN.match(given) else uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response
