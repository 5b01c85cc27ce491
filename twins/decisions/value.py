"""Residual value of a used battery, with the assumptions that produced the number."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from twins.chemistry import profile_for

# What a second-life buyer pays relative to new for the same remaining service: refurbishing,
# testing, shorter warranty and integration cost.
SECOND_LIFE_DISCOUNT = {"reuse": 0.75, "stationary-energy": 0.6, "stationary-power": 0.55, "recycling": 0.0}


@dataclass
class ResidualValue:
    eur_per_kwh: float
    eur_total: float
    application: str
    assumptions: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


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
    profile = profile_for(chemistry)
    price = new_price_eur_per_kwh or profile.new_price_eur_per_kwh
    remaining_energy = rated_energy_kwh * max(soh, 0.0)
    life_share = 0.0 if not remaining_cycles else min(1.0, remaining_cycles / expected_cycles_new)
    discount = SECOND_LIFE_DISCOUNT.get(application, 0.5)
    service_value = price * max(soh, 0.0) * life_share * discount
    credit = profile.recycling_credit_eur_per_kwh
    per_kwh_rated = max(service_value, credit)
    return ResidualValue(
        eur_per_kwh=round(per_kwh_rated, 2),
        eur_total=round(per_kwh_rated * rated_energy_kwh, 2),
        application=application,
        assumptions={
            "new_price_eur_per_kwh": price,
            "chemistry_family": profile.family,
            "remaining_energy_kwh": round(remaining_energy, 4),
            "soh": soh,
            "remaining_cycles": remaining_cycles,
            "expected_cycles_new": expected_cycles_new,
            "life_share_left": round(life_share, 4),
            "second_life_discount": discount,
            "recycling_credit_eur_per_kwh": credit,
            "basis": "per kWh of rated energy",
            **({"warning": profile.warning(chemistry)} if not profile.known else {}),
        },
    )
