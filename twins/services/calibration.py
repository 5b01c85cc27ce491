"""A battery's own physics twin: calibrate PyBaMM to its stored discharges, record the result.

The calibration (``twins.physics.calibration``) is a twin run like the health twin's: a lifecycle record
carrying the model, its version and code hash, the hash of the upload the discharge came from and the
fitted parameters with their standard errors, keyed by (battery, model, version, input hash) so a
redelivered job finds the stored result instead of storing a second one. What-if runs on the battery then
simulate the calibrated cell instead of the base parameter set (``stored_parameters``).

A request names one discharge (``cycle``, default the latest) or several (``cycles``: two to
``MAX_DISCHARGES`` of the cell's discharges, e.g. at different rates) fitted jointly. It starts from the
battery's nearest earlier usable calibration, carried forward (``calibration_start``; ``start`` "model"
also from another battery of its model when it has none, "base" from the base parameter set), so a twin
follows its cell through life.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from django.db import IntegrityError, transaction
from django.utils import timezone

from lifecycle.provenance.canonical import canonical_bytes
from lifecycle.services import curves, records
from passport.choices import BatteryKind, JobState
from passport.exceptions import FieldError, ValidationFailed
from passport.models import Battery
from twins.models import CalibrationJob, TwinRun
from twins.services import calibration_start, jsonsafe, results
from twins.services.calibration_start import DEFAULT_START, MODEL, usable

if TYPE_CHECKING:  # the physics package (PyBaMM) is imported where a calibration runs, not with this module
    from twins.physics.discharge import Discharge

logger = logging.getLogger(__name__)

# 1.1: steady current levelled, model "auto"; 1.2: solver step limit; 1.3: starts from the previous fit;
# 1.4: start "model" (from another battery of the model), the start's battery in the outputs
# 1.5: the closing run simulated only if it can end in time, kept only if it beats the best simulated point
# 1.6: where no polish fits, the electrochemistry goes on to the reserve; no standard errors from a cut run
# 1.7: the last stage's steps go on with a Broyden-updated Jacobian where a fresh one no longer fits
# 1.8: the standard errors' Jacobian is started only if all of it is expected to end within the budget
VERSION = "1.8"
PHYSICS_MODELS = ("auto", "SPMe", "DFN")
BUDGET_RANGE_S = (10.0, 600.0)
DEFAULT_BUDGET_S = 120.0
# A budget in simulations instead: the same fit on any machine (still stopped at BUDGET_RANGE_S[1] s).
BUDGET_SIMULATIONS_RANGE = (20, 2000)
# The physics twin is a cell model (Chen2020, a 5 Ah 21700, scaled by electrode area; the thermal part an
# 18650 can whose heat transfer and heat capacity the fit scales): a module or pack measured at its
# terminals is not one cell. Cells from 0.5 to 10 Ah keep the scaled electrode within reach of the base
# set's geometry and the fitted thermal scales within their bounds.
CELL_CAPACITY_RANGE_AH = (0.5, 10.0)
CELL_VOLTAGE_MAX_V = 5.0
# A parameter counts as pinned down by the curve if its standard error is at most this share of its
# (normalised, log-scaled for scales) range; the others trade off against each other along the curve.
IDENTIFIED_STD_UNIT = 0.1
# A joint fit simulates every discharge at every step: more than this and a budget of minutes buys too few
# steps to fit anything.
MAX_DISCHARGES = 4
# ``calibrate_battery``'s ``start_from`` default: find the calibration to start from.
FIND = object()
# A first sample at more than this share of the rated current (1C) is under load, not at rest.
UNDER_LOAD_SHARE = 0.02
# A discharge whose lowest voltage stays above this did not reach a Li-ion cut-off (2.5-3.0 V).
PARTIAL_ABOVE_V = 3.0


@functools.cache
def model_hash() -> str:
    """The physics package's source and the PyBaMM version it runs on."""
    import pybamm  # here, not at import: the web process and the health workers never load PyBaMM

    digest = hashlib.sha256(f"pybamm {pybamm.__version__}".encode())
    package = Path(__file__).resolve().parent.parent / "physics"
    for path in sorted(package.glob("*.py")):
        digest.update(b"\0" + path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def check_cell(battery: Battery) -> None:
    """A ``ValidationFailed`` at ``/battery`` unless the physics twin's cell model covers the battery."""
    if battery.model.kind != BatteryKind.CELL:
        raise ValidationFailed(
            [
                FieldError(
                    "/battery",
                    f"the physics twin is a cell model and this battery is a {battery.model.kind}: "
                    "calibrate its cells instead",
                )
            ]
        )
    rated = float(battery.model.rated_capacity_ah or 0)
    low, high = CELL_CAPACITY_RANGE_AH
    if not low <= rated <= high:
        raise ValidationFailed(
            [
                FieldError(
                    "/battery",
                    f"the physics twin's cell model covers {low:g}-{high:g} Ah cells; this one is rated "
                    f"{rated:g} Ah",
                )
            ]
        )


def choose_discharge(battery: Battery, cycle_index: int | None) -> curves.DischargeCycle:
    """The discharge to calibrate on, or a ``ValidationFailed`` naming the field that rules it out."""
    check_cell(battery)
    cycle = curves.find_discharge(battery, cycle_index)
    if cycle is None:
        if cycle_index is None:
            message = (
                f"the battery has no stored discharge cycle with at least {curves.MIN_SAMPLES} samples "
                f"and {curves.MIN_DISCHARGE_SHARE:.0%} of its rated capacity: upload telemetry first"
            )
        else:
            message = f"no stored discharge cycle {cycle_index} with enough samples to fit"
        raise ValidationFailed([FieldError("/cycle", message)])
    return cycle


def choose_discharges(battery: Battery, cycle_indices: list[int]) -> list[curves.DischargeCycle]:
    """The discharges of a joint calibration, in the order asked; every missing or repeated one is named
    (``/cycles/<position>``) in one ``ValidationFailed``."""
    check_cell(battery)
    if not 2 <= len(cycle_indices) <= MAX_DISCHARGES:
        raise ValidationFailed(
            [FieldError("/cycles", f"two to {MAX_DISCHARGES} discharge cycles (one: use cycle)")]
        )
    found, errors = [], []
    for position, index in enumerate(cycle_indices):
        if index in cycle_indices[:position]:
            errors.append(FieldError(f"/cycles/{position}", f"cycle {index} is already in the list"))
            continue
        cycle = curves.find_discharge(battery, index)
        if cycle is None:
            message = f"no stored discharge cycle {index} with enough samples to fit"
            errors.append(FieldError(f"/cycles/{position}", message))
        found.append(cycle)
    if errors:
        raise ValidationFailed(errors)
    return found


def requested_discharges(
    battery: Battery, cycle_index: int | None, cycle_indices: list[int] | None
) -> tuple[list[curves.DischargeCycle], list[str]]:
    """The discharges a request names (``cycle_indices`` if given, else ``cycle_index``, else the latest)
    and the request path each is checked at."""
    if cycle_indices:
        cycles = choose_discharges(battery, list(cycle_indices))
        return cycles, [f"/cycles/{position}" for position in range(len(cycles))]
    return [choose_discharge(battery, cycle_index)], ["/cycle"]


def submit(battery: Battery, request: dict, *, user=None) -> CalibrationJob:
    """Check the request against the stored data, store the job and queue it after the commit."""
    request = {name: value for name, value in request.items() if value is not None}
    cycles, _ = requested_discharges(battery, request.get("cycle"), request.get("cycles"))
    if "start_from" in request:
        request["start_from"] = str(request["start_from"])
        _previous(battery, cycles, request.get("start", DEFAULT_START), request["start_from"])
    indices = [cycle.cycle_index for cycle in cycles]
    job = CalibrationJob.objects.create(
        battery=battery,
        requested_by=user if getattr(user, "is_authenticated", False) else None,
        request={**request, **({"cycles": indices} if request.get("cycles") else {"cycle": indices[0]})},
    )
    from twins.calibration_tasks import calibrate_physics

    transaction.on_commit(lambda: calibrate_physics.delay(str(job.pk)))
    return job


def run(job_id: str) -> CalibrationJob:
    """Run a queued job once: a finished job (a redelivered message) is left as it is; a job found running
    (its worker died) runs again and finds the result if the first attempt stored it."""
    job = CalibrationJob.objects.select_related("battery__model").get(pk=job_id)
    if job.status in (JobState.SUCCEEDED, JobState.FAILED):
        return job
    CalibrationJob.objects.filter(pk=job.pk).update(status=JobState.RUNNING, started_at=timezone.now())
    try:
        request = _with_start_fixed(job)
        job.twin_run = calibrate_battery(
            job.battery,
            cycle_index=request.get("cycle"),
            cycle_indices=request.get("cycles"),
            physics_model=request.get("model", "auto"),
            budget_s=request.get("budget_s", DEFAULT_BUDGET_S),
            budget_simulations=request.get("budget_simulations"),
            start=request.get("start", DEFAULT_START),
            start_from=request.get("start_from", FIND),
        )
    except ValidationFailed as exc:  # the data changed, or the samples themselves rule the fit out
        job.status, job.error = JobState.FAILED, "; ".join(f"{e.path}: {e.message}" for e in exc.errors)
    except Exception as exc:  # the job must end in a state the caller can read, whatever went wrong
        logger.exception("physics calibration %s failed", job.pk)
        job.status, job.error = JobState.FAILED, f"{type(exc).__name__}: {exc}"
    else:
        job.status, job.error = JobState.SUCCEEDED, ""
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "twin_run", "finished_at"])
    return job


