"""The non-production worker slots (ruleengine/worker_slots.py): real locks across real processes.

Each slot is an flock on a file of the slot directory, so it holds between processes (gunicorn's
workers) and threads, and the kernel drops it with the process that held it.
"""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from ruleengine import worker_slots
from ruleengine.worker_slots import WorkersBusy, worker_slot
from tests.support.app_server import ROOT

HOLDER = """
import sys
from django.conf import settings
settings.configure(
    NON_PRODUCTION_CONCURRENCY=int(sys.argv[1]),
    NON_PRODUCTION_SLOT_DIR=sys.argv[2],
    NON_PRODUCTION_SLOT_WAIT_SECONDS=0,
)
from ruleengine.worker_slots import worker_slot
with worker_slot():
    print("held", flush=True)
    sys.stdin.read()  # until the test closes stdin or kills this process
"""


@pytest.fixture
def slots(settings, tmp_path):
    """slots(concurrency, wait=0): this node's pool in a fresh directory."""

    def configure(concurrency: int, wait: float = 0.0):
        settings.NON_PRODUCTION_CONCURRENCY = concurrency
        settings.NON_PRODUCTION_SLOT_WAIT_SECONDS = wait
        settings.NON_PRODUCTION_SLOT_DIR = str(tmp_path / "slots")
        return settings.NON_PRODUCTION_SLOT_DIR

    return configure


def holder_process(concurrency: int, directory: str) -> subprocess.Popen:
    """Another process (a worker, say) that takes a slot and keeps it until killed."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(concurrency), directory],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "held"
    return process


def slot_free() -> bool:
    try:
        with worker_slot():
            return True
    except WorkersBusy:
        return False


def test_slots_taken_by_other_processes_refuse_the_next_and_die_with_their_holder(slots):
    directory = slots(2)
    first, second = holder_process(2, directory), holder_process(2, directory)
    try:
        with pytest.raises(WorkersBusy) as refused, worker_slot():
            pass
        assert refused.value.status_code == 503
        assert refused.value.error_code == "non_production_busy"
        assert refused.value.headers == {"Retry-After": "1"}
        assert "limit of 2 non-production jobs" in str(refused.value.detail)
        # A worker killed mid-request (gunicorn's timeout, OOM) gives its slot back.
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        assert slot_free()
    finally:
        for process in (first, second):
            process.kill()
            process.wait(10)
    assert slot_free()


def test_one_request_waits_for_a_slot_and_every_other_is_refused_at_once(slots):
    slots(1, wait=5.0)
    release = threading.Event()
    held = threading.Event()
    waited: dict = {}

    def holder():
        with worker_slot():
            held.set()
            release.wait(10)

    def waiter():
        started = time.monotonic()
        with worker_slot():
            waited["seconds"] = time.monotonic() - started

    threads = [threading.Thread(target=holder)]
    threads[0].start()
    assert held.wait(5)
    threads.append(threading.Thread(target=waiter))
    threads[1].start()
    time.sleep(0.3)  # the waiter holds the node's one waiting place now
    try:
        started = time.monotonic()
        assert not slot_free()
        # Refused without waiting: a waiting sync worker would serve nobody else meanwhile.
        assert time.monotonic() - started < 0.2
    finally:
        release.set()
        for thread in threads:
            thread.join(10)
    assert 0.3 <= waited["seconds"] < 5.0


def test_the_wait_for_a_slot_is_bounded(slots):
    slots(1, wait=0.3)
    with worker_slot():
        started = time.monotonic()
        assert not slot_free()
        assert 0.3 <= time.monotonic() - started < 1.0
    assert slot_free()


def test_concurrency_zero_turns_the_pool_off(slots):
    slots(0)
    with worker_slot(), worker_slot(), worker_slot():
        pass


def test_without_a_directory_each_process_has_a_pool_of_its_own(settings):
    settings.NON_PRODUCTION_SLOT_DIR = ""
    settings.NON_PRODUCTION_CONCURRENCY = 1
    settings.NON_PRODUCTION_SLOT_WAIT_SECONDS = 0
    directory = worker_slots.slot_directory()
    assert directory.is_dir() and directory == worker_slots.slot_directory()
    with worker_slot():
        assert not slot_free()
    assert slot_free()
