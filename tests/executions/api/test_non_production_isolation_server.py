"""Tenant A's production evaluations keep their latency while tenant B runs the worst
non-production cases (issue 19): a real gunicorn server (4 sync workers, the production default
on 2 cores) on real PostgreSQL.

Tenant B has a 1,000-rule draft and runs it from 8 threads at once, twice the workers: dry runs,
batches of 100 dry runs, API and admin test runs of 1,000 test cases, API and admin backtests
over 2,000 logged inputs, and admin try-it runs (a 1,000-row trace page). No catastrophic regex:
ordinary operators, so the load stays heavy whatever the regex engine and the evaluation budget.
Each B thread starts its next job as soon as one ends, and waits as long as Retry-After says
after a refusal. B's rates are opened up (a tenant can have many clients and users), so what is
measured is the worker pool, not the throttles.

Without the pool, B's requests take every worker and A waits for seconds: run this file with
NON_PRODUCTION_CONCURRENCY=0 in the environment to see it fail."""

import http.client
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import orjson
import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from executions.models import ExecutionLog, ExecutionSource
from rules.choices import Role, RulesetStatus
from rules.models import Rule, RulesetTestCase
from rules.services.api_clients import api_client_create
from rules.services.compilation import ruleset_compile
from tests.factories import MembershipFactory, RulesetFactory, TenantFactory, credit_ruleset
from tests.support.app_server import AppServer, database_url_of

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

WORKERS = 4
B_THREADS = 8
A_THREADS = 2
SOLO_SECONDS = 4.0
LOADED_SECONDS = 15.0
RULES = 1000
TEST_CASES = 1000
LOGGED_INPUTS = 2000
BATCH_ITEMS = 100
B_PASSWORD = "pw-for-tests-2026-tenant-b"
# A's bounds under B's load. Measured on 2 cores at machine load ~2: A solo p50 3.2 ms, p99
# 5.7 ms; under B's load p50 6.5 ms, p99 22 ms (about 4,000 evaluations in the 15 s). Shared with
# other test runs (load 6-8): solo p50 5-10 ms, p99 16-41 ms; under B's load p50 6-32 ms, p99
# 25-130 ms (775-4,000 evaluations). Without the pool (NON_PRODUCTION_CONCURRENCY=0): 2-4
# evaluations, each waiting 17-20 s. Absolute rather than relative to the solo figures: B's one
# job in its slot still takes one of the two cores, and the machine's other load moves both.
A_P99_LIMIT_MS = 500.0
A_MIN_EVALUATIONS = 200

# Ordinary operators, each on attributes of its own: every rule matches DATA.
OPERATORS = [
    ("greater_than", "700", 800),
    ("contains", "abc", "xxabcxx"),
    ("regex", "^x[0-9]+y$", "x12345y"),
    ("in", '["a", "b", "c"]', "b"),
]
DATA = {f"{operator}_{number}": value for operator, _, value in OPERATORS for number in range(10)}
A_INPUT = {"credit_score": 720, "income": 60000}


def heavy_ruleset(tenant, *, version: str, status: str):
    """`heavy` with RULES ordinary rules; bulk-created (test setup, not the product's path)."""
    ruleset = RulesetFactory(tenant=tenant, name="heavy", version=version, status=status)
    rules = []
    for number in range(RULES):
        operator, constant, _ = OPERATORS[number % len(OPERATORS)]
        rules.append(
            Rule(
                ruleset=ruleset,
                rule_id=f"R{number:04d}",
                rule_name=f"Rule {number}",
                attribute=f"{operator}_{number % 10}",
                operator=operator,
                constant=constant,
                rule_point=1,
                weight=1.0,
                priority=number,
                position=number,
                action_result="Y",
            )
        )
    Rule.objects.bulk_create(rules)
    return ruleset


@dataclass
class TenantB:
    token: str
    active_id: int
    draft_id: int
    username: str
    cookies: dict = field(default_factory=dict)


