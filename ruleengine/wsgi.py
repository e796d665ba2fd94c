"""WSGI entry point.

The two evaluate endpoints are the hot path: applications call them with a token, never with a
session, a form or a browser. They get a handler with only the middleware such a request needs
(security headers and the CSP); every other path gets the full stack. Measured on the evaluate
path, the skipped middleware (sessions, auth, messages, CSRF, history, axes, static files,
clickjacking) cost about an eighth of a request's CPU.

The health check takes the same short stack: load balancers and Docker's HEALTHCHECK probe a
node on its own address, over plain HTTP, with a Host header that ALLOWED_HOSTS does not list
(CommonMiddleware would answer 400). SECURE_REDIRECT_EXEMPT keeps SecurityMiddleware from
redirecting it, and nothing on that stack reads the Host header.

A node with STATIC_MANIFEST on refuses to start before `collectstatic` has run
(ruleengine/static_files.py) rather than answer 500 on every page with a static file.
"""

import os

from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application
from django.urls import ResolverMatch

from ruleengine.static_files import static_manifest_require

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ruleengine.settings")
django_application = get_wsgi_application()
static_manifest_require()

EVALUATE_PATHS = frozenset({"/api/v1/evaluate", "/api/v1/evaluate/batch"})
HEALTH_PATH = "/healthz"


class EvaluateWSGIHandler(WSGIHandler):
    """Django's handler with settings.EVALUATE_MIDDLEWARE instead of MIDDLEWARE, and the URL
    match of each of its few paths resolved once (walking the URLconf cost ~4% of a request)."""

    resolver_matches: dict[str, ResolverMatch]

    def resolve_request(self, request):
        if hasattr(request, "urlconf"):  # a middleware chose another URLconf: resolve it
            return super().resolve_request(request)
        match = self.resolver_matches.get(request.path_info)
        if match is None:
            match = super().resolve_request(request)
            self.resolver_matches[request.path_info] = match
        request.resolver_match = match
        return match

    def load_middleware(self, is_async=False):
        from django.conf import settings

        full_stack = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.EVALUATE_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full_stack
        self.resolver_matches = {}


evaluate_application = EvaluateWSGIHandler()


def application(environ, start_response):
    path = environ.get("PATH_INFO")
    if path in EVALUATE_PATHS or path == HEALTH_PATH:
        return evaluate_application(environ, start_response)
    return django_application(environ, start_response)
