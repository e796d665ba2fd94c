"""Benchmark: the evaluate API under gunicorn against PostgreSQL, with logging on.

Run from the repository root (needs `wrk`, and a PostgreSQL server):

    python benchmarks/api.py [--database-url postgres://postgres@127.0.0.1:5432/postgres]
                             [--duration 15] [--connections 10] [--rounds 3]
                             [--configs group-notify,...]

It creates two scratch databases next to the one named (dropped afterwards): one for this
product (migrated, the 50-rule benchmark ruleset of benchmarks/data imported and active, an API
client) and one for the baseline of benchmarks/baseline/ (the simplest DRF endpoint that
authenticates a token, reads one row and inserts one, 2 sync workers). It then runs, `--rounds`
times and alternating, the baseline and this product on the default configuration of
gunicorn.conf.py, each driven by wrk for `--duration` seconds over `--connections` connections
after a 3 s warm-up, cycling the 1,000 inputs, and prints each run and the ratio of requests/s
(the figure of record: these machines vary by 2x from day to day, a same-run ratio does not).
`--configs` adds runs of other server configurations (see CONFIGS). After each run it checks that
the number of log rows equals the number of 2xx responses. Finally it times 1,000-item batches.
Exits non-zero if rows were lost.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
BASELINE_DIR = ROOT / "benchmarks" / "baseline"
DEFAULT_BENCH_DIR = ROOT / "benchmarks" / "data"
CONFIGS = {
    # name: (EXECUTION_LOG_WRITER, CACHE_INVALIDATION, worker class, workers, threads)
    "inline-query": ("inline", "query", "gthread", 2, 8),
    "group-query": ("group", "query", "gthread", 2, 8),
    "group-notify": ("group", "notify", "gthread", 2, 8),
    "group-notify-sync4": ("group", "notify", "sync", 4, 1),
    "direct-notify-sync4": ("direct", "notify", "sync", 4, 1),
    "direct-notify-sync6": ("direct", "notify", "sync", 6, 1),
    "group-notify-sync6": ("group", "notify", "sync", 6, 1),
    "group-notify-sync8": ("group", "notify", "sync", 8, 1),
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def scratch_url(base_url: str, name: str) -> str:
    parts = urlsplit(base_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def psql(base_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(base_url, autocommit=True) as connection:
        connection.execute(sql)


def django_env(database_url: str, **extra) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECRET_KEY": "benchmark-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Only the API is measured: no collectstatic (a node with the manifest on needs it).
        "STATIC_MANIFEST": "false",
        "LOG_LEVEL": "WARNING",
        "EVALUATE_RATE_LIMIT": "1000000/s",
        **extra,
    }


def manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout


def prepare(database_url: str, bench_dir: Path) -> str:
    """Migrate, import and activate the benchmark ruleset; returns an API token."""
    env = django_env(database_url)
    manage(env, "migrate", "--noinput")
    manage(env, "create_tenant", "bench", "--name", "Benchmark")
    manage(
        env,
        "import_rules",
        str(bench_dir / "ruleset_50_flat.json"),
        "--tenant",
        "bench",
        "--name",
        "bench50",
        "--version",
        "1.0",
        "--activate",
        # The file is in the original system's format, which imports with the original's
        # semantics; the benchmark measures the product's own (the default for rulesets authored
        # here), as the engine benchmark does.
        "--semantics",
        "strict",
    )
    return manage(
        env, "create_api_client", "--tenant", "bench", "--name", "wrk", "--role", "viewer"
    ).strip()


def baseline_prepare(database_url: str) -> str:
    """Migrate the baseline project, create its user, token and ruleset; returns the token."""
    env = {**os.environ, "BASELINE_DATABASE_URL": database_url}
    command = [sys.executable, "manage.py"]
    subprocess.run([*command, "migrate", "--noinput", "-v0"], cwd=BASELINE_DIR, env=env, check=True)
    setup = (
        "from django.contrib.auth.models import User; "
        "from rest_framework.authtoken.models import Token; "
        "from scoring.models import Ruleset; "
        "Ruleset.objects.create(name='bench50'); "
        "print(Token.objects.create(user=User.objects.create_user('wrk')).key)"
    )
    result = subprocess.run(
        [*command, "shell", "-c", setup],
        cwd=BASELINE_DIR,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    # Django's shell may print its automatic imports first: the token is the last line.
    return result.stdout.strip().splitlines()[-1]


def baseline_log_rows(database_url: str) -> int:
    import psycopg

    with psycopg.connect(database_url) as connection:
        return connection.execute("select count(*) from scoring_log").fetchone()[0]


WRK_SCRIPT = """
local bodies = {}
for line in io.lines("%(inputs)s") do
  bodies[#bodies + 1] = '{"ruleset": "bench50", "data": ' .. line .. '}'
end
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Token %(token)s"
request = function()
  counter = counter + 1
  return wrk.format(nil, "%(path)s", nil, bodies[(counter %% #bodies) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%%d non2xx=%%d errors=%%d p50=%%.3f p99=%%.3f\\n",
    summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


class Server:
    """gunicorn on a free loopback port: this product (gunicorn.conf.py, its defaults unless a
    shape is given) or, with `baseline=True`, the baseline project with 2 sync workers."""

    def __init__(
        self,
        env: dict,
        worker_class: str | None = None,
        workers: int | None = None,
        threads: int | None = None,
        *,
        baseline: bool = False,
    ):
        self.port = free_port()
        self.env = env
        self.worker_class, self.workers, self.threads = worker_class, workers, threads
        self.baseline = baseline

    def command(self) -> list[str]:
        command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}"]
        if self.baseline:
            return [*command, "baseline_project.wsgi", "--workers", "2", "--log-level", "warning"]
        command += ["ruleengine.wsgi", "--config", str(ROOT / "gunicorn.conf.py")]
        if self.workers is not None:
            command += ["--workers", str(self.workers), "--worker-class", self.worker_class]
            command += ["--threads", str(self.threads)]
        return [*command, "--log-level", "warning"]

    def __enter__(self):
        self.process = subprocess.Popen(
            self.command(), cwd=BASELINE_DIR if self.baseline else ROOT, env=self.env
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1):
                    return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(30)


def log_rows(database_url: str) -> int:
    import psycopg

    with psycopg.connect(database_url) as connection:
        return connection.execute("select count(*) from executions_executionlog").fetchone()[0]


def run_wrk(port: int, script: Path, duration: int, connections: int) -> dict:
    output = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    match = re.search(
        r"RESULT requests=(\d+) non2xx=(\d+) errors=(\d+) p50=([\d.]+) p99=([\d.]+)", output
    )
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    requests, non2xx, errors = (int(match.group(i)) for i in (1, 2, 3))
    return {
        "requests": requests,
        "ok": requests - non2xx,
        "errors": errors + non2xx,
        "rps": float(rate.group(1)),
        "p50": float(match.group(4)),
        "p99": float(match.group(5)),
    }


def run_batches(port: int, token: str, inputs: list[str], rounds: int = 20) -> float:
    items = [json.loads(line) for line in inputs]
    body = json.dumps({"ruleset": "bench50", "items": items}).encode()
    started = time.perf_counter()
    for _ in range(rounds):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/evaluate/batch",
            data=body,
            headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 200
    return rounds * len(items) / (time.perf_counter() - started)


def measure(server: Server, script: Path, arguments, count_rows) -> dict:
    """A warm-up (caches, compiled rulesets, connections), then the measured wrk run."""
    run_wrk(server.port, script, 3, arguments.connections)
    before = count_rows()
    result = run_wrk(server.port, script, arguments.duration, arguments.connections)
    result["rows"] = count_rows() - before
    result["lost"] = result["ok"] - result["rows"]
    return result


def result_line(label: str, shape: str, result: dict) -> str:
    lost = f"  LOST {result['lost']}" if result["lost"] > 0 else ""
    return (
        f"{label:<18} {shape:<12} {result['rps']:>7.0f} {result['p50']:>7.2f} "
        f"{result['p99']:>7.2f} {result['ok']:>7} {result['errors']:>6} {result['rows']:>9}{lost}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--bench-dir", type=Path, default=DEFAULT_BENCH_DIR)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="baseline/product alternations")
    parser.add_argument("--configs", default="", help="extra configurations: " + ",".join(CONFIGS))
    arguments = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install -y wrk)", file=sys.stderr)
        return 2

    name = f"ruleengine_bench_api_{os.getpid()}"
    baseline_name = f"{name}_baseline"
    database_url = scratch_url(arguments.database_url, name)
    baseline_url = scratch_url(arguments.database_url, baseline_name)
    psql(arguments.database_url, f"create database {name}")
    psql(arguments.database_url, f"create database {baseline_name}")
    failures = 0
    try:
        token = prepare(database_url, arguments.bench_dir)
        baseline_token = baseline_prepare(baseline_url)
        inputs_path = arguments.bench_dir / "inputs_1000.jsonl"
        inputs = inputs_path.read_text().splitlines()
        with tempfile.TemporaryDirectory() as scratch:
            script = Path(scratch) / "evaluate.lua"
            script.write_text(
                WRK_SCRIPT % {"inputs": inputs_path, "token": token, "path": "/api/v1/evaluate"}
            )
            baseline_script = Path(scratch) / "baseline.lua"
            baseline_script.write_text(
                WRK_SCRIPT % {"inputs": inputs_path, "token": baseline_token, "path": "/evaluate"}
            )
            print(
                f"evaluate, 50 rules, logging on, "
                f"wrk {arguments.connections} connections x {arguments.duration}s"
            )
            print(
                f"{'configuration':<18} {'gunicorn':<12} {'req/s':>7} {'p50 ms':>7} "
                f"{'p99 ms':>7} {'2xx':>7} {'errors':>6} {'log rows':>9}"
            )
            ratios = []
            default_env = django_env(database_url)
            for _ in range(arguments.rounds):
                baseline_env = {**os.environ, "BASELINE_DATABASE_URL": baseline_url}
                with Server(baseline_env, baseline=True) as server:
                    base = measure(
                        server, baseline_script, arguments, lambda: baseline_log_rows(baseline_url)
                    )
                print(result_line("baseline", "sync 2x1", base))
                with Server(default_env) as server:
                    ours = measure(server, script, arguments, lambda: log_rows(database_url))
                print(result_line("default", "conf defaults", ours))
                failures += (base["lost"] > 0) + (ours["lost"] > 0)
                ratios.append(ours["rps"] / base["rps"])
                print(f"{'':<18} ratio {ratios[-1]:.2f}x")
            if ratios:
                ratios.sort()
                print(
                    f"ratio to the baseline (req/s): median {ratios[len(ratios) // 2]:.2f}x, "
                    f"range {ratios[0]:.2f}x-{ratios[-1]:.2f}x over {len(ratios)} rounds"
                )
            for config in filter(None, arguments.configs.split(",")):
                writer, cache, worker_class, workers, threads = CONFIGS[config]
                env = django_env(
                    database_url, EXECUTION_LOG_WRITER=writer, CACHE_INVALIDATION=cache
                )
                with Server(env, worker_class, workers, threads) as server:
                    result = measure(server, script, arguments, lambda: log_rows(database_url))
                failures += result["lost"] > 0
                print(result_line(config, f"{worker_class} {workers}x{threads}", result))
            with Server(django_env(database_url)) as server:
                rate = run_batches(server.port, token, inputs)
            print(f"batch of 1,000 items, one client: {rate:,.0f} evaluations/s (logged)")
    finally:
        psql(arguments.database_url, f"drop database if exists {name} with (force)")
        psql(arguments.database_url, f"drop database if exists {baseline_name} with (force)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
