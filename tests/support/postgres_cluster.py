"""A throwaway PostgreSQL cluster for tests: initdb in a temp dir, a free port, deleted on stop.

Used by scripts/run_tests.py when no PostgreSQL server answers on 127.0.0.1:5432, and by tests
that need to take the database away (an outage) without disturbing a shared server::

    with ThrowawayPostgres() as pg:
        connect(pg.url)
        with pg.down():           # server stopped, data dir and port kept
            time.sleep(3)
        connect(pg.url)           # same data, same port

The cluster trusts every local connection, listens on 127.0.0.1 only (its unix socket lives in
the temp dir, so it never collides with a system server), and runs with fsync off: it is for
tests, its data is thrown away.

initdb and postgres refuse to run as root. When this process is root (CI and the dev
containers are), the temp dir is chowned to the ``postgres`` OS user (created by Debian's
postgresql package) and every server command runs as that user through ``runuser``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

POSTGRES_BIN_DIR = Path(os.environ.get("RULEENGINE_PG_BIN_DIR", "/usr/lib/postgresql/15/bin"))
POSTGRES_OS_USER = "postgres"
START_TIMEOUT_SECONDS = 30

# Speed over durability; also keep the cluster to loopback and its own socket dir.
SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "100",
    "log_min_messages": "warning",
}


class ThrowawayPostgresError(RuntimeError):
    """The throwaway cluster could not be created, started or stopped."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (the OS picks it; a race is possible but rare)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class ThrowawayPostgres:
    """A private PostgreSQL cluster; ``start()`` creates it, ``stop()`` deletes it."""

    user = "postgres"
    database = "postgres"
    host = "127.0.0.1"

    def __init__(self, *, bin_dir: Path = POSTGRES_BIN_DIR, port: int | None = None) -> None:
        self.bin_dir = Path(bin_dir)
        self.port = port or 0
        self.base_dir: Path | None = None
        self._server_running = False

    # --- paths and URL --------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self._base() / "data"

    @property
    def socket_dir(self) -> Path:
        return self._base() / "socket"

    @property
    def log_file(self) -> Path:
        return self._base() / "server.log"

    @property
    def url(self) -> str:
        return f"postgres://{self.user}@{self.host}:{self.port}/{self.database}"

    @property
    def is_running(self) -> bool:
        return self._server_running

    # --- lifecycle --------------------------------------------------------------------------
    def start(self) -> ThrowawayPostgres:
        """Create the cluster in a new temp dir and start its server."""
        if self.base_dir is not None:
            raise ThrowawayPostgresError("this cluster is already started")
        initdb = self.bin_dir / "initdb"
        if not initdb.exists():
            raise ThrowawayPostgresError(
                f"{initdb} not found: install PostgreSQL 15 (apt-get install postgresql-15) "
                "or set RULEENGINE_PG_BIN_DIR"
            )
        self.base_dir = Path(tempfile.mkdtemp(prefix="ruleengine-pg-"))
        # Registered before anything can fail, so a half-made cluster is still cleaned up.
        atexit.register(self.stop)
        try:
            self.socket_dir.mkdir()
            if _running_as_root():
                _chown_tree(self.base_dir, POSTGRES_OS_USER)
            self._run_as_server_user(
                [
                    str(initdb),
                    "--pgdata",
                    str(self.data_dir),
                    "--username",
                    self.user,
                    "--auth",
                    "trust",
                    "--encoding",
                    "UTF8",
                    "--locale",
                    "C",
                    "--no-sync",
                    "--no-instructions",
                ],
                what="initdb",
            )
            if not self.port:
                self.port = free_port(self.host)
            settings = {
                **SERVER_SETTINGS,
                "port": str(self.port),
                "unix_socket_directories": f"'{self.socket_dir}'",
            }
            # Written into the data dir (not passed on the command line) so start_server()
            # after stop_server() comes back with the same port and settings.
            with (self.data_dir / "postgresql.auto.conf").open("a") as conf:
                conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
            self.start_server()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (fast: open sessions are cut) and delete the temp dir."""
        if self.base_dir is None:
            return
        try:
            self.stop_server()
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = None
            atexit.unregister(self.stop)

    def start_server(self) -> None:
        """Start the server on the existing data dir (same port, same data)."""
        if self._server_running:
            return
        self._run_as_server_user(
            [
                str(self.bin_dir / "pg_ctl"),
                "start",
                "--pgdata",
                str(self.data_dir),
                "--log",
                str(self.log_file),
                "--wait",
                "--timeout",
                str(START_TIMEOUT_SECONDS),
                "--silent",
            ],
            what="pg_ctl start",
        )
        self._server_running = True

    def stop_server(self) -> None:
        """Stop the server but keep the data dir, to simulate an outage."""
        if not self._server_running or self.base_dir is None:
            return
        self._run_as_server_user(
            [
                str(self.bin_dir / "pg_ctl"),
                "stop",
                "--pgdata",
                str(self.data_dir),
                "--mode",
                "fast",
                "--wait",
                "--silent",
            ],
            what="pg_ctl stop",
        )
        self._server_running = False

    def restart(self) -> None:
        """Stop and start the server; every open connection is cut."""
        self.stop_server()
        self.start_server()

    @contextlib.contextmanager
    def down(self) -> Iterator[None]:
        """The server is stopped inside the block and started again after it, even on error."""
        self.stop_server()
        try:
            yield
        finally:
            self.start_server()

    def __enter__(self) -> ThrowawayPostgres:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- internals --------------------------------------------------------------------------
    def _base(self) -> Path:
        if self.base_dir is None:
            raise ThrowawayPostgresError("the cluster is not started")
        return self.base_dir

    def _run_as_server_user(self, command: list[str], *, what: str) -> None:
        if _running_as_root():
            command = ["runuser", "-u", POSTGRES_OS_USER, "--", *command]
        # PG* variables of the caller (for example PGPORT) must not steer our own cluster.
        environment = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        result = subprocess.run(
            command,
            env=environment,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            cwd=self.base_dir,
        )
        if result.returncode != 0:
            log = ""
            if self.base_dir is not None and self.log_file.exists():
                server_log = self.log_file.read_text(errors="replace")
                log = "\nserver log (last lines):\n" + _tail(server_log)
            raise ThrowawayPostgresError(
                f"{what} failed with exit code {result.returncode}\n"
                f"command: {' '.join(command)}\n{result.stdout}{result.stderr}{log}"
            )


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _chown_tree(path: Path, user: str) -> None:
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise ThrowawayPostgresError(
            f"running as root, but there is no {user!r} OS user to run PostgreSQL as "
            "(it comes with apt-get install postgresql-15)"
        ) from None
    for directory, _subdirs, files in os.walk(path):
        os.chown(directory, entry.pw_uid, entry.pw_gid)
        for name in files:
            os.chown(os.path.join(directory, name), entry.pw_uid, entry.pw_gid)


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.splitlines()[-lines:])
