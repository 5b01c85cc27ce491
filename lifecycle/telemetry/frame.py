"""The validated, columnar form every reader produces, and the errors a rejected file raises.

A frame is plain numpy arrays, one entry per sample, plus what the source says about each cycle
(``CycleInfo``) and the irregularities the reader found but could live with (``Anomaly``). A file
the reader cannot accept raises ``TelemetryError`` instead and produces no frame at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

# A rejection lists at most this many problems; the first row of each kind is enough to fix a file.
MAX_PROBLEMS = 20
# Currents within ±deadband count as rest. It scales with the largest current of the data so that
# milliampere cells and kiloampere packs both work (NASA: 4 A peak -> 8 mA; the rest noise is ~3 mA).
DEADBAND_FRACTION = 2e-3
DEADBAND_MIN_A = 1e-4


class Step(IntEnum):
    REST = 0
    CHARGE = 1
    DISCHARGE = 2
    IMPEDANCE = 3


STEP_NAMES = {step: step.name.lower() for step in Step}


@dataclass
class CycleInfo:
    """One cycle or segment as the source describes it."""

    index: int
    step: Step
    started_at: float  # epoch seconds, UTC
    ambient_temperature_c: float | None = None
    reported_capacity_ah: float | None = None  # the source's own figure, e.g. NASA 'Capacity'
    re_ohm: float | None = None  # NASA impedance cycles: electrolyte (ohmic) resistance
    rct_ohm: float | None = None  # NASA impedance cycles: charge-transfer resistance


@dataclass
class Anomaly:
    """Something irregular a reader or the aggregation found; codes are listed in docs/telemetry.md."""

    cycle: int | None
    code: str
    message: str


@dataclass
class TelemetryFrame:
    """Samples as parallel arrays. Current is positive while charging, negative while discharging.

    Samples are in source order: cycles one after another (each cycle's samples contiguous) and
    time strictly increasing inside every cycle. Every cycle index in ``cycle`` has a ``CycleInfo``;
    a ``CycleInfo`` may have no samples (NASA impedance cycles).
    """

    cycle: np.ndarray  # int32
    step: np.ndarray  # int16, Step values
    time: np.ndarray  # float64, epoch seconds UTC
    voltage_v: np.ndarray  # float64
    current_a: np.ndarray  # float64
    temperature_c: np.ndarray  # float64
    cycles: list[CycleInfo] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)
    source_format: str = ""  # "csv" | "parquet" | "nasa-mat"

    def __post_init__(self) -> None:
        n = len(self.time)
        for name in ("cycle", "step", "voltage_v", "current_a", "temperature_c"):
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"TelemetryFrame.{name} has {len(getattr(self, name))} samples, time has {n}"
                )

    def __len__(self) -> int:
        return len(self.time)

    def segments(self) -> dict[int, tuple[int, int]]:
        """Sample range [start, stop) of each cycle index that has samples."""
        n = len(self)
        if n == 0:
            return {}
        starts = np.concatenate(([0], np.flatnonzero(np.diff(self.cycle) != 0) + 1))
        stops = np.concatenate((starts[1:], [n]))
        return {int(self.cycle[a]): (int(a), int(b)) for a, b in zip(starts, stops, strict=True)}


@dataclass(frozen=True)
class Problem:
    """Why a file is rejected: ``path`` names the column or field, ``row`` the 1-based data row."""

    path: str
    message: str
    row: int | None = None

    def __str__(self) -> str:
        where = f"{self.path} (row {self.row})" if self.row is not None else self.path
        return f"{where}: {self.message}"


class TelemetryError(ValueError):
    """A file that cannot be ingested; ``errors`` lists why (the first offending row per kind)."""

    def __init__(self, errors: Sequence[Problem]):
        self.errors: list[Problem] = list(errors)[:MAX_PROBLEMS]
        listed = "; ".join(str(problem) for problem in self.errors)
        super().__init__(f"telemetry rejected, {len(self.errors)} problem(s): {listed}")


def current_deadband(current_a: np.ndarray) -> float:
    peak = float(np.max(np.abs(current_a))) if len(current_a) else 0.0
    return max(DEADBAND_FRACTION * peak, DEADBAND_MIN_A)


def infer_steps(current_a: np.ndarray) -> np.ndarray:
    """Step labels from the current's sign, for data that does not say (rest inside the deadband)."""
    band = current_deadband(current_a)
    steps = np.full(len(current_a), Step.REST, dtype=np.int16)
    steps[current_a > band] = Step.CHARGE
    steps[current_a < -band] = Step.DISCHARGE
    return steps


def empty_frame(source_format: str, cycles: list[CycleInfo], anomalies: list[Anomaly]) -> TelemetryFrame:
    return TelemetryFrame(
        cycle=np.empty(0, np.int32),
        step=np.empty(0, np.int16),
        time=np.empty(0, np.float64),
        voltage_v=np.empty(0, np.float64),
        current_a=np.empty(0, np.float64),
        temperature_c=np.empty(0, np.float64),
        cycles=cycles,
        anomalies=anomalies,
        source_format=source_format,
    )
