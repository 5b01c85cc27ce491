"""Bulk registration as a background job, run by a real Celery worker process."""

from __future__ import annotations

import pytest

from passport.models import Battery, BulkRegistrationJob
from tests.support.fixtures import cell_rows
from tests.support.worker import job_finished, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_worker_registers_a_bulk_job(celery_worker_process, operator_client, cell_model):
    response = operator_client.post(
        "/api/batteries/bulk/?async=1", {"batteries": cell_rows(2500)}, format="json"
    )
    assert response.status_code == 202, response.json()
    job = wait_for(job_finished(BulkRegistrationJob, response.json()["id"]), timeout=120, what="the bulk job")
    assert job.state == "succeeded", job.errors
    assert job.created_count == 2500
    assert Battery.objects.count() == 2500
    assert operator_client.get(f"/api/jobs/{job.id}/").json()["state"] == "succeeded"
    assert f"{job.id}" in celery_worker_process.output()  # it ran in the worker, not in this process


def test_worker_reports_a_bad_row_and_stores_nothing(celery_worker_process, operator_client, cell_model):
    rows = cell_rows(300)
    rows[123]["model"] = "UNKNOWN"
    response = operator_client.post("/api/batteries/bulk/?async=1", {"batteries": rows}, format="json")
    assert response.status_code == 202
    job = wait_for(job_finished(BulkRegistrationJob, response.json()["id"]), timeout=120, what="the bulk job")
    assert job.state == "failed"
    assert job.errors[0]["errors"][0] == {
        "row": 123,
        "path": "/model",
        "message": job.errors[0]["errors"][0]["message"],
    }
    assert Battery.objects.count() == 0
