"""A fresh in-memory TimescaleDB for one test session: scripts/timescaledb_server.mjs under Node.

The server is PGlite (PostgreSQL 17 compiled to WebAssembly) with TimescaleDB built in, served
over the PostgreSQL wire protocol. It needs ``npm ci`` to have installed node_modules/.

Caveats the tests must respect (shared/TIMESCALEDB_TESTING.md): there is one backend session
for all clients and connections are served one at a time (a second concurrent connection waits
until the first closes), the database name is ignored, and scheduled jobs never run.
"""

from __future__ import annotations

import atexit
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVER_SCRIPT = REPO_ROOT / "scripts" / "timescaledb_server.mjs"
READY_PREFIX = "READY "
READY_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 10


class TimescaleDBServerError(RuntimeError):
    """The TimescaleDB test server could not be started."""


class TimescaleDBTestServer:
    """``with TimescaleDBTestServer() as server: ... server.url ...``"""

    host = "127.0.0.1"

    def __init__(self, *, node: str = "node", ready_timeout: float = READY_TIMEOUT_SECONDS) -> None:
        self.node = node
        self.ready_timeout = ready_timeout
        self.port: int | None = None
        self.startup_seconds: float | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr_file = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise TimescaleDBServerError("the server is not started")
        # Any non-empty password works; sslmode=disable because the server speaks no TLS.
        return f"timescale://postgres:postgres@{self.host}:{self.port}/postgres?sslmode=disable"

    def start(self) -> TimescaleDBTestServer:
        if self._process is not None:
            raise TimescaleDBServerError("the server is already started")
        node = shutil.which(self.node)
        if node is None:
            raise TimescaleDBServerError(f"{self.node!r} not found: install Node.js 20 or newer")
        if not (REPO_ROOT / "node_modules" / "@unni-craftsman" / "pglite").is_dir():
            raise TimescaleDBServerError(
                f"node_modules/ is missing the pglite packages: run `npm ci` in {REPO_ROOT}"
            )
        # stderr goes to a file, not a pipe: nobody reads it while the tests run, and a full
        # pipe would block the server. It lives as long as the server; stop() closes it.
        self._stderr_file = tempfile.TemporaryFile(  # noqa: SIM115
            prefix="timescaledb-server-", suffix=".log"
        )
        started = time.monotonic()
        self._process = subprocess.Popen(
            [node, str(SERVER_SCRIPT), "--port", "0", "--host", self.host],
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr_file,
            # Its own session: a Ctrl-C meant for pytest must not kill the database under the
            # tests' teardown; stop() ends it afterwards.
            start_new_session=True,
        )
        atexit.register(self.stop)
        try:
            self.port = self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=STOP_TIMEOUT_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if process.stdout is not None:
                process.stdout.close()
        if self._stderr_file is not None:
            self._stderr_file.close()
            self._stderr_file = None
        atexit.unregister(self.stop)

    def __enter__(self) -> TimescaleDBTestServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _wait_until_ready(self) -> int:
        assert self._process is not None and self._process.stdout is not None
        stdout = self._process.stdout
        deadline = time.monotonic() + self.ready_timeout
        received = b""
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            while b"\n" not in received:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._startup_error(
                        f"no READY line within {self.ready_timeout:.0f} s", received
                    )
                if not selector.select(timeout=min(remaining, 0.5)):
                    if self._process.poll() is not None:
                        raise self._startup_error(
                            f"exited with code {self._process.returncode}", received
                        )
                    continue
                chunk = os.read(stdout.fileno(), 4096)
                if not chunk:
                    self._process.wait(timeout=STOP_TIMEOUT_SECONDS)
                    raise self._startup_error(
                        f"closed stdout and exited with code {self._process.returncode}", received
                    )
                received += chunk
        line = received.split(b"\n", 1)[0].decode(errors="replace").strip()
        if not line.startswith(READY_PREFIX):
            raise self._startup_error(f"printed {line!r} instead of a READY line", received)
        address = line.removeprefix(READY_PREFIX)
        try:
            return int(address.rsplit(":", 1)[1])
        except (IndexError, ValueError):
            raise self._startup_error(f"READY line without a port: {line!r}", received) from None

    def _startup_error(self, problem: str, stdout: bytes) -> TimescaleDBServerError:
        stderr = ""
        if self._stderr_file is not None:
            self._stderr_file.seek(0)
            stderr = self._stderr_file.read().decode(errors="replace")
        tail = "\n".join(stderr.splitlines()[-40:])
        return TimescaleDBServerError(
            f"TimescaleDB test server ({SERVER_SCRIPT.relative_to(REPO_ROOT)}) {problem}\n"
            f"stdout: {stdout.decode(errors='replace')!r}\nstderr (last lines):\n{tail}"
        )