def _with_start_fixed(job: CalibrationJob) -> dict:
    """The job's request with the calibration it starts from (``start_from``: a twin run id, or None for the
    base set) fixed the first time it runs: a redelivered job starts where its first attempt did even if
    another calibration was stored meanwhile, so it finds that attempt's result instead of fitting again.
    Chosen when it runs, not when it is submitted, so jobs queued for a cell's discharges in order follow
    one another."""
    request = job.request
    start = request.get("start", DEFAULT_START)
    if start == "base" or "start_from" in request:
        return request
    cycles, _ = requested_discharges(job.battery, request.get("cycle"), request.get("cycles"))
    previous = calibration_start.find_start(job.battery, cycles, start)
    request = {**request, "start_from": str(previous.pk) if previous is not None else None}
    CalibrationJob.objects.filter(pk=job.pk).update(request=request)
    job.request = request
    return request


def _input_hash(
    battery: Battery,
    cycles: list[curves.DischargeCycle],
    physics_model: str,
    budget_s: float,
    budget_simulations: int | None,
    previous: TwinRun | None,
) -> str:
    # One discharge keeps the key it had before joint fits existed, so its stored runs still answer.
    which = (
        {"cycle": cycles[0].cycle_index}
        if len(cycles) == 1
        else {"cycles": [cycle.cycle_index for cycle in cycles]}
    )
    return hashlib.sha256(
        canonical_bytes(
            {
                "battery": battery.identifier,
                "model": MODEL,
                "version": VERSION,
                "inputs": [cycle.record_hash for cycle in cycles],
                **which,
                "physics_model": physics_model,
                **_budget(budget_s, budget_simulations),
                "start": calibration_start.key(previous),
            }
        )
    ).hexdigest()


