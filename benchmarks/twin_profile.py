"""Benchmark: the health twin's evaluate phase alone, in process, without a database or a broker.

    python -m benchmarks.twin_profile [--cells 2000] [--batch 100] [--profile] [--database]

The fleet sweep's CPU goes to read, evaluate and store; this measures them in one process, without the
broker, on the same synthetic histories the fleet sweep records (``seed_fleet``: 50-200 cycles of a
random fade curve on the benchmark's 5 Ah NMC811 cell), batch by batch as a worker runs them:

* default: evaluate alone (SoH, the RUL ensemble, value and route) on unsaved objects, split into the
  SoH part and the RUL ensemble;
* ``--database``: seeds the cells in a scratch database (PostgreSQL when DATABASE_URL says so) and
  runs ``health.assess_ids`` on them (read, evaluate, store), as a worker's task does, and times the
  garbage collector's runs in it (``gc.callbacks``).

``--profile`` adds cProfile's top functions. Figures per cell are CPU milliseconds of this process
(the database server's own CPU is not in them).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import os
import pstats
import sys
import time

import numpy as np

from benchmarks.fleet_sweep import MANUFACTURED


def fleet(cells: int, seed: int = 1) -> list:
    """(battery, evidence) pairs like the fleet sweep's, as unsaved objects."""
    from lifecycle.services import histories
    from passport.models import Battery, BatteryModel
    from twins.services import health
    from twins.services.life import life_basis

    model = BatteryModel(
        model_number="BENCH-5AH", name="bench cell", kind="cell", category="ev", chemistry="NMC811",
        rated_capacity_ah=5, nominal_voltage_v=3.6, rated_energy_kwh="0.018",
    )  # fmt: skip
    basis = life_basis(model.chemistry, model.category, {})
    rng = np.random.default_rng(seed)
    items = []
    for n in range(cells):
        aggregates = histories.synthetic_history(
            rng,
            cycles=int(rng.integers(50, 201)),
            rated_capacity_ah=5.0,
            nominal_voltage_v=3.6,
            start=MANUFACTURED + dt.timedelta(days=30),
        )
        battery = Battery(serial_number=f"S{n:07d}", kind="cell", model=model)
        resistance = aggregates[0].resistance_ohm * 0.97
        items.append((battery, health.Evidence(aggregates, resistance, [], [], basis)))
    return items


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--database", action="store_true", help="read and store too, on a scratch database")
    args = parser.parse_args()
    if args.database:
        return profile_assess(args.cells, args.batch, args.profile)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from twins.learned import forecast as learned
    from twins.services import forecasts, health

    items = fleet(args.cells)
    learned.load_model()
    health.evaluate_many(items[: args.batch])  # warm caches (torch, scipy imports)
    batches = [items[i : i + args.batch] for i in range(0, len(items), args.batch)]

    split = {"soh": 0.0, "rul": 0.0, "rest": 0.0}
    profiler = cProfile.Profile() if args.profile else None
    began = time.process_time()
    if profiler:
        profiler.enable()
    for batch in batches:
        t0 = time.process_time()
        partial = [health._health(battery, evidence) for battery, evidence in batch]
        t1 = time.process_time()
        forecasts.rul_of_many([f for _, f in partial], particles=health.RUL_PARTICLES)
        t2 = time.process_time()
        split["soh"] += t1 - t0
        split["rul"] += t2 - t1
    if profiler:
        profiler.disable()
    total_parts = time.process_time() - began
    t = time.process_time()
    for batch in batches:
        health.evaluate_many(batch)
    total = time.process_time() - t
    split["rest"] = max(total - total_parts, 0.0)
    per_cell = {key: 1000 * value / len(items) for key, value in split.items()}
    print(
        f"{len(items)} cells in batches of {args.batch}: "
        f"evaluate_many {1000 * total / len(items):.2f} CPU-ms/cell"
    )
    print("  " + ", ".join(f"{key} {value:.2f} ms" for key, value in per_cell.items()))
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    return 0


class CollectionTimer:
    """A ``gc.callbacks`` entry: wall time spent in the garbage collector and collections per generation."""

    def __init__(self) -> None:
        self.seconds, self.counts, self._started = 0.0, [0, 0, 0], 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.counts[info["generation"]] += 1


def profile_assess(cells: int, batch: int, profile: bool) -> int:
    from benchmarks.fleet_sweep import make_model, seed_fleet
    from benchmarks.harness import django_environment, make_operator

    with django_environment("twin_profile") as described:
        from twins.services import health

        print(described)
        organisation, _ = make_operator()
        ids = seed_fleet(organisation, make_model(organisation), cells + batch, prefix="S", seed=1)
        health.assess_ids(ids[:batch])  # warm caches (torch, scipy imports, the learned model)
        profiler = cProfile.Profile() if profile else None
        collections = CollectionTimer()
        gc.callbacks.append(collections)
        if profiler:
            profiler.enable()
        began = time.process_time()
        for start in range(batch, len(ids), batch):
            health.assess_ids(ids[start : start + batch])
        spent = time.process_time() - began
        if profiler:
            profiler.disable()
        gc.callbacks.remove(collections)
        print(f"{cells} cells in batches of {batch}: assess_ids {1000 * spent / cells:.2f} CPU-ms/cell")
        print(
            f"  garbage collection {1000 * collections.seconds / cells:.2f} ms/cell "
            f"({collections.counts[0]} young, {collections.counts[1]} middle, {collections.counts[2]} full)"
        )
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    return 0


if __name__ == "__main__":
    sys.exit(main())
