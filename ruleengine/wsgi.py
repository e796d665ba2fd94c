"""WSGI entry point.

The two evaluate endpoints are the hot path: applications call them with a token, never with a
session, a form or a browser. They get a handler with only the middleware such a request needs
(security headers and the CSP); every other path gets the full stack. Measured on the evaluate
path, the skipped middleware (sessions, auth, messages, CSRF, history, axes, static files,
clickjacking) cost about an eighth of a request's CPU.
"""

import os

from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ruleengine.settings")
django_application = get_wsgi_application()

EVALUATE_PATHS = frozenset({"/api/v1/evaluate", "/api/v1/evaluate/batch"})


class EvaluateWSGIHandler(WSGIHandler):
    """Django's handler with settings.EVALUATE_MIDDLEWARE instead of MIDDLEWARE."""

    def load_middleware(self, is_async=False):
        from django.conf import settings

        full_stack = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.EVALUATE_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full_stack


evaluate_application = EvaluateWSGIHandler()


def application(environ, start_response):
    if environ.get("PATH_INFO") in EVALUATE_PATHS:
        return evaluate_application(environ, start_response)
    return django_application(environ, start_response)
