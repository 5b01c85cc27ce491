"""Whether a PyBaMM (IDAKLU) solve lets other Python threads run: the reason a fit cannot time out a solve.

A thread ticks every 10 ms while the main thread solves B0045's second discharge on the DFN a few times.
If the solver released the GIL the ticker would tick ~100 times a second throughout; if it holds it, the
ticks come only between solves and the longest gap is about one solve. Usage:
``PYTHONPATH=. python -m benchmarks.physics_solver_gil [--cell B0045] [--model DFN] [--solves 3]``.
"""

from __future__ import annotations

import argparse
import threading
import time

import numpy as np

from benchmarks.physics_calibration import RAW, discharges
from twins.physics.calibration import initial_guess
from twins.physics.discharge import Discharge

TICK_S = 0.01


def measure(cell: str, model: str, solves: int) -> dict[str, float]:
    _, columns, ambient = discharges(RAW / f"{cell}.mat")[1]
    discharge = Discharge.from_columns(*columns, ambient)
    simulator = discharge.simulator(model)
    params = initial_guess(discharge)
    simulator.run(params)  # compiles: not measured
    ticks: list[float] = []
    done = threading.Event()

    def tick() -> None:
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(TICK_S)

    ticker = threading.Thread(target=tick)
    ticker.start()
    started = time.perf_counter()
    for _ in range(solves):
        simulator.run(params)
    ended = time.perf_counter()
    done.set()
    ticker.join()
    inside = [t for t in ticks if started <= t <= ended]
    gaps = np.diff([started, *inside, ended])
    return {
        "solve_s": (ended - started) / solves,
        "ticks": len(inside),
        "ticks_if_released": int((ended - started) / TICK_S),
        "longest_gap_s": float(gaps.max()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", default="B0045")
    parser.add_argument("--model", default="DFN", choices=("SPMe", "DFN", "SPM"))
    parser.add_argument("--solves", type=int, default=3)
    args = parser.parse_args()
    result = measure(args.cell, args.model, args.solves)
    print(
        f"{args.cell} {args.model}: {result['solve_s']:.3f} s a solve; {result['ticks']} ticks of "
        f"{result['ticks_if_released']} if the GIL were released; longest gap {result['longest_gap_s']:.3f} s"
    )


if __name__ == "__main__":
    main()
