"""What-if runs on a stored battery: queue a request, run it in a worker, keep the result on the job.

The physics (``twins.physics.whatif``) compares protocols on a simulated cell; this service supplies the
battery's side: the cell to simulate and the current RUL forecast from the latest health twin run.
"""

from __future__ import annotations

import logging
import math

from django.db import transaction
from django.utils import timezone

from passport.choices import JobState
from passport.models import Battery
from twins.models import TwinRun, WhatIfRun
from twins.services import calibration, health, jsonsafe

logger = logging.getLogger(__name__)

# The physics twin is an 18650-sized cell model (its thermal model has an 18650 can); an uncalibrated
# battery rated within this range is simulated at its own capacity, anything larger (a module or pack) as
# a 2 Ah cell at the same C-rates, which is what the fade-rate ratios depend on.
CELL_CAPACITY_RANGE_AH = (0.5, 4.0)
DEFAULT_CELL_AH = 2.0


def submit(battery: Battery, request: dict, *, user=None) -> WhatIfRun:
    """Store the validated request and queue it after the transaction commits; returns the job."""
    job = WhatIfRun.objects.create(
        battery=battery,
        requested_by=user if getattr(user, "is_authenticated", False) else None,
        request=request,
    )
    from twins.whatif_tasks import run_what_if

    transaction.on_commit(lambda: run_what_if.delay(str(job.pk)))
    return job


def run(job_id: str) -> WhatIfRun:
    """Run a queued job once: a job that already succeeded or failed (a redelivered message) is left as it
    is; one found running was interrupted (the worker died) and runs again."""
    job = WhatIfRun.objects.select_related("battery__model").get(pk=job_id)
    if job.status in (JobState.SUCCEEDED, JobState.FAILED):
        return job
    WhatIfRun.objects.filter(pk=job.pk).update(status=JobState.RUNNING, started_at=timezone.now())
    twin = health.latest(job.battery)
    try:
        result = evaluate(job.battery, job.request, twin)
    except Exception as exc:  # the job must end in a state the caller can read, whatever went wrong
        logger.exception("what-if run %s failed", job.pk)
        job.status, job.error, job.result = JobState.FAILED, f"{type(exc).__name__}: {exc}", None
    else:
        job.status, job.result, job.error = JobState.SUCCEEDED, result, ""
    job.twin_run = twin
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "result", "error", "twin_run", "finished_at"])
    return job


def cell_parameters(battery: Battery):
    """(parameters, note, calibration run or None): the cell the physics simulates for ``battery`` and what
    it is, the battery's latest usable physics calibration if it has one, else the base set."""
    from twins.physics.model import CellParameters

    calibrated, run_or_reason = calibration.stored_parameters(battery)
    if calibrated is not None:
        fit = run_or_reason.outputs["fit"]
        fitted_to = [d.get("cycle") for d in run_or_reason.outputs.get("discharges", [])] or [
            run_or_reason.outputs.get("discharge", {}).get("cycle")
        ]
        which = (
            f"discharge cycle {fitted_to[0]}"
            if len(fitted_to) == 1
            else f"discharge cycles {', '.join(str(c) for c in fitted_to)}"
        )
        return (
            calibrated,
            (
                f"calibrated to the battery's {which} (physics calibration "
                f"{run_or_reason.pk}, voltage MAPE {fit['voltage_mape_pct']:.2f} %, temperature MAPE "
                f"{fit['temperature_mape_k_pct']:.2f} % K)"
            ),
            run_or_reason,
        )
    rated = float(battery.model.rated_capacity_ah)
    low, high = CELL_CAPACITY_RANGE_AH
    if low <= rated <= high:
        return (
            CellParameters(capacity_ah=rated),
            (
                f"base parameter set (Chen2020) scaled to the battery's rated {rated:g} Ah; not calibrated "
                f"({run_or_reason})"
            ),
            None,
        )
    return (
        CellParameters(capacity_ah=DEFAULT_CELL_AH),
        (
            f"a {DEFAULT_CELL_AH:g} Ah cell of the base parameter set (Chen2020) at the same C-rates: the "
            f"battery's rated {rated:g} Ah is outside the cell model's {low:g}-{high:g} Ah; fade-rate ratios "
            "transfer, absolute capacities do not"
        ),
        None,
    )


def current_rul(twin: TwinRun | None, threshold: float):
    """The RUL forecast at ``threshold`` from the health twin run, or (None, what is missing)."""
    from twins.physics.whatif import CurrentRul

    if twin is None:
        return None, ["a health twin run on this battery (none has run yet)"]
    key = f"{threshold:.0%}"
    forecasts = twin.outputs.get("rul", {})
    forecast = forecasts.get(key)
    if forecast is None:
        available = ", ".join(forecasts) or "none"
        return None, [
            f"an RUL forecast at {key} of rated in the latest health twin run (it has: {available})"
        ]
    if forecast.get("insufficient_data"):
        return None, [f"RUL at {key}: {item}" for item in forecast.get("missing", [])] or [
            f"an RUL forecast at {key} of rated"
        ]
    values = [forecast.get(name) for name in ("median_cycles", "lower_cycles", "upper_cycles")]
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
        return None, [f"a numeric RUL forecast at {key} of rated (median and 90 % interval)"]
    return CurrentRul(*map(float, values), threshold=threshold), []


def evaluate(battery: Battery, request: dict, twin: TwinRun | None) -> dict:
    """The what-if result for ``battery`` (no side effects; seconds to minutes of PyBaMM)."""
    from twins.physics.whatif import Protocol, what_if

    params, cell_note, calibrated_by = cell_parameters(battery)
    rul, missing = current_rul(twin, request["threshold"])
    result = what_if(
        params,
        [Protocol(**protocol) for protocol in request["protocols"]],
        request["baseline"],
        rul,
        cycles=request["cycles"],
        plating=request.get("plating", True),
        missing=missing,
    )
    result["physics"]["cell_source"] = cell_note
    result["physics"]["calibration_run"] = str(calibrated_by.pk) if calibrated_by else None
    result["health_twin"] = (
        {
            "run": str(twin.pk),
            "model": twin.model,
            "version": twin.model_version,
            "created_at": twin.created_at.isoformat(),
        }
        if twin
        else None
    )
    return jsonsafe.finite(result)
