"""Project-wide middleware."""

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
