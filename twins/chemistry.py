"""What the twins assume per chemistry family: cycle life, price of new, recycling credit.

One table, so the aging prior, the residual value and the documentation agree. Figures are typical
values for cells cycled at about 1C, 100 % depth of discharge and 25 °C (datasheets and reviews), not
any one maker's: an operator with better figures for its product overrides them per request. A chemistry
that no family matches gets ``UNKNOWN`` and a warning in every twin output that used it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from passport.chemistry import chemistry_family
from twins.health.fade import DEFAULT_PRIOR, FadePrior


@dataclass(frozen=True)
class ChemistryProfile:
    family: str
    cycle_life_80: float  # full cycles until 80 % of rated capacity
    new_price_eur_per_kwh: float  # a new equivalent pack, 2026 list prices
    recycling_credit_eur_per_kwh: float  # recovered material value net of process cost
    known: bool = True

    def warning(self, chemistry: str | None) -> str | None:
        if self.known:
            return None
        return (
            f"unknown chemistry {chemistry!r}: using the default profile "
            f"({self.cycle_life_80:.0f} cycles to 80 %, "
            f"{self.new_price_eur_per_kwh:.0f} EUR/kWh new, {self.recycling_credit_eur_per_kwh:.0f} EUR/kWh "
            "recycling credit)"
        )


PROFILES: dict[str, ChemistryProfile] = {
    "LCO": ChemistryProfile("LCO", 700, 140.0, 14.0),
    "LMO": ChemistryProfile("LMO", 600, 100.0, 3.0),
    "NCA": ChemistryProfile("NCA", 1000, 118.0, 9.0),
    "NMC": ChemistryProfile("NMC", 1500, 115.0, 9.0),
    "LFP": ChemistryProfile("LFP", 3500, 85.0, 1.0),
    "LTO": ChemistryProfile("LTO", 10000, 400.0, 2.0),
}
# The shortest-lived of the common EV families, so an unknown battery is never over-valued; the
# price is the mean of the NMC/NCA/LFP list prices and the credit that of a cobalt-free cell.
UNKNOWN = ChemistryProfile("unknown", 600, 105.0, 1.0, known=False)


def profile_for(chemistry: str | None) -> ChemistryProfile:
    family = chemistry_family(chemistry)
    return PROFILES.get(family, UNKNOWN) if family else UNKNOWN


def prior_crossing_cycle(prior: FadePrior, threshold: float) -> float:
    """Cycle at which the prior's median trajectory (q = 1) reaches ``threshold`` of rated."""
    log_alpha, beta = prior.mean
    return 100.0 * ((1.0 - threshold) / math.exp(log_alpha)) ** (1.0 / beta)


def fade_prior(
    cycle_life: float, threshold: float = 0.8, *, base: FadePrior = DEFAULT_PRIOR, label: str = ""
) -> FadePrior:
    """The training cells' prior with its time scale moved so the median trajectory crosses
    ``threshold`` of rated at ``cycle_life`` cycles.

    The NASA cells that trained ``base`` were aged to death in 100-170 cycles; an NMC pack with that
    prior and a short history would be forecast to die within months. Moving the mean of log(alpha)
    rescales the cycle axis (for the power law, alpha * (k/s)^beta = alpha * s^-beta * k^beta) and keeps
    the shape, spread and noise the cells taught.
    """
    if cycle_life <= 0 or not 0 < threshold < 1:
        raise ValueError("cycle_life must be positive and threshold a fraction of rated")
    beta = base.mean[1]
    shifted = math.log(1.0 - threshold) - beta * math.log(cycle_life / 100.0)
    scale = f"time scale: {label or f'{cycle_life:g} cycles to {threshold:.0%}'}"
    return replace(base, mean=(shifted, beta), trained_on=(*base.trained_on, scale))


def chemistry_prior(profile: ChemistryProfile, base: FadePrior = DEFAULT_PRIOR) -> FadePrior:
    return fade_prior(profile.cycle_life_80, 0.8, base=base, label=profile.family)
