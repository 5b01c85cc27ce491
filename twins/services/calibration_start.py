"""Where a battery's physics calibration starts: from its own earlier calibration, or from the base set.

A fit of an aged discharge started from the base parameter set can settle in another basin (B0045 late in
life: 2.9-3.9 % voltage MAPE); started from the cell's earlier fit, its capacity scaled by the charge each
discharge delivered (``twins.physics.calibration.carried_forward``), the same fits end at 0.4-0.7 %
(docs/physics.md). So a calibration starts by default (``start`` "previous") from the battery's nearest
earlier usable calibration: one whose discharges all came before the first discharge asked for, that
reproduced its curve (``usable``). Which one it started from is an input of the new calibration like its
discharges: its record hash is in the new run's inputs and its idempotency key, and its id and hash in the
outputs, so a reproduction starts from the same place. ``start`` "base" fits from the base set.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING

from lifecycle.services import curves
from passport.models import Battery
from twins.models import TwinRun

if TYPE_CHECKING:  # PyBaMM is imported where a calibration runs, not with this module
    from twins.physics.model import CellParameters

MODEL = "physics-calibration"  # the twin model of a calibration (``calibration.MODEL`` is this one)
STARTS = ("previous", "base")
DEFAULT_START = "previous"
# A stored calibration is used (by what-if runs, as a start) only if it reproduced its discharge this well:
# a fit that missed its curve by more says little about the cell.
USABLE_VOLTAGE_MAPE_PCT = 3.0


def usable(run: TwinRun) -> str:
    """Why ``run``'s parameters do not describe its cell, or "" if they do: its voltage MAPE at most
    ``USABLE_VOLTAGE_MAPE_PCT`` with the whole discharge simulated."""
    fit = run.outputs.get("fit", {})
    mape = fit.get("voltage_mape_pct")
    whole = fit.get("coverage", 0) >= 1 - 1e-6
    if isinstance(mape, (int, float)) and mape <= USABLE_VOLTAGE_MAPE_PCT and whole:
        return ""
    return (
        f"physics calibration {run.pk} missed its discharge (voltage MAPE {mape} %, usable up to "
        f"{USABLE_VOLTAGE_MAPE_PCT:g} % with the whole discharge simulated)"
    )


def previous_calibration(battery: Battery, cycles: list[curves.DischargeCycle]) -> TwinRun | None:
    """The battery's usable calibration nearest before ``cycles``: every discharge it was fitted to started
    before the first of ``cycles`` did; of those, the one whose last discharge is latest, then the latest
    run. None if it has none."""
    first = min(cycle.started_at for cycle in cycles)
    best, best_at = None, None
    for run in (
        TwinRun.objects.filter(battery=battery, model=MODEL).select_related("record").order_by("-created_at")
    ):
        fitted_at = _last_discharge_at(run)
        if fitted_at is None or fitted_at >= first or usable(run):
            continue
        if best_at is None or fitted_at > best_at:
            best, best_at = run, fitted_at
    return best


def find(battery: Battery, run_id: str) -> TwinRun | None:
    """The battery's calibration ``run_id``, or None (not an id, another battery's, another model's, gone)."""
    try:
        run_id = uuid.UUID(str(run_id))
    except ValueError:
        return None
    return TwinRun.objects.filter(battery=battery, model=MODEL, pk=run_id).select_related("record").first()


def key(previous: TwinRun | None) -> str:
    """What the idempotency key holds of the start: the earlier calibration's record hash, or "base"."""
    return previous.record.record_hash if previous is not None else "base"


def fitted_parameters(run: TwinRun) -> CellParameters:
    """The cell parameters ``run`` fitted (names a later version of the model does not know are left out)."""
    from twins.physics.model import CellParameters

    known = set(CellParameters.__dataclass_fields__)
    return CellParameters(**{k: v for k, v in run.outputs.get("parameters", {}).items() if k in known})


def parameters(previous: TwinRun, discharged_ah: float, rated_capacity_ah: float) -> CellParameters:
    """``previous``'s fitted parameters carried forward to discharges that delivered ``discharged_ah`` (0 when
    none reached the cut-off, which leaves the capacity as fitted)."""
    from twins.physics.calibration import carried_forward

    fitted = fitted_parameters(previous)
    return carried_forward(fitted, _delivered_ah(previous), discharged_ah, rated_capacity_ah)


def described(previous: TwinRun | None, start: CellParameters | None) -> dict:
    """The start as the new calibration's outputs record it."""
    if previous is None:
        return {"from": None, "parameters": start.as_dict() if start is not None else None}
    outputs = previous.outputs
    return {
        "from": {
            "twin_run": str(previous.pk),
            "record_hash": previous.record.record_hash,
            "cycles": [entry.get("cycle") for entry in outputs.get("discharges", [])],
            "voltage_mape_pct": outputs["fit"]["voltage_mape_pct"],
            "delivered_ah": _delivered_ah(previous),
        },
        "parameters": start.as_dict() if start is not None else None,
    }


def _last_discharge_at(run: TwinRun) -> dt.datetime | None:
    stamps = [entry.get("started_at") for entry in run.outputs.get("discharges", [])]
    try:
        return max(dt.datetime.fromisoformat(stamp) for stamp in stamps) if stamps else None
    except (TypeError, ValueError):  # a run stored without its discharges' times cannot be placed in time
        return None


def _delivered_ah(run: TwinRun) -> float:
    """The most charge a discharge of ``run`` delivered, as its fit took it; 0 if none reached the cut-off
    (a partial discharge says nothing about the capacity)."""
    outputs = run.outputs
    if outputs.get("partial_discharge"):
        return 0.0
    entries = outputs.get("discharges", [])
    # Runs from before version 1.3 recorded only the upload's own count of the charge delivered.
    charges = (entry.get("delivered_ah", entry.get("discharge_ah")) for entry in entries)
    return max((float(charge or 0.0) for charge in charges), default=0.0)
