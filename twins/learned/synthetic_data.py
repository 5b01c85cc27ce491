"""The physics-generated training set: capacity-fade trajectories from PyBaMM over random cells and protocols.

``python -m twins.learned.synthetic_data`` regenerates ``artifacts/physics_trajectories.npz`` (seeded,
deterministic; ~13 minutes on two cores). Each trajectory is the discharge capacity of every cycle of a
CC discharge / CC-CV charge experiment, the same protocol as ``twins.physics.synthetic.aging_trajectories``
and the same calibrated base cell (``twins.physics.model.base_parameter_values``), with three changes that
function does not offer (it is owned by the physics twin and has no knobs for them):

* **Two SEI growth laws and scaled degradation rates (the honest caveat).** Half the cells grow SEI
  limited by solvent diffusion (fade slowing like sqrt(t)), half limited by the reaction (near-linear
  fade). With Chen2020's rates a cell loses a few per cent in a thousand cycles; the NASA cells lose
  20-50 % in 30-170. Each trajectory multiplies the SEI solvent diffusivity by a log-uniform factor in
  ``SEI_SCALE`` (100-8000x), or the SEI reaction exchange-current density by one in
  ``SEI_REACTION_SCALE`` (3-40x), so cells reach 80-60 % of rated within a few hundred cycles. The
  *shape* of the fade (how SEI growth slows as the layer thickens, how plating depends on charge rate
  and temperature, when pores clog) is the physics; its *time scale* is set by hand to match the range
  of lives in the real data. Nothing here is fitted to a NASA cell.
* **Lithium plating** (irreversible, on a random subset): Chen2020 has no plating parameters, so
  OKane2022's plating/stripping exchange-current functions are used with the kinetic rate constant
  scaled by ``PLATING_SCALE`` (0.003-0.1x OKane2022's; at 1x every protocol loses half its capacity in
  tens of cycles). ``twins.physics.synthetic`` with ``plating=True`` fails on Chen2020 for that reason.
* **A knee** (on a random subset): SPMe with "SEI porosity change" (and plating porosity change), the
  pore-clogging mechanism of O'Kane et al. (2022), produces an accelerating fade and then a collapse
  when the negative electrode's pores close. The trajectory is cut at the collapse (the first cycle that
  loses more than ``COLLAPSE_DROP`` of the previous one) and keeps that cycle's capacity as its last
  value: every threshold above it is crossed there, which is what the simulated cell does.
  The SEI growth activation energy is OKane2022's 38 kJ/mol (Chen2020's is 0), so the ambient matters.

What the physics cannot give (and the real NASA cells in ``dataset.py`` do): regeneration after rests,
measurement noise, odd first cycles. ``dataset.py`` adds noise and regeneration-like jumps to these
trajectories as augmentation; see docs/twins.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

DATASET_PATH = Path(__file__).resolve().parent / "artifacts" / "physics_trajectories.npz"
SEED = 20260101
COUNT = 220
MAX_CYCLES = 400
SEI_SCALE = (100.0, 8000.0)
SEI_REACTION_SCALE = (3.0, 40.0)
REACTION_LIMITED_SHARE = 0.5
PLATING_SCALE = (0.003, 0.1)
PLATING_SHARE = 0.4
KNEE_SHARE = 0.25
COLLAPSE_DROP = 0.05
SEI_ACTIVATION_J_MOL = 38_000.0

_PLATING_KEYS = (
    "Exchange-current density for plating [A.m-2]",
    "Exchange-current density for stripping [A.m-2]",
    "Initial plated lithium concentration [mol.m-3]",
    "Lithium metal partial molar volume [m3.mol-1]",
    "Lithium plating transfer coefficient",
    "Typical plated lithium concentration [mol.m-3]",
    "Dead lithium decay constant [s-1]",
    "Dead lithium decay rate [s-1]",
)


@dataclass(frozen=True)
class Protocol:
    """One simulated cell and how it is cycled."""

    c_rate_charge: float
    c_rate_discharge: float
    ambient_c: float
    sei_model: str  # PyBaMM's SEI option
    sei_scale: float  # multiplies the rate of that SEI law (see the module docstring)
    plating_scale: float  # 0 = no plating
    knee: bool  # SPMe with pore clogging
    capacity_ah: float
    contact_resistance_ohm: float
    diffusivity_scale: float
    reaction_rate_scale: float


def draw_protocols(count: int = COUNT, seed: int = SEED) -> list[Protocol]:
    """Random cells and protocols (one seeded generator: the same list on every machine)."""
    rng = np.random.default_rng(seed)

    def log_uniform(bounds: tuple[float, float]) -> float:
        return float(math.exp(rng.uniform(math.log(bounds[0]), math.log(bounds[1]))))

    protocols = []
    for _ in range(count):
        plating = rng.random() < PLATING_SHARE
        reaction_limited = rng.random() < REACTION_LIMITED_SHARE
        protocols.append(
            Protocol(
                c_rate_charge=float(rng.choice([0.5, 0.75, 1.0, 1.5])),
                c_rate_discharge=float(rng.choice([0.5, 1.0, 1.5, 2.0])),
                ambient_c=round(float(rng.uniform(5.0, 45.0)), 1),
                sei_model="reaction limited" if reaction_limited else "solvent-diffusion limited",
                sei_scale=log_uniform(SEI_REACTION_SCALE if reaction_limited else SEI_SCALE),
                plating_scale=log_uniform(PLATING_SCALE) if plating else 0.0,
                knee=bool(rng.random() < KNEE_SHARE),
                capacity_ah=round(float(rng.uniform(1.8, 2.1)), 3),
                contact_resistance_ohm=round(float(rng.uniform(0.02, 0.1)), 4),
                diffusivity_scale=log_uniform((0.5, 2.0)),
                reaction_rate_scale=log_uniform((0.5, 2.0)),
            )
        )
    return protocols


def simulate(protocol: Protocol, max_cycles: int = MAX_CYCLES) -> np.ndarray:
    """Discharge capacity (Ah) per cycle; empty when the solver fails at the start."""
    import pybamm

    from twins.physics.model import VAR_PTS, CellParameters, base_parameter_values

    options = {"SEI": protocol.sei_model, "thermal": "lumped", "contact resistance": "true"}
    values = base_parameter_values(protocol.ambient_c, 4.2)
    values["Ambient temperature [K]"] = 273.15 + protocol.ambient_c
    values["Nominal cell capacity [A.h]"] = protocol.capacity_ah
    rate_key = (
        "SEI reaction exchange current density [A.m-2]"
        if protocol.sei_model == "reaction limited"
        else "SEI solvent diffusivity [m2.s-1]"
    )
    values[rate_key] = values[rate_key] * protocol.sei_scale
    values["SEI growth activation energy [J.mol-1]"] = SEI_ACTIVATION_J_MOL
    if protocol.plating_scale > 0:
        options["lithium plating"] = "irreversible"
        okane = pybamm.ParameterValues("OKane2022")
        values.update({key: okane[key] for key in _PLATING_KEYS}, check_already_exists=False)
        values["Lithium plating kinetic rate constant [m.s-1]"] = (
            okane["Lithium plating kinetic rate constant [m.s-1]"] * protocol.plating_scale
        )
    if protocol.knee:
        options["SEI porosity change"] = "true"
        if protocol.plating_scale > 0:
            options["lithium plating porosity change"] = "true"
    model = (pybamm.lithium_ion.SPMe if protocol.knee else pybamm.lithium_ion.SPM)(options=options)
    experiment = pybamm.Experiment(
        [
            (
                f"Discharge at {protocol.c_rate_discharge}C until 2.7 V",
                f"Charge at {protocol.c_rate_charge}C until 4.2 V",
                "Hold at 4.2 V until C/10",
            )
        ]
        * max_cycles,
    )
    cell = CellParameters(
        capacity_ah=protocol.capacity_ah,
        contact_resistance_ohm=protocol.contact_resistance_ohm,
        diffusivity_scale=protocol.diffusivity_scale,
        reaction_rate_scale=protocol.reaction_rate_scale,
    )
    simulation = pybamm.Simulation(
        model,
        parameter_values=values,
        experiment=experiment,
        var_pts=VAR_PTS,
        solver=pybamm.IDAKLUSolver(rtol=1e-5, atol=1e-7),
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            solution = simulation.solve(inputs=cell.inputs())
    except Exception:  # a protocol the solver cannot start (e.g. 2C at 5 °C below the cut-off): skip it
        return np.empty(0)
    capacities = []
    for cycle in solution.cycles:
        if cycle is None:
            break
        charge = cycle.steps[0]["Discharge capacity [A.h]"].entries
        capacities.append(float(charge[-1] - charge[0]))
    return clean_trajectory(np.array(capacities))


def clean_trajectory(capacity: np.ndarray) -> np.ndarray:
    """Drop the first cycle (it starts from a full initial state, not from the protocol's CC-CV charge,
    so it reads 2-3 % high) and cut at a collapse (keeping the collapsed cycle as the last value)."""
    capacity = capacity[1:]
    if capacity.size < 2:
        return capacity
    drops = np.flatnonzero(capacity[1:] < (1.0 - COLLAPSE_DROP) * capacity[:-1])
    if drops.size:
        capacity = capacity[: drops[0] + 2]
    return capacity


def _simulate_indexed(item: tuple[int, Protocol]) -> tuple[int, np.ndarray, float]:
    start = time.perf_counter()
    return item[0], simulate(item[1]), time.perf_counter() - start


def generate(count: int = COUNT, seed: int = SEED, workers: int = 2) -> dict[str, np.ndarray]:
    """Simulate every protocol (in ``workers`` processes; the result does not depend on their number)."""
    protocols = draw_protocols(count, seed)
    results: dict[int, np.ndarray] = {}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for index, capacity, seconds in pool.map(_simulate_indexed, enumerate(protocols)):
            results[index] = capacity
            print(f"{index + 1}/{count}: {capacity.size} cycles in {seconds:.1f} s", flush=True)
    kept = [i for i in range(count) if results[i].size >= 20]
    lengths = np.array([results[i].size for i in kept], dtype=np.int32)
    return {
        "capacity_ah": np.concatenate([results[i] for i in kept]).astype(np.float32),
        "lengths": lengths,
        "protocol_index": np.array(kept, dtype=np.int32),
        "protocols": np.array(json.dumps([asdict(protocols[i]) for i in kept])),
        "seed": np.array(seed),
    }


@dataclass
class PhysicsTrajectory:
    capacity_ah: np.ndarray
    rated_ah: float  # the simulated cell's nominal capacity
    protocol: dict


def load_trajectories(path: Path = DATASET_PATH) -> list[PhysicsTrajectory]:
    """The cached physics set as one trajectory per simulated cell."""
    with np.load(path) as data:
        capacity, lengths = data["capacity_ah"].astype(float), data["lengths"]
        protocols = json.loads(str(data["protocols"]))
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    return [
        PhysicsTrajectory(capacity[offsets[i] : offsets[i + 1]], protocols[i]["capacity_ah"], protocols[i])
        for i in range(len(lengths))
    ]


def content_sha256(path: Path = DATASET_PATH) -> str:
    """SHA-256 of the arrays in the file (the .npz container itself carries zip time stamps)."""
    digest = hashlib.sha256()
    with np.load(path) as data:
        for key in sorted(data.files):
            digest.update(key.encode())
            digest.update(np.ascontiguousarray(data[key]).tobytes())
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the physics training set (PyBaMM).")
    parser.add_argument("--count", type=int, default=COUNT)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=DATASET_PATH)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    data = generate(args.count, args.seed, args.workers)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **data)
    print(
        f"{len(data['lengths'])} trajectories ({int(data['lengths'].sum())} cycles) -> {args.out} "
        f"in {time.perf_counter() - start:.0f} s, content sha256 {content_sha256(args.out)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
