"""Measured curves of single cycles, read back from the stored samples (for the physics calibration).

A cycle is named by its index in the uploaded telemetry; where two uploads number a cycle alike, the
later upload's is meant. Each curve carries the hash of the lifecycle record of the upload it came from,
so whatever is computed from it can cite its evidence.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from lifecycle.models import CycleAggregate, TelemetrySample
from passport.models import Battery

# Fewer samples than this, or less charge than this share of the rated capacity, is not a discharge
# curve anything can be fitted to (an interrupted cycle, a pulse test).
MIN_SAMPLES = 20
MIN_DISCHARGE_SHARE = 0.05


@dataclass(frozen=True)
class DischargeCycle:
    """A stored discharge cycle: where it is and what the upload said about it."""

    batch_id: int
    cycle_index: int
    started_at: dt.datetime
    samples: int
    discharge_ah: float
    ambient_c: float | None
    record_hash: str  # the upload's lifecycle record

    def as_dict(self) -> dict:
        return {
            "cycle": self.cycle_index,
            "started_at": self.started_at.isoformat(),
            "samples": self.samples,
            "discharge_ah": self.discharge_ah,
            "ambient_c": self.ambient_c,
            "record_hash": self.record_hash,
        }


@dataclass(frozen=True)
class Curve:
    """One cycle's samples in order; time in seconds from the cycle's first sample."""

    cycle: DischargeCycle
    time_s: np.ndarray
    voltage_v: np.ndarray
    current_a: np.ndarray
    temperature_c: np.ndarray


def discharge_cycles(battery: Battery) -> list[DischargeCycle]:
    """The battery's discharge cycles that are long enough to fit a model to, oldest first."""
    minimum_ah = MIN_DISCHARGE_SHARE * float(battery.model.rated_capacity_ah or 0)
    rows = (
        CycleAggregate.objects.filter(
            battery=battery, kind="discharge", samples__gte=MIN_SAMPLES, discharge_ah__gte=minimum_ah
        )
        .order_by("started_at", "batch_id", "cycle_index")
        .values_list(
            "batch_id", "cycle_index", "started_at", "samples", "discharge_ah", "ambient_temperature_c",
            "batch__event__record_hash",
        )
    )  # fmt: skip
    return [DischargeCycle(*row) for row in rows]


def find_discharge(battery: Battery, cycle_index: int | None = None) -> DischargeCycle | None:
    """The latest discharge cycle (``cycle_index`` None) or the one with that index (the later upload's
    if two have it); None if there is no such discharge."""
    cycles = discharge_cycles(battery)
    if cycle_index is not None:
        cycles = [cycle for cycle in cycles if cycle.cycle_index == cycle_index]
    return cycles[-1] if cycles else None


def curve_of(battery: Battery, cycle: DischargeCycle) -> Curve:
    """The samples of ``cycle`` (a cycle of ``battery`` from ``discharge_cycles``)."""
    rows = list(
        TelemetrySample.objects.filter(
            battery_id=battery.pk, batch_id=cycle.batch_id, cycle=cycle.cycle_index
        )
        .order_by("seq")
        .values_list("ts", "voltage_v", "current_a", "temperature_c")
    )
    if not rows:
        empty = np.empty(0)
        return Curve(cycle, empty, empty, empty, empty)
    instants, voltage, current, temperature = zip(*rows, strict=True)
    epoch = np.array([instant.timestamp() for instant in instants])
    return Curve(cycle, epoch - epoch[0], np.array(voltage), np.array(current), np.array(temperature))
