"""Fit ``CellParameters`` to one or more measured discharges of a cell (voltage and temperature).

The fit is split along the model's own weak coupling, each part by least squares:

1. Thermal (no PyBaMM runs): the lumped thermal model is a linear ODE in the cell temperature,
   C dT/dt = Q(t) - hA (T - T_amb), driven by the heat Q(t) the electrochemistry generates. Given Q(t) from
   one simulation, the heat transfer coefficient, the heat capacity scale and the chamber offset are fitted
   on the exact (exponential) solution of that ODE in milliseconds.
2. Electrochemical: capacity, electrode balance (negative stoichiometry at full, n/p ratio), positive OCP
   shape, contact resistance, diffusivity, electrolyte transport and reaction-rate scales, fitted to the
   relative voltage error with the thermal parameters held (temperature only enters the voltage through
   the Arrhenius factor of the exchange currents, so holding it for one stage costs little). From two
   seeds at the two ends of the electrode balance (``wide_positive_seed``), each after a screen of
   ``N_STARTS`` Sobol points around it; budget the seeds leave goes to restarts around the best fit
   (basin hopping). Fits from different seeds end in different local minima on the NASA cells.
3. The thermal fit again on the heat of the fitted electrochemistry, a joint polish of both sets on
   voltage and temperature residuals while the budget lasts, and a final simulation that gives the
   reported errors (from PyBaMM, not from the thermal shortcut).

Several discharges of the same cell (``calibrate_discharges``: other rates, other chambers) are fitted
jointly: one set of cell parameters, one chamber offset per discharge, the residuals of all of them in one
least squares. One discharge at one rate leaves most parameters traded off against each other (the
resistance against diffusion, the capacity against the balance); another rate separates them.

Every parameter is optimised in a coordinate normalised to [0, 1] over its bounds (log-spaced where the
parameter is a scale), so one trust region and one finite-difference step fit all of them. The loss is
soft-L1 at a 1 % scale, close to the MAPE the fit is judged by; seeds and restarts are compared by it.
A penalty keeps the corrected positive OCP falling (``ElectrodeBalance.shape_violation``).

Temperature MAPE is reported in Kelvin (``temperature_mape_k_pct``, the primary figure) and in °C
(``temperature_mape_c_pct``). Kelvin is primary because °C is an interval scale: a percentage of a
temperature with an arbitrary zero changes with the chamber (a 1 K error is 0.3 % at 43 °C but 20 % at
5 °C, and the NASA set includes 4 °C cells), whereas the Kelvin figure is scale-free and is what thermal
model papers quoting 0.07-0.39 % report. The RMSE in K is given too because it reads without a base.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from twins.physics.budget import ElectrochemicalStop, SimulationClock, WallClock
from twins.physics.discharge import Discharge, delivered_ah, mean_discharge_current
from twins.physics.fit import BudgetExhausted, Fit, StepLimitReached, Trial, soft_l1
from twins.physics.model import (
    CellParameters,
    DischargeSimulator,
    overlap_errors,
)
from twins.physics.model_choice import AUTO, choose_model
from twins.physics.parameter_space import (
    BOUNDS,
    ELECTROCHEMICAL,
    REFERENCE_RATED_AH,
    THERMAL,
    Bound,
    bounds_for,
    from_units,
    to_units,
)
from twins.physics.thermal_fit import fit_thermal

# A polish is started if it affords this many iterations (a trial point and a Jacobian each). Two were
# tried (2026-12-01): B0025 through the service, whose polish of one iteration had ended where it began
# (1.098 % V), went on in its electrochemistry instead to 0.989, 1.098 and 1.100 %, and B0045 lost its
# polish (1.050 % against 0.70-0.87 % with one): one it is.
POLISH_ITERATIONS = 1
# Share of a joint calibration's budget for its warm start on its fullest discharge alone.
WARM_START_SHARE = 0.4
# After the warm start, this share of the electrochemical budget left fits only these, on all discharges.
KINETIC_SHARE = 0.3
# Discharges differ in condition (and the kinetic stage runs) beyond these spreads.
RATE_SPREAD = 1.2
AMBIENT_SPREAD_K = 2.0
KINETIC = [
    "contact_resistance_ohm",
    "diffusivity_scale",
    "positive_diffusivity_ratio",
    "electrolyte_transport_scale",
    "reaction_rate_scale",
]
# A seed's least squares needs about this many runs to settle; fewer affordable runs: one seed only.
SEED_RUNS = 150
# Restarts jump this far (unit coordinates, each way) from the best fit so far.
RESTART_RADIUS = 0.1
# Multi-start screen: this many Sobol points around the start (``fit.screen``).
N_STARTS = 8
# The parts of a fit, in order, as ``Calibration.phases_s`` times them: the first simulation (with the
# model's setup and compilation), the warm start of a joint fit, the electrochemical least squares (seeds
# and restarts), the joint polish with its thermal re-run, the final simulation that gives the reported
# errors, and the standard errors.
PHASES = ("first_run", "warm_start", "electrochemical", "polish", "final_run", "uncertainty")


@dataclass
class Calibration:
    """Result of ``calibrate``: fitted parameters and how well they reproduce the curve."""

    params: CellParameters
    ambient_offset_k: float
    voltage_mape_pct: float
    temperature_mape_k_pct: float
    temperature_mape_c_pct: float
    voltage_rmse_v: float
    temperature_rmse_k: float
    coverage: float  # fraction of the measured duration the fitted model simulated
    wall_s: float
    n_simulations: int
    model: str
    initial: dict[str, float] = field(default_factory=dict)  # the uncalibrated model's errors
    message: str = ""
    # Standard errors of the electrochemical parameters (``standard_errors``), when asked for.
    parameter_errors: dict[str, dict[str, float]] = field(default_factory=dict)
    # Each fitted discharge's own errors and chamber offset, in the order given (one entry for one).
    per_discharge: list[dict[str, float]] = field(default_factory=list)
    # A budget in simulations that its wall-clock ceiling ended first: the fit depends on the machine.
    cut_short: bool = False
    # Wall seconds from the start at which each part of the fit ended (``PHASES``, those it reached): where
    # the time went, and which part ran late when a fit ends past its budget.
    phases_s: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        return {
            "model": self.model,
            "params": self.params.as_dict(),
            "ambient_offset_k": self.ambient_offset_k,
            "voltage_mape_pct": self.voltage_mape_pct,
            "temperature_mape_k_pct": self.temperature_mape_k_pct,
            "temperature_mape_c_pct": self.temperature_mape_c_pct,
            "voltage_rmse_v": self.voltage_rmse_v,
            "temperature_rmse_k": self.temperature_rmse_k,
            "coverage": self.coverage,
            "wall_s": self.wall_s,
            "n_simulations": self.n_simulations,
            "initial": self.initial,
            "message": self.message,
            "parameter_errors": self.parameter_errors,
            "per_discharge": self.per_discharge,
            "cut_short": self.cut_short,
            "phases_s": self.phases_s,
        }


def initial_guess(discharge: Discharge, rated_capacity_ah: float = REFERENCE_RATED_AH) -> CellParameters:
    """Uncalibrated start: the base set at the capacity the measured discharge actually delivered."""
    discharged = delivered_ah(discharge)
    bound = bounds_for(rated_capacity_ah)["capacity_ah"]
    capacity = (
        float(np.clip(1.05 * discharged, bound.low, bound.high)) if discharged > 0.05 else rated_capacity_ah
    )
    return CellParameters(capacity_ah=capacity)


def carried_forward(
    previous: CellParameters,
    previous_ah: float,
    discharged_ah: float,
    rated_capacity_ah: float = REFERENCE_RATED_AH,
) -> CellParameters:
    """A start for a later discharge of a cell fitted before: the earlier fit's parameters, its capacity
    scaled by the charge the two discharges delivered (``previous_ah`` then, ``discharged_ah`` now; see
    ``delivered_ah``), within the bounds. A twin that follows its cell through life starts where the cell
    was, not from the base set: an aged discharge fitted from the base set can settle in another basin
    (docs/physics.md). Either charge at or below 0.05 Ah (unknown, or a discharge that says nothing about
    the capacity) leaves the earlier capacity as it was."""
    if previous_ah <= 0.05 or discharged_ah <= 0.05:
        return previous
    bound = bounds_for(rated_capacity_ah)["capacity_ah"]
    capacity = float(np.clip(previous.capacity_ah * discharged_ah / previous_ah, bound.low, bound.high))
    return dataclasses.replace(previous, capacity_ah=capacity)


def score(
    simulator: DischargeSimulator,
    params: CellParameters,
    voltage_v: np.ndarray,
    temperature_c: np.ndarray,
    ambient_offset_k: float = 0.0,
) -> dict[str, float]:
    """Errors of ``params`` on the simulator's profile (the measured columns must be cleaned alike)."""
    curve = simulator.run(params, ambient_offset_k)
    return overlap_errors(curve, simulator.time_s, voltage_v, temperature_c)