def _budget(budget_s: float, budget_simulations: int | None) -> dict:
    # A budget in simulations replaces the wall-clock one; a request without it keeps its old key.
    if budget_simulations is not None:
        return {"budget_simulations": int(budget_simulations)}
    return {"budget_s": float(budget_s)}


class _Measured(NamedTuple):
    discharge: Discharge  # the stored curve as the fit takes it
    partial: bool  # stopped above a Li-ion cut-off
    warning: str  # why the fit may mislead, or ""


def _measured(battery: Battery, cycle: curves.DischargeCycle, path: str) -> _Measured:
    """The stored curve of ``cycle`` as the fit takes it, or a ``ValidationFailed`` at ``path``."""
    from twins.physics.discharge import Discharge

    curve = curves.curve_of(battery, cycle)
    if len(curve.time_s) < curves.MIN_SAMPLES:
        raise ValidationFailed([FieldError(path, f"cycle {cycle.cycle_index} has no stored samples")])
    if float(curve.voltage_v.max()) > CELL_VOLTAGE_MAX_V:
        raise ValidationFailed(
            [
                FieldError(
                    path,
                    f"cycle {cycle.cycle_index} reaches {curve.voltage_v.max():.1f} V: a series string, not "
                    "one cell; the physics twin is a cell model",
                )
            ]
        )
    ambient = cycle.ambient_c if cycle.ambient_c is not None else float(curve.temperature_c[0])
    discharging = curve.current_a < 0
    # A discharge that stopped early (a BMS log, a partial cycle) delivered less than the cell holds.
    partial = bool(discharging.any()) and float(curve.voltage_v[discharging].min()) > PARTIAL_ABOVE_V
    # Right after a rest the first voltage is the open-circuit voltage the model starts from; under load it
    # is lower by the polarisation, so the rest voltage becomes one more parameter of the fit.
    discharge = Discharge.from_columns(
        curve.time_s, curve.voltage_v, curve.current_a, curve.temperature_c, ambient
    )
    first_a = float(discharge.current_a[0])
    under_load = abs(first_a) > UNDER_LOAD_SHARE * float(battery.model.rated_capacity_ah)
    discharge = dataclasses.replace(discharge, at_rest=not under_load)
    warning = (
        f"cycle {cycle.cycle_index} starts under load ({first_a:.2f} A): its rest voltage was not recorded "
        "and is fitted with the cell's parameters (one more unknown); upload the rest before the discharge "
        "to pin it down"
        if under_load
        else ""
    )
    return _Measured(discharge, partial, warning)


