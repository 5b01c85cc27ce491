"""Which model a calibration fits when the caller leaves the choice to it (``model="auto"``).

The DFN is the full model; the SPMe is its reduction for small electrolyte polarisation, where every
particle through an electrode's thickness reacts alike. That reduction fails where the electrolyte
limits: a cold cell discharged deep (NASA's B0045, 4 °C down to 2.0 V: the SPMe fits to 1.40 % voltage
MAPE within 120 s, the DFN to 0.59 %). On the other NASA cells the two fit alike.

What rules the DFN out is its cost, and that follows the current profile: the solver shortens its step at
every change of current, and a DFN step costs ~10x an SPMe's. On a steady (constant-current) discharge
a DFN fit settles within 120 s on a 2-core machine (measured 90-119 s); on NASA's pulsed profile
(~300 changes) one DFN run costs 6-8 s, the 120 s affords ~15 of the ~200 runs a fit needs, and it ends
at 2.0 % where the SPMe fits to 0.7 %. So: the DFN for steady profiles, the SPMe for dynamic ones.
The rule reads the profile only (not the fit's score), so the same discharges always get the same
model, on any machine; it was set after the figures above were measured (docs/physics.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from twins.physics.discharge import Discharge
from twins.physics.profile import changes_of, level_steady

AUTO = "auto"
# A profile with at most this many changes of current (after ``level_steady``) is steady enough for the
# DFN: each change costs a DFN solve ~20 ms, so 20 of them add ~0.4 s to a ~1.5 s constant-current solve.
DFN_MAX_CURRENT_CHANGES = 20


@dataclass(frozen=True)
class ModelChoice:
    model: str
    reason: str


def current_changes(discharge: Discharge) -> int:
    """How often the current changes over the discharge, measurement noise within a step levelled."""
    return changes_of(level_steady(discharge.time_s, discharge.current_a))


def choose_model(discharges: list[Discharge]) -> ModelChoice:
    """The DFN if every discharge is steady (``DFN_MAX_CURRENT_CHANGES``), else the SPMe, and why."""
    most = max(current_changes(discharge) for discharge in discharges)
    if most <= DFN_MAX_CURRENT_CHANGES:
        return ModelChoice(
            "DFN",
            f"model chosen: DFN (a steady current profile, at most {most} changes of current per discharge; "
            "the full model, as its cost allows)",
        )
    return ModelChoice(
        "SPMe",
        f"model chosen: SPMe (a dynamic current profile, {most} changes of current in a discharge; a DFN "
        "fit would afford too few runs)",
    )
