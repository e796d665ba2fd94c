"""`Authorization: Token <key>` for applications, served from a per-process cache.

`Bearer <key>` is accepted as an alias: generated clients and most HTTP tools send that prefix.
"""

import logging

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication
from rest_framework import HTTP_HEADER_ENCODING, exceptions

from rules.selectors.api_tokens import TokenRefused, token_owner

log = logging.getLogger("ruleengine.api.authentication")

TOKEN_SCHEME = "Token"
ACCEPTED_SCHEMES = frozenset({b"token", b"bearer"})
API_KEY_HEADER = "HTTP_X_API_KEY"


class ApiTokenAuthentication(TokenAuthentication):
    """django-rest-knox tokens, looked up through a per-process cache (rules.selectors.api_tokens).

    Every refusal is logged with the reason and the client address, never with the token.
    """

    def authenticate(self, request):
        self.request = request
        # The header itself, as DRF's get_authorization_header reads it, without building the
        # request's whole `headers` mapping for it (a few percent of an evaluate request).
        words = request.META.get("HTTP_AUTHORIZATION", "").encode(HTTP_HEADER_ENCODING).split()
        if not words:
            return None  # no header: a session (where the view takes one) or a 401
        scheme = words[0].decode("latin-1")
        if words[0].lower() not in ACCEPTED_SCHEMES:
            self.failure_record("another Authorization scheme")
            raise exceptions.AuthenticationFailed(
                f"The Authorization scheme is Token, not {scheme[:20]!r}: send "
                "`Authorization: Token <key>` (or `Bearer <key>`)."
            )
        if len(words) != 2:
            self.failure_record("malformed Authorization header")
            raise exceptions.AuthenticationFailed(
                f"Malformed Authorization header: write `{scheme[:20]} <key>`, the key "
                "without spaces."
            )
        return self.authenticate_credentials(words[1])

    def authenticate_credentials(self, token: bytes):
        try:
            return token_owner(token.decode("utf-8", errors="replace"))
        except TokenRefused as refusal:
            self.failure_record(str(refusal))
            raise exceptions.AuthenticationFailed(f"Invalid token: {refusal}.") from None

    def authenticate_header(self, request):
        return TOKEN_SCHEME  # WWW-Authenticate of a 401

    def failure_record(self, reason: str) -> None:
        request = getattr(self, "request", None)
        address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
        log.warning("API authentication failed: %s (client %s)", reason, address)


class ApiTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """How drf-spectacular documents the token header: its whole value, prefix included."""

    target_class = "ruleengine.api.authentication.ApiTokenAuthentication"
    name = TOKEN_SCHEME

    def get_security_definition(self, auto_schema):
        return {
            # OpenAPI's `http` schemes name IANA's registry, which has no `Token`: an apiKey in
            # the Authorization header whose value is the prefix and the key.
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Send `Authorization: Token <key>`: the header's whole value is the "
            "word `Token`, a space and the key (64 hex characters); `Bearer <key>` is accepted "
            "as an alias. Keys come from `POST /api/v1/api-clients` or `manage.py "
            "create_api_client` and are shown once.",
        }


class SessionCookieScheme(OpenApiAuthenticationExtension):
    """The admin's session, on the operations that take it (not evaluate and batch)."""

    target_class = "rest_framework.authentication.SessionAuthentication"
    name = "cookieAuth"
    priority = 1  # over drf-spectacular's own, to say what the session is for

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": "The session of a user signed in to the admin (`/admin/login/`), "
            "for the browsable API and Swagger UI; writes also need the `X-CSRFToken` header. "
            "Evaluate and batch take only a token.",
        }


class ApiKeyHeaderAuthentication(ApiTokenAuthentication):
    """The same API-client tokens sent as `X-API-Key: <key>`, the original system's header.

    Only the original system's endpoints take it (executions/api/original.py), so that its
    clients change nothing but the base URL and the key; everywhere else the one way is
    `Authorization: Token <key>`.
    """

    def authenticate(self, request):
        self.request = request
        key = request.META.get(API_KEY_HEADER)
        if key is None:
            return None
        key = key.strip()
        if not key or " " in key:
            self.failure_record("malformed X-API-Key header")
            raise exceptions.AuthenticationFailed(
                "Malformed X-API-Key header: send the key alone, without a prefix or spaces."
            )
        return self.authenticate_credentials(key.encode("latin-1", errors="replace"))

    def authenticate_header(self, request):
        return "ApiKey"  # WWW-Authenticate of a 401, as the original answers


class ApiKeyHeaderScheme(OpenApiAuthenticationExtension):
    target_class = "ruleengine.api.authentication.ApiKeyHeaderAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "The original system's header: an API client's key alone "
            "(`X-API-Key: <key>`), on the original system's endpoints only.",
        }
