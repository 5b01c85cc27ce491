"""What-if runs: what a change of charging (or discharging) protocol does to a battery's remaining life.

For each protocol the physics twin cycles the cell (``synthetic.aging_trajectories``: SPMe with SEI growth
and, by default, lithium plating) for a bounded number of cycles and measures the fade rate: the capacity
lost to side reactions per cycle, as a share of the cell's capacity, from a least-squares line through
cycles ``FIRST_CYCLE``..n. The first cycle starts from the rest state, not from the protocol's own charge,
and carries the initial SEI/plating transient, so it is left out.

The RUL under a protocol is the battery's current RUL forecast (from the empirical health twin, median and
90 % interval) scaled by baseline rate / protocol rate. Assumptions, stated in every result:

- the battery's observed fade corresponds to the baseline protocol (it is how the battery has been used);
- the *ratio* of fade rates transfers from the simulated cell to the battery, although the absolute rates
  do not (the degradation constants are literature values for another cell, not fitted to this one);
- the rate over the simulated window holds for the rest of life (SEI growth slows as the layer thickens,
  plating can accelerate as the negative electrode loses capacity: neither changes a *ratio* much within
  a protocol family, but a knee is not modelled).

Pure Python (PyBaMM, NumPy): no Django, no database. See docs/physics.md.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import pybamm

from twins.physics.model import CellParameters
from twins.physics.synthetic import AgingTrajectory, aging_trajectories

MODEL = "physics.whatif"
VERSION = "1.0"
MAX_PROTOCOLS = 4
MAX_CYCLES = 100
FIRST_CYCLE = 2
# Fewer fitted cycles than this and the fade rate is not reported (the line would be noise).
MIN_FITTED_CYCLES = 4


@dataclass(frozen=True)
class Protocol:
    """One way of cycling the battery. C-rates refer to the cell's capacity."""

    name: str
    charge_c_rate: float
    discharge_c_rate: float = 1.0
    ambient_c: float = 25.0
    upper_voltage_v: float = 4.2
    depth_of_discharge: float = 1.0


@dataclass(frozen=True)
class CurrentRul:
    """The battery's RUL forecast under its usage so far (cycles to ``threshold`` x rated)."""

    median_cycles: float
    lower_cycles: float  # 5 % quantile
    upper_cycles: float  # 95 % quantile
    threshold: float


@dataclass
class ProtocolOutcome:
    protocol: Protocol
    fade_per_cycle: float | None  # share of the cell's capacity lost to side reactions per cycle
    relative_rate: float | None  # fade_per_cycle / the baseline's
    rul: dict
    cycles_simulated: int
    capacity_ah: list[float]
    lost_ah: list[float]
    runtime_s: float
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "name": self.protocol.name,
            "settings": asdict(self.protocol),
            "fade_per_cycle": self.fade_per_cycle,
            "fade_pct_per_100_cycles": None if self.fade_per_cycle is None else 1e4 * self.fade_per_cycle,
            "relative_rate": self.relative_rate,
            "rul": self.rul,
            "cycles_simulated": self.cycles_simulated,
            "discharge_capacity_ah": self.capacity_ah,
            "side_reaction_loss_ah": self.lost_ah,
            "runtime_s": round(self.runtime_s, 2),
            "warnings": self.warnings,
        }


def fade_rate(trajectory: AgingTrajectory, capacity_ah: float) -> tuple[float | None, list[str]]:
    """Share of ``capacity_ah`` lost to side reactions per cycle over cycles FIRST_CYCLE..n (slope of a
    least-squares line), and the warnings that qualify it."""
    warnings: list[str] = []
    if trajectory.message:
        warnings.append(f"the simulation {trajectory.message}")
    lost = trajectory.lost_ah[FIRST_CYCLE - 1 :]
    if len(lost) < MIN_FITTED_CYCLES:
        warnings.append(
            f"only {len(trajectory.lost_ah)} cycle(s) simulated; a fade rate needs cycles "
            f"{FIRST_CYCLE}..{FIRST_CYCLE + MIN_FITTED_CYCLES - 1} at least"
        )
        return None, warnings
    cycles = np.arange(FIRST_CYCLE, FIRST_CYCLE + len(lost), dtype=float)
    slope = float(np.polyfit(cycles, lost, 1)[0]) / capacity_ah
    if not math.isfinite(slope) or slope <= 0:
        warnings.append("no capacity loss over the simulated cycles: the fade rate is not positive")
        return None, warnings
    return slope, warnings


