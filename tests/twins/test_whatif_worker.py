"""A what-if request served end to end by a real Celery worker process: the API queues the job after
commit, the worker runs the PyBaMM simulation and stores the result, the caller polls it."""

from __future__ import annotations

import re

import pytest

from tests.support.worker import wait_for
from tests.twins.test_whatif import QUICK_BODY, _path
from twins.models import WhatIfRun

pytest.importorskip("pybamm")
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_a_what_if_job_is_run_by_the_worker(celery_worker_process, nasa_cell, operator_client):
    start = len(celery_worker_process.output())
    response = operator_client.post(_path(nasa_cell["id"]), QUICK_BODY, format="json")
    assert response.status_code == 202, response.json()
    job_id = response.json()["id"]

    def finished() -> dict | None:
        polled = operator_client.get(f"/api/what-if/{job_id}/").json()
        return polled if polled["status"] in ("succeeded", "failed") else None

    polled = wait_for(finished, timeout=120, interval=0.2, what="the worker to run the what-if job")
    assert polled["status"] == "succeeded", polled["error"]
    # The worker process ran it (not this process): its log has the task received and succeeded.
    log = celery_worker_process.output()[start:]
    assert re.search(r"Task twins\.run_what_if\[[0-9a-f-]+\] succeeded", log), log
    [outcome] = polled["result"]["protocols"]
    assert outcome["fade_per_cycle"] > 0
    assert polled["result"]["current_rul"]["insufficient_data"] is True  # no health twin run yet
    job = WhatIfRun.objects.get(pk=job_id)
    assert job.started_at and job.finished_at and job.started_at <= job.finished_at
