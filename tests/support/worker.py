"""A real Celery worker process, started once per test session against the test database."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _database_url(settings_dict: dict) -> str:
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user = quote(settings_dict.get("USER") or "")
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{quote(password)}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


class WorkerProcess:
    def __init__(self, process: subprocess.Popen, log: Path):
        self.process = process
        self.log = log

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def unfinished_tasks(self) -> set[str]:
        """Ids of the tasks the worker has received and not yet finished, from its log."""
        log = self.output()
        received = set(_RECEIVED.findall(log))
        return received - set(_FINISHED.findall(log))

    def wait_idle(self, timeout: float = 90) -> bool:
        """Wait until every task the worker received has finished, twice 0.5 s apart (a task queued by the
        last one arrives in between); False on timeout."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while time.monotonic() < deadline:
            quiet = quiet + 1 if not self.unfinished_tasks() else 0
            if quiet >= 2:
                return True
            time.sleep(0.5)
        return False


_RECEIVED = re.compile(r"Task [\w.]+\[([0-9a-f-]+)\] received")
_FINISHED = re.compile(r"Task [\w.]+\[([0-9a-f-]+)\] (?:succeeded|raised|retry|failed|rejected)")


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory):
    """Start ``celery worker`` as a separate process reading the test database."""
    from django.conf import settings
    from django.db import connection

    log = tmp_path_factory.mktemp("worker") / "worker.log"
    env = dict(os.environ)
    env["DATABASE_URL"] = _database_url(connection.settings_dict)
    env["CELERY_TASK_DEFAULT_QUEUE"] = settings.CELERY_TASK_DEFAULT_QUEUE
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--loglevel=INFO",
        "--concurrency=2",
        "-Q",
        settings.CELERY_TASK_DEFAULT_QUEUE,
        "--without-gossip",
        "--without-mingle",
        "-n",
        f"test-{os.getpid()}@%h",
    ]
    with log.open("wb") as handle:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
    worker = WorkerProcess(process, log)
    deadline = time.monotonic() + 90
    while " ready." not in worker.output():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the Celery worker did not start:\n{worker.output()[-4000:]}")
        time.sleep(0.2)
    yield worker
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_for(predicate, *, timeout: float = 60, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def job_finished(model, pk):
    """A predicate for ``wait_for``: the job row once it has succeeded or failed."""

    def check():
        job = model.objects.get(pk=pk)
        return job if job.state in ("succeeded", "failed") else None

    return check


@pytest.fixture(autouse=True)
def _worker_idle_before_flush(request):
    """A worker test's database is flushed after it; the worker may still be running a task the test set
    off (the health twin queued by an ingest), and a flush racing its transaction deadlocks. Wait for the
    worker to go idle first. The database fixture is set up before this one, so torn down after it."""
    if "celery_worker_process" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("transactional_db")
    worker = request.getfixturevalue("celery_worker_process")
    yield
    worker.wait_idle()
