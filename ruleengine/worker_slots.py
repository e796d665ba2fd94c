"""A small pool of worker slots per node for non-production work: dry runs, try-it, test runs and
backtests. At most NON_PRODUCTION_CONCURRENCY requests of a node run such work at once, so it can
never occupy every worker production evaluations need; production evaluate never takes a slot.

A slot is an exclusive `flock` on one of NON_PRODUCTION_CONCURRENCY files in the slot directory.
It holds across the worker processes and threads of a node (each take opens its own file
description), and the kernel releases it when a worker dies, so a killed worker never leaks one.
When every slot is taken, one request per node (the holder of the `waiting` lock) may wait up to
NON_PRODUCTION_SLOT_WAIT_SECONDS for one; every other is refused at once with a 503 and
Retry-After, because a waiting sync worker serves nobody else either.

The directory is NON_PRODUCTION_SLOT_DIR; gunicorn.conf.py gives each master one of its own
(RULEENGINE_WORKER_SLOT_DIR). Without either (runserver, tests), each process has its own.
"""

import atexit
import fcntl
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from rest_framework import status

from ruleengine.api.errors import ApiError

POLL_SECONDS = 0.02
RETRY_AFTER_SECONDS = 1
_process_directory: tuple[int, Path] | None = None
_made_directories: set[str] = set()


class WorkersBusy(ApiError):
    """Every non-production slot of this node is taken: 503 with Retry-After.

    An ApiError, so that API views answer it in the API's error shape with no code of their own;
    the admin pages catch it and show a page.
    """

    def __init__(self, concurrency: int):
        jobs = "job" if concurrency == 1 else "jobs"
        super().__init__(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            code="non_production_busy",
            message=f"This server is running its limit of {concurrency} non-production {jobs} "
            "(dry runs, try-it runs, test runs, backtests) at a time, kept low so that "
            "production evaluations always have free workers. Retry shortly.",
            details={"concurrency": concurrency},
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
        self.concurrency = concurrency
        self.retry_after = RETRY_AFTER_SECONDS


def slot_directory() -> Path:
    """Where this node's lock files are: NON_PRODUCTION_SLOT_DIR, else this process's own."""
    global _process_directory
    configured = settings.NON_PRODUCTION_SLOT_DIR
    if configured:
        if configured not in _made_directories:
            Path(configured).mkdir(mode=0o700, parents=True, exist_ok=True)
            _made_directories.add(configured)
        return Path(configured)
    if _process_directory is None or _process_directory[0] != os.getpid():
        directory = Path(tempfile.mkdtemp(prefix="ruleengine-worker-slots-"))
        atexit.register(shutil.rmtree, directory, True)
        _process_directory = (os.getpid(), directory)
    return _process_directory[1]


def _lock(path: Path) -> int | None:
    """A file descriptor holding an exclusive lock on `path`, or None if someone else holds it."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return None
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _slot_take(directory: Path, concurrency: int) -> int | None:
    for number in range(concurrency):
        descriptor = _lock(directory / f"slot-{number}")
        if descriptor is not None:
            return descriptor
    return None


@contextmanager
def worker_slot():
    """Hold one of this node's non-production slots for the block; WorkersBusy if none frees up.

    NON_PRODUCTION_CONCURRENCY=0 turns the pool off (no limit).
    """
    concurrency = settings.NON_PRODUCTION_CONCURRENCY
    if concurrency <= 0:
        yield
        return
    directory = slot_directory()
    descriptor = _slot_take(directory, concurrency)
    if descriptor is None:
        descriptor = _wait_for_slot(directory, concurrency)
    try:
        yield
    finally:
        os.close(descriptor)  # closing the file releases its lock


def _wait_for_slot(directory: Path, concurrency: int) -> int:
    waiting = _lock(directory / "waiting")
    if waiting is None:  # another request of this node is already waiting
        raise WorkersBusy(concurrency)
    try:
        deadline = time.monotonic() + settings.NON_PRODUCTION_SLOT_WAIT_SECONDS
        while time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            descriptor = _slot_take(directory, concurrency)
            if descriptor is not None:
                return descriptor
    finally:
        os.close(waiting)
    raise WorkersBusy(concurrency)
