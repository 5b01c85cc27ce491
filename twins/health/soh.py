"""State of health from per-cycle aggregates: capacity-based, resistance-based, and a per-cycle series.

Pure Python on numpy; no models, no database. See docs/twins.md for the definitions and the measured
accuracy.

Capacity per discharge cycle: NASA's ``Capacity`` (the Ah delivered until the voltage first drops below
2.7 V, carried as ``reported_capacity_ah`` and verified against the samples by the reader) when the
source reports it; otherwise the full discharge ``discharge_ah`` to the cycler's own cutoff, which is
larger (1.6-24 % on the NASA cells, depending on the cutoff and the temperature) and flagged as such.

Condition correction: capacity measured at ambient temperature T and mean discharge current I is
brought to the reference conditions by dividing by ``f = 1 + a·(T - T_ref) + b·(I - I_ref)``. The
coefficients are fitted on the fresh capacities of training cells (``fit_capacity_correction``), their
uncertainty goes into the estimate's std.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lifecycle.telemetry import CycleAggregate

# A cell whose first capacity is below this share of rated is not "fresh": it cannot anchor the
# condition correction (NASA B0045 starts at 0.46 of rated at 4 °C while its twin B0047 starts at 0.84).
FRESH_MIN_FRACTION = 0.8
MIN_CAPACITY_CYCLES = 3
MIN_RESISTANCE_POINTS = 2


@dataclass
class InsufficientData:
    """Too little history for an estimate; ``missing`` says what is lacking (never a made-up number)."""

    missing: list[str]


@dataclass
class SohEstimate:
    value: float  # fraction of rated (capacity) or of the resistance margin to end of life
    std: float  # 1-sigma
    method: str  # 'capacity' | 'resistance'
    inputs: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CapacityCorrection:
    """``C_ref = C / (1 + temperature_coeff·(T - T_ref) + rate_coeff·(I - I_ref))``."""

    temperature_coeff_per_c: float
    rate_coeff_per_a: float
    covariance: tuple[tuple[float, float], tuple[float, float]]  # of (temperature_coeff, rate_coeff)
    reference_temperature_c: float = 24.0
    reference_current_a: float = 2.0
    trained_on: tuple[str, ...] = ()

    def factor(self, temperature_c: float, current_a: float) -> tuple[float, float]:
        """The correction factor at (T, I) and its 1-sigma."""
        dt_, di = temperature_c - self.reference_temperature_c, current_a - self.reference_current_a
        value = 1.0 + self.temperature_coeff_per_c * dt_ + self.rate_coeff_per_a * di
        (vtt, vtr), (_, vrr) = self.covariance
        variance = dt_ * dt_ * vtt + 2 * dt_ * di * vtr + di * di * vrr
        return value, math.sqrt(max(variance, 0.0))

    def at_reference(self, temperature_c: float, current_a: float) -> CapacityCorrection:
        """The same coefficients re-referenced to (T, I) (to express SoH at the test's own conditions)."""
        return CapacityCorrection(
            self.temperature_coeff_per_c,
            self.rate_coeff_per_a,
            self.covariance,
            temperature_c,
            current_a,
            self.trained_on,
        )


NO_CORRECTION = CapacityCorrection(0.0, 0.0, ((0.0, 0.0), (0.0, 0.0)), trained_on=())


@dataclass(frozen=True)
class FreshCell:
    """A training cell's fresh capacity and its test conditions (input of ``fit_capacity_correction``)."""

    name: str
    temperature_c: float
    current_a: float
    capacity_ah: float


def fit_capacity_correction(
    cells: Sequence[FreshCell],
    rated_capacity_ah: float,
    *,
    reference_temperature_c: float = 24.0,
    reference_current_a: float = 2.0,
) -> CapacityCorrection:
    """Least squares of ``C_fresh = C0·(1 + a·ΔT + b·ΔI)`` over fresh training cells.

    Cells starting below ``FRESH_MIN_FRACTION`` of rated are left out (not fresh). The covariance of
    (a, b) comes from the residual scatter, which is mostly cell-to-cell variation: the correction is
    only as good as the spread of fresh cells allows, and the std of every corrected estimate says so.
    A coefficient the training conditions cannot identify (no spread in T or I) is fixed at 0.
    """
    used = [cell for cell in cells if cell.capacity_ah >= FRESH_MIN_FRACTION * rated_capacity_ah]
    if len(used) < 2:
        return CapacityCorrection(
            0.0,
            0.0,
            ((0.0, 0.0), (0.0, 0.0)),
            reference_temperature_c,
            reference_current_a,
            tuple(c.name for c in used),
        )
    t = np.array([c.temperature_c - reference_temperature_c for c in used])
    i = np.array([c.current_a - reference_current_a for c in used])
    y = np.array([c.capacity_ah for c in used])
    columns = [np.ones_like(y)]
    names = ["c0"]
    for name, values in (("t", t), ("i", i)):
        if np.ptp(values) > 1e-9 and len(used) > len(columns) + 1:
            columns.append(values)
            names.append(name)
    x = np.column_stack(columns)
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    residual = y - x @ beta
    dof = max(len(y) - len(beta), 1)
    sigma2 = float(residual @ residual) / dof
    cov_beta = sigma2 * np.linalg.pinv(x.T @ x)
    c0 = beta[0]
    # Coefficients relative to C0 (delta method, C0's own uncertainty is second order and ignored).
    coeff = {"t": 0.0, "i": 0.0}
    var = {("t", "t"): 0.0, ("t", "i"): 0.0, ("i", "i"): 0.0}
    for a, name in enumerate(names):
        if name == "c0":
            continue
        coeff[name] = float(beta[a] / c0)
        for b, other in enumerate(names):
            if other != "c0" and (name, other) in var:
                var[(name, other)] = float(cov_beta[a, b] / (c0 * c0))
    return CapacityCorrection(
        coeff["t"],
        coeff["i"],
        ((var[("t", "t")], var[("t", "i")]), (var[("t", "i")], var[("i", "i")])),
        reference_temperature_c,
        reference_current_a,
        tuple(c.name for c in used),
    )


# Fitted by ``fit_capacity_correction`` on the fresh NASA cells B0005, B0006, B0007 (24 °C, 2 A),
# B0025 (24 °C, 1.05 A mean), B0029, B0030 (43 °C, 3.8-3.9 A); B0045 and B0047 (4 °C) start below 0.8 of
# rated and are not fresh, so 4 °C is an extrapolation (its std says how poor: ±0.12 of the factor).
# Temperature and rate are confounded in these cells (43 °C always at 4 A): read the coefficients as a
# pair. tests/twins/test_soh.py checks them against the data. The accuracy report never uses this
# default: it refits the correction without the scored cell (docs/twins.md).
DEFAULT_CORRECTION = CapacityCorrection(
    temperature_coeff_per_c=-0.0075029,
    rate_coeff_per_a=0.0414048,
    covariance=((3.46599e-05, -2.79689e-04), (-2.79689e-04, 2.52166e-03)),
    trained_on=("B0005", "B0006", "B0007", "B0025", "B0029", "B0030"),
)


@dataclass(frozen=True)
class DischargePoint:
    """One good discharge: its capacity, where the figure comes from, and its conditions."""

    ordinal: int  # 1-based count of discharges so far, good or not (the aging clock of the fade models)
    cycle_index: int
    capacity_ah: float
    source: str  # 'nasa_2.7v' | 'full_discharge'
    temperature_c: float | None
    current_a: float | None


def good_discharges(aggregates: Sequence[CycleAggregate]) -> list[DischargePoint]:
    """Discharge cycles without anomalies that delivered charge, in order."""
    points = []
    discharges = 0
    for aggregate in aggregates:
        if aggregate.kind != "discharge":
            continue
        # Every discharge ages the cell, also the partial or flagged ones left out of the health figures.
        discharges += 1
        if aggregate.anomalies:
            continue
        if aggregate.reported_capacity_ah is not None and aggregate.reported_capacity_ah > 0:
            capacity, source = float(aggregate.reported_capacity_ah), "nasa_2.7v"
        elif aggregate.discharge_ah > 0:
            capacity, source = float(aggregate.discharge_ah), "full_discharge"
        else:
            continue
        # Ambient is the controlled condition; the cell's own mean includes self-heating, which is
        # a consequence of the rate (already a regressor).
        temperature = aggregate.ambient_temperature_c
        if temperature is None:
            temperature = aggregate.temperature_mean_c
        current = (
            aggregate.discharge_ah / (aggregate.duration_s / 3600.0) if aggregate.duration_s > 0 else None
        )
        points.append(
            DischargePoint(discharges, aggregate.cycle_index, capacity, source, temperature, current)
        )
    return points


def _trend_at_last(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Local linear trend over the window evaluated at its last point, and the residual scatter.

    A trend rather than a mean: a mean over five cycles lags a fading cell by two cycles of fade.
    """
    n = len(x)
    if n >= 3 and np.ptp(x) > 0:
        slope, intercept = np.polyfit(x, y, 1)
        fitted = slope * x + intercept
        scatter = float(np.sqrt(np.sum((y - fitted) ** 2) / (n - 2)))
        return float(slope * x[-1] + intercept), scatter
    scatter = float(np.std(y, ddof=1)) if n >= 2 else 0.0
    return float(np.mean(y)), scatter


def capacity_soh(
    aggregates: Sequence[CycleAggregate],
    rated_capacity_ah: float,
    *,
    reference_temperature_c: float = 24.0,
    reference_current_a: float = 2.0,
    window: int = 5,
    correction: CapacityCorrection | None = None,
    points: Sequence[DischargePoint] | None = None,
) -> SohEstimate | InsufficientData:
    """Capacity SoH (fraction of rated at the reference conditions) from the latest good discharges.

    ``points`` is ``good_discharges(aggregates)`` when the caller has it already.

    The latest ``window`` good discharges are corrected to (``reference_temperature_c``,
    ``reference_current_a``) and their local linear trend is read at the last one. std combines the
    scatter of those cycles around the trend (the cycle-to-cycle variation the next discharge will show)
    with the correction's own uncertainty.
    """
    if rated_capacity_ah <= 0:
        raise ValueError("rated_capacity_ah must be positive")
    if points is None:
        points = good_discharges(aggregates)
    if len(points) < MIN_CAPACITY_CYCLES:
        return InsufficientData(
            [f"at least {MIN_CAPACITY_CYCLES} discharge cycles without anomalies (have {len(points)})"]
        )
    correction = (correction or DEFAULT_CORRECTION).at_reference(reference_temperature_c, reference_current_a)
    recent = points[-max(window, MIN_CAPACITY_CYCLES) :]
    warnings: list[str] = []
    factors, factor_stds = [], []
    corrected_any = False
    for point in recent:
        if point.temperature_c is None or point.current_a is None:
            factors.append(1.0)
            factor_stds.append(0.0)
            continue
        value, std = correction.factor(point.temperature_c, point.current_a)
        corrected_any = corrected_any or abs(value - 1.0) > 1e-12
        factors.append(value)
        factor_stds.append(std)
    if any(p.temperature_c is None or p.current_a is None for p in recent):
        warnings.append("no temperature or current for some cycles: their capacity is not corrected")
    sources = sorted({p.source for p in recent})
    if "full_discharge" in sources:
        warnings.append(
            "capacity is the full discharge to the cycler's cutoff, not NASA's 2.7 V figure: "
            "larger by up to 24 % at low temperature; not comparable across cutoffs"
        )
    x = np.array([p.ordinal for p in recent], dtype=float)
    y = np.array([p.capacity_ah for p in recent]) / np.array(factors)
    level, scatter = _trend_at_last(x, y)
    # The correction's error is the same for all cycles in the window (one factor), so it adds in
    # quadrature as a relative error on the level.
    correction_rel = float(np.mean(factor_stds)) / max(float(np.mean(factors)), 1e-9)
    std_ah = math.sqrt(scatter**2 + (level * correction_rel) ** 2)
    if corrected_any and not correction.trained_on:
        warnings.append("conditions differ from the reference but the correction is untrained (identity)")
    return SohEstimate(
        value=level / rated_capacity_ah,
        std=std_ah / rated_capacity_ah,
        method="capacity",
        inputs={
            "cycles": [p.cycle_index for p in recent],
            "count": len(recent),
            "good_discharges": len(points),
            "capacity_source": sources,
            "capacity_ah_measured": [p.capacity_ah for p in recent],
            "correction_factor": float(np.mean(factors)),
            "correction_std": float(np.mean(factor_stds)),
            "reference_temperature_c": reference_temperature_c,
            "reference_current_a": reference_current_a,
            "correction_trained_on": list(correction.trained_on),
        },
        warnings=warnings,
    )


def resistance_soh(
    aggregates: Sequence[CycleAggregate],
    initial_resistance_ohm: float,
    end_of_life_factor: float = 2.0,
    *,
    window: int = 5,
) -> SohEstimate | InsufficientData:
    """Resistance SoH: 1 at ``initial_resistance_ohm``, 0 at ``end_of_life_factor`` times it, linear between.

    Impedance cycles (Re + Rct from a spectroscopy fit) are preferred: they are measured the same way
    every time. Without them the pulse resistance of charge/discharge cycles is used, which depends on
    the state of charge at the steps and is noisier (NASA B0029 alternates 0.08/0.17 Ω). The value is the
    median of the latest ``window`` values (robust to that bimodality), clipped to [0, 1] with a warning.
    """
    if initial_resistance_ohm <= 0 or end_of_life_factor <= 1:
        raise ValueError("initial_resistance_ohm must be positive and end_of_life_factor above 1")
    good = [
        a for a in aggregates if not a.anomalies and a.resistance_ohm is not None and a.resistance_ohm > 0
    ]
    impedance = [a for a in good if a.kind == "impedance"]
    chosen, source = (impedance, "impedance") if len(impedance) >= MIN_RESISTANCE_POINTS else (good, "pulses")
    if len(chosen) < MIN_RESISTANCE_POINTS:
        return InsufficientData(
            [f"at least {MIN_RESISTANCE_POINTS} cycles with a resistance, no anomalies (have {len(chosen)})"]
        )
    recent = chosen[-window:]
    values = np.array([a.resistance_ohm for a in recent], dtype=float)
    resistance = float(np.median(values))
    # 1.4826·MAD is the normal-equivalent scatter; the median's error is about 1.25·sigma/√n.
    mad = 1.4826 * float(np.median(np.abs(values - resistance)))
    scatter = mad if mad > 0 else float(np.std(values, ddof=1))
    std_r = 1.2533 * scatter / math.sqrt(len(values))
    span = (end_of_life_factor - 1.0) * initial_resistance_ohm
    raw = 1.0 - (resistance - initial_resistance_ohm) / span
    warnings = []
    if source == "pulses":
        warnings.append("no impedance cycles: pulse resistance from charge/discharge steps (SoC-dependent)")
    value = min(max(raw, 0.0), 1.0)
    if value != raw:
        warnings.append(f"resistance-based SoH {raw:.3f} clipped to [0, 1]")
    return SohEstimate(
        value=value,
        std=std_r / span,
        method="resistance",
        inputs={
            "cycles": [a.cycle_index for a in recent],
            "count": len(recent),
            "source": source,
            "resistance_ohm": resistance,
            "initial_resistance_ohm": initial_resistance_ohm,
            "end_of_life_factor": end_of_life_factor,
        },
        warnings=warnings,
    )


def soh_series(
    aggregates: Sequence[CycleAggregate],
    rated_capacity_ah: float,
    *,
    window: int = 5,
    correction: CapacityCorrection | None = None,
    reference_temperature_c: float = 24.0,
    reference_current_a: float = 2.0,
) -> list[tuple[int, SohEstimate | InsufficientData]]:
    """Capacity SoH at each discharge cycle from the cycles up to and including it (for reports)."""
    result = []
    ordered = list(aggregates)
    for position, aggregate in enumerate(ordered):
        if aggregate.kind != "discharge":
            continue
        result.append(
            (
                aggregate.cycle_index,
                capacity_soh(
                    ordered[: position + 1],
                    rated_capacity_ah,
                    reference_temperature_c=reference_temperature_c,
                    reference_current_a=reference_current_a,
                    window=window,
                    correction=correction,
                ),
            )
        )
    return result
