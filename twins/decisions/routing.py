"""Where a used battery goes next: re-use, repurposing (energy- or power-heavy storage),
remanufacturing, or recycling — with the reasons."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from statistics import mean, pstdev

REUSE_MIN_SOH = 0.85
REPURPOSE_MIN_SOH = 0.65
# Power-heavy work (frequency regulation) needs low resistance: resistance SoH above this.
POWER_MIN_RESISTANCE_SOH = 0.6
# A component this far below its siblings' mean SoH is worth replacing rather than scrapping the pack.
WEAK_COMPONENT_GAP = 0.08
MIN_RUL_CYCLES = {"reuse": 300, "stationary-energy": 500, "stationary-power": 800}


@dataclass
class Route:
    route: str  # reuse | stationary-energy | stationary-power | remanufacture | recycling
    reasons: list[str]
    weak_components: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)  # record hashes the decision rests on

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class ComponentHealth:
    identifier: str
    soh: float


def weak_components(components: list[ComponentHealth]) -> list[str]:
    """Components well below their siblings (the mean of the others), weakest first."""
    if len(components) < 3:
        return []
    weak = []
    for component in components:
        others = [c.soh for c in components if c is not component]
        if mean(others) - component.soh >= WEAK_COMPONENT_GAP:
            weak.append(component)
    return [c.identifier for c in sorted(weak, key=lambda c: c.soh)]


def spread(components: list[ComponentHealth]) -> dict:
    """Cell-to-cell view of a pack: mean, spread, weakest and strongest."""
    if not components:
        return {}
    values = [c.soh for c in components]
    ordered = sorted(components, key=lambda c: c.soh)
    return {
        "count": len(values),
        "mean_soh": round(mean(values), 4),
        "std_soh": round(pstdev(values), 4),
        "min_soh": round(min(values), 4),
        "max_soh": round(max(values), 4),
        "imbalance": round(max(values) - min(values), 4),
        "weakest": [c.identifier for c in ordered[:3]],
    }


def route(
    *,
    soh: float | None,
    rul_cycles: float | None,
    resistance_soh: float | None,
    damaged: bool,
    components: list[ComponentHealth] | None = None,
    evidence: list[str] | None = None,
) -> Route:
    evidence = list(evidence or [])
    if damaged:
        return Route(
            "recycling",
            ["an accident or thermal event is on record: not safe for another life"],
            evidence=evidence,
        )
    if soh is None:
        return Route(
            "recycling", ["no state of health on record: cannot certify a second life"], evidence=evidence
        )
    weak = weak_components(components or [])
    healthy = [c.soh for c in components or [] if c.identifier not in weak]
    if weak and healthy and mean(healthy) >= REUSE_MIN_SOH > soh:
        return Route(
            "remanufacture",
            [f"{len(weak)} component(s) at least {WEAK_COMPONENT_GAP:.0%} below their siblings; the rest "
             f"average SoH {mean(healthy):.0%}: replacing them restores the pack"],
            weak_components=weak,
            evidence=evidence,
        )  # fmt: skip
    rul = rul_cycles or 0
    if soh >= REUSE_MIN_SOH and rul >= MIN_RUL_CYCLES["reuse"]:
        return Route(
            "reuse", [f"SoH {soh:.0%} ≥ {REUSE_MIN_SOH:.0%} and {rul:.0f} cycles left"], evidence=evidence
        )
    if soh >= REPURPOSE_MIN_SOH:
        power = resistance_soh is not None and resistance_soh >= POWER_MIN_RESISTANCE_SOH
        target = (
            "stationary-power" if power and rul >= MIN_RUL_CYCLES["stationary-power"] else "stationary-energy"
        )
        reasons = [f"SoH {soh:.0%} is below re-use ({REUSE_MIN_SOH:.0%}) but above {REPURPOSE_MIN_SOH:.0%}"]
        reasons.append(
            f"resistance SoH {resistance_soh:.0%}: power capability suits frequency regulation"
            if target == "stationary-power"
            else "energy-heavy duty (home storage, UPS): power capability unknown or too low for regulation"
        )
        return Route(target, reasons, evidence=evidence)
    return Route("recycling", [f"SoH {soh:.0%} is below {REPURPOSE_MIN_SOH:.0%}: no economic second life"],
                 evidence=evidence)  # fmt: skip