@pytest.fixture
def tenants(transactional_db):
    """Tenant A: a 2-rule active ruleset and a client. Tenant B: the heavy versions, their
    test cases and logged traffic, a client and an admin viewer."""
    tenant_a = TenantFactory(slug="tenant-a")
    credit_ruleset(tenant_a, status=RulesetStatus.ACTIVE)
    _, token_a = api_client_create(tenant=tenant_a, name="production", role=Role.VIEWER)

    tenant_b = TenantFactory(slug="tenant-b")
    active = heavy_ruleset(tenant_b, version="1.0", status=RulesetStatus.ACTIVE)
    draft = heavy_ruleset(tenant_b, version="1.1", status=RulesetStatus.DRAFT)
    RulesetTestCase.objects.bulk_create(
        RulesetTestCase(ruleset=draft, name=f"case {number}", input_data=DATA)
        for number in range(TEST_CASES)
    )
    evaluation = ruleset_compile(active).evaluate(DATA)
    now = timezone.now()
    ExecutionLog.objects.bulk_create(
        ExecutionLog(
            tenant=tenant_b,
            timestamp=now - timedelta(seconds=10 * number),
            ruleset_id=active.pk,
            ruleset_name="heavy",
            ruleset_version="1.0",
            input_data=DATA,
            output_data={"pattern_result": evaluation.pattern_result},
            total_points=evaluation.total_points,
            pattern_result=evaluation.pattern_result,
            execution_time_ms=1.0,
            success=True,
            source=ExecutionSource.API,
        )
        for number in range(LOGGED_INPUTS)
    )
    _, token_b = api_client_create(tenant=tenant_b, name="what-if", role=Role.VIEWER)
    analyst = MembershipFactory(
        tenant=tenant_b, role=Role.VIEWER, user__username="tenant-b-analyst"
    ).user
    # The server checks passwords with the production hashers, not the tests' MD5.
    hasher = PBKDF2PasswordHasher()
    analyst.password = hasher.encode(B_PASSWORD, hasher.salt(), iterations=1000)
    analyst.save(update_fields=["password"])
    return token_a, TenantB(token_b, active.pk, draft.pk, analyst.username)


# --- HTTP: a fresh connection per request (sync workers close it after each) -----------------
def call(port: int, method: str, path: str, *, body=None, headers=None, timeout=60.0):
    """(status, headers as a list, body bytes)."""
    connection_ = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection_.request(method, path, body=body, headers=headers or {})
        response = connection_.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection_.close()


def api_call(port: int, path: str, body: dict, token: str):
    headers = {"Content-Type": "application/json", "Authorization": f"Token {token}"}
    return call(port, "POST", path, body=orjson.dumps(body), headers=headers)


def cookies_update(cookies: dict, headers) -> None:
    for name, value in headers:
        if name.lower() == "set-cookie":
            for morsel in SimpleCookie(value).values():
                cookies[morsel.key] = morsel.value


def admin_login(port: int, b: TenantB) -> None:
    status, headers, _ = call(port, "GET", "/admin/login/")
    assert status == 200
    cookies_update(b.cookies, headers)
    form = {
        "csrfmiddlewaretoken": b.cookies["csrftoken"],
        "username": b.username,
        "password": B_PASSWORD,
        "next": "/admin/",
    }
    status, headers, body = call(
        port, "POST", "/admin/login/", body=urlencode(form), headers=admin_headers(b, form=True)
    )
    assert status == 302, body[:500]
    cookies_update(b.cookies, headers)
    assert "sessionid" in b.cookies


def admin_headers(b: TenantB, *, form: bool = False) -> dict:
    headers = {"Cookie": "; ".join(f"{name}={value}" for name, value in b.cookies.items())}
    if form:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        headers["X-CSRFToken"] = b.cookies["csrftoken"]
    return headers


def tenant_b_requests(port: int, b: TenantB) -> list:
    """The worst non-production cases, as (kind, function making the request)."""
    until = timezone.now() + timedelta(minutes=1)
    since = until - timedelta(days=2)
    window = {"since": since.isoformat(), "until": until.isoformat()}
    minutes = {
        key: f"{value:%Y-%m-%dT%H:%M}" for key, value in (("since", since), ("until", until))
    }
    dry_run = {"ruleset": "heavy", "version": "1.1", "data": DATA, "dry_run": True}
    batch = {"ruleset": "heavy", "version": "1.1", "items": [DATA] * BATCH_ITEMS, "dry_run": True}
    try_it_path = reverse("admin:executions_executionlog_try_it", args=[b.draft_id])
    backtest_page = reverse("admin:executions_executionlog_backtest", args=[b.draft_id])
    backtest_query = urlencode({"baseline": b.active_id, **minutes, "max_inputs": LOGGED_INPUTS})
    tests_page = reverse("admin:rules_ruleset_tests", args=[b.draft_id])
    return [
        ("dry_run", lambda: api_call(port, "/api/v1/evaluate", dry_run, b.token)),
        ("batch_dry_run", lambda: api_call(port, "/api/v1/evaluate/batch", batch, b.token)),
        ("test_run", lambda: api_call(port, f"/api/v1/rulesets/{b.draft_id}/test", {}, b.token)),
        (
            "backtest",
            lambda: api_call(port, f"/api/v1/rulesets/{b.draft_id}/backtest", window, b.token),
        ),
        (
            "admin_try_it",
            lambda: call(
                port,
                "POST",
                try_it_path,
                body=urlencode({"input": orjson.dumps(DATA).decode()}),
                headers=admin_headers(b, form=True),
            ),
        ),
        (
            "admin_backtest",
            lambda: call(
                port, "GET", f"{backtest_page}?{backtest_query}", headers=admin_headers(b)
            ),
        ),
        ("admin_test_run", lambda: call(port, "GET", tests_page, headers=admin_headers(b))),
    ]


