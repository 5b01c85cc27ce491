"""Bulk registrations run by a Celery worker, for requests too large to wait on."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from passport.choices import JobState
from passport.exceptions import CellpassError, ErrorCollector
from passport.models import BulkRegistrationJob, Organisation
from passport.services import registration

# A job may carry far more rows than a synchronous request.
JOB_MAX_ROWS = 200_000


def submit_bulk_registration(organisation: Organisation, user, rows: object) -> BulkRegistrationJob:
    """Store the rows and queue the job; the rows' shape is checked before anything is queued."""
    if not isinstance(rows, list) or not rows:
        errors = ErrorCollector()
        errors.add("/batteries", "must be a non-empty list of batteries")
        errors.raise_if_any()
    if len(rows) > JOB_MAX_ROWS:
        errors = ErrorCollector()
        errors.add("/batteries", f"has {len(rows)} rows; a job takes at most {JOB_MAX_ROWS}")
        errors.raise_if_any()
    job = BulkRegistrationJob.objects.create(
        organisation=organisation, submitted_by=user, rows=rows, row_count=len(rows)
    )
    from passport.tasks import run_bulk_registration

    # Queue only once the job row is committed, so the worker always finds it.
    transaction.on_commit(lambda: run_bulk_registration.delay(str(job.id)))
    return job


def run(job_id: str) -> BulkRegistrationJob:
    """Run a queued job once; a job that already finished is left as it is (redelivery is harmless)."""
    with transaction.atomic():
        job = (
            BulkRegistrationJob.objects.select_for_update()
            .select_related("organisation", "submitted_by")
            .get(pk=job_id)
        )
        if job.state in (JobState.SUCCEEDED, JobState.FAILED):
            return job
        job.state, job.started_at = JobState.RUNNING, timezone.now()
        job.save(update_fields=["state", "started_at"])
        try:
            specs = registration.parse_rows(job.rows, max_rows=JOB_MAX_ROWS)
            with transaction.atomic():
                result = registration.register(job.organisation, specs, user=job.submitted_by)
        except CellpassError as exc:
            job.state, job.errors = JobState.FAILED, [exc.as_dict()]
        else:
            job.state, job.created_count = JobState.SUCCEEDED, len(result.batteries)
        job.finished_at = timezone.now()
        job.rows = []  # the batteries are the record now; the request body need not be kept
        job.save(update_fields=["state", "errors", "created_count", "finished_at", "rows"])
    return job