def calibrate(
    time_s: np.ndarray,
    voltage_v: np.ndarray,
    current_a: np.ndarray,
    temperature_c: np.ndarray,
    ambient_c: float,
    **options,
) -> Calibration:
    """Fit the model to one measured discharge; ``calibrate_discharges`` has the options."""
    discharge = Discharge.from_columns(time_s, voltage_v, current_a, temperature_c, ambient_c)
    return calibrate_discharges([discharge], **options)


def _conditions_differ(discharges: list[Discharge]) -> bool:
    """Whether the discharges differ in rate (mean current by more than RATE_SPREAD) or chamber (by more
    than AMBIENT_SPREAD_K): what a joint fit learns the kinetics and transport from."""
    currents = [mean_discharge_current(d) for d in discharges]
    ambients = [d.ambient_c for d in discharges]
    rates_differ = min(currents) > 0 and max(currents) / min(currents) > RATE_SPREAD
    return rates_differ or max(ambients) - min(ambients) > AMBIENT_SPREAD_K


def calibrate_discharges(
    discharges: list[Discharge],
    *,
    model: str = "SPMe",
    budget_s: float = 120.0,
    budget_simulations: int | None = None,
    wall_ceiling_s: float | None = None,
    start: CellParameters | None = None,
    fit_ambient: bool = True,
    seed: int = 0,
    uncertainty: bool = False,
    rated_capacity_ah: float = REFERENCE_RATED_AH,
) -> Calibration:
    """Fit one set of cell parameters to one or more measured discharges of the same cell.

    ``budget_s`` bounds the optimisation (wall clock, setup included): the best parameters found when it
    runs out are returned. ``budget_simulations`` bounds it by simulations instead (``SimulationClock``):
    the same fit on any machine, for tests, comparisons and fits others must be able to repeat;
    ``wall_ceiling_s`` stops such a fit after that many seconds anyway (then ``cut_short``). Each
    discharge is simulated from its own rest voltage and temperature; each gets its own chamber offset
    (±5 K, ``fit_ambient``), reported in ``per_discharge``, and the fit's errors are over every sample of
    all of them. A discharge that did not start at rest (``at_rest`` False) gets its rest voltage fitted
    too. ``uncertainty`` also estimates each electrochemical parameter's standard error
    (``parameter_errors``), from one more Jacobian kept inside the budget. ``rated_capacity_ah`` scales the
    capacity's bounds (``bounds_for``); the default is the 2 Ah the bounds were set for. ``start`` defaults
    to the base set at the most charge any discharge delivered. ``model`` "auto" picks the DFN or the
    SPMe from the current profile (``model_choice``); the result names the model fitted and why.
    """
    if not discharges:
        raise ValueError("a calibration needs at least one discharge")
    choice = choose_model(discharges) if model == AUTO else None
    if choice is not None:
        model = choice.model
    if budget_simulations is not None:
        clock, budget = SimulationClock(wall_ceiling_s), float(budget_simulations)
    else:
        clock, budget = WallClock(), float(budget_s)
    options = dict(
        model=model, start=start, fit_ambient=fit_ambient, seed=seed, rated_capacity_ah=rated_capacity_ah
    )
    fitted = _calibrate(discharges, clock, budget, uncertainty=uncertainty, **options)
    if clock.cut_short:
        note = f"wall-clock ceiling of {wall_ceiling_s:g} s reached before the budget of simulations"
        fitted = dataclasses.replace(fitted, message=f"{note}; {fitted.message}", cut_short=True)
    if choice is not None:
        fitted = dataclasses.replace(fitted, message=f"{choice.reason}; {fitted.message}")
    return fitted


