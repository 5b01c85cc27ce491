"""Warranty claims: is the battery still covered, and did it fail the promised health floor?"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field


@dataclass
class WarrantyTerms:
    years: float
    soh_floor: float  # e.g. 0.7: the manufacturer promises at least 70 % of rated capacity
    max_km: float | None = None
    max_cycles: float | None = None
    max_throughput_kwh: float | None = None


@dataclass
class ClaimDecision:
    covered: bool
    claim_valid: bool
    reasons: list[str]
    evidence: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def evaluate_claim(
    terms: WarrantyTerms,
    *,
    put_into_service_at: dt.datetime | None,
    claimed_at: dt.datetime,
    soh: float | None,
    soh_std: float | None,
    full_cycles: float | None = None,
    throughput_kwh: float | None = None,
    km: float | None = None,
    evidence: list[str] | None = None,
) -> ClaimDecision:
    """Covered = within every limit of the terms; valid = covered and the SoH is below the floor with
    95 % confidence (measured value + 2 sigma still under it), so noise alone never triggers a payout."""
    reasons: list[str] = []
    covered = True
    if put_into_service_at is None:
        covered = False
        reasons.append("no date of putting into service on record: the warranty period cannot start")
    else:
        age_years = (claimed_at - put_into_service_at).days / 365.25
        if age_years > terms.years:
            covered = False
            reasons.append(f"{age_years:.1f} years in service exceeds the {terms.years:g}-year term")
        else:
            reasons.append(f"{age_years:.1f} of {terms.years:g} years used")
    for name, used, limit, unit in (
        ("cycles", full_cycles, terms.max_cycles, "full cycles"),
        ("throughput", throughput_kwh, terms.max_throughput_kwh, "kWh"),
        ("distance", km, terms.max_km, "km"),
    ):
        if limit is None:
            continue
        if used is None:
            reasons.append(f"{name}: no figure on record; not held against the claim")
        elif used > limit:
            covered = False
            reasons.append(f"{used:,.0f} {unit} exceeds the {limit:,.0f} {unit} limit")
        else:
            reasons.append(f"{used:,.0f} of {limit:,.0f} {unit} used")
    if soh is None:
        return ClaimDecision(covered, False, [*reasons, "no state of health on record"], list(evidence or []))
    margin = 2 * (soh_std or 0.0)
    below = soh + margin < terms.soh_floor
    reasons.append(
        f"SoH {soh:.1%} ± {margin:.1%} is below the {terms.soh_floor:.0%} floor"
        if below
        else f"SoH {soh:.1%} ± {margin:.1%} does not show a drop below the {terms.soh_floor:.0%} floor"
    )
    return ClaimDecision(covered, covered and below, reasons, list(evidence or []))
