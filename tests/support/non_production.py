"""Test helpers for the limits on non-production work (ruleengine/throttling.py, worker_slots.py).

rates_set(monkeypatch, dry_run="2/min")   # these rates, counters from zero
with slots_taken(settings, tmp_path):     # every slot of this node busy, no waiting
    ...
"""

import threading
from contextlib import contextmanager

from django.core.cache import cache

from ruleengine.throttling import FixedWindowThrottle
from ruleengine.worker_slots import worker_slot

GENEROUS = "100000/min"


def rates_set(monkeypatch, **rates: str) -> None:
    """Throttle rates for this test: the named scopes as given, the others generous.

    DRF reads the rates into a class attribute at import, so a test sets that attribute (restored
    by monkeypatch) and clears the counters, which live in the process's cache.
    """
    scopes = ("evaluate", "dry_run", "try_it", "test_run", "backtest")
    monkeypatch.setattr(
        FixedWindowThrottle, "THROTTLE_RATES", {scope: GENEROUS for scope in scopes} | rates
    )
    cache.clear()


@contextmanager
def slots_taken(settings, tmp_path, concurrency: int = 1):
    """Every one of this node's `concurrency` slots held by another thread (a busy worker), and
    no wait for one: the next non-production request is refused at once."""
    settings.NON_PRODUCTION_CONCURRENCY = concurrency
    settings.NON_PRODUCTION_SLOT_WAIT_SECONDS = 0
    settings.NON_PRODUCTION_SLOT_DIR = str(tmp_path / "worker-slots")
    release, taken = threading.Event(), threading.Semaphore(0)

    def holder():
        with worker_slot():
            taken.release()
            release.wait(30)

    holders = [threading.Thread(target=holder) for _ in range(concurrency)]
    for thread in holders:
        thread.start()
    for _ in holders:
        assert taken.acquire(timeout=10), "a slot holder did not start"
    try:
        yield
    finally:
        release.set()
        for thread in holders:
            thread.join(10)
