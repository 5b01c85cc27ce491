"""One calibration's least-squares problem: its trials, residuals and coordinates, and one stage of it.

``calibration`` decides the strategy (seeds, stages, budgets); ``Fit`` is what every stage of it shares:
the discharges and their simulators, the residuals a trial leaves (relative voltage error, weighted
temperature error, the OCP shape penalty), the unit coordinates the optimiser moves in (the named
parameters, then the rest voltages of discharges that started under load), and ``Fit.stage``: one
bounded least squares with batched finite-difference Jacobians, stopped by the budget's clock.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares
from scipy.stats import qmc

from twins.physics.balance import FULL_VOLTAGE_V, electrode_balance
from twins.physics.budget import SimulationClock, WallClock
from twins.physics.discharge import Discharge, combined_errors
from twins.physics.model import (
    CellParameters,
    SimulatedCurve,
    held_to_end,
    overlap_errors,
)
from twins.physics.parameter_space import Bound, from_units, to_units
from twins.physics.uncertainty import described, unit_standard_errors

# Temperature residuals are ~3x smaller than voltage ones in relative terms (0.3 % of 320 K is 1 K,
# 1 % of 3.5 V is 35 mV); the weight makes both curves pull on the joint polish.
TEMPERATURE_WEIGHT = 3.0
# Soft-L1 loss scale: residuals (relative errors) above 1 % count linearly, as in a MAPE.
F_SCALE = 0.01
# Weight of the corrected positive OCP's monotonicity violation (V per unit stoichiometry) in the residuals.
SHAPE_WEIGHT = 0.1
# A discharge that did not start at rest has its rest voltage fitted, up to this far above full (a cell
# just off its charge relaxes from above 4.2 V).
REST_HEADROOM_V = 0.05
# Forward-difference step of the fit's Jacobian, in unit coordinates (scipy's default relative step for
# "2-point" would be ~1.5e-8, far inside the solver's noise).
DIFF_STEP = 1e-3
# Multi-start screen: points within +-SCREEN_RADIUS (unit coordinates) of the start.
SCREEN_RADIUS = 0.15


@dataclass(frozen=True)
class Trial:
    """A trial of the fit: cell parameters and the rest voltage each discharge starts from."""

    params: CellParameters
    rests_v: tuple[float, ...]


class Fit:
    """What every stage of one calibration shares: the discharges, their simulators, and the chamber offsets
    found so far (the thermal fit sets them between stages)."""

    def __init__(
        self,
        discharges: list[Discharge],
        model: str,
        offsets: list[float],
        bounds: dict[str, Bound],
        clock: WallClock | SimulationClock,
    ):
        self.discharges = discharges
        self.clock = clock
        self.simulators = [discharge.simulator(model) for discharge in discharges]
        self.offsets = list(offsets)
        self.bounds = bounds
        self.balance = electrode_balance()
        # The discharges that did not start at rest: their rest voltage is a parameter of the fit, between
        # the first (loaded) voltage and a little above full.
        self.free_rests = [k for k, d in enumerate(discharges) if not d.at_rest]
        self.rest_bounds = {
            k: Bound(first, max(FULL_VOLTAGE_V + REST_HEADROOM_V, first + REST_HEADROOM_V), log=False)
            for k in self.free_rests
            for first in [float(discharges[k].voltage_v[0])]
        }

    # Simulation
    def run_batch(self, points: list[Trial], retry: bool = True) -> list[list[SimulatedCurve]]:
        """Every discharge simulated at every point (each discharge's points in one threaded batch); per
        point, its curves in the order of ``discharges``. ``retry`` as in ``DischargeSimulator.run_many``."""
        per_discharge = [
            simulator.run_many([(point.params, offset, point.rests_v[k]) for point in points], retry)
            for k, (simulator, offset) in enumerate(zip(self.simulators, self.offsets, strict=True))
        ]
        self.clock.charge(len(points), len(self.simulators))
        return [list(curves) for curves in zip(*per_discharge, strict=True)]

    def run(self, point: Trial, retry: bool = True) -> list[SimulatedCurve]:
        return self.run_batch([point], retry)[0]

    def run_until(
        self,
        points: list[Trial],
        until: float,
        near_fit: bool = False,
        retry: bool = True,
        whole: bool = False,
    ) -> Iterator[tuple[Trial, list[SimulatedCurve]]]:
        """``run_batch``, each point with its curves as they come. On a wall clock (``hard_stops``) a batch
        that may not end before ``until`` (within twice its expected cost) runs in chunks of as many
        points as the solver has threads, and ``BudgetExhausted`` is raised instead of starting a chunk
        not expected to end by ``until``: near a fitted point the DFN's solves can grind (step limit,
        solved again), and a batch of them started on time took 11.6 s where 3 were expected, past the
        budget; chunks started just before ``until`` still took a standard-error Jacobian 1.3 s past it.
        ``near_fit``: the points are all next to the fitted point, so a chunk costs at least what the last
        lone runs there cost (``closing_s``), however cheap the fit's batches were on average: after a
        final run that ground for 5.6 s, a standard-error chunk priced at the mean took 1.7 s past the end.
        ``retry`` as in ``run_batch``. ``whole``: the points are of use only all together (a Jacobian), so
        ``BudgetExhausted`` comes before the first chunk if the chunks are not all expected to end by
        ``until``: a B0045 standard-error Jacobian whose chunks each fitted when started used 12.9-14.7 s
        of the reserve after a final run that ground (6.8-7.0 s) and gave nothing (2026-12-02)."""
        threads = max(1, self.simulators[0].threads)

        def expected_s(n: int) -> float:
            cost = self.batch_s(n)
            return max(cost, math.ceil(n / threads) * self.closing_s()) if near_fit else cost

        size = len(points)
        chunked = self.clock.hard_stops and self.clock.now() + 2 * expected_s(len(points)) > until
        if chunked:
            size = threads
            if whole:
                chunks = [len(points[first : first + size]) for first in range(0, len(points), size)]
                if self.clock.now() + sum(expected_s(n) for n in chunks) > until:
                    raise BudgetExhausted
        for first in range(0, len(points), size):
            chunk = points[first : first + size]
            if chunked and self.clock.now() + expected_s(len(chunk)) > until:
                raise BudgetExhausted
            yield from zip(chunk, self.run_batch(chunk, retry), strict=True)

    def evaluation_s(self) -> float:
        """Expected cost (on the clock) of simulating every discharge once, alone."""
        return self.clock.evaluation(self.simulators)

    def closing_s(self) -> float:
        """Expected cost (on the clock) of one of the evaluations that end the fit (``WallClock.closing``)."""
        return self.clock.closing(self.simulators)

    def batch_s(self, n: int) -> float:
        """Expected cost (on the clock) of simulating every discharge for ``n`` points in a batch."""
        return self.clock.batch(self.simulators, n)

    @property
    def n_simulations(self) -> int:
        return sum(simulator.n_runs for simulator in self.simulators)

    # Residuals and errors
    def errors_of(self, curves: list[SimulatedCurve]) -> tuple[dict[str, float], list[dict[str, float]]]:
        each = [
            overlap_errors(curve, d.time_s, d.voltage_v, d.temperature_c)
            for curve, d in zip(curves, self.discharges, strict=True)
        ]
        return combined_errors(each, [len(d.time_s) for d in self.discharges]), each

    def voltage_residuals(self, curves: list[SimulatedCurve]) -> np.ndarray:
        return np.concatenate(
            [
                (padded(curve.voltage_v, len(d.voltage_v), 0.0) - d.voltage_v) / d.voltage_v
                for curve, d in zip(curves, self.discharges, strict=True)
            ]
        )

    def temperature_residuals(self, curves: list[SimulatedCurve]) -> np.ndarray:
        parts = []
        for curve, d in zip(curves, self.discharges, strict=True):
            simulated = padded(curve.temperature_c, len(d.temperature_c), d.ambient_c)
            parts.append(TEMPERATURE_WEIGHT * (simulated - d.temperature_c) / (d.temperature_c + 273.15))
        return np.concatenate(parts)

    def residuals(self, point: Trial, curves: list[SimulatedCurve], with_temperature: bool) -> np.ndarray:
        parts = [self.voltage_residuals(curves)]
        if with_temperature:
            parts.append(self.temperature_residuals(curves))
        parts.append(SHAPE_WEIGHT * self.balance.shape_violation(point.params.ocp_shape))
        return np.concatenate(parts)

    # Coordinates: the named parameters, then the free rest voltages, each in [0, 1]
    def pack(self, point: Trial, names: list[str]) -> np.ndarray:
        rests = [self.rest_bounds[k].to_unit(point.rests_v[k]) for k in self.free_rests]
        return np.concatenate((to_units(point.params, names, self.bounds), rests))

    def unpack(self, base: Trial, names: list[str], x: np.ndarray) -> Trial:
        params = from_units(base.params, names, x[: len(names)], self.bounds)
        rests = list(base.rests_v)
        for slot, k in enumerate(self.free_rests):
            rests[k] = self.rest_bounds[k].from_unit(float(x[len(names) + slot]))
        return Trial(params, tuple(rests))

    def standard_errors(
        self, point: Trial, names: list[str], until: float = math.inf
    ) -> tuple[dict, dict[int, float]]:
        """``names``' standard errors at ``point`` (``unit_standard_errors`` on the voltage residuals, with
        the free rest voltages among the coordinates, so a parameter that trades off against a rest
        voltage shows it), and each free rest voltage's, in volts. ``BudgetExhausted`` if their Jacobian
        cannot be had by ``until`` (``run_until``); ``StepLimitReached`` if one of its runs stopped at the
        solver's step limit: that column would measure where the solver gave up, not the parameter. On a
        wall clock such a run is not solved again, as the final run is not (``_closing_run``): a second
        capped solve, and the first time the building of its simulation, cost seconds at the very end
        (a B0045 standard-error Jacobian started at 109.5 s ended 4.6 s past its 120 s budget)."""
        u0 = self.pack(point, names)
        retry = not self.clock.hard_stops

        def residuals_at(us: list[np.ndarray]) -> list[np.ndarray]:
            points = [self.unpack(point, names, u) for u in us]
            out = []
            for _, curves in self.run_until(points, until, near_fit=True, retry=retry, whole=True):
                for curve, simulator in zip(curves, self.simulators, strict=True):
                    if curve.coverage < 1.0 and curve.solver_steps >= simulator.max_steps:
                        raise StepLimitReached
                out.append(self.voltage_residuals(curves))
            return out

        std = unit_standard_errors(residuals_at, u0)
        rests = {
            k: float(std[len(names) + slot]) * (self.rest_bounds[k].high - self.rest_bounds[k].low)
            for slot, k in enumerate(self.free_rests)
        }
        return described(point.params, names, u0, std, self.bounds), rests

    def start_rests(self, params: CellParameters) -> tuple[float, ...]:
        """Each discharge's rest voltage to start from: its first voltage if it started at rest; if not, that
        voltage plus the drop the model shows under the same current at ``params`` (one simulation)."""
        rests = [float(d.voltage_v[0]) for d in self.discharges]
        for k in self.free_rests:
            first = rests[k]
            curve = self.simulators[k].run(params, self.offsets[k], first)
            self.clock.charge(1, 1)
            drop = first - float(curve.voltage_v[0]) if len(curve.voltage_v) else 0.0
            rests[k] = float(
                np.clip(first + max(drop, 0.0), self.rest_bounds[k].low, self.rest_bounds[k].high)
            )
        return tuple(rests)

    def stage(
        self,
        names: list[str],
        base: Trial,
        with_temperature: bool,
        until: float | Callable[[], float],
        *,
        n_starts: int,
        seed: int,
        notes: list[str],
        chords: bool | Callable[[], bool] = False,
    ) -> dict:
        """Least squares over ``names`` and the free rest voltages (unit coordinates) from ``base``, stopped
        at ``until``; the best point seen: its ``point``, ``cost`` and simulated ``curves``. ``until`` may be
        a function, read before each batch: a stop that moves as the fit learns what its runs cost.

        ``chords`` (or a function read when it matters): the stop is the last one of the fit's search, so
        once a fresh Jacobian no longer fits before it, the least squares goes on with the last Jacobian
        updated by Broyden's rank-one rule (``broyden_update``) from the steps since, one lone trial point
        at a time, instead of leaving the time to the stop unused. A Jacobian of a pulsed discharge's
        columns costs ~12 s where a trial costs ~1 s, and 10-20 s went unused at the end of fits that
        stopped there (docs/physics.md, "Steps on an updated Jacobian")."""
        stop = until if callable(until) else lambda: until
        may_chord = chords if callable(chords) else lambda: chords
        best = {"cost": math.inf, "point": base, "curves": None}
        last: dict[str, np.ndarray | None] = {"x": None, "r": None}
        # The last Jacobian the least squares got, with the point and residuals it was taken at.
        taken: dict[str, np.ndarray | None] = {"x": None, "r": None, "J": None}
        updated = {"steps": 0}

        def residual_batch(xs: list[np.ndarray]) -> list[np.ndarray]:
            # A batch is started only if it is expected to end in time; a lone point if time is left.
            ends = stop()
            if self.clock.now() + (self.batch_s(len(xs)) if len(xs) > 1 else 0.0) > ends:
                raise BudgetExhausted
            points = [self.unpack(base, names, x) for x in xs]
            out = []
            for point, curves in self.run_until(points, ends):
                r = self.residuals(point, curves, with_temperature)
                cost = soft_l1(r)
                if cost < best["cost"]:
                    best.update(cost=cost, point=point, curves=curves)
                out.append(r)
            return out

        def residuals(x: np.ndarray) -> np.ndarray:
            r = residual_batch([x])[0]
            last.update(x=np.array(x, dtype=float), r=r)
            return r

        def jacobian(x: np.ndarray) -> np.ndarray:
            known = last["x"] is not None and np.array_equal(last["x"], x)
            try:
                J = finite_differences(x, known)
            except BudgetExhausted:
                if not (known and taken["J"] is not None and may_chord()):
                    raise
                J = broyden_update(taken["J"], x - taken["x"], last["r"] - taken["r"])
                updated["steps"] += 1
            taken.update(x=np.array(x, dtype=float), r=last["r"], J=J)  # ``last`` is at ``x`` by now
            return J

        def finite_differences(x: np.ndarray, known: bool) -> np.ndarray:
            # Forward differences as scipy's "2-point" takes them within the [0, 1] bounds (a step that
            # would leave them goes the other way), every column's simulation in one batch.
            shifted = []
            for k in range(len(x)):
                point = np.array(x, dtype=float)
                point[k] += DIFF_STEP if x[k] + DIFF_STEP <= 1.0 else -DIFF_STEP
                shifted.append(point)
            steps = [point[k] - x[k] for k, point in enumerate(shifted)]  # the steps as represented
            values = residual_batch(shifted if known else [*shifted, np.array(x, dtype=float)])
            r0 = last["r"] if known else values[-1]
            if not known:
                last.update(x=np.array(x, dtype=float), r=r0)
            return np.column_stack([(values[k] - r0) / h for k, h in enumerate(steps)])

        x0 = self.pack(base, names)
        try:
            x0 = screen(residual_batch, x0, n_starts, seed) if not with_temperature else x0
            result = least_squares(
                residuals, x0, jac=jacobian, bounds=(0.0, 1.0), method="trf", x_scale=0.1,
                loss="soft_l1", f_scale=F_SCALE, max_nfev=400, xtol=1e-8, ftol=1e-8,
            )  # fmt: skip
            notes.append(str(result.message))
        except BudgetExhausted:
            notes.append("budget exhausted; best parameters so far")
        if updated["steps"]:
            steps = updated["steps"]
            notes.append(f"{steps} step(s) on a Broyden-updated Jacobian where a fresh one did not fit")
        return best


def broyden_update(jacobian: np.ndarray, step: np.ndarray, change: np.ndarray) -> np.ndarray:
    """Broyden's ("good") rank-one update: of the matrices that map ``step`` to the residuals' ``change``
    across it, the one closest to ``jacobian`` (Frobenius norm). A step of zero leaves it as it was."""
    length = float(step @ step)
    if length == 0.0:
        return jacobian
    return jacobian + np.outer(change - jacobian @ step, step) / length


def soft_l1(residuals: np.ndarray) -> float:
    """The least squares' own objective (soft-L1 loss): what seeds and restarts are compared by. It is
    quadratic below ``F_SCALE`` and linear above, i.e. close to the MAPE the fit is judged by."""
    z = (residuals / F_SCALE) ** 2
    return float(np.sum(2 * (np.sqrt(1 + z) - 1)))


def screen(residual_batch, x0: np.ndarray, n_points: int, seed: int) -> np.ndarray:
    """The best of the start and ``n_points`` scrambled-Sobol points around it (a cheap global look)."""
    if n_points < 1:
        return x0
    sampler = qmc.Sobol(len(x0), scramble=True, seed=seed)
    with warnings.catch_warnings():  # Sobol's balance warning for counts that are not powers of two
        warnings.simplefilter("ignore")
        points = np.clip(x0 + SCREEN_RADIUS * (2 * sampler.random(n_points) - 1), 0.0, 1.0)
    candidates = [x0, *points]
    costs = [float(np.sum(r**2)) for r in residual_batch(candidates)]
    return candidates[int(np.argmin(costs))]  # the start on a tie


def padded(values: np.ndarray, length: int, fill: float) -> np.ndarray:
    # Past the point the solver stopped (the cut-off), hold the last value: the residual then grows smoothly
    # with the missing capacity instead of jumping, which finite differences need.
    return held_to_end(values, length) if len(values) else np.full(length, fill)


class BudgetExhausted(Exception):
    """The clock would pass a stage's deadline before the next batch ends."""


class StepLimitReached(Exception):
    """A run the standard errors need stopped at the solver's step limit."""
