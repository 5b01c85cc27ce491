"""The calibration's parameter space: every fitted parameter's bounds, and the unit coordinates ([0, 1]
over the bounds, log-spaced for scales) the least squares works in."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from twins.physics.model import CellParameters


@dataclass(frozen=True)
class Bound:
    low: float
    high: float
    log: bool = True

    def to_unit(self, value: float) -> float:
        if self.log:
            return (math.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (value - self.low) / (self.high - self.low)

    def from_unit(self, u: float) -> float:
        u = min(max(float(u), 0.0), 1.0)
        if self.log:
            return math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        return self.low + u * (self.high - self.low)


# Bounds keep the solver in a physical region.
ELECTROCHEMICAL = {
    "capacity_ah": Bound(0.2, 4.0),
    "negative_ratio": Bound(0.3, 1.3),  # x Chen2020's negative volume fraction 0.75; 1.3x keeps it < 1
    "negative_sto_full": Bound(0.5, 0.99, log=False),
    "contact_resistance_ohm": Bound(1e-4, 0.5),
    "diffusivity_scale": Bound(0.01, 100.0),
    "positive_diffusivity_ratio": Bound(0.01, 100.0),
    "electrolyte_transport_scale": Bound(0.05, 20.0),
    "reaction_rate_scale": Bound(0.01, 100.0),
    "ocp_shape_1": Bound(-0.2, 0.2, log=False),
    "ocp_shape_2": Bound(-0.2, 0.2, log=False),
    "ocp_shape_3": Bound(-0.2, 0.2, log=False),
}
THERMAL = {
    "heat_transfer_w_m2k": Bound(0.5, 300.0),
    "heat_capacity_scale": Bound(0.1, 10.0),
}
AMBIENT_OFFSET_BOUND_K = 5.0
BOUNDS = {**ELECTROCHEMICAL, **THERMAL}
# The capacity bound above is for the 2 Ah cells the calibration was developed on; a cell of another rating
# gets the same bound relative to its rating (``bounds_for``), so a 2 Ah cell's fit is unchanged.
REFERENCE_RATED_AH = 2.0


def bounds_for(rated_capacity_ah: float = REFERENCE_RATED_AH) -> dict[str, Bound]:
    """Every parameter's bound for a cell of this rating: the capacity's scales with it, the rest are
    absolute (resistances, scales of the base set's properties)."""
    ratio = rated_capacity_ah / REFERENCE_RATED_AH
    capacity = ELECTROCHEMICAL["capacity_ah"]
    return {**BOUNDS, "capacity_ah": Bound(capacity.low * ratio, capacity.high * ratio)}


def to_units(params: CellParameters, names, bounds: dict[str, Bound] = BOUNDS) -> np.ndarray:
    return np.clip([bounds[name].to_unit(getattr(params, name)) for name in names], 0.0, 1.0)


def from_units(
    params: CellParameters, names, u: np.ndarray, bounds: dict[str, Bound] = BOUNDS
) -> CellParameters:
    return dataclasses.replace(
        params, **{name: bounds[name].from_unit(v) for name, v in zip(names, u, strict=True)}
    )
