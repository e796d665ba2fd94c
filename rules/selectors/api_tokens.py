"""Who an API caller is: their token, cached per process (see rules.change_notifications)."""

from django.conf import settings
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AuthToken

from rules.change_notifications import ProcessCache, caches_generation, change_listener_start

_token_cache = ProcessCache("api tokens", lambda: settings.API_AUTH_CACHE_SECONDS)


class TokenRefused(Exception):
    """The token is unknown, expired, or its account is inactive; `str()` says which."""


def token_owner(token: str) -> tuple:
    """(user, AuthToken) for a valid API token; raises TokenRefused otherwise."""
    change_listener_start()
    digest = hash_token(token)
    cached = _token_cache.get(digest)
    if cached is None:
        generation = caches_generation()
        # The digest is the AuthToken's primary key: one indexed lookup, user joined.
        auth_token = (
            AuthToken.objects.select_related("user").filter(digest=digest).first()
            if len(token) <= 256
            else None
        )
        if auth_token is None:
            raise TokenRefused("unknown or revoked token")
        cached = (auth_token.user, auth_token)
        _token_cache.put(digest, cached, generation)
    user, auth_token = cached
    if auth_token.expiry is not None and auth_token.expiry < timezone.now():
        raise TokenRefused("expired token")
    if not user.is_active:
        raise TokenRefused("inactive or revoked account")
    return user, auth_token
