"""gunicorn settings for production and the tests' real servers (`gunicorn -c gunicorn.conf.py`).

Every value can be overridden on the command line or with GUNICORN_CMD_ARGS.
"""

import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Sync workers, two per core: measured on 2 cores (benchmarks/api.py), 4 sync workers serve the
# evaluate path faster and with a tighter p99 than 6 sync workers or 2 gthread workers x 8
# threads, whose event loop and thread hand-offs cost more CPU per request than they save.
# PostgreSQL groups the concurrent commits of the workers itself.
# GUNICORN_THREADS > 1 switches to gthread (for slow clients without a buffering proxy).
workers = int(os.environ.get("GUNICORN_WORKERS", str(multiprocessing.cpu_count() * 2)))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
# Tells settings.py how many threads serve requests in a worker, so that on PostgreSQL the
# default EXECUTION_LOG_WRITER is "direct" for sync workers and "group" for threaded ones.
os.environ["RULEENGINE_WORKER_THREADS"] = str(threads)
# Non-production work (dry runs, try-it, test runs, backtests) takes one of a few slots shared by
# this master's workers (ruleengine/worker_slots.py): their lock files live in a directory of the
# master's own, made here and removed on exit. NON_PRODUCTION_SLOT_DIR, if set, wins. Kept across
# a reload (SIGHUP), so old and new workers share one pool.
WORKER_SLOT_PREFIX = "ruleengine-worker-slots-"
_slot_directory = os.environ.get("RULEENGINE_WORKER_SLOT_DIR", "")
if not (_slot_directory and Path(_slot_directory).is_dir()):
    os.environ["RULEENGINE_WORKER_SLOT_DIR"] = tempfile.mkdtemp(prefix=WORKER_SLOT_PREFIX)
# On SIGTERM: stop accepting, finish in-flight requests, flush the log writer, exit.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "warning")


# Load the app in the master: workers share its memory, start fast, and see import errors at once.
preload_app = os.environ.get("GUNICORN_PRELOAD", "true").lower() == "true"


def post_fork(server, worker):
    """Keep the objects loaded before the fork out of the garbage collector's full passes.

    Django, DRF and the compiled code are long-lived; without this, each full collection walks
    them again, which shows up as latency spikes on the evaluate path.
    """
    import gc

    gc.freeze()


def worker_exit(server, worker):
    """Write every pending log row before the worker goes (after in-flight requests finished)."""
    from executions.log_writer import log_writer_stop

    log_writer_stop(timeout=graceful_timeout)


def on_exit(server):
    """Remove this master's slot directory (never one NON_PRODUCTION_SLOT_DIR named)."""
    directory = Path(os.environ.get("RULEENGINE_WORKER_SLOT_DIR", ""))
    if directory.name.startswith(WORKER_SLOT_PREFIX):
        shutil.rmtree(directory, ignore_errors=True)
