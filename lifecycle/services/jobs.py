"""Telemetry uploads handed to a Celery worker; the upload waits on disk until the job has run."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from lifecycle.models import TelemetryIngestJob
from passport.choices import JobState
from passport.exceptions import CellpassError
from passport.models import Battery, Organisation


def upload_dir() -> Path:
    path = Path(settings.VAR_DIR) / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def submit(battery: Battery, upload, *, actor: Organisation, user=None, format: str | None = None):
    """Keep the uploaded file and queue its ingest; returns the job."""
    name = getattr(upload, "name", "") or "upload"
    target = upload_dir() / f"{uuid.uuid4().hex}-{Path(name).name}"
    with open(target, "wb") as handle:
        if hasattr(upload, "chunks"):
            for chunk in upload.chunks():
                handle.write(chunk)
        else:
            shutil.copyfileobj(upload, handle)
    job = TelemetryIngestJob.objects.create(
        battery=battery,
        actor=actor,
        submitted_by=user if getattr(user, "is_authenticated", False) else None,
        path=str(target),
        filename=Path(name).name,
        format=format or "",
    )
    from lifecycle.tasks import run_telemetry_ingest

    transaction.on_commit(lambda: run_telemetry_ingest.delay(str(job.pk)))
    return job


def run(job_id: str) -> TelemetryIngestJob:
    from lifecycle.services.telemetry import ingest

    job = TelemetryIngestJob.objects.select_related("battery__model", "actor").get(pk=job_id)
    if job.state in (JobState.SUCCEEDED, JobState.FAILED):
        return job  # a redelivered message after a crash: the work is done
    TelemetryIngestJob.objects.filter(pk=job.pk).update(state=JobState.RUNNING)
    try:
        result = ingest(
            job.battery,
            Path(job.path),
            actor=job.actor,
            user=job.submitted_by,
            filename=job.filename,
            format=job.format or None,
        )
    except CellpassError as exc:
        job.state, job.errors = (
            JobState.FAILED,
            exc.as_dict().get("errors", [{"path": "/", "message": exc.message}]),
        )
        job.result = {"code": exc.code, "message": exc.message}
    else:
        job.state, job.result = JobState.SUCCEEDED, _jsonable(result.summary())
    job.finished_at = timezone.now()
    job.save(update_fields=["state", "errors", "result", "finished_at"])
    Path(job.path).unlink(missing_ok=True)
    return job


def _jsonable(summary: dict) -> dict:
    return {
        key: value.isoformat() if hasattr(value, "isoformat") else value for key, value in summary.items()
    }
