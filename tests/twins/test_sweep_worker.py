"""A fleet sweep run by a real Celery worker whose pool process is SIGKILLed in the middle of a task:
the task is put back on the queue, runs again, and every cell still ends with exactly one result."""

from __future__ import annotations

import os
import re
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db.models import Count

from lifecycle.choices import EventType
from lifecycle.models import LifecycleEvent
from tests.support.worker import wait_for
from twins import tasks
from twins.models import TwinRun

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

CELLS = 60
BATCH = 6


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return -1
    return int(fields[11]) + int(fields[12])  # utime + stime


def _busy_pool_process(worker_pid: int) -> int | None:
    """A pool process of the worker that is using CPU now, i.e. running a task (pool processes do
    nothing else)."""
    try:
        children = [
            int(pid) for pid in Path(f"/proc/{worker_pid}/task/{worker_pid}/children").read_text().split()
        ]
    except OSError:
        return None
    before = {pid: _cpu_ticks(pid) for pid in children}
    time.sleep(0.05)
    busy = [pid for pid in children if _cpu_ticks(pid) > before[pid] >= 0]
    return busy[0] if busy else None


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="finds pool processes through /proc")
def test_a_sweep_survives_a_killed_pool_process(celery_worker_process, manufacturer, cell_model):
    from benchmarks.fleet_sweep import seed_fleet

    ids = seed_fleet(manufacturer, cell_model, CELLS, prefix="W", seed=5)
    start = len(celery_worker_process.output())

    def log() -> str:
        return celery_worker_process.output()[start:]

    sweep = tasks.fleet_sweep.delay(BATCH)
    # Its batches are queued (so the process to kill is running one of them, not the sweep itself).
    wait_for(
        lambda: f"twins.fleet_sweep[{sweep.id}] succeeded" in log(),
        timeout=30,
        interval=0.02,
        what="the sweep to queue its batches",
    )

    def kill_a_busy_pool_process():
        if TwinRun.objects.count() >= CELLS:
            pytest.fail("the sweep ended before a pool process could be killed in a task")
        pid = _busy_pool_process(celery_worker_process.pid)
        if pid is None:
            return None
        os.kill(pid, signal.SIGKILL)
        return pid

    killed = wait_for(kill_a_busy_pool_process, timeout=60, interval=0.02, what="a pool process in a task")
    # The worker saw its pool process die with a task (rather than between two tasks) and puts the
    # task back on the queue (acks_late + reject_on_worker_lost); it is delivered a second time.
    wait_for(lambda: "WorkerLostError" in log(), timeout=30, what=f"the loss of pool process {killed}")

    def executions() -> tuple[Counter, int]:
        received = Counter(re.findall(r"Task twins\.assess_batteries\[([0-9a-f-]+)\] received", log()))
        return received, len(re.findall(r"Task twins\.assess_batteries\[[0-9a-f-]+\] succeeded", log()))

    wait_for(lambda: max(executions()[0].values(), default=0) == 2, timeout=60, what="the redelivery")
    wait_for(lambda: executions()[1] == CELLS // BATCH, timeout=90, what="every batch to succeed once")

    received, _ = executions()
    assert len(received) == CELLS // BATCH and sorted(received.values())[-2:] == [1, 2]
    runs = TwinRun.objects.filter(battery_id__in=ids)
    results = LifecycleEvent.objects.filter(battery_id__in=ids, type=EventType.TWIN_RESULT)
    assert runs.count() == CELLS and results.count() == CELLS
    assert runs.values("battery_id").distinct().count() == CELLS
    assert not runs.values("battery_id").annotate(n=Count("id")).filter(n__gt=1).exists()
