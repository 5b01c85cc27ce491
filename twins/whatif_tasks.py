"""Celery task of the what-if runs (imported by ``TwinsConfig.ready`` so every worker registers it;
autodiscovery only imports ``twins.tasks``)."""

from celery import shared_task


@shared_task(name="twins.run_what_if", acks_late=True)
def run_what_if(job_id: str) -> str:
    """Run one what-if job; a redelivered message for a finished job does nothing (see services.whatif)."""
    from twins.services.whatif import run

    return run(job_id).status
