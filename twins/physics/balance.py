"""The electrode balance of a fitted cell: where its two electrodes sit at a given open-circuit voltage.

Electrode balancing. The cell's open-circuit voltage is U_p(y) - U_n(x) along the line the two
stoichiometries travel during a discharge. That line is fitted, not taken from the base set: its start
(the negative stoichiometry when the cell is full at ``FULL_VOLTAGE_V``; the positive one follows from the
OCPs), its slopes (the electrode capacities: ``capacity_ah`` for the positive, ``negative_ratio`` for the
negative) and, because the NASA cells are not NMC811, a smooth correction of the positive OCP's shape
(three Legendre coefficients over the positive's working window). The initial state of a discharge is
the point of that line whose open-circuit voltage equals the measured rest voltage, so a held-out
discharge starting from another voltage starts where the fitted cell says it should.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING

import numpy as np
import pybamm

if TYPE_CHECKING:
    from twins.physics.model import CellParameters

# The base parameter set whose OCPs and electrode loadings the balance starts from (the model's too).
BASE_SET = "Chen2020"
# The constant-voltage step of the NASA (and most Li-ion) charges: the balance's "full" point.
FULL_VOLTAGE_V = 4.2
# The positive stoichiometry window of the base set between 4.2 V and 2.5 V: the OCP shape correction is
# a polynomial over this window and constant outside it (a cubic must not run away at the ends).
SHAPE_WINDOW = (0.26, 0.86)
# The corrected positive OCP must fall by at least this much per unit stoichiometry (the base set's falls
# by 0.8-3 V per unit over the window, an LCO plateau by ~0.3).
MIN_OCP_SLOPE = 0.3
# Stoichiometries are kept this far inside (0, 1), where the OCP asymptotes start to bite.
STO_MARGIN = 1e-3


def shape_basis(z):
    """Legendre polynomials 1-3 of ``z`` (a NumPy array or a PyBaMM expression, already in [-1, 1])."""
    return (z, (3 * z**2 - 1) / 2, (5 * z**3 - 3 * z) / 2)


def window_coordinate(sto):
    low, high = SHAPE_WINDOW
    return 2 * (sto - low) / (high - low) - 1


class ElectrodeBalance:
    """The base set's OCPs tabulated, and the initial stoichiometries of a fitted cell at a voltage."""

    def __init__(self) -> None:
        values = pybamm.ParameterValues(BASE_SET)
        self.grid = np.linspace(STO_MARGIN, 1 - STO_MARGIN, 4001)
        vector = pybamm.Vector(self.grid)
        self.u_n = np.asarray(values["Negative electrode OCP [V]"](vector).evaluate()).ravel()
        self.u_p = np.asarray(values["Positive electrode OCP [V]"](vector).evaluate()).ravel()
        self.c_n_max = float(values["Maximum concentration in negative electrode [mol.m-3]"])
        self.c_p_max = float(values["Maximum concentration in positive electrode [mol.m-3]"])
        area = float(values["Electrode height [m]"]) * float(values["Electrode width [m]"])
        per_scale = area * 96485.33212 / 3600 / float(values["Nominal cell capacity [A.h]"])
        # Ah each electrode holds between stoichiometry 0 and 1, per Ah of ``capacity_ah``.
        self.positive_ah = per_scale * self.c_p_max * float(
            values["Positive electrode active material volume fraction"]
        ) * float(values["Positive electrode thickness [m]"])  # fmt: skip
        self.negative_ah = per_scale * self.c_n_max * float(
            values["Negative electrode active material volume fraction"]
        ) * float(values["Negative electrode thickness [m]"])  # fmt: skip

    def positive_ocp(self, shape: tuple[float, float, float]) -> np.ndarray:
        z = np.clip(window_coordinate(self.grid), -1.0, 1.0)
        return self.u_p + sum(c * b for c, b in zip(shape, shape_basis(z), strict=True))

    def shape_violation(self, shape: tuple[float, float, float]) -> np.ndarray:
        """How far the corrected positive OCP's slope (V per unit stoichiometry, on a coarse grid over the
        window) rises above ``-MIN_OCP_SLOPE``: zero where it falls as a positive OCP must. A flat or
        rising stretch would make the rest voltage → state of charge map ambiguous."""
        y = np.linspace(*SHAPE_WINDOW, 61)
        u = np.interp(y, self.grid, self.positive_ocp(shape))
        return np.maximum(0.0, np.diff(u) / np.diff(y) + MIN_OCP_SLOPE)

    def capacity_between(self, params: CellParameters, high_v: float, low_v: float) -> float:
        """Ah between open-circuit voltages ``high_v`` and ``low_v`` along the fitted balance: the
        identifiable capacity (the electrode sizes and the balance trade off against each other)."""
        q_n = self.negative_ah * params.capacity_ah * params.negative_ratio
        x_high, _ = self.initial_state(params, high_v)
        x_low, _ = self.initial_state(params, low_v)
        return (x_high - x_low) * q_n

    def initial_state(self, params: CellParameters, voltage_v: float | None) -> tuple[float, float]:
        """(negative, positive) stoichiometry at open-circuit ``voltage_v`` (None: full).

        The full point is ``negative_sto_full`` with the positive stoichiometry at which the (corrected)
        positive OCP is ``FULL_VOLTAGE_V`` above the negative's; a lower rest voltage moves both along
        the line set by the two electrode capacities.
        """
        u_p = np.minimum.accumulate(self.positive_ocp(params.ocp_shape))  # decreasing in y
        x_full = float(np.clip(params.negative_sto_full, STO_MARGIN, 1 - STO_MARGIN))
        target = FULL_VOLTAGE_V + float(np.interp(x_full, self.grid, self.u_n))
        y_full = float(np.interp(-target, -u_p, self.grid))
        if voltage_v is None or not math.isfinite(voltage_v):
            return x_full, y_full
        q_p = self.positive_ah * params.capacity_ah
        q_n = self.negative_ah * params.capacity_ah * params.negative_ratio
        lowest = -min((1 - STO_MARGIN - x_full) * q_n, (y_full - STO_MARGIN) * q_p)
        highest = min((x_full - STO_MARGIN) * q_n, (1 - STO_MARGIN - y_full) * q_p)
        discharged = np.linspace(lowest, highest, 2001)
        x, y = x_full - discharged / q_n, y_full + discharged / q_p
        ocv = np.interp(y, self.grid, u_p) - np.interp(x, self.grid, self.u_n)
        ocv = np.minimum.accumulate(ocv)  # decreasing along the discharge
        at = float(np.interp(-float(voltage_v), -ocv, discharged))
        return x_full - at / q_n, y_full + at / q_p


@functools.cache
def electrode_balance() -> ElectrodeBalance:
    return ElectrodeBalance()
