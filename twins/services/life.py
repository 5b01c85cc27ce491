"""The life a battery was designed for, which every forecast and value is measured against.

The passport says it when the manufacturer filled it in: ``expectedNumberOfCycles`` (#77) under the
cycle-life reference test, and ``capacityThresholdForExhaustion`` (#83, % SOCE) for the end of first
life. What it lacks comes from the chemistry's profile (``twins.chemistry``); every output records
which source it used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from passport.choices import BatteryCategory
from twins.chemistry import ChemistryProfile, chemistry_prior, fade_prior, prior_crossing_cycle, profile_for
from twins.health.fade import FadePrior

# End of first life when the passport has no exhaustion threshold: 80 % for automotive (the usual
# warranty floor), 70 % for the rest. Second-life applications run on to 70 % and 60 %.
DEFAULT_FIRST_LIFE_THRESHOLD = {BatteryCategory.EV: 0.8}
OTHER_FIRST_LIFE_THRESHOLD = 0.7
SECOND_LIFE_THRESHOLDS = (0.7, 0.6)
# The reference test of #77 ends at 80 % of rated capacity unless the passport says otherwise
# (IEC 62660-1 and EN 50604-1 cycle-life tests report the cycles to 80 %).
REFERENCE_TEST_END = 0.8


@dataclass(frozen=True)
class LifeBasis:
    chemistry_family: str
    cycle_life: float  # cycles of a new battery to ``cycle_life_threshold``
    cycle_life_threshold: float
    cycle_life_source: str
    first_life_threshold: float
    first_life_threshold_source: str
    prior: FadePrior = field(repr=False, compare=False)
    warnings: tuple[str, ...] = ()

    @property
    def thresholds(self) -> tuple[float, ...]:
        return tuple(dict.fromkeys((self.first_life_threshold, *SECOND_LIFE_THRESHOLDS)))

    def cycles_to(self, threshold: float) -> float:
        """Cycles of a new battery of this design to ``threshold`` of rated."""
        return prior_crossing_cycle(self.prior, threshold)

    def as_dict(self) -> dict:
        """The basis as recorded in a run's outputs and input hash (the prior is implied by it)."""
        plain = {item.name: getattr(self, item.name) for item in fields(self) if item.name != "prior"}
        plain["warnings"] = list(self.warnings)
        return plain


def _positive(value) -> float | None:
    return (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) and value > 0 else None
    )


def life_basis(chemistry: str | None, category: str, technical_properties: Mapping | None) -> LifeBasis:
    profile: ChemistryProfile = profile_for(chemistry)
    properties = technical_properties or {}
    warnings = [profile.warning(chemistry)] if not profile.known else []

    exhaustion = _positive(properties.get("capacityThresholdForExhaustion"))
    if exhaustion is not None and 0 < exhaustion < 100:
        first_life, first_life_source = exhaustion / 100.0, "passport capacityThresholdForExhaustion"
    else:
        first_life = DEFAULT_FIRST_LIFE_THRESHOLD.get(category, OTHER_FIRST_LIFE_THRESHOLD)
        first_life_source = f"default for category {category}"

    expected = _positive(properties.get("expectedNumberOfCycles"))
    if expected is not None:
        prior = fade_prior(expected, REFERENCE_TEST_END, label="passport expectedNumberOfCycles")
        cycles, source = expected, "passport expectedNumberOfCycles"
    else:
        prior = chemistry_prior(profile)
        cycles = profile.cycle_life_80
        source = f"{profile.family} default" if profile.known else "default for an unknown chemistry"
    return LifeBasis(
        chemistry_family=profile.family,
        cycle_life=cycles,
        cycle_life_threshold=REFERENCE_TEST_END,
        cycle_life_source=source,
        first_life_threshold=first_life,
        first_life_threshold_source=first_life_source,
        prior=prior,
        warnings=tuple(warnings),
    )
