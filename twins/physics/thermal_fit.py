"""The lumped thermal model fitted without PyBaMM: given the heat one simulation generated, the exact
solution of C dT/dt = Q(t) - hA (T - T_amb) gives the temperature for any heat transfer, heat capacity and
chamber offset in milliseconds."""

from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares

from twins.physics.discharge import Discharge
from twins.physics.model import CellParameters, SimulatedCurve
from twins.physics.parameter_space import AMBIENT_OFFSET_BOUND_K, THERMAL, from_units, to_units


def lumped_temperature(
    time_s: np.ndarray,
    heating_k_s: np.ndarray,
    cooling_per_w_m2k: float,
    *,
    heat_transfer_w_m2k: float,
    capacity_ratio: float,
    initial_c: float,
    ambient_c: float,
) -> np.ndarray:
    """The lumped thermal model's temperature, solved exactly for heat held linear-in-time per step.

    ``heating_k_s`` and ``cooling_per_w_m2k`` come from a simulation at some heat capacity; a heat
    capacity ``capacity_ratio`` times that one divides both rates.
    """
    gain = heating_k_s / capacity_ratio
    rate = heat_transfer_w_m2k * cooling_per_w_m2k / capacity_ratio
    dt = np.diff(time_s)
    decay = np.exp(-rate * dt)
    forcing = 0.5 * (gain[1:] + gain[:-1])
    steady = ambient_c + forcing / rate
    # T[n+1] = steady[n] + (T[n] - steady[n]) * decay[n]: a linear recurrence, unrolled in closed form.
    out = np.empty_like(time_s)
    out[0] = initial_c
    temperature = initial_c
    for n in range(len(dt)):
        temperature = steady[n] + (temperature - steady[n]) * decay[n]
        out[n + 1] = temperature
    return out


def fit_thermal(
    curves: list[SimulatedCurve],
    params: CellParameters,
    discharges: list[Discharge],
    offsets_k: list[float],
    fit_ambient: bool,
) -> tuple[CellParameters, list[float]]:
    """Heat transfer and heat capacity (shared) and each discharge's chamber offset that best reproduce
    the measured temperatures under the heat the simulated electrochemistry generates; no PyBaMM run."""
    usable = [
        k
        for k, curve in enumerate(curves)
        if len(curve.time_s) >= 3 and curve.heating_k_s is not None and curve.cooling_per_w_m2k > 0
    ]
    if not usable:
        return params, list(offsets_k)
    names = list(THERMAL)

    def residuals(x: np.ndarray) -> np.ndarray:
        trial = from_units(params, names, x[:2])
        parts = []
        for slot, k in enumerate(usable):
            curve, discharge = curves[k], discharges[k]
            measured = discharge.temperature_c[: len(curve.time_s)]
            simulated = lumped_temperature(
                curve.time_s,
                curve.heating_k_s,
                curve.cooling_per_w_m2k,
                heat_transfer_w_m2k=trial.heat_transfer_w_m2k,
                capacity_ratio=trial.heat_capacity_scale / params.heat_capacity_scale,
                initial_c=float(measured[0]),
                ambient_c=discharge.ambient_c + (x[2 + slot] if fit_ambient else offsets_k[k]),
            )
            parts.append((simulated - measured) / (measured + 273.15))
        return np.concatenate(parts)

    n = len(usable)
    x0 = np.concatenate((to_units(params, names), [offsets_k[k] if fit_ambient else 0.0 for k in usable]))
    offset_bound = AMBIENT_OFFSET_BOUND_K if fit_ambient else 1e-9
    result = least_squares(
        residuals, x0, bounds=([0, 0] + [-offset_bound] * n, [1, 1] + [offset_bound] * n),
        x_scale=[0.1, 0.1] + [1.0] * n, method="trf", loss="soft_l1", f_scale=0.002, max_nfev=200,
    )  # fmt: skip
    fitted = from_units(params, names, result.x[:2])
    offsets = list(offsets_k)
    if fit_ambient:
        for slot, k in enumerate(usable):
            offsets[k] = float(result.x[2 + slot])
    return fitted, offsets
