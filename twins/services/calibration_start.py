"""Where a battery's physics calibration starts: its own earlier one, its model's, or the base set.

A fit of an aged discharge started from the base parameter set can settle in another basin (B0045 late in
life: 2.9-3.9 % voltage MAPE); started from the cell's earlier fit, its capacity scaled by the charge each
discharge delivered (``twins.physics.calibration.carried_forward``), the same fits end at 0.4-0.7 %
(docs/physics.md). So a calibration starts by default (``start`` "previous") from the battery's nearest
earlier usable calibration: one whose discharges all came before the first discharge asked for, that
reproduced its curve (``usable``). ``start`` "model" does the same, and a battery with none of its own (its
first calibration, or the first of a battery bought aged) starts from a usable calibration of another
battery of its model (``model_calibration``). That is not the default: on B0045 it helped the aged
discharges (1.2-1.5 % voltage MAPE from B0047's young fit, 2.2-3.1 % cold) but one of three fits of its
first discharge from a B0047 fit ended at 3.7 %, where six cold fits ended at 0.57-1.09 % (docs/physics.md,
"Starting from another battery of the model"): another cell's parameters are not identified by its curve,
and a start in the wrong basin can cost more than the base set's. Which one it started from is an input of
the new calibration like its discharges: its record hash is in the new run's inputs and its idempotency key,
and its id, battery and hash in the outputs, so a reproduction starts from the same place. ``start`` "base"
fits from the base set.
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
STARTS = ("previous", "model", "base")
DEFAULT_START = "previous"
# A stored calibration is used (by what-if runs, as a start) only if it reproduced its discharge this well:
# a fit that missed its curve by more says little about the cell.
USABLE_VOLTAGE_MAPE_PCT = 3.0
# Another battery's calibration that fitted its curve this well (the accuracy target) is preferred as a
# start to a merely usable one, however far its cell's age.
GOOD_VOLTAGE_MAPE_PCT = 1.0
# The most recent calibrations of a model looked through for a start (a bound on the query, not a rule).
MODEL_CANDIDATES = 500


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
    for run in _calibrations().filter(battery=battery).order_by("-created_at"):
        fitted_at = _last_discharge_at(run)
        if fitted_at is None or fitted_at >= first or usable(run):
            continue
        if best_at is None or fitted_at > best_at:
            best, best_at = run, fitted_at
    return best


def model_calibration(battery: Battery, cycles: list[curves.DischargeCycle]) -> TwinRun | None:
    """A start for a battery with no calibration of its own before ``cycles``: a usable calibration of another
    battery of its model. Those that met ``GOOD_VOLTAGE_MAPE_PCT`` first; of those, the one whose cell
    delivered the charge nearest to what ``cycles`` delivered (a cell of about the same age; both by the
    uploads' own counts), then the better fit, then the latest. None if the model has none."""
    wanted = max(cycle.discharge_ah for cycle in cycles)
    runs = (
        _calibrations()
        .filter(battery__model_id=battery.model_id)
        .exclude(battery=battery)
        .order_by("-created_at")[:MODEL_CANDIDATES]
    )
    ranked = []
    for order, run in enumerate(runs):
        if usable(run):
            continue
        mape = float(run.outputs["fit"]["voltage_mape_pct"])
        distance = abs(_uploaded_ah(run) - wanted)
        ranked.append((mape > GOOD_VOLTAGE_MAPE_PCT, distance, mape, order, run))
    return min(ranked, key=lambda entry: entry[:4])[-1] if ranked else None


def find_start(battery: Battery, cycles: list[curves.DischargeCycle], start: str) -> TwinRun | None:
    """The calibration ``start`` starts a fit of ``cycles`` from, None for the base set: "previous", the
    battery's own before ``cycles``; "model", that or else another battery's of its model; "base", none."""
    if start == "base":
        return None
    own = previous_calibration(battery, cycles)
    return own if own is not None or start != "model" else model_calibration(battery, cycles)


def find(battery: Battery, run_id: str) -> TwinRun | None:
    """The calibration ``run_id`` of the battery or of another battery of its model, or None (not an id,
    another model's battery, not a calibration, gone)."""
    try:
        run_id = uuid.UUID(str(run_id))
    except ValueError:
        return None
    return _calibrations().filter(battery__model_id=battery.model_id, pk=run_id).first()


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
            # The battery it was fitted to: this one, or another of its model (``model_calibration``).
            "battery": previous.battery.identifier,
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


def _calibrations():
    """Physics calibrations, with the record a start cites and the battery ``described`` names."""
    return TwinRun.objects.filter(model=MODEL).select_related("record", "battery")


def _uploaded_ah(run: TwinRun) -> float:
    """The most charge a discharge of ``run`` delivered by its upload's own count (``DischargeCycle``'s
    ``discharge_ah``): what a request's discharges are compared by before any of them is read."""
    return max(
        (float(entry.get("discharge_ah") or 0.0) for entry in run.outputs.get("discharges", [])), default=0.0
    )


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
