"""Rate limits per user and scope, counted in fixed windows: production evaluate, and the scopes of
non-production work (dry runs, try-it, test runs, backtests), for the API and the admin pages.

Non-production work has scopes of its own, so a dry run never uses up a client's evaluate rate,
and the admin pages (not DRF views) count in the same scopes through `throttle_wait`. The rates
are REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (settings: EVALUATE_RATE_LIMIT, DRY_RUN_RATE_LIMIT,
TRY_IT_RATE_LIMIT, TEST_RUN_RATE_LIMIT, BACKTEST_RATE_LIMIT). The counters live in the Django
cache: per process by default, shared across nodes with CACHE_URL=redis://...
"""

import math
from dataclasses import dataclass

from rest_framework.throttling import SimpleRateThrottle


@dataclass(frozen=True, slots=True)
class RateLimitState:
    """Where a request left its client's window: for the RateLimit-* response headers."""

    limit: int
    remaining: int
    reset_seconds: int
    window_seconds: int


class FixedWindowThrottle(SimpleRateThrottle):
    """A rate per user (an API client's service user or an admin user; the client address when
    anonymous) and scope, counted in fixed windows.

    DRF's default keeps every request's timestamp in one cached list, which is read and written
    back whole on each request: at thousands of requests a second that list costs more than the
    evaluation. A counter per user and window is one `incr` (atomic on Redis).
    """

    scope: str | None = None  # subclasses name theirs, or choose it per request in scope_for

    def __init__(self):
        # The rate is read per request, for the scope that request is counted in.
        pass

    def scope_for(self, request, view) -> str | None:
        """The scope `request` is counted in; None: not throttled."""
        return type(self).scope

    def get_cache_key(self, request, view):
        user = getattr(request, "user", None)
        ident = user.pk if user is not None and user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view):
        self.scope = self.scope_for(request, view)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.now = self.timer()
        window = int(self.now // self.duration)
        key = f"{self.get_cache_key(request, view)}:{window}"
        try:
            count = self.cache.incr(key)
        except ValueError:  # first request of the window
            self.cache.add(key, 0, timeout=int(self.duration) + 1)
            count = self.cache.incr(key)
        self.window_end = (window + 1) * self.duration
        # DRF's Request takes attributes; the view's finalize_response turns this into headers.
        request.rate_limit = RateLimitState(
            limit=self.num_requests,
            remaining=max(0, self.num_requests - count),
            reset_seconds=math.ceil(self.window_end - self.now),
            window_seconds=int(self.duration),
        )
        return count <= self.num_requests

    def wait(self):
        return max(0.0, self.window_end - self.now)


class TryItThrottle(FixedWindowThrottle):
    """The admin's try-it runs (any status, with a trace): TRY_IT_RATE_LIMIT per user."""

    scope = "try_it"


class TestRunThrottle(FixedWindowThrottle):
    """Runs of a version's test cases, API and admin: TEST_RUN_RATE_LIMIT per user."""

    scope = "test_run"


class BacktestThrottle(FixedWindowThrottle):
    """Backtests, API and admin (each holds a worker for seconds): BACKTEST_RATE_LIMIT per user."""

    scope = "backtest"


# The admin pages' scopes; the API's dry runs are counted by executions.api.evaluate's throttle.
ADMIN_THROTTLES = {
    throttle.scope: throttle for throttle in (TryItThrottle, TestRunThrottle, BacktestThrottle)
}


def throttle_wait(request, scope: str) -> float | None:
    """Count one `scope` run of the request's user: None when allowed, else the seconds until
    the window ends (for Retry-After). For views that are not DRF's: the admin pages."""
    throttle = ADMIN_THROTTLES[scope]()
    if throttle.allow_request(request, None):
        return None
    return throttle.wait()


def rate_text(scope: str) -> str:
    """The configured rate of `scope`, as people read it: "60 per minute"."""
    throttle = ADMIN_THROTTLES[scope]()
    count, seconds = throttle.parse_rate(throttle.THROTTLE_RATES[scope])
    unit = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}[seconds]
    return f"{count} per {unit}"


def rate_limit_headers_add(request, response) -> None:
    """The RateLimit-Limit, -Remaining and -Reset headers (IETF httpapi draft; Reset in seconds)
    and RateLimit-Policy, from the window the request was counted in; nothing if unthrottled."""
    state = getattr(request, "rate_limit", None)
    if state is None:
        return
    response["RateLimit-Limit"] = str(state.limit)
    response["RateLimit-Remaining"] = str(state.remaining)
    response["RateLimit-Reset"] = str(state.reset_seconds)
    response["RateLimit-Policy"] = f"{state.limit};w={state.window_seconds}"
