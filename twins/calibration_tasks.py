"""Celery task of the physics calibrations (imported by ``TwinsConfig.ready`` so every worker registers
it; autodiscovery only imports ``twins.tasks``)."""

from celery import shared_task

from twins.services.calibration import BUDGET_RANGE_S


# The calibration stops itself at its budget (at most BUDGET_RANGE_S[1]); the limits only end a runaway
# solve. acks_late + reject_on_worker_lost: a calibration whose worker died runs again, and finds the
# stored result if the first attempt got as far as storing it (results are keyed by input).
@shared_task(
    name="twins.calibrate_physics",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=BUDGET_RANGE_S[1] + 120,
    time_limit=BUDGET_RANGE_S[1] + 180,
)
def calibrate_physics(job_id: str) -> str:
    """Run one calibration job; a redelivered message for a finished job does nothing."""
    from twins.services.calibration import run

    return run(job_id).status
