import logging

from celery import shared_task

from passport.services import jobs

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, max_retries=5, default_retry_delay=5)
def run_bulk_registration(self, job_id: str) -> str:
    """Register the rows of a bulk job; safe to redeliver (a finished job is not run twice)."""
    job = jobs.run(job_id)
    logger.info(
        "bulk registration job %s %s: %d of %d rows registered",
        job_id,
        job.state,
        job.created_count,
        job.row_count,
    )
    return job.state
