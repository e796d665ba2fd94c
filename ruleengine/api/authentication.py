"""`Authorization: Token <key>` for applications, served from a per-process cache."""

import logging

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication
from rest_framework import exceptions

from rules.selectors.api_tokens import TokenRefused, token_owner

log = logging.getLogger("ruleengine.api.authentication")


class ApiTokenAuthentication(TokenAuthentication):
    """django-rest-knox tokens, looked up through a per-process cache (rules.selectors.api_tokens).

    Every refusal is logged with the reason and the client address, never with the token.
    """

    def authenticate_credentials(self, token: bytes):
        try:
            return token_owner(token.decode("utf-8", errors="replace"))
        except TokenRefused as refusal:
            self.failure_record(str(refusal))
            raise exceptions.AuthenticationFailed(f"Invalid token: {refusal}.") from None

    def authenticate(self, request):
        self.request = request
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed as error:
            if "Invalid token:" not in str(error.detail):
                self.failure_record("malformed Authorization header")
            raise

    def failure_record(self, reason: str) -> None:
        request = getattr(self, "request", None)
        address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
        log.warning("API authentication failed: %s (client %s)", reason, address)


class ApiTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """How drf-spectacular documents the token header."""

    target_class = "ruleengine.api.authentication.ApiTokenAuthentication"
    name = "ApiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`, from `manage.py create_api_client`.",
        }
