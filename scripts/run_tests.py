"""Run the whole test suite against real databases, in three phases.

    .venv/bin/python scripts/run_tests.py [--only postgres|timescaledb|sqlite] [--quick]
                                          [-- pytest args]

1. postgres:    ``pytest -m "not timescaledb"`` on PostgreSQL: $DATABASE_URL if set, else a
                server on 127.0.0.1:5432 if one answers, else a throwaway cluster made for the
                run (RULEENGINE_TEST_PG=throwaway forces the throwaway cluster).
2. timescaledb: ``pytest -m timescaledb`` on a fresh in-memory TimescaleDB (PGlite under Node);
                it has one session, so never in parallel.
3. sqlite:      ``manage.py migrate`` then ``pytest -m smoke`` on a new SQLite file.

``--quick`` leaves the ``slow`` and ``browser`` tests out of every phase (``make test-quick`` is
``--only postgres --quick``: the fast tests on PostgreSQL, chosen as above).

Each phase is its own pytest process with DATABASE_URL in its environment. The closing line,
``tests: N passed, N failed, N skipped``, sums the phases; the exit code is non-zero if any
phase failed, collected no tests, or could not get its database.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.support.postgres_cluster import ThrowawayPostgres  # noqa: E402
from tests.support.timescaledb_server import TimescaleDBTestServer  # noqa: E402

PHASES = ("postgres", "timescaledb", "sqlite")
LOCAL_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres"
POSTGRES_SCHEMES = ("postgres://", "postgresql://", "pgsql://", "psql://")
PYTEST_NO_TESTS_COLLECTED = 5
# Each phase's marker expression (pyproject.toml lists the markers).
PHASE_MARKERS = {
    "postgres": "not timescaledb",
    "timescaledb": "timescaledb",
    "sqlite": "smoke",
}
QUICK_EXCLUDED_MARKERS = ("slow", "browser")
# Settings refuse to load without a key when DEBUG is off; pyproject.toml gives pytest the same
# default, but `manage.py migrate` does not go through pytest.
TEST_SECRET_KEY = "test-only-secret-key-not-for-production-0123456789"


@dataclass
class PhaseResult:
    name: str
    database: str = ""
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    exit_code: int | None = None
    problem: str = ""
    server_seconds: float | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.problem


class DatabaseUnavailable(RuntimeError):
    """A phase could not get its database server."""


# --- databases --------------------------------------------------------------------------------
def local_postgres_answers() -> tuple[bool, str]:
    try:
        import psycopg
    except ImportError:
        return False, "psycopg is not installed in this Python"
    try:
        with psycopg.connect(LOCAL_POSTGRES_URL, connect_timeout=2):
            return True, ""
    except psycopg.Error as error:
        return False, str(error).strip().splitlines()[0]


@contextlib.contextmanager
def postgres_database(result: PhaseResult) -> Iterator[str]:
    forced = os.environ.get("RULEENGINE_TEST_PG", "")
    from_environment = os.environ.get("DATABASE_URL", "")
    if forced and forced != "throwaway":
        raise DatabaseUnavailable(f"RULEENGINE_TEST_PG={forced!r}: the only value is 'throwaway'")
    if forced != "throwaway":
        if from_environment.startswith(POSTGRES_SCHEMES):
            announce(f"PostgreSQL: {redact(from_environment)} (DATABASE_URL from the environment)")
            result.database = "DATABASE_URL"
            yield from_environment
            return
        if from_environment:
            announce("ignoring DATABASE_URL from the environment: it is not a postgres:// URL")
        answers, why_not = local_postgres_answers()
        if answers:
            announce(f"PostgreSQL: {LOCAL_POSTGRES_URL} (a server answers on 127.0.0.1:5432)")
            result.database = "local :5432"
            yield LOCAL_POSTGRES_URL
            return
        announce(f"PostgreSQL: no server on 127.0.0.1:5432 ({why_not}); starting a throwaway one")
    else:
        announce("PostgreSQL: throwaway cluster (RULEENGINE_TEST_PG=throwaway)")
    started = time.monotonic()
    try:
        cluster = ThrowawayPostgres().start()
    except Exception as error:
        message = f"could not start a throwaway PostgreSQL cluster: {error}"
        raise DatabaseUnavailable(message) from error
    result.server_seconds = time.monotonic() - started
    result.database = f"throwaway :{cluster.port}"
    announce(f"PostgreSQL: throwaway cluster at {cluster.url}, up in {result.server_seconds:.1f} s")
    try:
        yield cluster.url
    finally:
        cluster.stop()


@contextlib.contextmanager
def timescaledb_database(result: PhaseResult) -> Iterator[str]:
    started = time.monotonic()
    try:
        server = TimescaleDBTestServer().start()
    except Exception as error:
        message = f"could not start the TimescaleDB test server: {error}"
        raise DatabaseUnavailable(message) from error
    result.server_seconds = time.monotonic() - started
    result.database = f"pglite :{server.port}"
    announce(f"TimescaleDB: in-memory PGlite at {server.url}, up in {result.server_seconds:.1f} s")
    try:
        yield server.url
    finally:
        server.stop()


@contextlib.contextmanager
def sqlite_database(result: PhaseResult) -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="ruleengine-sqlite-") as directory:
        url = f"sqlite:///{directory}/smoke.sqlite3"
        result.database = "sqlite file"
        announce(f"SQLite: {url}")
        yield url


# --- running ----------------------------------------------------------------------------------
def marker_expression(name: str, *, quick: bool = False) -> str:
    """The `-m` expression of phase `name`; quick leaves out slow and browser tests."""
    expression = PHASE_MARKERS[name]
    if quick:
        expression += "".join(f" and not {marker}" for marker in QUICK_EXCLUDED_MARKERS)
    return expression


def run_phase(
    name: str, extra_args: list[str], report_dir: Path, *, quick: bool = False
) -> PhaseResult:
    result = PhaseResult(name)
    started = time.monotonic()
    banner(f"phase {name}")
    databases = {
        "postgres": postgres_database,
        "timescaledb": timescaledb_database,
        "sqlite": sqlite_database,
    }
    selection = ["-m", marker_expression(name, quick=quick)]
    if name == "timescaledb":
        # One session on the server: keep the order fixed and the process single.
        selection += ["-p", "no:randomly"]
    try:
        with databases[name](result) as url:
            environment = {**os.environ, "DATABASE_URL": url}
            if name == "sqlite":
                environment.setdefault("SECRET_KEY", TEST_SECRET_KEY)
                migrate = run([sys.executable, "manage.py", "migrate", "--noinput"], environment)
                if migrate != 0:
                    result.problem = f"manage.py migrate failed (exit {migrate})"
                    return result
            report = report_dir / f"{name}.xml"
            command = [sys.executable, "-m", "pytest", *selection, f"--junitxml={report}"]
            result.exit_code = run([*command, *extra_args], environment)
            count_results(report, result)
            if result.exit_code == PYTEST_NO_TESTS_COLLECTED:
                result.problem = "no tests collected"
            elif result.exit_code != 0:
                result.problem = f"pytest exit {result.exit_code}"
    except DatabaseUnavailable as error:
        result.problem = "database unavailable"
        print(f"\nERROR in phase {name}: {error}", file=sys.stderr, flush=True)
    finally:
        result.seconds = time.monotonic() - started
    return result


_running: subprocess.Popen | None = None


def run(command: list[str], environment: dict[str, str]) -> int:
    """Run with output streamed to ours; on Ctrl-C let the child finish its own teardown."""
    global _running
    print("$ " + " ".join(command), flush=True)
    _running = subprocess.Popen(command, cwd=REPO_ROOT, env=environment)
    try:
        while True:
            try:
                return _running.wait()
            except KeyboardInterrupt:
                # The child got the same SIGINT from the terminal; give it time to clean up.
                try:
                    _running.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    _running.kill()
                raise
    finally:
        _running = None


def count_results(report: Path, result: PhaseResult) -> None:
    if not report.exists():
        result.notes.append("pytest wrote no report")
        return
    try:
        root = ElementTree.parse(report).getroot()
    except ElementTree.ParseError as error:
        result.notes.append(f"unreadable report: {error}")
        return
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    for suite in suites:
        tests = int(suite.get("tests", 0))
        failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped = int(suite.get("skipped", 0))
        result.failed += failed
        result.skipped += skipped
        result.passed += max(tests - failed - skipped, 0)


def print_summary(results: list[PhaseResult]) -> None:
    banner("summary")
    header = ("phase", "database", "passed", "failed", "skipped", "server s", "phase s", "status")
    rows = [header]
    for r in results:
        server = f"{r.server_seconds:.1f}" if r.server_seconds is not None else "-"
        status = "ok" if r.ok else (r.problem or "failed")
        rows.append(
            (r.name, r.database or "-", str(r.passed), str(r.failed), str(r.skipped), server,
             f"{r.seconds:.1f}", status)
        )  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())
    for r in results:
        for note in r.notes:
            print(f"note ({r.name}): {note}")
    failed_phases = [r.name for r in results if not r.ok]
    if failed_phases:
        print(f"run_tests: failed phases: {', '.join(failed_phases)}")
    # The closing line must stay the last line of the output.
    passed = sum(r.passed for r in results)
    failed = sum(r.failed for r in results)
    skipped = sum(r.skipped for r in results)
    print(f"tests: {passed} passed, {failed} failed, {skipped} skipped", flush=True)


def announce(message: str) -> None:
    print(f"run_tests: {message}", flush=True)


def banner(title: str) -> None:
    print(f"\n{'=' * 20} {title} {'=' * max(0, 58 - len(title))}", flush=True)


def redact(url: str) -> str:
    """Hide a password in a URL we print."""
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if at and ":" in credentials:
        credentials = credentials.split(":", 1)[0] + ":***"
    return f"{scheme}://{credentials}{at}{host}"


def parse_arguments(argv: list[str]) -> tuple[list[str], bool, list[str]]:
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only", choices=PHASES, action="append", help="run only this phase (repeatable)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="leave out the slow and browser tests (make test-quick: --only postgres --quick)",
    )
    options = parser.parse_args(argv)
    phases = [phase for phase in PHASES if not options.only or phase in options.only]
    return phases, options.quick, extra


def main(argv: list[str]) -> int:
    phases, quick, extra_args = parse_arguments(argv)
    # SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C so the servers are stopped.
    signal.signal(signal.SIGTERM, lambda *_: _terminate())
    results: list[PhaseResult] = []
    try:
        with tempfile.TemporaryDirectory(prefix="ruleengine-test-reports-") as report_dir:
            for phase in phases:
                results.append(run_phase(phase, extra_args, Path(report_dir), quick=quick))
    except KeyboardInterrupt:
        print("\nrun_tests: interrupted; servers stopped", file=sys.stderr, flush=True)
        return 130
    print_summary(results)
    return 0 if all(r.ok for r in results) else 1


def _terminate() -> None:
    if _running is not None and _running.poll() is None:
        _running.send_signal(signal.SIGTERM)
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
