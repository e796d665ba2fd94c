"""Admin pages that run non-production work (try-it, test runs, backtests) under the API's rules:
throttled per user in their scope (ruleengine.throttling) and run in one of the node's few worker
slots (ruleengine.worker_slots). A refusal is an admin page that says why and when to retry.
"""

import math
from collections.abc import Callable

from django.http import HttpResponse
from django.template.response import SimpleTemplateResponse, TemplateResponse

from ruleengine.throttling import rate_text, throttle_wait
from ruleengine.worker_slots import WorkersBusy, worker_slot

SCOPE_WORK = {"try_it": "try-it runs", "test_run": "test runs", "backtest": "backtests"}


def non_production_page(
    request, scope: str, *, admin_site, run: Callable[[], HttpResponse]
) -> HttpResponse:
    """The page `run()` makes, made inside a worker slot; a 429 or 503 page instead when the
    user's `scope` rate is used up or the node's slots are taken.

    A template response is rendered inside the slot: drawing a long trace is part of the work.
    """
    wait = throttle_wait(request, scope)
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        return _refusal(
            request,
            admin_site,
            status=429,
            retry_after=seconds,
            title=f"Too many {SCOPE_WORK[scope]}",
            message=f"You have reached your limit of {SCOPE_WORK[scope]} ({rate_text(scope)}). "
            f"Try again in {_duration_text(seconds)}.",
        )
    try:
        with worker_slot():
            response = run()
            if isinstance(response, SimpleTemplateResponse):
                response.render()
            return response
    except WorkersBusy as busy:
        return _refusal(
            request,
            admin_site,
            status=503,
            retry_after=busy.retry_after,
            title="Busy: try again in a moment",
            message=str(busy.detail),
        )


def _duration_text(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


def _refusal(request, admin_site, *, status: int, retry_after: int, title: str, message: str):
    # The admin's header and user links, but not each_context's app list and sidebar: refusals
    # come in floods when a node is busy, and must cost next to nothing.
    response = TemplateResponse(
        request,
        "admin/non_production_refused.html",
        {
            "site_title": admin_site.site_title,
            "site_header": admin_site.site_header,
            "site_url": admin_site.site_url,
            "has_permission": admin_site.has_permission(request),
            "is_nav_sidebar_enabled": False,
            "available_apps": [],
            "title": title,
            "message": message,
            "retry_url": request.get_full_path() if request.method == "GET" else "",
        },
        status=status,
    )
    response["Retry-After"] = str(retry_after)
    return response
