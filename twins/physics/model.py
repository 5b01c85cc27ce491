"""PyBaMM electrochemical-thermal model of an 18650 cell, driven by a measured current profile.

Parameter set: PyBaMM's ``Chen2020`` (LG M50, 21700, 5 Ah, graphite/NMC811), scaled to the cell at hand.
Why this set and not an LCO one: the NASA PCoE cells are 2 Ah 18650s of undisclosed chemistry, and the
built-in LCO set (``Marquis2019``) is a 0.68 Ah pouch whose LCO OCP and cut-off (3.1 V) do not cover the
2.0-2.7 V end of discharge in the data, while Chen2020 is a cylindrical cell measured down to 2.5 V with
tabulated OCPs, validated electrode kinetics and a full set of thermal properties. The capacity is scaled
through the electrode area (``Electrode height``): the current density per unit area at a given C-rate
then stays that of the validated cell, so kinetics and transport behave as in the original, and the fitted
"capacity" directly measures the cell's (aged) capacity. The cylindrical 18650 can (volume, surface)
replaces the 21700 one for the lumped thermal model. Where the two electrodes start at a rest voltage,
and the positive OCP's fitted shape, come from the electrode balance (``balance.py``).

What the calibration fits (``CellParameters``) enters the built model as ``pybamm.InputParameter``s, so a
model is discretised once per measured profile and then solved many times for a few tens of milliseconds
each (IDAKLU re-uses its compiled functions across inputs).
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections import deque
from dataclasses import asdict, dataclass, field

import numpy as np
import pybamm

from twins.physics.balance import BASE_SET, electrode_balance, shape_basis, window_coordinate
from twins.physics.profile import changes_of, clean_profile, current_knots, level_steady

# A generic 18650 can: 18 mm diameter, 65 mm height.
CELL_VOLUME_M3 = math.pi * 0.009**2 * 0.065
CELL_SURFACE_M2 = 2 * math.pi * 0.009 * 0.065 + 2 * math.pi * 0.009**2
# Below every cut-off in the data (NASA uses 2.0-2.7 V), so the measured knee is simulated, not cut off.
LOWER_CUTOFF_V = 1.5
UPPER_CUTOFF_V = 4.5
# A coarse mesh: at 5 points per electrode and 8 per particle SPMe/DFN stay within ~2 mV of a fine mesh
# on a 2C discharge and solve an order of magnitude faster.
VAR_PTS = {"x_n": 5, "x_s": 5, "x_p": 5, "r_n": 8, "r_p": 8}
MODELS = ("SPMe", "DFN", "SPM")
# Lone solves whose cost predicts the next ones (``DischargeSimulator.recent_run_s``).
RECENT_RUNS = 3
# A solve's internal steps are capped; one that reaches the cap stops there and comes back as a partial
# curve. A solve through the deep end of a cold discharge can find a region where the DAE solver's Newton
# iterations keep failing (the positive electrode's electrolyte running empty, where the exchange current
# goes as its square root): one B0045 DFN solve then took 179,000 steps and 67 s against ~1,200 steps and
# 0.2-0.7 s for its neighbours, and which parameter sets do it is chaotic (a 1e-6 change moves it). A
# steady discharge needs 500-5,000 steps on the DFN, each change of current ~100 more (B0025's 338
# changes: 33,600); the cap is twice or more of that, so a solve costs at most a few seconds.
MAX_SOLVER_STEPS = 10_000
MAX_SOLVER_STEPS_PER_CHANGE = 200
# A solve cut at the step limit is solved once more at this tolerance (a tighter one, so a different
# sequence of steps): the stuck B0045 solves then took 1,200 steps and matched the unbounded curves to
# 0.03 mV. Without it a fit whose own fitted point grinds would report a partial curve for it.
RETRY_RTOL = 7e-6
SOLVER_RTOL = 1e-5

_HEAT_CAPACITIES = (
    "Negative current collector specific heat capacity [J.kg-1.K-1]",
    "Positive current collector specific heat capacity [J.kg-1.K-1]",
    "Negative electrode specific heat capacity [J.kg-1.K-1]",
    "Positive electrode specific heat capacity [J.kg-1.K-1]",
    "Separator specific heat capacity [J.kg-1.K-1]",
)


@dataclass(frozen=True)
class CellParameters:
    """The few parameters a calibration adjusts; everything else comes from the base set.

    - ``capacity_ah``: the base set's nominal capacity scaled by the electrode area (so also the positive
      electrode's capacity). Falls with age; the usable capacity also depends on the balance below.
    - ``contact_resistance_ohm``: lumped ohmic resistance (tabs, contacts, SEI film), rises with age.
    - ``diffusivity_scale``: multiplies both particle diffusivities, and ``positive_diffusivity_ratio``
      the positive's on top (solid transport: the end-of-discharge knee and the recovery after it).
    - ``electrolyte_transport_scale``: multiplies the electrolyte diffusivity and conductivity (the base
      set's are for 25 °C and carry no temperature dependence; the NASA set runs at 4-43 °C).
    - ``reaction_rate_scale``: multiplies both exchange-current densities (kinetic overpotential).
    - ``heat_transfer_w_m2k``: lumped surface heat transfer coefficient to the chamber.
    - ``heat_capacity_scale``: multiplies every component's specific heat (thermal mass of the can etc.).
    - ``negative_ratio``: scales the negative electrode's active material (the n/p capacity ratio).
    - ``negative_sto_full``: negative stoichiometry when the cell is full (lithium inventory / slippage).
    - ``ocp_shape_1..3``: Legendre coefficients (V) of the positive OCP correction over ``SHAPE_WINDOW``.
    """

    capacity_ah: float = 2.0
    contact_resistance_ohm: float = 0.05
    diffusivity_scale: float = 1.0
    positive_diffusivity_ratio: float = 1.0
    electrolyte_transport_scale: float = 1.0
    reaction_rate_scale: float = 1.0
    heat_transfer_w_m2k: float = 10.0
    heat_capacity_scale: float = 1.0
    negative_ratio: float = 1.0
    negative_sto_full: float = 0.9106  # Chen2020's own balance at 4.2 V (0.91062)
    ocp_shape_1: float = 0.0
    ocp_shape_2: float = 0.0
    ocp_shape_3: float = 0.0

    @property
    def ocp_shape(self) -> tuple[float, float, float]:
        return (self.ocp_shape_1, self.ocp_shape_2, self.ocp_shape_3)

    def inputs(self) -> dict[str, float]:
        """The model's input parameters, except the initial stoichiometries (see ``initial_state``)."""
        return {
            "Capacity [A.h]": self.capacity_ah,
            "Contact resistance [Ohm]": self.contact_resistance_ohm,
            "Diffusivity scale": self.diffusivity_scale,
            "Positive diffusivity ratio": self.positive_diffusivity_ratio,
            "Electrolyte transport scale": self.electrolyte_transport_scale,
            "Reaction rate scale": self.reaction_rate_scale,
            "Total heat transfer coefficient [W.m-2.K-1]": self.heat_transfer_w_m2k,
            "Heat capacity scale": self.heat_capacity_scale,
            "Negative ratio": self.negative_ratio,
            "OCP shape 1 [V]": self.ocp_shape_1,
            "OCP shape 2 [V]": self.ocp_shape_2,
            "OCP shape 3 [V]": self.ocp_shape_3,
        }

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass
class SimulatedCurve:
    """Model output on the requested sample times it reached.

    ``time_s`` is a prefix of the requested times: the solver stops at the voltage cut-off or on a
    failure, and ``coverage`` says which fraction of the requested duration was simulated (1.0 = all).
    ``heating_k_s`` (heat generated, as a warming rate of the cell without cooling, K/s) and
    ``cooling_per_w_m2k`` (cooling rate per kelvin above ambient per W/m²/K of heat transfer, 1/s) let a
    calibration fit the lumped thermal parameters without re-running the electrochemistry.
    ``solver_steps`` counts the integrator's internal steps: what a solve cost, on any machine.
    """

    time_s: np.ndarray
    voltage_v: np.ndarray
    temperature_c: np.ndarray
    coverage: float
    message: str = ""
    n_requested: int = 0
    extras: dict[str, float] = field(default_factory=dict)
    heating_k_s: np.ndarray | None = None
    cooling_per_w_m2k: float = 0.0
    solver_steps: int = 0


def base_parameter_values(
    initial_c: float, initial_voltage_v: float | None = None, *, state_inputs: bool = False
) -> pybamm.ParameterValues:
    """Chen2020 adapted to an 18650, with the fitted parameters and the ambient as inputs.

    The initial stoichiometries are inputs too with ``state_inputs`` (``model_inputs`` supplies them
    for a given ``CellParameters`` and rest voltage); otherwise they are fixed at the default balance's
    state at ``initial_voltage_v`` (None: full), and ``CellParameters.inputs()`` is all a solve needs.
    """
    values = pybamm.ParameterValues(BASE_SET)
    base_capacity = float(values["Nominal cell capacity [A.h]"])
    values.update(
        {
            "Ambient temperature [K]": 273.15 + initial_c,
            "Initial temperature [K]": 273.15 + initial_c,
            "Cell volume [m3]": CELL_VOLUME_M3,
            "Cell cooling surface area [m2]": CELL_SURFACE_M2,
            "Lower voltage cut-off [V]": LOWER_CUTOFF_V,
            "Upper voltage cut-off [V]": UPPER_CUTOFF_V,
            "Nominal cell capacity [A.h]": 2.0,
        }
    )
    if state_inputs:
        for electrode in ("negative", "positive"):
            c_max = values[f"Maximum concentration in {electrode} electrode [mol.m-3]"]
            values[f"Initial concentration in {electrode} electrode [mol.m-3]"] = (
                c_max * pybamm.InputParameter(f"Initial {electrode} stoichiometry")
            )
    else:
        _set_base_initial_state(values, initial_voltage_v)
    values["Ambient temperature [K]"] = pybamm.InputParameter("Ambient temperature [K]")
    height = values["Electrode height [m]"]
    values["Electrode height [m]"] = height * pybamm.InputParameter("Capacity [A.h]") / base_capacity
    key = "Negative electrode active material volume fraction"
    values[key] = values[key] * pybamm.InputParameter("Negative ratio")
    values["Contact resistance [Ohm]"] = pybamm.InputParameter("Contact resistance [Ohm]")
    diffusivity = pybamm.InputParameter("Diffusivity scale")
    for electrode, scale in (
        ("Negative", 1),
        ("Positive", pybamm.InputParameter("Positive diffusivity ratio")),
    ):
        key = f"{electrode} particle diffusivity [m2.s-1]"
        values[key] = _scaled(values[key], diffusivity * scale)
        key = f"{electrode} electrode exchange-current density [A.m-2]"
        values[key] = _scaled(values[key], pybamm.InputParameter("Reaction rate scale"))
    for key in ("Electrolyte diffusivity [m2.s-1]", "Electrolyte conductivity [S.m-1]"):
        values[key] = _scaled(values[key], pybamm.InputParameter("Electrolyte transport scale"))
    values["Total heat transfer coefficient [W.m-2.K-1]"] = pybamm.InputParameter(
        "Total heat transfer coefficient [W.m-2.K-1]"
    )
    for key in _HEAT_CAPACITIES:
        values[key] = _scaled(values[key], pybamm.InputParameter("Heat capacity scale"))
    base_ocp = values["Positive electrode OCP [V]"]
    shape = [pybamm.InputParameter(f"OCP shape {k} [V]") for k in (1, 2, 3)]

    def positive_ocp(sto):
        z = pybamm.maximum(pybamm.minimum(window_coordinate(sto), 1), -1)
        return base_ocp(sto) + sum(c * b for c, b in zip(shape, shape_basis(z), strict=True))

    values["Positive electrode OCP [V]"] = positive_ocp
    return values


def _set_base_initial_state(values: pybamm.ParameterValues, initial_voltage_v: float | None) -> None:
    """The base set's own balance at the rest voltage (set before the inputs go in: PyBaMM's
    stoichiometry solve needs numbers; the area scale does not change the stoichiometry anyway)."""
    if initial_voltage_v is not None and math.isfinite(initial_voltage_v):
        v0 = float(np.clip(initial_voltage_v, 2.6, 4.195))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                values.set_initial_state(f"{v0} V")
            return
        except Exception:  # an odd first sample must not stop the twin; start full instead
            pass
    values.set_initial_state(1.0)


def model_inputs(params: CellParameters, ambient_k: float, initial_voltage_v: float | None) -> dict:
    """Every input the built model needs for ``params`` starting at rest voltage ``initial_voltage_v``."""
    x0, y0 = electrode_balance().initial_state(params, initial_voltage_v)
    return {
        **params.inputs(),
        "Ambient temperature [K]": ambient_k,
        "Initial negative stoichiometry": x0,
        "Initial positive stoichiometry": y0,
    }


def _scaled(value, scale):
    """``value`` (a number or a PyBaMM parameter function) multiplied by ``scale``."""
    if callable(value):
        return lambda *args: scale * value(*args)
    return scale * value


def build_model(name: str = "SPMe") -> pybamm.BaseModel:
    """SPMe, DFN (or SPM) with a lumped thermal model and a contact resistance."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; one of {MODELS}")
    options = {"thermal": "lumped", "contact resistance": "true"}
    return getattr(pybamm.lithium_ion, name)(options=options)


def physics_threads() -> int:
    """Solver threads for a batch of simulations: ``CELLPASS_PHYSICS_THREADS``, else the CPUs this process
    may run on. A worker running several calibrations at once on a small machine may set it to 1."""
    configured = os.environ.get("CELLPASS_PHYSICS_THREADS", "").strip()
    if configured:
        try:
            return max(1, int(configured))
        except ValueError:
            raise ValueError(f"CELLPASS_PHYSICS_THREADS must be a whole number, not {configured!r}") from None
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


class DischargeSimulator:
    """One measured profile, discretised once; ``run(params)`` solves it for any ``CellParameters``."""

    def __init__(
        self,
        time_s: np.ndarray,
        current_a: np.ndarray,
        ambient_c: float,
        *,
        initial_c: float | None = None,
        initial_voltage_v: float | None = None,
        model: str = "SPMe",
        threads: int | None = None,
    ):
        t, (i,), _ = clean_profile(time_s, current_a)
        if len(t) < 2:
            raise ValueError("a discharge needs at least two samples with finite, increasing time")
        self.time_s = t
        self.model_name = model
        levelled = level_steady(t, i)
        knots_t, knots_i = current_knots(t, levelled)
        values = base_parameter_values(ambient_c if initial_c is None else initial_c, state_inputs=True)
        # PyBaMM's convention is positive = discharge; the project's is positive = charging.
        values["Current function [A]"] = pybamm.Interpolant(
            knots_t, -knots_i, pybamm.t, interpolator="linear"
        )
        # rtol 1e-5 keeps the solver's own noise (~0.03 mV, ~0.01 K) well below the calibration's finite-
        # difference steps, and is 2-2.5x faster than 1e-6. ``threads`` solvers share a batch of inputs
        # (``run_many``): a calibration's finite differences are independent solves.
        self.threads = max(1, int(threads if threads is not None else physics_threads()))
        self.max_steps = MAX_SOLVER_STEPS + MAX_SOLVER_STEPS_PER_CHANGE * changes_of(levelled)
        self._values = values
        self._retry_sim: pybamm.Simulation | None = None
        self._sim = self._simulation(SOLVER_RTOL)
        self.ambient_c = float(ambient_c)
        self.initial_voltage_v = initial_voltage_v
        self.n_runs = 0
        self.run_seconds = 0.0  # wall time of all runs (the first one includes compiling the model)
        # Solves alone and solves in batches cost differently per simulation (a batch shares the threads);
        # the first solve also compiles the model, so it counts towards neither.
        self._first_s: float | None = None
        self._alone = [0, 0.0]
        self._batched = [0, 0.0]
        # Lone solves cost more near a fit's end than on average: trials far off hit the cut-off early and
        # stop, the fitted cell runs the whole profile (on the DFN, twice the mean). The last few say more.
        self._recent_alone: deque[float] = deque(maxlen=RECENT_RUNS)

    def _simulation(self, rtol: float) -> pybamm.Simulation:
        solver = pybamm.IDAKLUSolver(
            rtol=rtol,
            atol=1e-7,
            # IDAKLU's early termination stops a solve after ``num_steps_no_progress`` steps that advance
            # less than ``t_no_progress``; a span longer than the profile makes that a cap on all steps.
            # A failure returns the solution up to where it stopped instead of raising.
            options={
                "num_steps_no_progress": self.max_steps,
                "t_no_progress": 10.0 * float(self.time_s[-1]) + 1.0,
                "num_threads": self.threads,
                "num_solvers": self.threads,
                "silence_sundials_errors": True,
            },
            on_failure="ignore",
        )
        return pybamm.Simulation(
            build_model(self.model_name), parameter_values=self._values, var_pts=VAR_PTS, solver=solver
        )

    @property
    def mean_run_s(self) -> float:
        """Wall time of one simulation solved alone (the first solve's, compiling included, until another
        has run alone)."""
        if self._alone[0]:
            return self._alone[1] / self._alone[0]
        return self._first_s or 0.0

    @property
    def recent_run_s(self) -> float:
        """Wall time of a lone simulation as the last few went (the slowest of them), or the mean if more:
        what the runs that end a fit will cost."""
        return max(self.mean_run_s, max(self._recent_alone, default=0.0))

    def batch_cost_s(self, n: int) -> float:
        """Expected wall time of ``n`` simulations in one ``run_many``: from the batches so far, or, before
        any, ``threads`` lone runs at a time."""
        if self._batched[0]:
            return n * self._batched[1] / self._batched[0]
        return math.ceil(n / self.threads) * self.mean_run_s

    def run(
        self, params: CellParameters, ambient_offset_k: float = 0.0, rest_voltage_v: float | None = None
    ) -> SimulatedCurve:
        """Solve for ``params``; ``ambient_offset_k`` shifts the chamber temperature (a calibration
        may fit it: NASA's nominal ambient and the cell's temperature after a long rest differ by 1-3 K);
        ``rest_voltage_v`` replaces ``initial_voltage_v`` as the open-circuit voltage to start from."""
        trial = (
            (params, ambient_offset_k)
            if rest_voltage_v is None
            else (params, ambient_offset_k, rest_voltage_v)
        )
        return self.run_many([trial])[0]

    def run_many(self, trials: list[tuple], retry: bool = True) -> list[SimulatedCurve]:
        """Solve several (parameters, ambient offset[, rest voltage]) trials in one call, ``threads`` at a
        time; a trial without a rest voltage starts from the simulator's ``initial_voltage_v``.

        The results are those of ``run`` on each trial, in order. If the batch as a whole fails (one input
        the solver cannot start from fails all of them), each trial is solved on its own, so only the bad
        one comes back with zero coverage. A solve cut at the step limit is solved again (``_solve_again``)
        unless ``retry`` is False: then it comes back cut, for a caller with a complete curve to fall back
        on that cannot wait for a second capped solve.
        """
        if not trials:
            return []
        inputs = [
            model_inputs(
                params, 273.15 + self.ambient_c + offset, rest[0] if rest else self.initial_voltage_v
            )
            for params, offset, *rest in trials
        ]
        self.n_runs += len(inputs)
        started = time.perf_counter()
        try:
            curves = self._solve(inputs)
            if curves is None:
                curves = [self._solve([one])[0] for one in inputs]
            for k, curve in enumerate(curves):
                if retry and curve.solver_steps >= self.max_steps:
                    curves[k] = self._solve_again(inputs[k], curve)
            return curves
        finally:
            elapsed = time.perf_counter() - started
            self.run_seconds += elapsed
            if self._first_s is None:
                self._first_s = elapsed
            else:
                tally = self._alone if len(inputs) == 1 else self._batched
                tally[0] += len(inputs)
                tally[1] += elapsed
                if len(inputs) == 1:
                    self._recent_alone.append(elapsed)

    def _solve_again(self, inputs: dict, cut: SimulatedCurve) -> SimulatedCurve:
        """``cut`` stopped at the step limit: solve it once more at ``RETRY_RTOL`` and keep what gets
        further."""
        if self._retry_sim is None:
            self._retry_sim = self._simulation(RETRY_RTOL)
        again = self._solve([inputs], self._retry_sim)[0]
        if again.coverage > cut.coverage:
            again.message = f"{again.message}; solved again at rtol {RETRY_RTOL:g} after the step limit"
            return again
        cut.message = f"{cut.message}; cut again at rtol {RETRY_RTOL:g}"
        return cut

    def _solve(
        self, inputs: list[dict], simulation: pybamm.Simulation | None = None
    ) -> list[SimulatedCurve] | None:
        """Curves for ``inputs``; None when a batch of several fails (the caller retries them one by one)."""
        t = self.time_s
        empty = np.empty(0)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                solutions = (simulation or self._sim).solve(
                    t_eval=[0.0, float(t[-1])], t_interp=t, inputs=inputs if len(inputs) > 1 else inputs[0]
                )
            solutions = solutions if isinstance(solutions, list) else [solutions]
            return [self._curve(solution) for solution in solutions]
        except (pybamm.SolverError, ValueError, RuntimeError) as error:
            if len(inputs) > 1:
                return None
            # Parameters far from the data can make the solver give up at t=0; the caller sees zero
            # coverage (a large residual) instead of an exception.
            return [SimulatedCurve(empty, empty, empty, 0.0, f"solver failed: {error}", len(t))]

    def _curve(self, solution) -> SimulatedCurve:
        t = self.time_s
        ts = solution.t
        voltage = solution["Voltage [V]"].entries
        temperature = solution["Volume-averaged cell temperature [C]"].entries
        heat_capacity = solution["Volume-averaged effective heat capacity [J.K-1.m-3]"].entries
        heating = (
            solution["Volume-averaged total heating [W.m-3]"].entries
            + solution["Lumped contact resistance heating [W.m-3]"].entries
        ) / heat_capacity
        thermal_volume = float(np.ravel(solution["Cell thermal volume [m3]"].entries)[0])
        # Report on the requested times only (the solver adds the cut-off event time).
        reached = t[t <= ts[-1] + 1e-9]
        curve = SimulatedCurve(
            reached,
            np.interp(reached, ts, voltage),
            np.interp(reached, ts, temperature),
            float(ts[-1] / t[-1]) if t[-1] > 0 else 1.0,
            str(getattr(solution, "termination", "")),
            len(t),
            heating_k_s=np.interp(reached, ts, np.broadcast_to(heating, ts.shape)),
            cooling_per_w_m2k=CELL_SURFACE_M2 / (thermal_volume * float(np.ravel(heat_capacity)[0])),
            solver_steps=int(getattr(solution.solver_statistics, "number_of_steps", 0) or 0),
        )
        if curve.coverage < 1.0 - 1e-6:
            reason = curve.message
            if curve.solver_steps >= self.max_steps:
                reason = f"step limit: {curve.solver_steps} solver steps"
            curve.message = f"stopped at {ts[-1]:.0f} s of {t[-1]:.0f} s ({reason})"
        return curve


def simulate_discharge(
    params: CellParameters,
    time_s: np.ndarray,
    current_a: np.ndarray,
    ambient_c: float,
    model: str = "SPMe",
    *,
    initial_c: float | None = None,
    initial_voltage_v: float | None = None,
) -> SimulatedCurve:
    """Simulate one measured current profile (A, positive = charging) at the given ambient (°C).

    ``initial_c`` defaults to the ambient and ``initial_voltage_v`` (the rest voltage before the
    discharge, which sets the initial state of charge) to a full cell. For many runs on one profile
    build a ``DischargeSimulator`` instead: this function discretises the model every call (~0.5 s).
    """
    simulator = DischargeSimulator(
        time_s, current_a, ambient_c, initial_c=initial_c, initial_voltage_v=initial_voltage_v, model=model
    )
    return simulator.run(params)


def held_to_end(values: np.ndarray, n: int) -> np.ndarray:
    """``values`` (a prefix of a curve) with its last value held for ``n`` samples in all."""
    return np.concatenate((values, np.full(n - len(values), values[-1])))


def overlap_errors(
    curve: SimulatedCurve, time_s: np.ndarray, voltage_v: np.ndarray, temperature_c: np.ndarray
) -> dict[str, float]:
    """MAPE of voltage (%), of temperature in Kelvin and in °C (%), RMSEs, over every measured sample.

    ``time_s`` must be the cleaned profile the curve was simulated on (same start). Where the simulation
    stopped early (``coverage`` < 1: the model hit its cut-off before the cell did) its last values are
    held to the end, so the missing part counts as an error rather than dropping out of the average.
    """
    n = len(curve.time_s)
    if n == 0:
        nan = float("nan")
        return {"voltage_mape_pct": nan, "temperature_mape_k_pct": nan, "temperature_mape_c_pct": nan,
                "voltage_rmse_v": nan, "temperature_rmse_k": nan, "coverage": 0.0}  # fmt: skip
    v, temp = np.asarray(voltage_v), np.asarray(temperature_c)
    dv = held_to_end(curve.voltage_v, len(v)) - v
    dt = held_to_end(curve.temperature_c, len(temp)) - temp
    return {
        "voltage_mape_pct": float(np.mean(np.abs(dv) / np.abs(v)) * 100),
        "temperature_mape_k_pct": float(np.mean(np.abs(dt) / (temp + 273.15)) * 100),
        "temperature_mape_c_pct": float(np.mean(np.abs(dt) / np.maximum(np.abs(temp), 1.0)) * 100),
        "voltage_rmse_v": float(np.sqrt(np.mean(dv**2))),
        "temperature_rmse_k": float(np.sqrt(np.mean(dt**2))),
        "coverage": curve.coverage,
    }
