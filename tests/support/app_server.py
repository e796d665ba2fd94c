"""Real app servers for tests: gunicorn (gthread) on a free loopback port, and an HTTP client.

    with AppServer(database_url) as server:
        status, body, headers = server.post("/api/v1/evaluate", {...}, token=token)

The server runs the project exactly as production does (DEBUG off, the group-commit log writer,
LISTEN/NOTIFY caches), in its own processes, against the database the test names.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson

from tests.support.postgres_cluster import free_port

ROOT = Path(__file__).resolve().parents[2]


def database_url_of(settings_dict: dict) -> str:
    """A postgres:// URL for a Django DATABASES entry (the test database, say)."""
    user = settings_dict.get("USER") or "postgres"
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"


class AppServer:
    def __init__(
        self,
        database_url: str,
        *,
        workers: int = 4,
        threads: int = 1,
        graceful_timeout: int = 20,
        env: dict | None = None,
    ):
        self.port = free_port()
        self.database_url = database_url
        self.workers, self.threads = workers, threads
        self.graceful_timeout = graceful_timeout
        self.extra_env = env or {}
        self.process: subprocess.Popen | None = None

    def environment(self) -> dict:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "DEBUG": "false",
            "SECRET_KEY": "test-server-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
            "SECURE_SSL_REDIRECT": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "STATIC_MANIFEST": "false",
            # As gunicorn.conf.py chooses for production: group commit for threaded workers,
            # the request's own thread for sync workers.
            "EXECUTION_LOG_WRITER": "group" if self.threads > 1 else "direct",
            "CACHE_INVALIDATION": "notify",
            "EVALUATE_RATE_LIMIT": "1000000/s",
            "LOG_LEVEL": "WARNING",
            **self.extra_env,
        }

    def start(self, wait_ready: bool = True) -> AppServer:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "ruleengine.wsgi",
                "--config",
                str(ROOT / "gunicorn.conf.py"),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--threads",
                str(self.threads),
                "--graceful-timeout",
                str(self.graceful_timeout),
            ],
            cwd=ROOT,
            env=self.environment(),
        )
        if wait_ready:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
            try:
                status, _, _ = self.get("/healthz", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not become ready")

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = 60) -> int:
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> AppServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # --- HTTP -------------------------------------------------------------------------------
    def connection(self, timeout: float = 15) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def get(self, path: str, *, token: str | None = None, timeout: float = 15):
        return request(self.connection(timeout), "GET", path, token=token)

    def post(self, path: str, body, *, token: str | None = None, timeout: float = 15):
        return request(self.connection(timeout), "POST", path, body, token=token)


def request(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    body=None,
    *,
    token: str | None = None,
    headers: dict | None = None,
):
    """(status, parsed JSON or raw bytes, headers) over a (possibly kept-alive) connection."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if token:
        all_headers["Authorization"] = f"Token {token}"
    payload = orjson.dumps(body) if body is not None and not isinstance(body, bytes) else body
    connection.request(method, path, body=payload, headers=all_headers)
    response = connection.getresponse()
    raw = response.read()
    try:
        parsed = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        parsed = raw
    return response.status, parsed, dict(response.getheaders())