def _calibrate(
    discharges: list[Discharge],
    clock: WallClock | SimulationClock,
    budget: float,
    *,
    model: str,
    start: CellParameters | None,
    fit_ambient: bool,
    seed: int,
    uncertainty: bool,
    rated_capacity_ah: float,
) -> Calibration:
    """``calibrate_discharges`` with ``budget`` on ``clock``."""
    wall_started = time.perf_counter()
    phases: dict[str, float] = {}

    def ended(phase: str) -> None:
        phases[phase] = round(time.perf_counter() - wall_started, 3)

    started = clock.now()
    deadline = started + budget
    bounds = bounds_for(rated_capacity_ah)
    uncalibrated = start or max(
        (initial_guess(d, rated_capacity_ah) for d in discharges),
        key=lambda guess: guess.capacity_ah,
    )
    params, warm = uncalibrated, None
    offsets = [0.0] * len(discharges)
    if len(discharges) > 1:
        # Continuation: a fit from the base set straight to a fast discharge stalls (at 2C most trial points
        # hit the cut-off within minutes, where the held residual stops responding). The discharge that
        # delivered the most charge (usually the gentlest) alone settles the capacity, balance and OCP
        # shape first; a cell fitted to it reaches the end of the others, and the joint fit starts there.
        fullest = max(discharges, key=lambda d: (delivered_ah(d), -mean_discharge_current(d)))
        warm = _calibrate(
            [fullest],
            clock,
            WARM_START_SHARE * budget,
            model=model,
            start=uncalibrated,
            fit_ambient=fit_ambient,
            seed=seed,
            uncertainty=False,
            rated_capacity_ah=rated_capacity_ah,
        )
        params = warm.params
        offsets = [warm.ambient_offset_k] * len(discharges)  # the same cell, most likely the same chamber
        ended("warm_start")
    fit = Fit(discharges, model, offsets, bounds, clock)
    measured_rests = tuple(float(d.voltage_v[0]) for d in discharges)
    run_started = clock.now()
    point = Trial(params, fit.start_rests(params))
    if warm is not None:
        warm_rest = warm.per_discharge[0]["rest_voltage_v"]
        point = Trial(
            params,
            tuple(warm_rest if d is fullest else v for d, v in zip(discharges, point.rests_v, strict=True)),
        )
    first = fit.run(point)
    ended("first_run")
    start_point, start_offsets = point, list(fit.offsets)
    # One evaluation's cost sets how many screen points the budget affords and what to keep for the end.
    run_s = clock.now() - run_started
    n_starts = int(min(N_STARTS, 0.1 * budget / max(run_s, 1e-3)))
    # The uncalibrated model: the start parameters, each discharge from its first voltage.
    initial_errors, _ = fit.errors_of(
        first if warm is None and not fit.free_rests else fit.run(Trial(uncalibrated, measured_rests))
    )
    params, fit.offsets = fit_thermal(first, point.params, discharges, fit.offsets, fit_ambient)
    point = Trial(params, point.rests_v)
    notes: list[str] = []
    electro = list(ELECTROCHEMICAL)

    def stage(
        names: list[str],
        base: Trial,
        with_temperature: bool,
        until: float | Callable[[], float],
        chords: bool | Callable[[], bool] = False,
    ):
        return fit.stage(
            names, base, with_temperature, until, n_starts=n_starts, seed=seed, notes=notes, chords=chords
        )

    def seed_s() -> float:
        """Expected cost of one least squares from a seed: SEED_RUNS simulations, one trial point and then
        a batch of finite differences per iteration."""
        p = len(electro) + len(fit.free_rests)
        return SEED_RUNS / (p + 1) * (fit.evaluation_s() + fit.batch_s(p))

    polish = electro + list(THERMAL)

    def reserve_s() -> float:
        """What to keep for the end. The polish's last evaluation may start just before its stop (and be
        solved again at the step limit), and the final run follows it (``_closing_run``): three, each at
        what the last lone runs cost (``Fit.closing_s``), and a second, and the uncertainty's Jacobian when
        asked for, so the whole calibration ends within the budget; on the wall clock, a slack for closing
        runs that grind (``WallClock.slack``)."""
        reserve = 3 * fit.closing_s() + 1.0 + clock.slack(budget)
        if uncertainty:
            reserve += fit.batch_s(len(electro) + len(fit.free_rests) + 1)
        return reserve

    def polish_fits(until: float) -> bool:
        """Whether a polish started at ``until`` gets ``POLISH_ITERATIONS`` iterations (a trial point and a
        Jacobian each) before the reserve: worth starting."""
        iteration_s = fit.evaluation_s() + fit.batch_s(len(polish))
        return until < deadline - reserve_s() - POLISH_ITERATIONS * iteration_s

    # Three quarters of the budget for the electrochemistry, from each seed it affords; the rest for the
    # joint polish.
    electro_until = started + 0.75 * budget - run_s

    electro_stop = ElectrochemicalStop(clock, electro_until, polish_fits, lambda: deadline - reserve_s())

    if warm is not None and _conditions_differ(discharges):
        # The warm start settled the balance and the OCP on the fullest discharge; the transport and
        # kinetics it chose (one rate trades them against each other) need not fit another rate or chamber.
        # Those alone first, on all discharges: with the balance free, a discharge the warm cell fits
        # badly pulls the fit towards a larger cell instead. (Discharges at one rate and chamber carry no
        # more on the kinetics than the warm start saw.)
        notes.append("kinetics and transport on all discharges first")
        kinetic = stage(KINETIC, point, False, clock.now() + KINETIC_SHARE * (electro_until - clock.now()))
        if kinetic["curves"] is not None:
            point = kinetic["point"]
            params, fit.offsets = fit_thermal(
                kinetic["curves"], point.params, discharges, fit.offsets, fit_ambient
            )
            point = Trial(params, point.rests_v)
    seeds = [point, Trial(wide_positive_seed(params, bounds), point.rests_v)]
    fits = []
    for index, seed_point in enumerate(seeds):
        remaining = electro_stop() - clock.now()
        left = len(seeds) - index
        if fits and seed_s() > remaining:
            break  # a seed that cannot settle is not worth starting
        # Share the time between the seeds left if they all look affordable (the first run, which also
        # compiles, over-estimates the cost); a seed that converges early leaves its rest to the next.
        share = remaining / left if seed_s() * left <= remaining else remaining
        if share >= remaining:
            fits.append(stage(electro, seed_point, False, electro_stop, electro_stop.is_last))
        else:
            fits.append(stage(electro, seed_point, False, clock.now() + share))
    fitted = min(fits, key=lambda f: f["cost"])
    # Seeds that converged early leave budget: restart from random points around the best fit so far
    # (basin hopping) while another full least squares still fits in.
    rng = np.random.default_rng(seed)
    restarts = 0
    while clock.now() + seed_s() < electro_stop():
        jump = to_units(fitted["point"].params, electro, bounds)
        jump += rng.uniform(-RESTART_RADIUS, RESTART_RADIUS, len(electro))
        start_at = Trial(
            from_units(fitted["point"].params, electro, np.clip(jump, 0, 1), bounds), fitted["point"].rests_v
        )
        restart = stage(electro, start_at, False, electro_stop, electro_stop.is_last)
        restarts += 1
        if restart["cost"] < fitted["cost"]:
            fitted = restart
    notes.append(f"{len(fits)} seed(s), {restarts} restart(s)")
    if electro_stop.went_on():
        notes.append("no polish fitted after three quarters of the budget: the electrochemistry went on")
    ended("electrochemical")
    if warm is not None:
        notes.insert(0, f"warm start on the fullest discharge ({warm.n_simulations} simulations)")
    # The best fully simulated point in hand, with the chamber offsets it was simulated at and its curves:
    # what the fit ends on if what follows cannot be simulated in time.
    held = (start_point, start_offsets, first)
    point = fitted["point"]
    if fitted["curves"] is not None:
        held = (point, list(fit.offsets), fitted["curves"])
        params, fit.offsets = fit_thermal(
            fitted["curves"], point.params, discharges, fit.offsets, fit_ambient
        )
        point = Trial(params, point.rests_v)
    if polish_fits(clock.now()):
        # Its stop is fixed when it starts: read before each batch, the reserve (priced at the slowest of
        # the last lone runs) rose with one trial that ground near the fit and cut B0045's polish to 7-10 s
        # (1.191 and 1.477 % V through the service, 2026-12-01).
        polished = stage(polish, point, True, deadline - reserve_s(), chords=True)
        if polished["curves"] is not None:
            # The thermal fit on the polished point's own curves (the stage kept them: no re-run).
            held = (polished["point"], list(fit.offsets), polished["curves"])
            params, fit.offsets = fit_thermal(
                polished["curves"], polished["point"].params, discharges, fit.offsets, fit_ambient
            )
            point = Trial(params, polished["point"].rests_v)
        ended("polish")
    point, curves = _closing_run(fit, point, held, deadline, notes)
    ended("final_run")
    # A fit cut short early may end on the thermal step's guess, made on the part of the discharge its last
    # point simulated, and the heat feeds back on the voltage: the end point is kept only if its voltage
    # does no worse than the start's (by the electrochemical stages' own objective), so a calibration never
    # returns a voltage fit worse than where it began.
    if _voltage_objective(fit, start_point, first) < _voltage_objective(fit, point, curves):
        point, fit.offsets, curves = start_point, start_offsets, first
        notes.append("the end point fitted the voltage worse than the start: the start is returned")
    errors, each = fit.errors_of(curves)
    parameter_errors, rest_std_v = {}, {}
    if uncertainty:
        try:
            parameter_errors, rest_std_v = fit.standard_errors(point, electro, until=deadline)
        except BudgetExhausted:  # its solves ground past the budget: the fit without standard errors
            notes.append("no standard errors: their Jacobian did not fit in the budget")
        except StepLimitReached:
            notes.append("no standard errors: a run of their Jacobian stopped at the solver's step limit")
        ended("uncertainty")
    return Calibration(
        params=point.params,
        # One discharge: its offset; several: their mean, what a held-out discharge of the cell starts from.
        ambient_offset_k=float(np.mean(fit.offsets)),
        voltage_mape_pct=errors["voltage_mape_pct"],
        temperature_mape_k_pct=errors["temperature_mape_k_pct"],
        temperature_mape_c_pct=errors["temperature_mape_c_pct"],
        voltage_rmse_v=errors["voltage_rmse_v"],
        temperature_rmse_k=errors["temperature_rmse_k"],
        coverage=errors["coverage"],
        wall_s=time.perf_counter() - wall_started,
        n_simulations=fit.n_simulations + (warm.n_simulations if warm else 0),
        model=model,
        initial=initial_errors,
        message="; ".join(notes),
        parameter_errors=parameter_errors,
        phases_s={name: phases[name] for name in PHASES if name in phases},
        per_discharge=[
            {
                **e,
                "ambient_c": d.ambient_c,
                "ambient_offset_k": offset,
                "rest_voltage_v": rest,
                "rest_voltage_fitted": k in fit.free_rests,
                **({"rest_voltage_std_v": rest_std_v[k]} if k in rest_std_v else {}),
            }
            for k, (e, d, offset, rest) in enumerate(
                zip(each, discharges, fit.offsets, point.rests_v, strict=True)
            )
        ],
    )


