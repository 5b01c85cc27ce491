"""A physics calibration served end to end by a real Celery worker process, and a what-if run on the
calibrated cell after it: the API queues each job after commit, the worker fits (or simulates) and stores,
the caller polls."""

from __future__ import annotations

import re

import pytest

from tests.support.worker import wait_for
from tests.twins.test_physics_calibration_service import BUDGET_S
from tests.twins.test_whatif import QUICK_BODY

pytest.importorskip("pybamm")
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def _finished(client, url: str):
    def poll() -> dict | None:
        polled = client.get(url).json()
        return polled if polled["status"] in ("succeeded", "failed") else None

    return poll


def test_the_worker_calibrates_and_what_if_uses_the_calibrated_cell(
    celery_worker_process, measured_cell, operator_client
):
    start = len(celery_worker_process.output())
    response = operator_client.post(
        f"/api/batteries/{measured_cell.pk}/physics-calibration/", {"budget_s": BUDGET_S}, format="json"
    )
    assert response.status_code == 202, response.json()
    job = wait_for(_finished(operator_client, response["Location"]), timeout=180, interval=0.5,
                   what="the worker to calibrate")  # fmt: skip
    assert job["status"] == "succeeded", job["error"]
    log = celery_worker_process.output()[start:]
    assert re.search(r"Task twins\.calibrate_physics\[[0-9a-f-]+\] succeeded", log), log
    assert job["result"]["outputs"]["fit"]["voltage_mape_pct"] < 0.5

    response = operator_client.post(f"/api/batteries/{measured_cell.pk}/what-if/", QUICK_BODY, format="json")
    assert response.status_code == 202, response.json()
    polled = wait_for(_finished(operator_client, response["Location"]), timeout=180, interval=0.5,
                      what="the worker to run the what-if job")  # fmt: skip
    assert polled["status"] == "succeeded", polled["error"]
    physics = polled["result"]["physics"]
    assert physics["calibration_run"] == job["twin_run"]
    assert physics["cell_source"].startswith("calibrated to the battery's discharge cycle 1")
    [outcome] = polled["result"]["protocols"]
    assert outcome["fade_per_cycle"] > 0, outcome
