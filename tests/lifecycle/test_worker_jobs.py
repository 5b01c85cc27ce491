"""Telemetry ingest and anchoring run by a real Celery worker process."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from lifecycle.choices import AnchorState, EventType
from lifecycle.models import Anchor, TelemetryBatch, TelemetryIngestJob
from lifecycle.provenance.verifier import verify_bundle
from lifecycle.services import bundles, demo
from passport.models import Battery
from tests.lifecycle.conftest import post_event
from tests.support.worker import job_finished, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_worker_ingests_an_uploaded_file(celery_worker_process, operator_client, cells):
    content = demo.synthetic_cycles_csv(5.0, 3.6, 3, dt.datetime(2026, 4, 1, tzinfo=dt.UTC), random.Random(5))
    response = operator_client.post(
        f"/api/batteries/{cells[0]['id']}/telemetry/?async=1",
        {"file": SimpleUploadedFile("bms.csv", content)},
        format="multipart",
    )
    assert response.status_code == 202, response.json()
    job = wait_for(
        job_finished(TelemetryIngestJob, response.json()["id"]), timeout=120, what="the telemetry job"
    )
    assert job.state == "succeeded", job.errors
    assert job.result["cycles"] == 6 and job.result["created"] is True
    assert TelemetryBatch.objects.get().sample_count == job.result["samples"]
    assert operator_client.get(f"/api/telemetry-jobs/{job.id}/").json()["state"] == "succeeded"
    assert "lifecycle.run_telemetry_ingest[" in celery_worker_process.output()  # ran in the worker


def test_worker_reports_a_bad_file_and_stores_nothing(celery_worker_process, operator_client, cells):
    response = operator_client.post(
        f"/api/batteries/{cells[0]['id']}/telemetry/?async=1",
        {"file": SimpleUploadedFile("bms.csv", b"time,voltage[V],current[A]\n1,3.7,1\n")},
        format="multipart",
    )
    job = wait_for(
        job_finished(TelemetryIngestJob, response.json()["id"]), timeout=120, what="the telemetry job"
    )
    assert job.state == "failed"
    assert "temperature" in job.errors[0]["path"]
    assert TelemetryBatch.objects.count() == 0


def test_worker_anchors_the_log(celery_worker_process, operator_client, cells):
    post_event(operator_client, cells[0]["id"], EventType.INSPECTION, {"passed": True, "findings": "ok"})
    from lifecycle.tasks import anchor_tree_head

    anchor_tree_head.delay()
    anchor = wait_for(
        lambda: Anchor.objects.filter(state=AnchorState.CONFIRMED).first(), timeout=120, what="the anchor"
    )
    assert anchor.tree_head.tree_size == 1 and anchor.tx_hash.startswith("0x")
    report = verify_bundle(bundles.for_battery(Battery.objects.get(pk=cells[0]["id"])))
    assert report.ok, report.failures
