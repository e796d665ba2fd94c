"""gunicorn settings for production and the tests' real servers (`gunicorn -c gunicorn.conf.py`).

Every value can be overridden on the command line or with GUNICORN_CMD_ARGS.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
# Threads let one worker overlap requests that wait for the log's group commit.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# On SIGTERM: stop accepting, finish in-flight requests, flush the log writer, exit.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "warning")


def worker_exit(server, worker):
    """Write every pending log row before the worker goes (after in-flight requests finished)."""
    from executions.log_writer import log_writer_stop

    log_writer_stop(timeout=graceful_timeout)
