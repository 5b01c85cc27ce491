"""Synthetic capacity-fade trajectories from the physics twin, for training data and what-if runs.

``aging_trajectories`` cycles the (calibrated) cell with a constant-current discharge and a CC-CV charge
in a ``pybamm.Experiment`` with solvent-diffusion-limited SEI growth (optionally partially reversible
lithium plating), and returns per cycle the discharge capacity and the capacity lost to those side
reactions. The model is an SPM, or an SPMe with plating: plating is driven by how far the negative
electrode's potential falls under charge, and the SPM leaves out the electrolyte part of that drop (with
it a 2C charge plated *less* per cycle than a 1C one, because it spends less time charging).
Degradation parameters are O'Kane et al. (2022)'s, fitted on the same LG M50 cell as the base set
(Chen2020): SEI growth with a 38 kJ/mol activation energy (so ambient temperature matters) and plating
kinetics. Limits, on purpose to keep it cheap:

- SEI growth (and plating) only: no particle cracking, loss of active material or electrolyte dry-out,
  so the knee of late life is not produced; the degradation constants are not fitted to NASA data.
- CC-CV protocol (CV to C/20, no rests), coarse mesh: capacities are relative indicators, good for
  comparing protocols ("1C vs 2C charging"), not absolute life predictions. How large the fast-charge
  penalty is depends on the model: on the same cell a DFN (coarse mesh) showed almost none at 25 °C up to
  3C, the SPMe a 1.3x (2C) to 2.7x (3C) faster loss than at 1C (docs/physics.md).
- Runtime grows linearly with cycles: ~0.07 s a cycle (SPM), 0.2-2 s (SPMe with plating; the higher the
  charge rate, the slower) on this machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pybamm

from twins.physics.model import VAR_PTS, CellParameters, base_parameter_values, model_inputs

# O'Kane et al. (2022), "Lithium-ion battery degradation: how to model it" (PyBaMM's OKane2022 set):
# the degradation parameters of the base set's cell.
DEGRADATION_SET = "OKane2022"
_DEGRADATION_KEYS = (
    "SEI growth activation energy [J.mol-1]",
    "Lithium metal partial molar volume [m3.mol-1]",
    "Lithium plating kinetic rate constant [m.s-1]",
    "Exchange-current density for plating [A.m-2]",
    "Exchange-current density for stripping [A.m-2]",
    "Initial plated lithium concentration [mol.m-3]",
    "Typical plated lithium concentration [mol.m-3]",
    "Lithium plating transfer coefficient",
    "Dead lithium decay constant [s-1]",
    "Dead lithium decay rate [s-1]",
)


@dataclass
class AgingTrajectory:
    cycle: np.ndarray  # 1..n
    capacity_ah: np.ndarray  # discharge capacity of each cycle
    c_rate_charge: float
    c_rate_discharge: float
    ambient_c: float
    # Capacity (lithium) lost to SEI and plating by the end of each cycle: the fade the side reactions
    # cause, free of the rate-dependent polarisation that also changes the discharge capacity.
    lost_ah: np.ndarray = field(default_factory=lambda: np.empty(0))
    plating: bool = False
    requested_cycles: int = 0
    message: str = ""

    @property
    def complete(self) -> bool:
        return len(self.cycle) >= self.requested_cycles


def aging_parameter_values(ambient_c: float, capacity_ah: float) -> pybamm.ParameterValues:
    """The calibration's parameter values with O'Kane's degradation constants, ambient fixed."""
    values = base_parameter_values(ambient_c, state_inputs=True)
    degradation = pybamm.ParameterValues(DEGRADATION_SET)
    values.update({key: degradation[key] for key in _DEGRADATION_KEYS}, check_already_exists=False)
    # Experiments refuse an input-controlled ambient: fix it as a number.
    values["Ambient temperature [K]"] = 273.15 + ambient_c
    # The experiment's C-rates refer to the nominal capacity; make it the fitted one.
    values["Nominal cell capacity [A.h]"] = capacity_ah
    return values


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
    depth_of_discharge: float = 1.0,
    plating_model: str = "partially reversible",
    model: str | None = None,
) -> AgingTrajectory:
    """Discharge capacity and side-reaction loss per cycle of ``n_cycles`` cycles at the given C-rates.

    ``depth_of_discharge`` < 1 ends each discharge after that share of the nominal capacity (or at
    ``lower_v``, whichever is first). ``model`` defaults to SPMe with plating and SPM without. Never
    raises on an infeasible step: the trajectory keeps the cycles that ran and says why it stopped in
    ``message``.
    """
    options = {"SEI": "solvent-diffusion limited", "thermal": "lumped", "contact resistance": "true"}
    if plating:
        options["lithium plating"] = plating_model
    name = model or ("SPMe" if plating else "SPM")
    battery_model = getattr(pybamm.lithium_ion, name)(options=options)
    values = aging_parameter_values(ambient_c, params.capacity_ah)
    inputs = model_inputs(params, 273.15 + ambient_c, None)
    inputs.pop("Ambient temperature [K]")
    if depth_of_discharge < 1.0:
        minutes = 60.0 * depth_of_discharge / c_rate_discharge
        discharge = f"Discharge at {c_rate_discharge}C for {minutes:.2f} minutes or until {lower_v} V"
    else:
        discharge = f"Discharge at {c_rate_discharge}C until {lower_v} V"
    experiment = pybamm.Experiment(
        [
            (
                discharge,
                f"Charge at {c_rate_charge}C until {upper_v} V",
                # Without the CV hold a CC charge ends early by the polarisation, which would show up as
                # a one-off "fade" that is only an undercharge.
                f"Hold at {upper_v} V until C/20",
            )
        ]
        * n_cycles
    )
    sim = pybamm.Simulation(
        battery_model,
        parameter_values=values,
        experiment=experiment,
        var_pts=VAR_PTS,
        solver=pybamm.IDAKLUSolver(rtol=1e-5, atol=1e-7),
    )
    message = ""
    try:
        solution = sim.solve(inputs=inputs)
    except pybamm.SolverError as error:  # the first cycle already failed: nothing to report
        return AgingTrajectory(
            np.arange(1, 1), np.empty(0), c_rate_charge, c_rate_discharge, ambient_c, np.empty(0),
            plating, n_cycles, f"solver failed: {error}",
        )  # fmt: skip
    capacities, lost = [], []
    for cycle in solution.cycles:
        if cycle is None:  # the experiment stopped (e.g. a step became infeasible); keep what ran
            break
        if len(cycle.steps) < 3:  # a cycle cut short is not a full measurement
            break
        step = cycle.steps[0]["Discharge capacity [A.h]"].entries
        capacities.append(float(step[-1] - step[0]))
        lost.append(float(cycle["Total capacity lost to side reactions [A.h]"].entries[-1]))
    if len(capacities) < n_cycles:
        message = f"stopped after {len(capacities)} of {n_cycles} cycles ({solution.termination})"
    return AgingTrajectory(
        np.arange(1, len(capacities) + 1),
        np.array(capacities),
        c_rate_charge,
        c_rate_discharge,
        ambient_c,
        np.array(lost),
        plating,
        n_cycles,
        message,
    )
