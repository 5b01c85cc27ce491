"""Celery tasks of the health twin: a batch of batteries per task, safe to run twice.

Delivery contract: ``acks_late`` acknowledges a message only after the task returns, and
``reject_on_worker_lost`` puts it back on the queue when the pool process running it dies (SIGKILL,
out of memory), so a crashed batch runs again; results are keyed by (battery, model, version, input
hash), so the second run finds what the first one stored and never writes a result twice. When the
whole worker dies, the broker hands the message out again (Redis: after the visibility timeout,
``CELERY_BROKER_TRANSPORT_OPTIONS`` in config/settings.py).
"""

from celery import shared_task
from django.db import OperationalError

RETRY = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": 2,
    "retry_backoff_max": 120,
    "retry_jitter": True,
    "max_retries": 8,
    "acks_late": True,
    "reject_on_worker_lost": True,
    # A batch of 100 takes about a second; the limits only stop a runaway task.
    "soft_time_limit": 300,
    "time_limit": 360,
}
# Batteries per task: large enough that the per-batch queries and the one record append are cheap
# per battery, small enough that a redelivered batch repeats little work.
BATCH_SIZE = 100


@shared_task(name="twins.assess_batteries", **RETRY)
def assess_batteries(battery_ids: list[str]) -> int:
    """Run the health twin on a batch of batteries; idempotent per input, so safe to redeliver."""
    from twins.services import health

    return len(health.assess_ids(battery_ids))


@shared_task(name="twins.fleet_sweep", acks_late=True, reject_on_worker_lost=True)
def fleet_sweep(batch_size: int = BATCH_SIZE) -> int:
    """Periodic: queue every battery with telemetry, in batches; returns how many were queued.

    Queuing twice (a redelivered sweep) is harmless: each battery's stored result is found again.
    """
    from lifecycle.services import condition

    ids = [str(pk) for pk in condition.batteries_with_telemetry()]
    # One broker connection for all the batches instead of one checkout per message.
    with assess_batteries.app.producer_or_acquire() as producer:
        for start in range(0, len(ids), batch_size):
            assess_batteries.apply_async((ids[start : start + batch_size],), producer=producer)
    return len(ids)