def _closing_run(
    fit: Fit, candidate: Trial, held: tuple[Trial, list[float], list], deadline: float, notes: list[str]
) -> tuple[Trial, list]:
    """The fit's last point, ``candidate`` (a thermal fit on the best point's heat, not yet simulated),
    simulated for the reported errors if that is expected to end by ``deadline``, and kept if it fits the
    voltage and temperature (the polish's objective) at least as well as ``held``, the best simulated
    point (point, its chamber offsets, its curves). Otherwise ``held`` is returned with its own curves: a
    fit never reports errors PyBaMM did not give, and never waits past its budget for a better
    temperature. On a wall clock the run is not solved again if it stops at the step limit (a second
    capped solve is what made fits end late); its cut curve then loses to ``held``."""
    held_point, held_offsets, held_curves = held
    if fit.clock.now() + fit.closing_s() > deadline:
        notes.append("no time to simulate the last thermal fit: the best simulated point is returned")
        fit.offsets = list(held_offsets)
        return held_point, held_curves
    curves = fit.run(candidate, retry=not fit.clock.hard_stops)
    if _objective(fit, candidate, curves) <= _objective(fit, held_point, held_curves):
        return candidate, curves
    notes.append("the last thermal fit did worse than the point it came from: that point is returned")
    fit.offsets = list(held_offsets)
    return held_point, held_curves