def calibrate_battery(
    battery: Battery,
    *,
    cycle_index: int | None = None,
    cycle_indices: list[int] | None = None,
    physics_model: str = "auto",
    budget_s: float = DEFAULT_BUDGET_S,
    budget_simulations: int | None = None,
    start: str = DEFAULT_START,
    start_from: str | object | None = FIND,
) -> TwinRun:
    """Calibrate on the chosen discharge (or jointly on ``cycle_indices``) and record the result, once per
    input: the same request on the same records returns the stored run (a calibration is bounded by
    wall-clock time, so running it again would give a slightly different fit, and there must be one
    answer per input). ``budget_simulations`` bounds the fit by model simulations instead of seconds:
    the same fit on any machine however loaded, so a third party can repeat it from the records and the
    model hash (``reproducible`` in the outputs), unless it runs into the ``BUDGET_RANGE_S`` ceiling.

    ``start`` "previous" starts from the battery's nearest earlier usable calibration, "model" from that or
    with none from one of another battery of its model (``calibration_start.find_start``), either from the
    twin run ``start_from`` instead if given (None: the base set); "base" from the base set. The one it
    started from is among the run's inputs and in its key: a new earlier calibration makes a new input."""
    if physics_model not in PHYSICS_MODELS:
        raise ValidationFailed([FieldError("/model", f"one of {', '.join(PHYSICS_MODELS)}")])
    if start not in calibration_start.STARTS:
        raise ValidationFailed([FieldError("/start", f"one of {', '.join(calibration_start.STARTS)}")])
    cycles, paths = requested_discharges(battery, cycle_index, cycle_indices)
    previous = _previous(battery, cycles, start, start_from)
    key = _input_hash(battery, cycles, physics_model, budget_s, budget_simulations, previous)
    stored = _stored(battery, key)
    if stored is not None:
        return stored
    outputs = fit_outputs(battery, cycles, paths, physics_model, budget_s, budget_simulations, previous)
    inputs = list(dict.fromkeys(cycle.record_hash for cycle in cycles))  # two cycles of one upload: once
    if previous is not None:
        inputs.append(previous.record.record_hash)
    return _store(battery, key, inputs, outputs)


def _previous(
    battery: Battery, cycles: list[curves.DischargeCycle], start: str, start_from: str | object | None
) -> TwinRun | None:
    if start == "base" or start_from is None:
        return None
    if start_from is FIND:
        return calibration_start.find_start(battery, cycles, start)
    previous = calibration_start.find(battery, str(start_from))
    if previous is None:
        raise ValidationFailed(
            [FieldError("/start_from", f"no physics calibration {start_from} of this battery or its model")]
        )
    why_not = usable(previous)
    if why_not:
        raise ValidationFailed([FieldError("/start_from", f"cannot start from it: {why_not}")])
    return previous