def production_latencies(port: int, token: str, seconds: float) -> tuple[list[float], list]:
    """A_THREADS clients evaluating for `seconds`: latencies in ms, and every non-200."""
    latencies: list[float] = []
    failures: list = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    body = {"ruleset": "credit", "data": A_INPUT}

    def client():
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            status, _, answer = api_call(port, "/api/v1/evaluate", body, token)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                if status != 200:
                    failures.append((status, answer[:200]))

    threads = [threading.Thread(target=client) for _ in range(A_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, failures


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def test_tenant_a_evaluate_latency_holds_while_tenant_b_runs_the_worst_non_production_cases(
    tenants,
):
    token_a, b = tenants
    generous = "1000000/min"
    server = AppServer(
        database_url_of(connection.settings_dict),
        workers=WORKERS,
        env={
            "DRY_RUN_RATE_LIMIT": generous,
            "TRY_IT_RATE_LIMIT": generous,
            "TEST_RUN_RATE_LIMIT": generous,
            "BACKTEST_RATE_LIMIT": generous,
            "BACKTEST_MAX_INPUTS": str(LOGGED_INPUTS),
            "GUNICORN_TIMEOUT": "60",
        },
    )
    with server:
        port = server.port
        admin_login(port, b)
        requests = tenant_b_requests(port, b)
        # Warm every worker's caches (tokens, compiled versions) before measuring.
        production_latencies(port, token_a, 1.0)
        solo, solo_failures = production_latencies(port, token_a, SOLO_SECONDS)

        outcomes: dict[str, list[int]] = {kind: [] for kind, _ in requests}
        stop = threading.Event()
        outcomes_lock = threading.Lock()

        def tenant_b_client(number: int):
            turn = number
            while not stop.is_set():
                kind, make = requests[turn % len(requests)]
                turn += 1
                status, headers, _ = make()
                with outcomes_lock:
                    outcomes[kind].append(status)
                if status in (429, 503):
                    stop.wait(float(dict(headers).get("Retry-After", "1")))  # as asked

        b_threads = [threading.Thread(target=tenant_b_client, args=(n,)) for n in range(B_THREADS)]
        for thread in b_threads:
            thread.start()
        try:
            time.sleep(1.0)  # B's requests occupy what they can
            loaded, loaded_failures = production_latencies(port, token_a, LOADED_SECONDS)
        finally:
            stop.set()
            for thread in b_threads:
                thread.join(120)

    solo_p50, solo_p99 = percentile(solo, 0.5), percentile(solo, 0.99)
    loaded_p50, loaded_p99 = percentile(loaded, 0.5), percentile(loaded, 0.99)
    # 422: an evaluation out of its time budget (a dry run on a starved core), answered in time.
    answered = {kind: sum(s in (200, 422) for s in statuses) for kind, statuses in outcomes.items()}
    refused = {kind: statuses.count(503) for kind, statuses in outcomes.items()}
    print(
        f"\nA solo: {len(solo)} evaluations, p50 {solo_p50:.1f} ms, p99 {solo_p99:.1f} ms"
        f"\nA under B's load: {len(loaded)} evaluations, p50 {loaded_p50:.1f} ms, "
        f"p99 {loaded_p99:.1f} ms, max {max(loaded):.1f} ms"
        f"\nB answered: {answered}\nB refused (503, busy): {refused}"
    )
    assert solo_failures == [] and loaded_failures == []
    assert loaded_p99 < A_P99_LIMIT_MS, (loaded_p99, loaded_p50, solo_p50)
    assert len(loaded) >= A_MIN_EVALUATIONS, len(loaded)
    unexpected = {
        kind: sorted(set(statuses) - {200, 422, 503}) for kind, statuses in outcomes.items()
    }
    assert not any(unexpected.values()), unexpected
    # B's work was done, one job at a time, and the rest refused while the slot was taken.
    assert all(outcomes.values()) and sum(answered.values()) >= 1, outcomes
    assert sum(refused.values()) > 0
