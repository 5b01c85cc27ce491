"""Benchmark: what a second discharge rate adds to a physics calibration (synthetic cell, known truth).

    python -m benchmarks.physics_two_rates [--budget 60] [--noise-mv 2] [--under-load] [--json]

A 2 Ah cell with known parameters (``TRUE_CELL``, away from the base set) is discharged by the model itself
at 0.5C and at 2C from rest at 4.19 V to 2.7 V, 25 °C; the curves get measurement noise (``--noise-mv``,
and 0.05 K per mV on the temperature, seeded). Three calibrations with the same budget each: the 0.5C
discharge alone, the 2C alone, and both jointly (``calibrate_discharges``). For each: the voltage MAPE
over what it was fitted to, the relative error of every fitted electrochemical scale against the truth,
and how many parameters its standard errors call identified (std ≤ 0.1 of the normalised range).

The NASA files hold one rate per cell, so this is measured on the model's own data: it shows what the
joint fit can separate, not how well the model matches a real cell at two rates.

``--under-load`` records the same discharges from their first loaded sample, as a BMS or field log does
(no rest before them): each discharge's rest voltage is then fitted too (``Discharge.at_rest`` False). A
fourth case fits both the old way, taking each first voltage as the rest voltage, for comparison.
"""

from __future__ import annotations

import argparse
import dataclasses
import json

import numpy as np

from twins.physics.calibration import calibrate_discharges
from twins.physics.discharge import Discharge
from twins.physics.model import CellParameters, simulate_discharge

TRUE_CELL = CellParameters(
    capacity_ah=1.85,
    contact_resistance_ohm=0.09,
    diffusivity_scale=0.5,
    positive_diffusivity_ratio=2.0,
    electrolyte_transport_scale=0.7,
    reaction_rate_scale=0.6,
)
RATED_AH = 2.0
RATES_C = (0.5, 2.0)
SCORED = (
    "capacity_ah",
    "contact_resistance_ohm",
    "diffusivity_scale",
    "positive_diffusivity_ratio",
    "electrolyte_transport_scale",
    "reaction_rate_scale",
    "negative_ratio",
    "negative_sto_full",
)
IDENTIFIED_STD_UNIT = 0.1
TEMPERATURE_NOISE_K_PER_MV = 0.05


def synthetic_discharge(c_rate: float, noise_mv: float, seed: int, under_load: bool = False) -> Discharge:
    """One minute at rest, then a constant-current discharge of ``TRUE_CELL`` to 2.7 V, with noise;
    ``under_load``: without the minute at rest (the rest voltage, 4.19 V, is then unknown to the fit)."""
    current = c_rate * RATED_AH
    step = 20.0 / max(c_rate, 0.5)
    time_s = np.arange(0.0, 60.0 + 1.3 * 3600.0 / c_rate, step)
    current_a = np.where(time_s < 60.0, 0.0, -current)
    curve = simulate_discharge(TRUE_CELL, time_s, current_a, 25.0, initial_voltage_v=4.19)
    below = np.flatnonzero(curve.voltage_v < 2.7)
    n = int(below[0]) if len(below) else len(curve.time_s)
    rng = np.random.default_rng(seed)
    voltage = curve.voltage_v[:n] + rng.normal(0.0, noise_mv / 1000.0, n)
    temperature = curve.temperature_c[:n] + rng.normal(0.0, TEMPERATURE_NOISE_K_PER_MV * noise_mv, n)
    kept = slice(int(np.argmax(current_a < 0)) if under_load else 0, n)
    columns = (curve.time_s[kept], voltage[kept], current_a[kept], temperature[kept])
    return Discharge.from_columns(*columns, 25.0, at_rest=not under_load)


def run(budget_s: float, noise_mv: float, under_load: bool = False) -> list[dict[str, object]]:
    discharges = [synthetic_discharge(rate, noise_mv, seed, under_load) for seed, rate in enumerate(RATES_C)]
    cases = [
        (f"{RATES_C[0]:g}C alone", [discharges[0]]),
        (f"{RATES_C[1]:g}C alone", [discharges[1]]),
        (f"{RATES_C[0]:g}C + {RATES_C[1]:g}C jointly", discharges),
    ]
    if under_load:
        as_if_at_rest = [dataclasses.replace(d, at_rest=True) for d in discharges]
        cases.append(("jointly, 1st V as rest", as_if_at_rest))
    results = []
    for name, fitted_to in cases:
        fit = calibrate_discharges(fitted_to, budget_s=budget_s, uncertainty=True, rated_capacity_ah=RATED_AH)
        errors = {key: 100.0 * (getattr(fit.params, key) / getattr(TRUE_CELL, key) - 1.0) for key in SCORED}
        results.append(
            {
                "case": name,
                "voltage_mape_pct": fit.voltage_mape_pct,
                "wall_s": fit.wall_s,
                "n_simulations": fit.n_simulations,
                "parameter_error_pct": errors,
                "identified": sorted(
                    key for key, e in fit.parameter_errors.items() if e["std_unit"] <= IDENTIFIED_STD_UNIT
                ),
                "params": fit.params.as_dict(),
                "rest_voltage_v": [entry["rest_voltage_v"] for entry in fit.per_discharge],
                "rest_voltage_std_v": [entry.get("rest_voltage_std_v") for entry in fit.per_discharge],
            }
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--noise-mv", type=float, default=2.0)
    parser.add_argument("--under-load", action="store_true", help="record from the first loaded sample")
    parser.add_argument("--json", action="store_true", help="print the full results as JSON")
    args = parser.parse_args()
    results = run(args.budget, args.noise_mv, args.under_load)
    short = {"capacity_ah": "cap", "contact_resistance_ohm": "R", "diffusivity_scale": "D",
             "positive_diffusivity_ratio": "Dp", "electrolyte_transport_scale": "elyte",
             "reaction_rate_scale": "k", "negative_ratio": "n/p", "negative_sto_full": "x100"}  # fmt: skip
    print(f"truth: {TRUE_CELL}")
    print(f"{'case':22} {'V MAPE%':>8} {'s':>6} {'sims':>5}  error vs truth %: " + " ".join(short.values()))
    for r in results:
        errors = " ".join(f"{r['parameter_error_pct'][key]:+.1f}" for key in SCORED)
        print(
            f"{r['case']:22} {r['voltage_mape_pct']:8.3f} {r['wall_s']:6.1f} {r['n_simulations']:5d}  "
            f"{errors}  | rest V {' '.join(f'{v:.3f}' for v in r['rest_voltage_v'])}"
            f" | identified {len(r['identified'])}: {', '.join(r['identified'])}"
        )
    if args.json:
        print(json.dumps(results, indent=1, default=float))


if __name__ == "__main__":
    main()