def fit_outputs(
    battery: Battery,
    cycles: list[curves.DischargeCycle],
    paths: list[str],
    physics_model: str,
    budget_s: float,
    budget_simulations: int | None,
    previous: TwinRun | None = None,
) -> dict:
    """Fit the cell to ``cycles`` (checked at ``paths``), from ``previous``'s fit carried forward if given,
    and return what its twin run records."""
    from twins.physics.calibration import calibrate_discharges
    from twins.physics.discharge import delivered_ah
    from twins.physics.model import CellParameters

    measured = [_measured(battery, cycle, path) for cycle, path in zip(cycles, paths, strict=True)]
    discharges = [m.discharge for m in measured]
    rated = float(battery.model.rated_capacity_ah)
    # The default start is the most charge a discharge delivered, right for a discharge to the cut-off;
    # if every one stopped early, none shows what the cell holds: start at the rating instead.
    partial = all(m.partial for m in measured)
    delivered = [delivered_ah(discharge) for discharge in discharges]
    if previous is not None:
        start = calibration_start.parameters(previous, 0.0 if partial else max(delivered), rated)
    else:
        start = CellParameters(capacity_ah=rated) if partial else None
    fitted = calibrate_discharges(
        discharges,
        model=physics_model,
        budget_s=budget_s,
        budget_simulations=budget_simulations,
        wall_ceiling_s=BUDGET_RANGE_S[1],
        uncertainty=True,
        rated_capacity_ah=rated,
        start=start,
    )
    fit_keys = (
        "voltage_mape_pct", "temperature_mape_k_pct", "temperature_mape_c_pct", "voltage_rmse_v",
        "temperature_rmse_k", "coverage",
    )  # fmt: skip
    return jsonsafe.finite(
        {
            # The model fitted; "auto" (the default) chose it from the current profile (``message`` says why).
            "physics_model": fitted.model,
            "physics_model_requested": physics_model,
            "discharge": cycles[0].as_dict(),
            "discharges": [
                {
                    **cycle.as_dict(),
                    "ambient_c": m.discharge.ambient_c,
                    "ambient_assumed": cycle.ambient_c is None,
                    "partial_discharge": m.partial,
                    "delivered_ah": charge,
                    "starts_under_load": not m.discharge.at_rest,
                    "rest_voltage_v": errors["rest_voltage_v"],
                    "rest_voltage_fitted": errors["rest_voltage_fitted"],
                    "rest_voltage_std_v": errors.get("rest_voltage_std_v"),
                    "ambient_offset_k": errors["ambient_offset_k"],
                    "fit": {name: errors[name] for name in fit_keys},
                }
                for cycle, m, charge, errors in zip(
                    cycles, measured, delivered, fitted.per_discharge, strict=True
                )
            ],
            "ambient_c": discharges[0].ambient_c,
            "ambient_assumed": cycles[0].ambient_c is None,
            "partial_discharge": partial,
            "warnings": [m.warning for m in measured if m.warning],
            # Where the fit started: the base set, or an earlier calibration of the battery carried forward.
            "start": calibration_start.described(previous, start),
            "parameters": fitted.params.as_dict(),
            "parameter_errors": fitted.parameter_errors,
            "identified_parameters": sorted(
                name
                for name, error in fitted.parameter_errors.items()
                if error["std_unit"] <= IDENTIFIED_STD_UNIT
            ),
            "ambient_offset_k": fitted.ambient_offset_k,
            "fit": {name: getattr(fitted, name) for name in fit_keys},
            "uncalibrated": fitted.initial,
            "simulations": fitted.n_simulations,
            "wall_s": fitted.wall_s,
            # When each part of the fit ended (wall seconds from its start): which one ran long.
            "phases_s": fitted.phases_s,
            **_budget(budget_s, budget_simulations),
            # Anyone with the same code and records gets the same fit: a budget in simulations that its
            # wall-clock ceiling did not cut short.
            "reproducible": budget_simulations is not None and not fitted.cut_short,
            "message": fitted.message,
        }
    )


def _stored(battery: Battery, key: str) -> TwinRun | None:
    return TwinRun.objects.filter(battery=battery, model=MODEL, model_version=VERSION, input_hash=key).first()


def _store(battery: Battery, key: str, inputs: list[str], outputs: dict) -> TwinRun:
    try:
        with transaction.atomic():
            draft = results.record_draft(
                battery,
                model=MODEL,
                version=VERSION,
                model_hash=model_hash(),
                inputs=inputs,
                outputs=outputs,
                at=timezone.now(),
            )
            [event] = records.append([draft])
            return TwinRun.objects.create(
                battery=battery,
                model=MODEL,
                model_version=VERSION,
                model_hash=model_hash(),
                input_hash=key,
                outputs=outputs,
                record=event,
            )
    except IntegrityError:
        # Another worker stored this input's result meanwhile: that one is the answer.
        stored = _stored(battery, key)
        if stored is None:
            raise
        return stored


def latest(battery: Battery) -> TwinRun | None:
    return results.latest_run(battery, MODEL)


def stored_parameters(battery: Battery):
    """(CellParameters, run) of the battery's latest usable calibration, or (None, why not)."""
    run = latest(battery)
    if run is None:
        return None, "no physics calibration has run on this battery"
    why_not = usable(run)
    if why_not:
        return None, f"its latest {why_not}"
    return calibration_start.fitted_parameters(run), run
