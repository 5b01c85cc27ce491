from celery import shared_task
from django.db import OperationalError

RETRY = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": 2,
    "retry_backoff_max": 120,
    "retry_jitter": True,
    "max_retries": 8,
    "acks_late": True,
    "soft_time_limit": 300,
    "time_limit": 360,
}


@shared_task(name="twins.assess_batteries", **RETRY)
def assess_batteries(battery_ids: list[str]) -> int:
    """Run the health twin on a batch of batteries; idempotent per input, so safe to redeliver."""
    from passport.models import Battery
    from twins.services import health

    batteries = list(Battery.objects.filter(pk__in=battery_ids))
    return len(health.assess_many(batteries))


@shared_task(name="twins.fleet_sweep")
def fleet_sweep(batch_size: int = 100) -> int:
    """Periodic: queue every battery with telemetry, in batches; returns how many were queued."""
    from lifecycle.models import TelemetryBatch

    ids = [str(pk) for pk in TelemetryBatch.objects.values_list("battery_id", flat=True).distinct()]
    for start in range(0, len(ids), batch_size):
        assess_batteries.delay(ids[start : start + batch_size])
    return len(ids)
