"""What a calibration's budget counts: seconds of wall clock, or simulations."""

from __future__ import annotations

import math
import time

from twins.physics.model import DischargeSimulator


class WallClock:
    """A budget in seconds of wall clock: what a service promises its callers. Costs are measured."""

    def now(self) -> float:
        return time.perf_counter()

    def charge(self, n_points: int, n_discharges: int) -> None:
        pass  # wall-clock time passes by itself

    def evaluation(self, simulators: list[DischargeSimulator]) -> float:
        return sum(simulator.mean_run_s for simulator in simulators)

    def batch(self, simulators: list[DischargeSimulator], n: int) -> float:
        return sum(simulator.batch_cost_s(n) for simulator in simulators)


class SimulationClock:
    """A budget in simulations: the same budget makes the same fit on any machine (a wall-clock budget fits
    further on a faster one). A lone simulation of one discharge costs 1, a batch of n costs n / 2 rounded
    up (two solver threads' worth, whatever the machine has)."""

    BATCH_WIDTH = 2

    def __init__(self) -> None:
        self.spent = 0.0

    def now(self) -> float:
        return self.spent

    def charge(self, n_points: int, n_discharges: int) -> None:
        self.spent += n_discharges * self._cost(n_points)

    def evaluation(self, simulators: list[DischargeSimulator]) -> float:
        return float(len(simulators))

    def batch(self, simulators: list[DischargeSimulator], n: int) -> float:
        return len(simulators) * self._cost(n)

    def _cost(self, n_points: int) -> float:
        return 1.0 if n_points == 1 else float(math.ceil(n_points / self.BATCH_WIDTH))
