"""Measured discharges as a calibration takes them: cleaned columns, how to simulate them, how to pool
their errors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twins.physics.model import DischargeSimulator
from twins.physics.profile import clean_profile


@dataclass(frozen=True)
class Discharge:
    """One measured discharge as a calibration fits it: cleaned columns and the chamber temperature."""

    time_s: np.ndarray
    voltage_v: np.ndarray
    current_a: np.ndarray
    temperature_c: np.ndarray
    ambient_c: float
    # False if the first sample is already under load: its voltage is then below the rest voltage by the
    # polarisation, and a calibration fits the rest voltage instead of taking the first one.
    at_rest: bool = True

    @classmethod
    def from_columns(
        cls,
        time_s: np.ndarray,
        voltage_v: np.ndarray,
        current_a: np.ndarray,
        temperature_c: np.ndarray,
        ambient_c: float,
        *,
        at_rest: bool = True,
    ) -> Discharge:
        t, (v, i, temp), _ = clean_profile(time_s, voltage_v, current_a, temperature_c)
        if len(t) < 2:
            raise ValueError("a discharge needs at least two samples with finite, increasing time")
        return cls(t, v, i, temp, float(ambient_c), at_rest)

    def simulator(self, model: str = "SPMe") -> DischargeSimulator:
        """The profile discretised for ``model``, from this discharge's rest voltage and temperature."""
        return DischargeSimulator(
            self.time_s,
            self.current_a,
            self.ambient_c,
            initial_c=float(self.temperature_c[0]),
            initial_voltage_v=float(self.voltage_v[0]),
            model=model,
        )


def delivered_ah(discharge: Discharge) -> float:
    """Charge (Ah) the discharge took out of the cell."""
    current, time_s = discharge.current_a, discharge.time_s
    return float(-np.sum(np.minimum(current[:-1], 0.0) * np.diff(time_s)) / 3600.0)


def mean_discharge_current(discharge: Discharge) -> float:
    """Mean current (A) while the cell discharges: what orders discharges from gentle to hard."""
    discharging = discharge.current_a < 0
    return float(-discharge.current_a[discharging].mean()) if discharging.any() else 0.0


def combined_errors(errors: list[dict[str, float]], sample_counts: list[int]) -> dict[str, float]:
    """Errors over every sample of several discharges: MAPEs and mean squares weighted by sample count,
    the coverage of the least-covered discharge. One discharge's errors come back unchanged."""
    if len(errors) == 1:
        return dict(errors[0])
    weights = np.asarray(sample_counts, dtype=float) / float(sum(sample_counts))
    out = {
        key: float(np.dot(weights, [e[key] for e in errors]))
        for key in ("voltage_mape_pct", "temperature_mape_k_pct", "temperature_mape_c_pct")
    }
    for key in ("voltage_rmse_v", "temperature_rmse_k"):
        out[key] = float(np.sqrt(np.dot(weights, [e[key] ** 2 for e in errors])))
    out["coverage"] = float(min(e["coverage"] for e in errors))
    return out