def _scaled_rul(current: CurrentRul, relative_rate: float) -> dict:
    # A faster fade reaches the threshold sooner in proportion: cycles scale by 1 / relative rate.
    return {
        "median_cycles": current.median_cycles / relative_rate,
        "lower_cycles": current.lower_cycles / relative_rate,
        "upper_cycles": current.upper_cycles / relative_rate,
        "threshold": current.threshold,
    }


def what_if(
    params: CellParameters,
    protocols: list[Protocol],
    baseline: str,
    current_rul: CurrentRul | None,
    *,
    cycles: int = 40,
    plating: bool = True,
    missing: list[str] | None = None,
) -> dict:
    """Fade rate, relative rate and RUL under each protocol (see the module docstring for the method).

    ``current_rul`` None means the battery has no usable forecast: the fade rates and their ratios are
    still reported, each RUL is ``{"insufficient_data": True, "missing": missing}`` instead of a number.
    """
    names = [p.name for p in protocols]
    if not 1 <= len(protocols) <= MAX_PROTOCOLS:
        raise ValueError(f"between 1 and {MAX_PROTOCOLS} protocols, got {len(protocols)}")
    if len(set(names)) != len(names):
        raise ValueError("protocol names must be unique")
    if baseline not in names:
        raise ValueError(f"baseline {baseline!r} is not one of the protocols {names}")
    if not 2 * FIRST_CYCLE <= cycles <= MAX_CYCLES:
        raise ValueError(f"cycles must be between {2 * FIRST_CYCLE} and {MAX_CYCLES}")
    started = time.perf_counter()
    outcomes: list[ProtocolOutcome] = []
    for protocol in protocols:
        began = time.perf_counter()
        try:
            trajectory = aging_trajectories(
                params,
                cycles,
                protocol.charge_c_rate,
                protocol.discharge_c_rate,
                ambient_c=protocol.ambient_c,
                plating=plating,
                upper_v=protocol.upper_voltage_v,
                depth_of_discharge=protocol.depth_of_discharge,
            )
        except Exception as error:  # one protocol PyBaMM cannot set up must not lose the others' results
            trajectory = AgingTrajectory(
                np.arange(1, 1), np.empty(0), protocol.charge_c_rate, protocol.discharge_c_rate,
                protocol.ambient_c, np.empty(0), plating, cycles, f"could not run: {error}",
            )  # fmt: skip
        rate, notes = fade_rate(trajectory, params.capacity_ah)
        outcomes.append(
            ProtocolOutcome(
                protocol=protocol,
                fade_per_cycle=rate,
                relative_rate=None,
                rul={},
                cycles_simulated=len(trajectory.cycle),
                capacity_ah=[round(float(c), 6) for c in trajectory.capacity_ah],
                lost_ah=[round(float(c), 8) for c in trajectory.lost_ah],
                runtime_s=time.perf_counter() - began,
                warnings=notes,
            )
        )
    base = outcomes[names.index(baseline)]
    for outcome in outcomes:
        if base.fade_per_cycle is None or outcome.fade_per_cycle is None:
            reason = (
                "the baseline's fade rate" if base.fade_per_cycle is None else "this protocol's fade rate"
            )
            outcome.rul = {"insufficient_data": True, "missing": [f"{reason} (see warnings)"]}
            continue
        outcome.relative_rate = outcome.fade_per_cycle / base.fade_per_cycle
        if current_rul is None:
            outcome.rul = {"insufficient_data": True, "missing": list(missing or ["a current RUL forecast"])}
        else:
            outcome.rul = _scaled_rul(current_rul, outcome.relative_rate)
    return {
        "model": MODEL,
        "version": VERSION,
        "physics": {
            "model": "SPMe" if plating else "SPM",
            "degradation": "SEI (solvent-diffusion limited)"
            + (", lithium plating (partially reversible)" if plating else ""),
            "parameters": "Chen2020 (LG M50) with OKane2022 degradation constants",
            "pybamm": pybamm.__version__,
            "cell": params.as_dict(),
            "cycles": cycles,
            "fade_window": f"cycles {FIRST_CYCLE}..{cycles}",
        },
        "baseline": baseline,
        "current_rul": asdict(current_rul)
        if current_rul
        else {"insufficient_data": True, "missing": list(missing or [])},
        "protocols": [outcome.as_dict() for outcome in outcomes],
        "assumptions": [
            "the battery's observed fade corresponds to the baseline protocol",
            "the ratio of simulated fade rates transfers to the battery; absolute simulated rates do not",
            "the fade rate over the simulated window holds for the remaining life (no knee is modelled)",
        ],
        "runtime_s": round(time.perf_counter() - started, 2),
    }
