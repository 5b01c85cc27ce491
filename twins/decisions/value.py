"""Residual value of a used battery, with the assumptions that produced the number."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

# Prices of a new equivalent (EUR per kWh of pack, 2026 list prices); operators override per request.
NEW_PRICE_EUR_PER_KWH = {"NMC": 115.0, "NCA": 118.0, "LFP": 85.0, "LCO": 140.0, "LMO": 100.0, "LTO": 400.0}
DEFAULT_NEW_PRICE_EUR_PER_KWH = 110.0
# What a second-life buyer pays relative to new for the same remaining service: refurbishing,
# testing, shorter warranty and integration cost.
SECOND_LIFE_DISCOUNT = {"reuse": 0.75, "stationary-energy": 0.6, "stationary-power": 0.55, "recycling": 0.0}
# Recovered material value at end of life (EUR per kWh of original capacity), net of process cost.
RECYCLING_CREDIT_EUR_PER_KWH = {"NMC": 9.0, "NCA": 9.0, "LCO": 14.0, "LFP": 1.0}


@dataclass
class ResidualValue:
    eur_per_kwh: float
    eur_total: float
    application: str
    assumptions: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def chemistry_family(chemistry: str) -> str:
    upper = (chemistry or "").upper()
    for family in ("LFP", "NMC", "NCA", "LCO", "LMO", "LTO"):
        if upper.startswith(family):
            return family
    return "unknown"


def residual_value(
    *,
    rated_energy_kwh: float,
    soh: float,
    remaining_cycles: float | None,
    expected_cycles_new: float,
    chemistry: str,
    application: str,
    new_price_eur_per_kwh: float | None = None,
) -> ResidualValue:
    """Value per kWh of rated energy = price of new * SoH * share of a new battery's cycle life left *
    the application's second-life discount, never below the recycling credit."""
    family = chemistry_family(chemistry)
    price = new_price_eur_per_kwh or NEW_PRICE_EUR_PER_KWH.get(family, DEFAULT_NEW_PRICE_EUR_PER_KWH)
    remaining_energy = rated_energy_kwh * max(soh, 0.0)
    life_share = 0.0 if not remaining_cycles else min(1.0, remaining_cycles / expected_cycles_new)
    discount = SECOND_LIFE_DISCOUNT.get(application, 0.5)
    service_value = price * max(soh, 0.0) * life_share * discount
    credit = RECYCLING_CREDIT_EUR_PER_KWH.get(family, 3.0)
    per_kwh_rated = max(service_value, credit)
    return ResidualValue(
        eur_per_kwh=round(per_kwh_rated, 2),
        eur_total=round(per_kwh_rated * rated_energy_kwh, 2),
        application=application,
        assumptions={
            "new_price_eur_per_kwh": price,
            "chemistry_family": family,
            "remaining_energy_kwh": round(remaining_energy, 4),
            "soh": soh,
            "remaining_cycles": remaining_cycles,
            "expected_cycles_new": expected_cycles_new,
            "life_share_left": round(life_share, 4),
            "second_life_discount": discount,
            "recycling_credit_eur_per_kwh": credit,
            "basis": "per kWh of rated energy",
        },
    )
