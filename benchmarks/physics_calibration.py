"""Benchmark: PyBaMM physics twin calibration on raw NASA PCoE discharges (no database).

    python -m benchmarks.physics_calibration [--cells B0025 B0029 ...] [--model SPMe] [--budget 120]

For each cell: calibrate on its second discharge cycle (the first one of several NASA cells starts
from a partial charge), then score the fitted parameters on the third discharge (held out). Targets
(issue 4): voltage MAPE <= 1 %, temperature MAPE (K) <= 0.5 %, <= 120 s per calibration. Errors count
every measured sample (a simulation that stops early holds its last value; ``cover`` says how much of
the discharge it simulated). ``--model DFN`` runs the same calibration on the DFN.

``--stored`` goes the way a battery's own calibration goes (``twins.services.calibration``): each cell is
registered in a scratch database (PostgreSQL when DATABASE_URL says so), its .mat file ingested as
telemetry, and the second discharge read back from the stored samples, fitted and recorded as a twin run;
the time then includes reading the samples and storing the record.

``--joint`` fits the second and third discharges together (``calibrate_discharges``: one parameter set,
one chamber offset each, the budget shared) and holds out the fourth.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from lifecycle.telemetry import read_nasa_mat
from lifecycle.telemetry.frame import Step
from twins.physics.calibration import calibrate, calibrate_discharges, evaluate
from twins.physics.discharge import Discharge

RAW = Path(__file__).resolve().parents[2] / "shared/data/nasa-pcoe/raw"
CELLS = ("B0025", "B0029", "B0030", "B0045", "B0047")


def discharges(path: Path) -> list[tuple[int, tuple[np.ndarray, ...], float]]:
    """(cycle index, (time, voltage, current, temperature), ambient °C) of every discharge with samples."""
    frame = read_nasa_mat(path)
    segments = frame.segments()
    out = []
    for info in frame.cycles:
        if info.step != Step.DISCHARGE or info.index not in segments:
            continue
        a, b = segments[info.index]
        columns = (frame.time[a:b], frame.voltage_v[a:b], frame.current_a[a:b], frame.temperature_c[a:b])
        out.append((info.index, columns, float(info.ambient_temperature_c or 25.0)))
    return out


def run(cell: str, model: str, budget: float, joint: bool = False) -> dict[str, object]:
    cycles = discharges(RAW / f"{cell}.mat")
    if joint:
        return run_joint(cell, cycles, model, budget)
    (fit_cycle, fit_cols, ambient), (held_cycle, held_cols, held_ambient) = cycles[1], cycles[2]
    calibration = calibrate(*fit_cols, ambient, model=model, budget_s=budget)
    held = evaluate(calibration, *held_cols, held_ambient)
    return {"cell": cell, "fit_cycle": fit_cycle, "held_out_cycle": held_cycle, **calibration.summary(),
            "held_out": held}  # fmt: skip


def run_joint(cell: str, cycles, model: str, budget: float) -> dict[str, object]:
    """The second and third discharges fitted jointly; the fourth held out."""
    fitted_to = [Discharge.from_columns(*columns, ambient) for _, columns, ambient in cycles[1:3]]
    calibration = calibrate_discharges(fitted_to, model=model, budget_s=budget)
    held_cycle, held_cols, held_ambient = cycles[3]
    held = evaluate(calibration, *held_cols, held_ambient)
    return {"cell": cell, "fit_cycle": [c[0] for c in cycles[1:3]], "held_out_cycle": held_cycle,
            **calibration.summary(), "held_out": held}  # fmt: skip


def run_stored(cells: list[str], model: str, budget: float) -> list[dict[str, object]]:
    """The same fits through the service: ingest, read back, calibrate, record."""
    import time

    from benchmarks.harness import django_environment, make_operator

    with django_environment("physics_calibration") as described:
        from lifecycle.services import telemetry
        from passport.choices import BatteryKind
        from passport.models import BatteryModel
        from passport.services import registration
        from twins.services import calibration

        print(described)
        organisation, _ = make_operator()
        BatteryModel.objects.create(
            manufacturer=organisation, model_number="NASA-18650", name="NASA PCoE 18650",
            kind=BatteryKind.CELL, category="industrial", chemistry="LCO", rated_capacity_ah=2,
            nominal_voltage_v="3.7", rated_energy_kwh="0.0074",
        )  # fmt: skip
        rows = [
            {"serial_number": cell, "model": "NASA-18650", "manufactured_at": "2007-01-01T00:00:00Z"}
            for cell in cells
        ]
        batteries = registration.register(organisation, registration.parse_rows(rows, max_rows=len(rows)))
        results = []
        for cell, battery in zip(cells, batteries.batteries, strict=True):
            telemetry.ingest(battery, RAW / f"{cell}.mat", actor=organisation, filename=f"{cell}.mat")
            fit_cycle = discharges(RAW / f"{cell}.mat")[1][0]
            began = time.perf_counter()
            run = calibration.calibrate_battery(
                battery, cycle_index=fit_cycle, physics_model=model, budget_s=budget
            )
            outputs = run.outputs
            results.append(
                {"cell": cell, "fit_cycle": fit_cycle, **outputs["fit"], "wall_s": outputs["wall_s"],
                 "service_s": time.perf_counter() - began, "n_simulations": outputs["simulations"],
                 "identified": outputs["identified_parameters"], "record": str(run.record_id)}
            )  # fmt: skip
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", default=list(CELLS))
    parser.add_argument("--model", default="SPMe", choices=("SPMe", "DFN", "SPM"))
    parser.add_argument("--budget", type=float, default=120.0)
    parser.add_argument("--json", action="store_true", help="print the full results as JSON")
    parser.add_argument("--stored", action="store_true", help="through the database and the service")
    parser.add_argument(
        "--joint", action="store_true", help="fit the 2nd and 3rd discharges jointly, hold out the 4th"
    )
    args = parser.parse_args()
    if args.stored:
        results = run_stored(args.cells, args.model, args.budget)
        print(
            f"{'cell':6} {'cycle':>5} {'V MAPE%':>8} {'T MAPE%K':>9} {'fit s':>6} {'total s':>7} {'sims':>5}"
        )
        for r in results:
            print(
                f"{r['cell']:6} {r['fit_cycle']:5d} {r['voltage_mape_pct']:8.3f} "
                f"{r['temperature_mape_k_pct']:9.3f} "
                f"{r['wall_s']:6.1f} {r['service_s']:7.1f} {r['n_simulations']:5d}  identified: "
                f"{', '.join(r['identified']) or 'none'}"
            )
        if args.json:
            print(json.dumps(results, indent=1, default=float))
        return
    header = f"{'cell':6} {'V MAPE%':>8} {'T MAPE%K':>9} {'T MAPE%C':>9} {'s':>6} {'sims':>5} {'cover':>6}"
    print(header + f"  | held-out {'V%':>6} {'T%K':>6} {'T%C':>6} {'cover':>6}")
    results = []
    for cell in args.cells:
        r = run(cell, args.model, args.budget, joint=args.joint)
        results.append(r)
        h = r["held_out"]
        print(
            f"{cell:6} {r['voltage_mape_pct']:8.3f} {r['temperature_mape_k_pct']:9.3f} "
            f"{r['temperature_mape_c_pct']:9.3f} {r['wall_s']:6.1f} {r['n_simulations']:5d} "
            f"{r['coverage']:6.3f}  | cycle {r['held_out_cycle']:3d} {h['voltage_mape_pct']:6.3f} "
            f"{h['temperature_mape_k_pct']:6.3f} {h['temperature_mape_c_pct']:6.3f} {h['coverage']:6.3f}",
            flush=True,
        )
    met = [
        r["cell"]
        for r in results
        if r["voltage_mape_pct"] <= 1 and r["temperature_mape_k_pct"] <= 0.5 and r["wall_s"] <= 120
    ]
    print(f"targets (V <= 1 %, T <= 0.5 % K, <= 120 s) met on {len(met)} of {len(results)}: {', '.join(met)}")
    if args.json:
        print(json.dumps(results, indent=1, default=float))


if __name__ == "__main__":
    main()
