"""Per-process caches for the API's hot path, and the listener that keeps them fresh.

Every request needs the caller's token, roles and the active version of a ruleset. Reading them
from the database each time costs round trips the evaluate path cannot afford, so they are cached
per process. A cache must never serve a revoked token or a superseded version for long:

* With CACHE_INVALIDATION=notify (PostgreSQL), a thread per process LISTENs on a channel that
  database triggers (migration rules 0004) notify at every committed change of the tables the
  caches come from. Any node sees a change within milliseconds of its commit and drops its caches.
  While the listener is connected, entries are trusted until then.
* Otherwise (SQLite, the single-session TimescaleDB test server, or a listener that has been
  disconnected longer than the grace period) an entry lives `fallback_seconds`, and the evaluate
  path checks the active version's revision with one query.

Writers in this process also clear the caches themselves (`caches_clear`), so this process's next
request sees its own change without waiting for the notification.
"""

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable

import psycopg
from django.conf import settings
from django.db import connections

from ruleengine.database import psycopg_connect_kwargs

CHANNEL = "ruleengine_changes"
# How long caches stay trusted after the listener lost its connection: a database outage makes
# writes impossible anyway, and requests served from cache meanwhile keep the service up.
LISTENER_GRACE_SECONDS = 10.0
LISTENER_RETRY_SECONDS = 0.2
LISTENER_PING_SECONDS = 5.0

log = logging.getLogger(__name__)

_lock = threading.Lock()
_generation = 0
_caches: list["ProcessCache"] = []


def caches_generation() -> int:
    """Read before loading a value from the database; pass to `ProcessCache.put`."""
    return _generation


def caches_clear() -> None:
    """Forget every cached entry in this process (a change was committed or may have been)."""
    global _generation
    with _lock:
        _generation += 1
        for cache in _caches:
            cache.entries.clear()


class ProcessCache:
    """A dict for one kind of entry, emptied by `caches_clear`.

    `fallback_seconds` returns how long an entry lives when notifications cannot be trusted.
    """

    def __init__(self, name: str, fallback_seconds: Callable[[], float]):
        self.name = name
        self.fallback_seconds = fallback_seconds
        self.entries: dict = {}
        with _lock:
            _caches.append(self)

    def get(self, key):
        entry = self.entries.get(key)
        if entry is None:
            return None
        value, stored_at, generation = entry
        if generation != _generation:
            return None
        if notifications_trusted() or time.monotonic() - stored_at < self.fallback_seconds():
            return value
        return None

    def put(self, key, value, generation: int) -> None:
        # A value loaded before a clear carries the old generation and is never served.
        if generation == _generation:
            self.entries[key] = (value, time.monotonic(), generation)


class ChangeListener(threading.Thread):
    """LISTENs on CHANNEL and clears this process's caches at every notification."""

    def __init__(self, connect_kwargs: dict):
        super().__init__(name="change-listener", daemon=True)
        self.connect_kwargs = connect_kwargs
        self.stopping = threading.Event()
        self.connected = threading.Event()
        self.disconnected_at: float | None = time.monotonic()
        self.connection: psycopg.Connection | None = None
        self.ever_connected = False

    def trusted(self) -> bool:
        if self.connected.is_set():
            return True
        since = self.disconnected_at
        return (
            since is not None
            and self.ever_connected
            and (time.monotonic() - since < LISTENER_GRACE_SECONDS)
        )

    def run(self):
        while not self.stopping.is_set():
            try:
                self._listen()
            except Exception as error:  # noqa: BLE001 - the listener must outlive any failure
                if self.connected.is_set():
                    log.warning("change listener lost its connection: %s", error)
                    self.disconnected_at = time.monotonic()
                self.connected.clear()
            finally:
                self._close()
            self.stopping.wait(LISTENER_RETRY_SECONDS)

    def _listen(self):
        self.connection = psycopg.connect(
            **self.connect_kwargs,
            autocommit=True,
            connect_timeout=2,
            # A server that vanished without closing the connection (a failover) is noticed in
            # seconds, not after the kernel's ~15 minutes of retransmissions.
            tcp_user_timeout=10_000,
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=2,
            keepalives_count=2,
        )
        self.connection.execute(f"LISTEN {CHANNEL}")
        # Changes made while nobody listened were missed: start from empty caches.
        caches_clear()
        self.ever_connected = True
        self.connected.set()
        log.info("change listener connected")
        last_ping = time.monotonic()
        while not self.stopping.is_set():
            # Each notification clears at once; the timeout only bounds how long a stop or a
            # liveness check waits.
            for _ in self.connection.notifies(timeout=1.0):
                caches_clear()
            if time.monotonic() - last_ping > LISTENER_PING_SECONDS:
                self.connection.execute("SELECT 1")  # finds a silently dead connection
                last_ping = time.monotonic()

    def _close(self):
        connection, self.connection = self.connection, None
        if connection is not None:
            with contextlib.suppress(Exception):  # already broken
                connection.close()

    def stop(self, timeout: float = 3.0):
        self.stopping.set()
        self.join(timeout)


_listener: ChangeListener | None = None
_listener_pid: int | None = None


def notifications_trusted() -> bool:
    listener = _listener
    return listener is not None and _listener_pid == os.getpid() and listener.trusted()


def change_listener_start() -> None:
    """Start this process's listener if CACHE_INVALIDATION=notify (idempotent, fork-aware)."""
    global _listener, _listener_pid
    # Called several times per request: the common case must cost next to nothing.
    if _listener_pid == os.getpid() and _listener is not None:
        return
    if settings.CACHE_INVALIDATION != "notify":
        return
    with _lock:
        if _listener is not None and _listener_pid == os.getpid() and _listener.is_alive():
            return
        listener = ChangeListener(psycopg_connect_kwargs(connections["default"].settings_dict))
        listener.start()
        _listener, _listener_pid = listener, os.getpid()


def change_listener_stop() -> None:
    global _listener
    listener, _listener = _listener, None
    if listener is not None and _listener_pid == os.getpid():
        listener.stop()


def change_record() -> None:
    """Called by services when they write what the caches hold.

    Clears now (this process's next request must not see the old state) and again at commit
    (a request that reloaded the old state in between must not keep it).
    """
    from django.db import transaction

    caches_clear()
    transaction.on_commit(caches_clear)
