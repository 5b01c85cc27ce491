"""Re-run a recorded physics calibration and compare: the check behind ``reproducible``.

A calibration bounded by simulations (``budget_simulations``) makes the same decisions on any machine, so
its recorded outputs can be checked the way a record hash is: fit again from the same stored samples with
the same code and compare. Settling a warranty dispute on a calibrated twin should not rest on trust in
whoever ran it. Only the wall time may differ; every other output must agree (to ``REL_TOL``). A
calibration that started from an earlier one starts from that recorded run again. Measured bit-identical
across processes and solver thread counts; another CPU or build is not measured (a last-digit difference
in a solve could send the least squares along another path).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from passport.exceptions import ValidationFailed
from twins.models import TwinRun
from twins.services import calibration, calibration_start

REL_TOL = 1e-9
# Machine-dependent by nature: how long the fit and its parts took.
IGNORED = frozenset({"wall_s", "phases_s"})
# Differences listed at most (a fit that went elsewhere differs everywhere).
MAX_LISTED = 20


@dataclass
class Reproduction:
    """The outcome of re-running ``run``: ``reproduced`` with no ``differences``, or why not."""

    run: TwinRun
    reproduced: bool
    reason: str = ""  # why it was not re-run (not reproducible, other code, other samples), or ""
    differences: list[str] = field(default_factory=list)  # "path: recorded vs again", at most MAX_LISTED
    wall_s: float = 0.0


def reproduce(run: TwinRun) -> Reproduction:
    """Fit ``run``'s battery again exactly as recorded (nothing is stored) and compare the outputs."""
    if run.model != calibration.MODEL:
        return Reproduction(run, False, f"twin run {run.pk} is a {run.model} run, not a physics calibration")
    outputs = run.outputs
    if not outputs.get("reproducible"):
        why = (
            "its simulation budget was cut short by the wall-clock ceiling"
            if "budget_simulations" in outputs
            else "it was bounded by wall-clock time (budget_s), so a faster machine fits further"
        )
        return Reproduction(run, False, f"calibration {run.pk} is not reproducible: {why}")
    if run.model_hash != calibration.model_hash():
        return Reproduction(
            run,
            False,
            f"calibration {run.pk} was fitted with physics code {run.model_hash[:12]}; this installation "
            f"runs {calibration.model_hash()[:12]}: re-run it with the code it was recorded with",
        )
    battery = run.battery
    indices = [entry["cycle"] for entry in outputs["discharges"]]
    joint = indices if len(indices) > 1 else None
    try:
        cycles, paths = calibration.requested_discharges(battery, indices[0], joint)
    except ValidationFailed as exc:
        return Reproduction(run, False, f"calibration {run.pk}: " + "; ".join(e.message for e in exc.errors))
    recorded_hashes = [entry["record_hash"] for entry in outputs["discharges"]]
    if [cycle.record_hash for cycle in cycles] != recorded_hashes:
        return Reproduction(run, False, f"calibration {run.pk}: its discharges are not the recorded ones")
    started_from = (outputs.get("start") or {}).get("from")
    previous = None
    if started_from is not None:
        previous = calibration_start.find(battery, started_from["twin_run"])
        if previous is None or previous.record.record_hash != started_from["record_hash"]:
            return Reproduction(
                run,
                False,
                f"calibration {run.pk}: the calibration it started from ({started_from['twin_run']}) is not "
                "the recorded one",
            )
    started = time.perf_counter()
    again = calibration.fit_outputs(
        battery,
        cycles,
        paths,
        outputs.get("physics_model_requested", outputs["physics_model"]),
        calibration.DEFAULT_BUDGET_S,
        outputs["budget_simulations"],
        previous,
    )
    differences = _differences(outputs, again, "")
    return Reproduction(
        run,
        reproduced=not differences,
        differences=differences[:MAX_LISTED],
        wall_s=time.perf_counter() - started,
    )


def _differences(recorded, again, path: str) -> list[str]:
    if isinstance(recorded, dict) and isinstance(again, dict):
        found = []
        for key in sorted(set(recorded) | set(again)):
            if key in IGNORED and not path:
                continue
            where = f"{path}/{key}"
            if key not in recorded or key not in again:
                found.append(f"{where}: only in the {'recorded' if key in recorded else 'new'} outputs")
            else:
                found.extend(_differences(recorded[key], again[key], where))
        return found
    if isinstance(recorded, list) and isinstance(again, list):
        if len(recorded) != len(again):
            return [f"{path}: {len(recorded)} items recorded, {len(again)} again"]
        pairs = enumerate(zip(recorded, again, strict=True))
        return [found for k, (a, b) in pairs for found in _differences(a, b, f"{path}/{k}")]
    if _numbers(recorded, again):
        if math.isclose(recorded, again, rel_tol=REL_TOL, abs_tol=1e-12):
            return []
    elif recorded == again:
        return []
    return [f"{path}: {recorded!r} recorded, {again!r} again"]


def _numbers(*values) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
