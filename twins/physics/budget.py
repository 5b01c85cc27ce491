"""What a calibration's budget counts: seconds of wall clock, or simulations."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from twins.physics.model import DischargeSimulator

# Share of a wall-clock budget kept back for closing runs that cost more than the runs before them.
WALL_SLACK_SHARE = 0.04


class WallClock:
    """A budget in seconds of wall clock: what a service promises its callers. Costs are measured."""

    cut_short = False  # a wall-clock budget is the machine's by nature: nothing else to cut it
    # A batch near the end of a stage runs in chunks and stops at the stage's end (``Fit.run_until``).
    hard_stops = True

    def now(self) -> float:
        return time.perf_counter()

    def charge(self, n_points: int, n_discharges: int) -> None:
        pass  # wall-clock time passes by itself

    def evaluation(self, simulators: list[DischargeSimulator]) -> float:
        return sum(simulator.mean_run_s for simulator in simulators)

    def closing(self, simulators: list[DischargeSimulator]) -> float:
        """Expected cost of one of the evaluations that end a fit (near the fitted point, not the mean)."""
        return sum(simulator.recent_run_s for simulator in simulators)

    def batch(self, simulators: list[DischargeSimulator], n: int) -> float:
        return sum(simulator.batch_cost_s(n) for simulator in simulators)

    def slack(self, budget: float) -> float:
        """Kept back from a budget of ``budget`` seconds beyond the expected cost of the closing runs. Near a
        fitted point a DFN solve can grind into the step limit and be solved again (``model.py``): the last
        lone run of a B0045 fit took 3.5 s where the runs before it took 0.5 s, and five 120 s fits in a row
        ended 0.4-1.7 s late without this slack (docs/physics.md)."""
        return WALL_SLACK_SHARE * budget


class SimulationClock:
    """A budget in simulations: the same budget makes the same fit on any machine (a wall-clock budget fits
    further on a faster one). A lone simulation of one discharge costs 1, a batch of n costs n / 2 rounded
    up (two solver threads' worth, whatever the machine has).

    ``wall_ceiling_s`` bounds it in seconds too, for a service whose jobs must end: once that much wall
    time has passed the clock reads past every deadline, the fit ends with its best point so far, and
    ``cut_short`` says that this fit, unlike the others, depends on the machine."""

    BATCH_WIDTH = 2
    # A batch is counted whole, whenever it ends: splitting it would change nothing but the speed.
    hard_stops = False
    # Added to the reading once the ceiling has passed: beyond any deadline a budget of simulations sets,
    # and finite, so the stage deadlines computed from the reading stay ordered.
    OVERRUN = 1e9

    def __init__(self, wall_ceiling_s: float | None = None) -> None:
        self.spent = 0.0
        self.cut_short = False
        self._wall_deadline = None if wall_ceiling_s is None else time.perf_counter() + wall_ceiling_s

    def now(self) -> float:
        if not self.cut_short and self._wall_deadline is not None:
            self.cut_short = time.perf_counter() > self._wall_deadline
        return self.spent + (self.OVERRUN if self.cut_short else 0.0)

    def charge(self, n_points: int, n_discharges: int) -> None:
        self.spent += n_discharges * self._cost(n_points)

    def evaluation(self, simulators: list[DischargeSimulator]) -> float:
        return float(len(simulators))

    closing = evaluation

    def batch(self, simulators: list[DischargeSimulator], n: int) -> float:
        return len(simulators) * self._cost(n)

    def slack(self, budget: float) -> float:
        return 0.0  # a simulation costs what it is counted at, however long it takes

    def _cost(self, n_points: int) -> float:
        return 1.0 if n_points == 1 else float(math.ceil(n_points / self.BATCH_WIDTH))


class ElectrochemicalStop:
    """Where the electrochemical stage stops, read before each of its batches (``Fit.stage``): at
    ``planned`` (three quarters of the budget) while a polish started now would still fit (``polish_fits``),
    else at ``last()``, every second up to what the end keeps. Decided as the stage goes, not at its start:
    a stage that ended at its planned stop with no room left for a polish used to leave that quarter unused
    (B0025 through the service ended 21 s early), and the reserve, priced at first on the run that also
    compiled the model, falls as the runs' costs come in. Where a polish fits, the stage stops where it did
    before, so no polish is given up for this.
    """

    def __init__(
        self,
        clock: WallClock | SimulationClock,
        planned: float,
        polish_fits: Callable[[float], bool],
        last: Callable[[], float],
    ) -> None:
        self.clock, self.planned, self.polish_fits, self.last = clock, planned, polish_fits, last
        self.extended = False  # whether the last reading was past ``planned``: no polish fitted

    def __call__(self) -> float:
        self.extended = not self.polish_fits(self.clock.now())
        return self.last() if self.extended else self.planned

    def is_last(self) -> bool:
        """Whether the stop as last read is the search's last (no polish follows it): the stage's steps then
        go on with an updated Jacobian where a fresh one no longer fits (``Fit.stage``'s ``chords``)."""
        return self.extended

    def went_on(self) -> bool:
        """Whether the stage went past its planned stop because no polish fitted."""
        return self.extended and self.clock.now() > self.planned