def _objective(fit: Fit, point: Trial, curves) -> float:
    """What the polish minimises: the soft-L1 loss of the voltage and weighted temperature residuals."""
    return soft_l1(fit.residuals(point, curves, with_temperature=True))


def _voltage_objective(fit: Fit, point: Trial, curves) -> float:
    """What the electrochemical stages minimise: the soft-L1 loss of the voltage residuals."""
    return soft_l1(fit.residuals(point, curves, with_temperature=False))


def wide_positive_seed(params: CellParameters, bounds: dict[str, Bound] = BOUNDS) -> CellParameters:
    """The second seed: the other end of the electrode balance. The base set's positive electrode spans
    most of its stoichiometry range over a discharge; here it is oversized (1.4x) against a smaller
    negative (0.6x) that starts fuller, so the negative's OCP shapes the curve and ends the discharge.
    Fits from the two seeds end in different local minima on the NASA cells; the better one is kept."""
    bound = bounds["capacity_ah"]
    return dataclasses.replace(
        params,
        capacity_ah=min(1.4 * params.capacity_ah, bound.high),
        negative_ratio=0.6,
        negative_sto_full=0.97,
    )


def evaluate(
    calibration: Calibration,
    time_s: np.ndarray,
    voltage_v: np.ndarray,
    current_a: np.ndarray,
    temperature_c: np.ndarray,
    ambient_c: float,
) -> dict[str, float]:
    """Errors of calibrated parameters on another (held-out) discharge of the same cell."""
    discharge = Discharge.from_columns(time_s, voltage_v, current_a, temperature_c, ambient_c)
    return score(
        discharge.simulator(calibration.model),
        calibration.params,
        discharge.voltage_v,
        discharge.temperature_c,
        calibration.ambient_offset_k,
    )
