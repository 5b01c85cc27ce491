"""Synthetic capacity-fade trajectories from the physics twin, for training data and what-if runs.

``aging_trajectories`` cycles the calibrated cell with constant-current charge and discharge in a
``pybamm.Experiment`` on an SPM with solvent-diffusion-limited SEI growth (optionally lithium plating),
and returns the discharge capacity of every cycle. Limits, on purpose to keep it cheap:

- SEI growth (and plating) only: no particle cracking, loss of active material or electrolyte dry-out,
  so the knee of late life is not produced; the SEI rate constants are Chen2020's, not fitted to NASA.
- CC-CV protocol (CV to C/10, no rests), SPM on a coarse mesh: capacities are relative indicators,
  good for comparing protocols ("1C vs 2C charging"), not absolute life predictions.
- Runtime grows linearly with cycles (~0.1-0.3 s a cycle on this machine).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pybamm

from twins.physics.model import VAR_PTS, CellParameters, base_parameter_values


@dataclass
class AgingTrajectory:
    cycle: np.ndarray  # 1..n
    capacity_ah: np.ndarray  # discharge capacity of each cycle
    c_rate_charge: float
    c_rate_discharge: float
    ambient_c: float


def aging_trajectories(
    params: CellParameters,
    n_cycles: int,
    c_rate_charge: float,
    c_rate_discharge: float,
    *,
    ambient_c: float = 25.0,
    plating: bool = False,
    lower_v: float = 2.7,
    upper_v: float = 4.2,
) -> AgingTrajectory:
    """Discharge capacity per cycle of ``n_cycles`` CC charge/discharge cycles at the given C-rates."""
    options = {"SEI": "solvent-diffusion limited", "thermal": "lumped", "contact resistance": "true"}
    if plating:
        options["lithium plating"] = "irreversible"
    model = pybamm.lithium_ion.SPM(options=options)
    values = base_parameter_values(ambient_c, 4.2)
    inputs = params.inputs()
    # Experiments refuse an input-controlled ambient: fix it as a number.
    values["Ambient temperature [K]"] = 273.15 + ambient_c
    # The experiment's C-rates refer to the nominal capacity; make it the fitted one.
    values["Nominal cell capacity [A.h]"] = params.capacity_ah
    experiment = pybamm.Experiment(
        [
            (
                f"Discharge at {c_rate_discharge}C until {lower_v} V",
                f"Charge at {c_rate_charge}C until {upper_v} V",
                # Without the CV hold a CC charge ends early by the polarisation, which would show up as
                # a one-off "fade" that is only an undercharge.
                f"Hold at {upper_v} V until C/10",
            )
        ]
        * n_cycles
    )
    sim = pybamm.Simulation(
        model,
        parameter_values=values,
        experiment=experiment,
        var_pts=VAR_PTS,
        solver=pybamm.IDAKLUSolver(rtol=1e-5, atol=1e-7),
    )
    solution = sim.solve(inputs=inputs)
    capacities = []
    for cycle in solution.cycles:
        if cycle is None:  # the experiment stopped (e.g. a step became infeasible); keep what ran
            break
        discharge = cycle.steps[0]
        capacities.append(float(discharge["Discharge capacity [A.h]"].entries[-1]
                                - discharge["Discharge capacity [A.h]"].entries[0]))  # fmt: skip
    return AgingTrajectory(
        np.arange(1, len(capacities) + 1), np.array(capacities), c_rate_charge, c_rate_discharge, ambient_c
    )
