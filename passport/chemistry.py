"""Chemistry families: the registry's free-text chemistry (``NMC811``, ``LiFePO4``...) to one family.

The passport app owns the battery model and its ``chemistry`` field; the other apps ask here which
family a model belongs to (operating limits, aging priors, prices).
"""

from __future__ import annotations

import re

FAMILIES = ("LTO", "LFP", "NCA", "NMC", "LCO", "LMO")

# Order matters: an LTO cell is named after its anode and may mention its NMC cathode too.
_PATTERNS = (
    ("LTO", re.compile(r"LTO|TITANATE|LI4TI5O12")),
    ("LFP", re.compile(r"LFP|LIFEPO|LMFP|IRONPHOSPHATE")),
    ("NCA", re.compile(r"NCA|NICKELCOBALTALUMINIUM|NICKELCOBALTALUMINUM")),
    ("NMC", re.compile(r"NMC|NCM|NICKELMANGANESECOBALT|NICKELCOBALTMANGANESE")),
    ("LCO", re.compile(r"LCO|LICOO2|COBALTOXIDE")),
    ("LMO", re.compile(r"LMO|LIMN2O4|MANGANESEOXIDE")),
)


def chemistry_family(chemistry: str | None) -> str | None:
    """NMC811 -> NMC, LiFePO4 -> LFP, ...; None when unknown."""
    if not chemistry:
        return None
    key = re.sub(r"[^A-Z0-9]", "", chemistry.upper())
    for family, pattern in _PATTERNS:
        if pattern.search(key):
            return family
    return None
