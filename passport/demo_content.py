"""Realistic Battery Pass v1.2 content for the demo fleet.

Two layers mirror how the registry stores passports:

* ``model_content`` is the series (battery model) content a manufacturer publishes once per model;
* ``battery_content`` is the dynamic condition data a battery management system reports for one
  battery, drawn from a caller-supplied ``random.Random`` so a seeded demo is reproducible.

Where the SAMM models and the attribute longlist disagree on a unit, the longlist wins, because
the passport's attribute catalogue is built from it: power in W, remaining capacity in Ah,
resistance in Ohm, time at extreme temperatures in minutes. Material masses are in grams and
hazardous-substance concentrations in percent of the battery mass, as the MaterialComposition
model declares. Every figure is derived from the model's own ratings and a small table of
chemistry and application data, so the categories of one model agree with each other (the
materials add up to the battery mass, the hazardous-substance concentrations match the
electrolyte and cathode masses, the carbon footprint stages add up to the declared total).
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class ModelSpec:
    """The registry-side ratings of a battery model."""

    model_number: str
    name: str
    kind: str  # "cell" | "module" | "pack"
    category: str  # "ev" | "lmt" | "industrial" | "stationary"
    chemistry: str  # short name e.g. "NMC811", "LFP", "NCA"
    rated_capacity_ah: float
    nominal_voltage_v: float
    rated_energy_kwh: float | None
    mass_kg: float | None


# Three product lines, one per demo manufacturer: an NMC811 EV line built up from one 21700 cell
# (VX-), an LFP line for stationary storage (LF-), and a light-means-of-transport line (EB-).
# Assemblies are sized from whole numbers of their line's cell, so series/parallel counts, voltages,
# energies and masses stay consistent with the cell data.
DEMO_MODELS: list[ModelSpec] = [
    ModelSpec(
        model_number="VX-21700-50N",
        name="VX50 NMC811 21700 cylindrical cell",
        kind="cell",
        category="ev",
        chemistry="NMC811",
        rated_capacity_ah=5.0,
        nominal_voltage_v=3.6,
        rated_energy_kwh=0.018,
        mass_kg=0.069,
    ),
    ModelSpec(
        model_number="VX-M22S38P",
        name="VX M15 battery module 22S38P",
        kind="module",
        category="ev",
        chemistry="NMC811",
        rated_capacity_ah=190.0,
        nominal_voltage_v=79.2,
        rated_energy_kwh=15.048,
        mass_kg=67.5,
    ),
    ModelSpec(
        model_number="VX-P75-400",
        name="VX P75 EV battery pack 110S38P",
        kind="pack",
        category="ev",
        chemistry="NMC811",
        rated_capacity_ah=190.0,
        nominal_voltage_v=396.0,
        rated_energy_kwh=75.24,
        mass_kg=452.0,
    ),
    ModelSpec(
        model_number="LF-280P",
        name="LF280 LFP prismatic cell",
        kind="cell",
        category="industrial",
        chemistry="LFP",
        rated_capacity_ah=280.0,
        nominal_voltage_v=3.2,
        rated_energy_kwh=0.896,
        mass_kg=5.42,
    ),
    ModelSpec(
        model_number="LF-ESS-14",
        name="LF-ESS 14.3 kWh home storage pack 16S1P",
        kind="pack",
        category="stationary",
        chemistry="LFP",
        rated_capacity_ah=280.0,
        nominal_voltage_v=51.2,
        rated_energy_kwh=14.336,
        mass_kg=118.0,
    ),
    ModelSpec(
        model_number="EB-36V20-N",
        name="EB Pro 720 Wh e-bike battery pack 10S4P",
        kind="pack",
        category="lmt",
        chemistry="NMC811",
        rated_capacity_ah=20.0,
        nominal_voltage_v=36.0,
        rated_energy_kwh=0.72,
        mass_kg=3.95,
    ),
]


# --- reference data ---------------------------------------------------------------------------

# name, CAS number, critical raw material (Regulation (EU) 2024/1252, Annex II). Elements of the
# cathode are listed one by one rather than as the oxide so that the critical ones show up as such.
_MATERIALS: dict[str, tuple[str, str, bool]] = {
    "li": ("Lithium", "7439-93-2", True),
    "ni": ("Nickel", "7440-02-0", True),
    "co": ("Cobalt", "7440-48-4", True),
    "mn": ("Manganese", "7439-96-5", True),
    "al_dopant": ("Aluminium", "7429-90-5", True),
    "o": ("Oxygen (bound in the cathode oxide)", "7782-44-7", False),
    # Phosphate rock and phosphorus are on the critical list; the phosphate of LFP comes from it.
    "fepo4": ("Iron phosphate", "10045-86-0", True),
    "graphite": ("Graphite", "7782-42-5", True),
    "carbon_black": ("Carbon black", "1333-86-4", False),
    "pvdf": ("Polyvinylidene fluoride", "24937-79-9", False),
    "cmc": ("Carboxymethyl cellulose", "9004-32-4", False),
    "al": ("Aluminium", "7429-90-5", True),
    "cu": ("Copper", "7440-50-8", True),
    "lipf6": ("Lithium hexafluorophosphate", "21324-40-3", False),
    "ec": ("Ethylene carbonate", "96-49-1", False),
    "dmc": ("Dimethyl carbonate", "616-38-6", False),
    "emc": ("Ethyl methyl carbonate", "623-53-0", False),
    "pe": ("Polyethylene", "9002-88-4", False),
    "steel": ("Steel", "12597-69-2", False),
    "pp": ("Polypropylene", "9003-07-0", False),
    "pc": ("Polycarbonate", "25037-45-0", False),
    "pa66": ("Polyamide 66", "32131-17-2", False),
    "silicone": ("Silicone (polydimethylsiloxane)", "63148-62-9", False),
    "pu": ("Polyurethane foam", "9009-54-5", False),
    "mica": ("Mica", "12001-26-2", False),
    "epoxy": ("Epoxy resin (printed circuit boards)", "25068-38-6", False),
}
# Bio-based materials, which is what the renewable content share counts.
_RENEWABLE = frozenset({"cmc"})

_ATOMIC_MASS = {"li": 6.94, "ni": 58.693, "co": 58.933, "mn": 54.938, "al_dopant": 26.982, "o": 15.999}
_FEPO4_MOLAR_MASS = 55.845 + 30.974 + 4 * 15.999

# Mass fractions of a cell. "cathode" is the cathode active material, split further by the
# chemistry's stoichiometry; the fractions of each recipe add up to one.
_CELL_RECIPES: dict[str, tuple[tuple[str, float, str], ...]] = {
    "cylindrical": (
        ("cathode", 0.360, "Cathode"),
        ("carbon_black", 0.008, "Cathode"),
        ("pvdf", 0.010, "Cathode"),
        ("al", 0.040, "Cathode current collector"),
        ("graphite", 0.190, "Anode"),
        ("cmc", 0.006, "Anode"),
        ("cu", 0.110, "Anode current collector"),
        ("lipf6", 0.015, "Electrolyte"),
        ("ec", 0.033, "Electrolyte"),
        ("dmc", 0.040, "Electrolyte"),
        ("emc", 0.032, "Electrolyte"),
        ("pe", 0.020, "Separator"),
        ("steel", 0.125, "Cell casing"),
        ("pp", 0.011, "Cell casing"),
    ),
    "prismatic": (
        ("cathode", 0.350, "Cathode"),
        ("carbon_black", 0.010, "Cathode"),
        ("pvdf", 0.012, "Cathode"),
        ("al", 0.045, "Cathode current collector"),
        ("graphite", 0.165, "Anode"),
        ("cmc", 0.005, "Anode"),
        ("cu", 0.085, "Anode current collector"),
        ("lipf6", 0.017, "Electrolyte"),
        ("ec", 0.040, "Electrolyte"),
        ("dmc", 0.045, "Electrolyte"),
        ("emc", 0.038, "Electrolyte"),
        ("pe", 0.015, "Separator"),
        ("al", 0.155, "Cell casing"),
        ("pp", 0.018, "Cell casing"),
    ),
}

# Mass fractions of everything in an assembly that is not a cell.
_ASSEMBLY_RECIPES: dict[str, tuple[tuple[str, float, str], ...]] = {
    "module": (
        ("al", 0.45, "Module housing"),
        ("cu", 0.10, "Busbars and cell interconnects"),
        ("pc", 0.25, "Cell holders"),
        ("silicone", 0.15, "Thermal interface"),
        ("epoxy", 0.05, "Cell monitoring unit"),
    ),
    "pack": (
        ("al", 0.55, "Pack housing and cooling plates"),
        ("steel", 0.15, "Pack frame and fasteners"),
        ("cu", 0.08, "Busbars and high-voltage wiring"),
        ("pa66", 0.07, "Module carriers and covers"),
        ("silicone", 0.06, "Thermal interface"),
        ("epoxy", 0.02, "Battery management system"),
        ("mica", 0.02, "Thermal runaway barriers"),
        ("pu", 0.05, "Foam spacers and seals"),
    ),
    "stationary": (
        ("steel", 0.60, "Enclosure"),
        ("al", 0.12, "Busbars and heat spreaders"),
        ("cu", 0.08, "Power cabling"),
        ("pc", 0.12, "Cell fixtures and covers"),
        ("epoxy", 0.05, "Battery management system"),
        ("mica", 0.03, "Insulation sheets"),
    ),
    "lmt": (
        ("pc", 0.35, "Housing"),
        ("al", 0.25, "Housing rails"),
        ("ni", 0.08, "Cell connector strips"),
        ("cu", 0.07, "Wiring and discharge connector"),
        ("epoxy", 0.08, "Battery management system"),
        ("silicone", 0.07, "Vibration damping"),
        ("steel", 0.10, "Mounting rail and lock"),
    ),
}
# Typical share of cell mass in an assembly, used only when a model has no mass of its own.
_CELL_MASS_SHARE = {"module": 0.85, "pack": 0.64, "stationary": 0.73, "lmt": 0.70}


@dataclass(frozen=True)
class _Chemistry:
    short_name: str
    clear_name: str
    cathode: dict[str, float]  # material -> molar mass contributed to one formula unit
    cathode_substance: tuple[str, str] | None  # classified cathode active material: name, CAS
    cell_format: str
    cell_voltage: tuple[float, float, float]  # nominal, minimum, maximum
    reference_cell: tuple[float, float]  # capacity in Ah, mass in kg of the line's cell
    co2_per_kwh: float  # kg CO2e per kWh of capacity, cradle to gate, at cell level
    stage_shares: tuple[float, float, float, float]  # raw materials, production, distribution, EoL
    cycles: int  # to 80 % state of health
    calendar_fade: float  # % capacity per square root of year
    specific_resistance: float  # DC resistance times capacity of one cell, mOhm*Ah
    self_discharge: float  # %/month
    roundtrip_efficiency: float  # %
    idle_upper_temperature: float  # degrees Celsius
    recycled: dict[str, tuple[float, float]]  # material -> pre-, post-consumer share in %


def _layered_oxide(li: float, ni: float, mn: float, co: float, al: float = 0.0) -> dict[str, float]:
    parts = {"li": li, "ni": ni, "mn": mn, "co": co, "al_dopant": al, "o": 2.0}
    return {k: n * _ATOMIC_MASS[k] for k, n in parts.items() if n}


_CHEMISTRIES: dict[str, _Chemistry] = {
    "NMC811": _Chemistry(
        short_name="NMC811",
        clear_name="Lithium nickel manganese cobalt oxide (Ni:Mn:Co 8:1:1) cathode, graphite anode",
        cathode=_layered_oxide(1, 0.8, 0.1, 0.1),
        cathode_substance=("Lithium nickel manganese cobalt oxide", "346417-97-8"),
        cell_format="cylindrical",
        cell_voltage=(3.6, 2.5, 4.2),
        reference_cell=(5.0, 0.069),
        co2_per_kwh=62.0,
        stage_shares=(0.60, 0.35, 0.02, 0.03),
        cycles=1500,
        calendar_fade=2.2,
        specific_resistance=110.0,
        self_discharge=2.0,
        roundtrip_efficiency=95.0,
        idle_upper_temperature=45.0,
        recycled={"Nickel": (3.0, 4.5), "Cobalt": (6.0, 11.0), "Lithium": (2.0, 4.0), "Lead": (0.0, 0.0)},
    ),
    "NMC622": _Chemistry(
        short_name="NMC622",
        clear_name="Lithium nickel manganese cobalt oxide (Ni:Mn:Co 6:2:2) cathode, graphite anode",
        cathode=_layered_oxide(1, 0.6, 0.2, 0.2),
        cathode_substance=("Lithium nickel manganese cobalt oxide", "346417-97-8"),
        cell_format="cylindrical",
        cell_voltage=(3.65, 2.5, 4.2),
        reference_cell=(4.8, 0.069),
        co2_per_kwh=66.0,
        stage_shares=(0.61, 0.34, 0.02, 0.03),
        cycles=2000,
        calendar_fade=2.0,
        specific_resistance=105.0,
        self_discharge=2.0,
        roundtrip_efficiency=95.0,
        idle_upper_temperature=45.0,
        recycled={"Nickel": (3.0, 4.0), "Cobalt": (7.0, 12.0), "Lithium": (2.0, 3.5), "Lead": (0.0, 0.0)},
    ),
    "NCA": _Chemistry(
        short_name="NCA",
        clear_name="Lithium nickel cobalt aluminium oxide cathode, graphite anode",
        cathode=_layered_oxide(1, 0.8, 0.0, 0.15, 0.05),
        cathode_substance=("Lithium nickel cobalt aluminium oxide", "193214-24-3"),
        cell_format="cylindrical",
        cell_voltage=(3.6, 2.5, 4.2),
        reference_cell=(4.8, 0.068),
        co2_per_kwh=64.0,
        stage_shares=(0.61, 0.34, 0.02, 0.03),
        cycles=1200,
        calendar_fade=2.4,
        specific_resistance=120.0,
        self_discharge=2.5,
        roundtrip_efficiency=94.5,
        idle_upper_temperature=45.0,
        recycled={"Nickel": (3.0, 4.0), "Cobalt": (6.0, 10.0), "Lithium": (2.0, 3.0), "Lead": (0.0, 0.0)},
    ),
    "LFP": _Chemistry(
        short_name="LFP",
        clear_name="Lithium iron phosphate cathode, graphite anode",
        cathode={"li": _ATOMIC_MASS["li"], "fepo4": _FEPO4_MOLAR_MASS},
        # LiFePO4 carries no CLP classification in the hazard classes the schema knows.
        cathode_substance=None,
        cell_format="prismatic",
        cell_voltage=(3.2, 2.5, 3.65),
        reference_cell=(280.0, 5.42),
        co2_per_kwh=48.0,
        stage_shares=(0.50, 0.43, 0.03, 0.04),
        cycles=6000,
        calendar_fade=1.3,
        specific_resistance=70.0,
        self_discharge=2.5,
        roundtrip_efficiency=96.0,
        idle_upper_temperature=50.0,
        recycled={"Nickel": (0.0, 0.0), "Cobalt": (0.0, 0.0), "Lithium": (3.5, 2.5), "Lead": (0.0, 0.0)},
    ),
}


@dataclass(frozen=True)
class _Application:
    peak_c: float  # rated maximum power over rated energy
    nominal_c: float
    cycle_test_c: float
    cycle_factor: float  # harsher duty and simpler thermal management shorten the cycle life
    lifetime_years: int
    exhaustion_threshold: float  # % SOCE
    warranty_years: int
    test_standard: str
    deep_discharge_per_cycle: float
    overcharge_per_cycle: float
    accidents_per_year: float
    hot_minutes_per_day: float  # upper end of the spread across the fleet
    cold_minutes_per_day: float


_APPLICATIONS: dict[str, _Application] = {
    "ev": _Application(
        peak_c=3.0,
        nominal_c=1.0,
        cycle_test_c=0.33,
        cycle_factor=1.0,
        lifetime_years=12,
        exhaustion_threshold=70.0,
        warranty_years=8,
        test_standard="iec-62660-1",
        deep_discharge_per_cycle=0.0004,
        overcharge_per_cycle=0.0001,
        accidents_per_year=0.01,
        hot_minutes_per_day=25.0,
        cold_minutes_per_day=40.0,
    ),
    # E-bike packs are left empty for weeks and ride without active thermal management.
    "lmt": _Application(
        peak_c=1.5,
        nominal_c=0.5,
        cycle_test_c=0.5,
        cycle_factor=0.6,
        lifetime_years=6,
        exhaustion_threshold=70.0,
        warranty_years=2,
        test_standard="en-50604-1",
        deep_discharge_per_cycle=0.004,
        overcharge_per_cycle=0.0003,
        accidents_per_year=0.03,
        hot_minutes_per_day=30.0,
        cold_minutes_per_day=60.0,
    ),
    "industrial": _Application(
        peak_c=1.0,
        nominal_c=0.5,
        cycle_test_c=0.5,
        cycle_factor=1.0,
        lifetime_years=15,
        exhaustion_threshold=60.0,
        warranty_years=5,
        test_standard="iec-62620",
        deep_discharge_per_cycle=0.0002,
        overcharge_per_cycle=0.0001,
        accidents_per_year=0.005,
        hot_minutes_per_day=8.0,
        cold_minutes_per_day=8.0,
    ),
    # Indoor, climate-controlled installations see hardly any extreme temperatures.
    "stationary": _Application(
        peak_c=1.0,
        nominal_c=0.5,
        cycle_test_c=0.5,
        cycle_factor=1.0,
        lifetime_years=15,
        exhaustion_threshold=60.0,
        warranty_years=10,
        test_standard="iec-62620",
        deep_discharge_per_cycle=0.0002,
        overcharge_per_cycle=0.0001,
        accidents_per_year=0.002,
        hot_minutes_per_day=3.0,
        cold_minutes_per_day=2.0,
    ),
}

# Plausible plant addresses; a manufacturer's name picks one, so its models share a site.
_PLANTS: tuple[dict[str, str], ...] = (
    {"addressCountry": "Germany", "postalCode": "99334", "streetAddress": "Am Erfurter Kreuz 12, Arnstadt"},
    {"addressCountry": "Sweden", "postalCode": "931 36", "streetAddress": "Batterivägen 8, Skellefteå"},
    {"addressCountry": "Poland", "postalCode": "55-040", "streetAddress": "ul. Bateryjna 3, Kobierzyce"},
    {"addressCountry": "Hungary", "postalCode": "2131", "streetAddress": "Ipari park utca 2, Göd"},
    {
        "addressCountry": "France",
        "postalCode": "62138",
        "streetAddress": "1 Rue des Accumulateurs, Billy-Berclau",
    },
    {"addressCountry": "Spain", "postalCode": "46520", "streetAddress": "Avinguda de la Bateria 5, Sagunt"},
)
_LEGAL_FORMS = frozenset(
    {
        "the",
        "gmbh",
        "ag",
        "se",
        "kg",
        "ltd",
        "limited",
        "inc",
        "llc",
        "plc",
        "sa",
        "sas",
        "spa",
        "bv",
        "nv",
        "ab",
        "oy",
        "as",
        "sro",
        "co",
    }
)

_LIFECYCLE_STAGES = ("RawMaterialExtraction", "MainProduction", "Distribution", "Recycling")

# 20 % capacity loss at the rated cycle count, of which calendar ageing supplies the rest.
_CYCLE_FADE_AT_RATED_CYCLES = 17.0
_MAX_FADE = 60.0


# --- helpers ----------------------------------------------------------------------------------


def manufacturer_slug(manufacturer_name: str) -> str:
    """The brand part of a company name, usable as a DNS label (``Voltora Cells GmbH`` -> ``voltora``)."""
    ascii_name = unicodedata.normalize("NFKD", manufacturer_name).encode("ascii", "ignore").decode()
    words = [w for w in re.findall(r"[a-z0-9]+", ascii_name.lower()) if w not in _LEGAL_FORMS]
    return words[0] if words else "manufacturer"


def _stable_number(*parts: str) -> int:
    # hash() is salted per process; the demo must come out the same in every run.
    return zlib.crc32("|".join(parts).encode())


def _sig(value: float, digits: int = 4) -> float:
    """Round to significant digits, so cell-sized and pack-sized figures keep the same precision."""
    if value == 0:
        return 0.0
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def _timestamp(moment: datetime) -> str:
    # Naive datetimes are taken as UTC so the output does not depend on the host's time zone.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _chemistry(spec: ModelSpec) -> _Chemistry:
    try:
        return _CHEMISTRIES[spec.chemistry]
    except KeyError:
        raise ValueError(
            f"no demo data for chemistry {spec.chemistry!r}; known: {', '.join(_CHEMISTRIES)}"
        ) from None


def _application(spec: ModelSpec) -> _Application:
    try:
        return _APPLICATIONS[spec.category]
    except KeyError:
        raise ValueError(f"unknown battery category {spec.category!r}") from None


def _energy_kwh(spec: ModelSpec) -> float:
    if spec.rated_energy_kwh is not None:
        return spec.rated_energy_kwh
    return spec.rated_capacity_ah * spec.nominal_voltage_v / 1000


def _assembly_recipe(spec: ModelSpec) -> str:
    if spec.kind == "module":
        return "module"
    if spec.category in ("stationary", "lmt"):
        return spec.category
    return "pack"


def _layout(spec: ModelSpec) -> tuple[int, int]:
    """Cells in series and in parallel, taking the line's reference cell as the building block."""
    if spec.kind == "cell":
        return 1, 1
    chemistry = _chemistry(spec)
    series = max(1, round(spec.nominal_voltage_v / chemistry.cell_voltage[0]))
    parallel = max(1, round(spec.rated_capacity_ah / chemistry.reference_cell[0]))
    return series, parallel


def _cells_mass_kg(spec: ModelSpec) -> float:
    series, parallel = _layout(spec)
    return series * parallel * _chemistry(spec).reference_cell[1]


def _mass_kg(spec: ModelSpec) -> float:
    if spec.mass_kg is not None:
        return spec.mass_kg
    if spec.kind == "cell":
        chemistry = _chemistry(spec)
        # Same gravimetric energy density as the line's reference cell.
        reference_kwh = chemistry.reference_cell[0] * chemistry.cell_voltage[0] / 1000
        return _energy_kwh(spec) / reference_kwh * chemistry.reference_cell[1]
    return _cells_mass_kg(spec) / _CELL_MASS_SHARE[_assembly_recipe(spec)]


def _composition(spec: ModelSpec) -> list[tuple[str, str, float]]:
    """(material, location, grams) of everything in the battery, adding up to its mass."""
    chemistry = _chemistry(spec)
    total = _mass_kg(spec) * 1000
    # A model whose stated mass leaves no room for housing still gets some.
    cells = total if spec.kind == "cell" else min(_cells_mass_kg(spec) * 1000, 0.95 * total)
    grams: dict[tuple[str, str], float] = {}

    def add(material: str, location: str, mass: float) -> None:
        grams[material, location] = grams.get((material, location), 0.0) + mass

    formula_mass = sum(chemistry.cathode.values())
    for material, share, location in _CELL_RECIPES[chemistry.cell_format]:
        if material == "cathode":
            for element, molar in chemistry.cathode.items():
                add(element, location, cells * share * molar / formula_mass)
        else:
            add(material, location, cells * share)
    if spec.kind != "cell":
        for material, share, location in _ASSEMBLY_RECIPES[_assembly_recipe(spec)]:
            add(material, location, (total - cells) * share)
    digits = 3 if total < 1000 else 1
    return [(m, loc, round(g, digits)) for (m, loc), g in grams.items()]


def _internal_resistance(spec: ModelSpec) -> list[tuple[str, float]]:
    """(component, Ohm) at begin of life; interconnects add to what the cells alone give."""
    chemistry = _chemistry(spec)
    cell_ah = spec.rated_capacity_ah if spec.kind == "cell" else chemistry.reference_cell[0]
    cell_ohm = chemistry.specific_resistance / cell_ah / 1000
    values = [("cell", cell_ohm)]
    if spec.kind != "cell":
        series, parallel = _layout(spec)
        overhead = 1.12 if spec.kind == "module" else 1.25
        values.insert(0, (spec.kind, cell_ohm * series / parallel * overhead))
    return [(component, _sig(ohm, 4)) for component, ohm in values]


def _expected_cycles(spec: ModelSpec) -> int:
    return round(_chemistry(spec).cycles * _application(spec).cycle_factor)


def _rated_maximum_power_w(spec: ModelSpec) -> int:
    return round(_energy_kwh(spec) * 1000 * _application(spec).peak_c)


def _resistance_increase(fade_percent: float, years: float) -> float:
    """Relative DC resistance growth; it outpaces capacity fade, plus a calendar share."""
    return 1.5 * fade_percent / 100 + 0.01 * years


def _roundtrip_after(initial: float, resistance_increase: float) -> float:
    # Losses are ohmic to first order, so they scale with the resistance.
    return 100 - (100 - initial) * (1 + resistance_increase)


def _carbon_footprint(spec: ModelSpec) -> tuple[float, float, list[float]]:
    """Absolute kg CO2e, kg CO2e per kWh of lifetime energy, and that figure per lifecycle stage."""
    chemistry = _chemistry(spec)
    energy = _energy_kwh(spec)
    assembly_overhead = {"cell": 1.0, "module": 1.06}.get(spec.kind, 1.15)
    absolute = chemistry.co2_per_kwh * assembly_overhead * energy
    # The functional unit of Annex II is one kWh of the energy delivered over the service life:
    # rated energy times expected cycles at a mean state of health of 90 %.
    lifetime_energy = energy * _expected_cycles(spec) * 0.9
    stages = [round(absolute / lifetime_energy * share, 5) for share in chemistry.stage_shares]
    return (round(absolute, 2) if absolute < 100 else round(absolute)), round(sum(stages), 5), stages


def _performance_class(per_kwh: float) -> str:
    # The delegated act setting the classes is pending; this is the demo's own illustrative scale.
    for limit, label in ((0.02, "A"), (0.04, "B"), (0.07, "C"), (0.12, "D")):
        if per_kwh <= limit:
            return label
    return "E"


def _extinguishing_agents(spec: ModelSpec) -> list[str]:
    if spec.kind == "cell":
        return ["Water (large quantities)", "Aqueous vermiculite dispersion (AVD)"]
    return [
        "Water (large quantities, for sustained cooling)",
        "Aqueous vermiculite dispersion (AVD)",
        "CO2 (for surrounding fires only)",
    ]


# --- model (series) content -------------------------------------------------------------------


def model_content(spec: ModelSpec, manufacturer_name: str) -> dict[str, dict]:
    """Type-level (series) content per category.

    Each payload passes ``validate(category, payload, partial=True)``.

    CarbonFootprint, Circularity, Labels, MaterialComposition and SupplyChainDueDiligence are
    complete; GeneralProductInformation carries only the model-level manufacturingPlace and
    warrentyPeriod (the registry supplies the rest), PerformanceAndDurability only
    batteryTechicalProperties (``battery_content`` supplies batteryCondition).
    """
    slug = manufacturer_slug(manufacturer_name)
    docs = f"https://docs.{slug}.example"
    model_docs = f"{docs}/models/{spec.model_number.lower()}"
    plant = dict(_PLANTS[_stable_number(manufacturer_name) % len(_PLANTS)])
    composition = _composition(spec)
    absolute, per_kwh, stages = _carbon_footprint(spec)
    performance_class = _performance_class(per_kwh)
    agents = _extinguishing_agents(spec)
    return {
        "GeneralProductInformation": {
            "manufacturingPlace": plant,
            # v1.2 types the period as xsd:gMonth, which cannot hold the multi-year warranties batteries
            # carry; the two digits hold the warranty in years so a reader still sees the right number.
            "warrentyPeriod": f"--{min(_application(spec).warranty_years, 12):02d}",
        },
        "CarbonFootprint": {
            "batteryCarbonFootprint": per_kwh,
            "carbonFootprintPerLifecycleStage": [
                {"lifecycleStage": stage, "carbonFootprint": value}
                for stage, value in zip(_LIFECYCLE_STAGES, stages, strict=True)
            ],
            "carbonFootprintPerformanceClass": performance_class,
            "carbonFootprintStudy": f"{model_docs}/carbon-footprint-study.pdf",
            "absoluteCarbonFootprint": absolute,
        },
        "Circularity": _circularity(spec, manufacturer_name, slug, plant, composition, agents),
        "Labels": _labels(spec, slug, per_kwh, absolute, performance_class, agents),
        "MaterialComposition": _material_composition(spec, composition),
        "PerformanceAndDurability": {"batteryTechicalProperties": _technical_properties(spec, slug)},
        "SupplyChainDueDiligence": {
            "supplyChainDueDiligenceReport": f"{docs}/due-diligence/battery-due-diligence-report-2024.pdf",
            "thirdPartyAussurances": f"{docs}/due-diligence/third-party-assurance-rmi-irma-2024.pdf",
            # An ESG score on a 0-100 scale, as the GBA indices are expected to be.
            "supplyChainIndicies": 55 + (_stable_number(manufacturer_name, "esg") % 350) / 10,
        },
    }


def _circularity(
    spec: ModelSpec,
    manufacturer_name: str,
    slug: str,
    plant: dict[str, str],
    composition: list[tuple[str, str, float]],
    agents: list[str],
) -> dict:
    docs = f"https://docs.{slug}.example/models/{spec.model_number.lower()}"
    documents = [
        ("BillOfMaterial", "text/csv", "bill-of-material.csv"),
        ("Drawing", "application/pdf", "dimensional-drawing.pdf"),
    ]
    if spec.kind == "cell":
        documents.append(("OtherManual", "application/pdf", "handling-and-storage-manual.pdf"))
        parts = [("Replacement cell, capacity-matched grade", f"{spec.model_number}-R")]
    else:
        documents += [
            ("RemovalManual", "application/pdf", "removal-manual.pdf"),
            ("DismantlingManual", "application/pdf", "dismantling-manual.pdf"),
            ("Model3D", "model/step", "assembly.step"),
        ]
        parts = [
            ("Battery management system board", f"{spec.model_number}-BMS"),
            ("Housing seal kit", f"{spec.model_number}-SEAL"),
            ("Main connector", f"{spec.model_number}-CON"),
        ]
        if spec.kind == "pack" and spec.category == "ev":
            parts.insert(1, ("Battery module", f"{spec.model_number}-MOD"))
    total = sum(g for _, _, g in composition)
    renewable = sum(g for m, _, g in composition if m in _RENEWABLE)
    return {
        "dismantlingAndRemovalInformation": [
            {"documentType": kind, "mimeType": mime, "documentURL": f"{docs}/{name}"}
            for kind, mime, name in documents
        ],
        "sparePartSources": [
            {
                "nameOfSupplier": f"{manufacturer_name} Aftersales",
                "addressOfSupplier": dict(plant),
                "emailAddressOfSupplier": f"spareparts@{slug}.example",
                "supplierWebAddress": f"https://parts.{slug}.example/{spec.model_number.lower()}",
                "components": [{"partName": name, "partNumber": number} for name, number in parts],
            }
        ],
        "recycledContent": [
            {"recycledMaterial": material, "preConsumerShare": pre, "postConsumerShare": post}
            for material, (pre, post) in _chemistry(spec).recycled.items()
        ],
        "safetyMeasures": {
            "safetyInstructions": f"{docs}/safety-instructions.pdf",
            "extinguishingAgent": agents,
        },
        "endOfLifeInformation": {
            "wastePrevention": f"https://docs.{slug}.example/end-of-life/waste-prevention.pdf",
            "separateCollection": f"https://docs.{slug}.example/end-of-life/separate-collection.pdf",
            "informationOnCollection": f"https://docs.{slug}.example/end-of-life/collection-second-life-and-treatment.pdf",
        },
        "renewableContent": round(renewable / total * 100, 2),
    }


def _labels(
    spec: ModelSpec, slug: str, per_kwh: float, absolute: float, performance_class: str, agents: list[str]
) -> dict:
    docs = f"https://docs.{slug}.example"
    model_docs = f"{docs}/models/{spec.model_number.lower()}"
    agent_list = ", ".join(agents)
    return {
        "declarationOfConformity": f"{model_docs}/eu-declaration-of-conformity.pdf",
        "resultOfTestReport": f"{model_docs}/conformity-test-reports.pdf",
        "labels": [
            {
                "labelingSubject": "SeparateCollection",
                "labelingSymbol": f"{docs}/labels/separate-collection.svg",
                "labelingMeaning": {
                    "en": "Crossed-out wheeled bin: do not dispose of with unsorted municipal waste; "
                    "return to a separate collection point for waste batteries.",
                    "de": "Durchgestrichene Abfalltonne: nicht mit dem unsortierten Siedlungsabfall "
                    "entsorgen; an einer Sammelstelle für Altbatterien abgeben.",
                },
            },
            {
                "labelingSubject": "HazardousMaterial",
                "labelingSymbol": f"{docs}/labels/class-9-lithium-battery.svg",
                "labelingMeaning": {
                    "en": "Class 9 lithium battery mark (UN 3480): contains a flammable electrolyte and "
                    "hazardous substances. Cadmium and lead are below 0.002 % and 0.004 %, so no Cd or Pb "
                    "symbol applies.",
                    "de": "Kennzeichen Klasse 9 für Lithiumbatterien (UN 3480): enthält brennbaren "
                    "Elektrolyt und gefährliche Stoffe. Cadmium und Blei liegen unter 0,002 % bzw. "
                    "0,004 %, daher kein Cd- oder Pb-Symbol.",
                },
            },
            {
                "labelingSubject": "CarbonFootPrint",
                "labelingSymbol": f"{model_docs}/carbon-footprint-label.svg",
                "labelingMeaning": {
                    "en": f"Carbon footprint {per_kwh} kg CO2e per kWh of energy delivered over the expected "
                    f"service life ({absolute} kg CO2e in total); performance class {performance_class}.",
                    "de": f"CO2-Fußabdruck {per_kwh} kg CO2e je kWh über die erwartete Lebensdauer "
                    f"abgegebener Energie ({absolute} kg CO2e insgesamt); "
                    f"Leistungsklasse {performance_class}.",
                },
            },
            {
                "labelingSubject": "ExtinguishingAgent",
                "labelingSymbol": f"{docs}/labels/extinguishing-agent.svg",
                "labelingMeaning": {
                    "en": f"Suitable extinguishing agents: {agent_list}. Lithium-ion batteries can reignite; "
                    "keep cooling after the flames are out.",
                    "de": "Geeignete Löschmittel: Wasser in großen Mengen, Vermiculit-Dispersion (AVD). "
                    "Lithium-Ionen-Batterien können sich wieder entzünden; nach dem Löschen weiter kühlen.",
                },
            },
        ],
    }


def _material_composition(spec: ModelSpec, composition: list[tuple[str, str, float]]) -> dict:
    chemistry = _chemistry(spec)
    total = sum(g for _, _, g in composition)

    def share(materials: set[str], location: str) -> float:
        grams = sum(g for m, loc, g in composition if m in materials and loc == location)
        return _sig(grams / total * 100, 3)

    hazardous = [
        {
            "hazardousSubstanceClass": "AcuteToxicity",
            "hazardousSubstanceName": "Lithium hexafluorophosphate",
            "hazardousSubstanceIdentifier": "21324-40-3",
            "hazardousSubstanceConcentration": share({"lipf6"}, "Electrolyte"),
            "hazardousSubstanceImpact": [
                "H301: Toxic if swallowed",
                "H314: Causes severe skin burns and eye damage",
                "H372: Causes damage to organs (bones, teeth) through prolonged or repeated exposure",
                "Releases hydrogen fluoride on contact with moisture or in a fire",
            ],
            "hazardousSubstanceLocation": {"componentName": "Electrolyte"},
        },
        {
            "hazardousSubstanceClass": "EyeDamageOrIrritation",
            "hazardousSubstanceName": "Ethylene carbonate",
            "hazardousSubstanceIdentifier": "96-49-1",
            "hazardousSubstanceConcentration": share({"ec"}, "Electrolyte"),
            "hazardousSubstanceImpact": [
                "H302: Harmful if swallowed",
                "H319: Causes serious eye irritation",
                "H373: May cause damage to organs (kidney) through prolonged or repeated exposure",
            ],
            "hazardousSubstanceLocation": {"componentName": "Electrolyte"},
        },
    ]
    if chemistry.cathode_substance is not None:
        name, cas = chemistry.cathode_substance
        hazardous.append(
            {
                "hazardousSubstanceClass": "SkinCorrosionOrIrritation",
                "hazardousSubstanceName": name,
                "hazardousSubstanceIdentifier": cas,
                "hazardousSubstanceConcentration": share(set(chemistry.cathode), "Cathode"),
                "hazardousSubstanceImpact": [
                    "H315: Causes skin irritation",
                    "H317: May cause an allergic skin reaction",
                    "H350i: May cause cancer by inhalation (nickel compounds)",
                    "H372: Causes damage to organs (lungs) through prolonged or repeated inhalation",
                    "H410: Very toxic to aquatic life with long lasting effects",
                ],
                "hazardousSubstanceLocation": {"componentName": "Cathode"},
            }
        )
    return {
        "batteryChemistry": {"shortName": chemistry.short_name, "clearName": chemistry.clear_name},
        "batteryMaterials": [
            {
                "batteryMaterialName": _MATERIALS[material][0],
                "batteryMaterialIdentifier": _MATERIALS[material][1],
                "isCriticalRawMaterial": _MATERIALS[material][2],
                "batteryMaterialMass": grams,
                "batteryMaterialLocation": {"componentName": location},
            }
            for material, location, grams in composition
        ],
        "hazardousSubstances": hazardous,
    }


def _technical_properties(spec: ModelSpec, slug: str) -> dict:
    chemistry = _chemistry(spec)
    application = _application(spec)
    energy = _energy_kwh(spec)
    series, _ = _layout(spec)
    maximum_power = _rated_maximum_power_w(spec)
    return {
        "ratedCapacity": spec.rated_capacity_ah,
        "ratedEnergy": energy,
        "nominalVoltage": spec.nominal_voltage_v,
        "minimumVoltage": round(series * chemistry.cell_voltage[1], 2),
        "maximumVoltage": round(series * chemistry.cell_voltage[2], 2),
        "ratedMaximumPower": maximum_power,
        # At low state of charge the lower open-circuit voltage limits the power the battery can give.
        "originalPowerCapability": [
            {"atSoC": 80, "powerCapabilityAt": round(maximum_power * 0.96)},
            {"atSoC": 20, "powerCapabilityAt": round(maximum_power * 0.70)},
        ],
        "powerCapabilityRatio": round(application.peak_c, 2),
        "cRate": application.nominal_c,
        "expectedNumberOfCycles": _expected_cycles(spec),
        "expectedLifetime": application.lifetime_years,
        "initialSelfDischarge": chemistry.self_discharge,
        "roundtripEfficiency": chemistry.roundtrip_efficiency,
        "initialInternalResistance": [
            {"batteryComponent": component, "ohmicResistance": ohm}
            for component, ohm in _internal_resistance(spec)
        ],
        "capacityThresholdForExhaustion": application.exhaustion_threshold,
        "lifetimeReferenceTest": (
            f"https://docs.{slug}.example/models/{spec.model_number.lower()}/"
            f"cycle-life-test-{application.test_standard}.pdf"
        ),
        "cRateLifeCycleTest": application.cycle_test_c,
        # The schema has one value for the idle range; the upper bound is the one that matters for safety.
        "temperatureRangeIdleState": chemistry.idle_upper_temperature,
    }


# --- battery (individual) content -------------------------------------------------------------


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: exact and cheap for the small means of rare battery events.
    mean = min(mean, 50.0)
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def battery_content(
    spec: ModelSpec, rng: random.Random, *, cycles: int, age_days: int, as_of: datetime
) -> dict[str, dict]:
    """Battery-level content: PerformanceAndDurability's batteryCondition as a BMS would report it.

    Remaining capacity and energy follow a cycle fade (power law in ``cycles`` relative to the rated
    cycle life) plus a square-root-of-time calendar fade over ``age_days``, capped at 60 % fade; SOCE,
    full cycles, capacity and energy throughput, power, round-trip and self-discharge figures follow
    from the same fade. Temperature exposure is in minutes; negative events ("deep discharge event",
    "overcharge event", "accident") are dated within the battery's life. Every lastUpdate is ``as_of``
    in UTC (naive datetimes count as UTC). The same ``rng`` state gives the same battery.

    Returns ``{"PerformanceAndDurability": {"batteryCondition": {...}}}``.
    """
    if cycles < 0 or age_days < 0:
        raise ValueError("cycles and age_days must not be negative")
    chemistry = _chemistry(spec)
    application = _application(spec)
    energy = _energy_kwh(spec)
    expected_cycles = _expected_cycles(spec)
    years = age_days / 365.25
    now = _timestamp(as_of)

    # Every per-battery factor is drawn before anything whose number of draws depends on the usage,
    # so for one seed more cycles or more age can only mean more wear.
    cycle_spread = rng.uniform(0.88, 1.12)
    calendar_spread = rng.uniform(0.85, 1.15)
    resistance_spread = rng.uniform(0.9, 1.1)
    self_discharge_spread = rng.uniform(1.0, 1.15)
    state_of_charge = rng.uniform(20.0, 90.0)

    cycle_fade = _CYCLE_FADE_AT_RATED_CYCLES * (cycles / expected_cycles) ** 0.8 * cycle_spread
    calendar_fade = chemistry.calendar_fade * math.sqrt(years) * calendar_spread
    fade = min(cycle_fade + calendar_fade, _MAX_FADE)
    remaining_ah = _sig(spec.rated_capacity_ah * (1 - fade / 100), 5)
    # Energy fades a little faster than charge: the discharge voltage sags as resistance grows.
    remaining_kwh = _sig(energy * (1 - min(fade * 1.08, _MAX_FADE) / 100), 5)
    mean_capacity = (spec.rated_capacity_ah + remaining_ah) / 2
    # The full-cycle count is discharged charge over capacity, so throughput follows from it.
    capacity_throughput = cycles * mean_capacity
    energy_throughput = capacity_throughput * spec.nominal_voltage_v / 1000

    resistance_increase = _resistance_increase(fade, years) * resistance_spread
    # Only part of the power limit is ohmic; the rest are current and voltage limits that do not age.
    power_fade = (1 - 1 / (1 + 0.7 * resistance_increase)) * 100
    maximum_power = _rated_maximum_power_w(spec)
    initial_rte = chemistry.roundtrip_efficiency
    remaining_rte = _roundtrip_after(initial_rte, resistance_increase)
    # A test figure of the model that the schema files under the condition; no per-battery spread.
    half_life_fade = _CYCLE_FADE_AT_RATED_CYCLES * 0.5**0.8 + chemistry.calendar_fade * math.sqrt(
        application.lifetime_years / 2
    )
    rte_at_half_life = _roundtrip_after(
        initial_rte, _resistance_increase(half_life_fade, application.lifetime_years / 2)
    )
    current_self_discharge = (
        chemistry.self_discharge * (1 + 0.8 * fade / 100 + 0.03 * years) * self_discharge_spread
    )

    condition = {
        "numberOfFullCycles": {"numberOfFullCyclesValue": int(cycles), "lastUpdate": now},
        "capacityThroughput": {"capacityThroughputValue": round(capacity_throughput, 1), "lastUpdate": now},
        "energyThroughput": round(energy_throughput, 3),
        "remainingCapacity": {"remainingCapacityValue": remaining_ah, "lastUpdate": now},
        "capacityFade": {
            "capacityFadeValue": round((1 - remaining_ah / spec.rated_capacity_ah) * 100, 2),
            "lastUpdate": now,
        },
        "remainingEnergy": {"remainingEnergyalue": remaining_kwh, "lastUpdate": now},
        "stateOfCertifiedEnergy": {
            "stateOfCertifiedEnergyValue": round(remaining_kwh / energy * 100, 2),
            "lastUpdate": now,
        },
        "stateOfCharge": {"stateOfChargeValue": round(state_of_charge, 1), "lastUpdate": now},
        "remainingPowerCapability": [
            {
                "remainingPowerCapabilityValue": {
                    "atSoC": soc,
                    "powerCapabilityAt": round(maximum_power * factor * (1 - power_fade / 100)),
                    "rPCLastUpdated": now,
                },
                "lastUpdate": now,
            }
            for soc, factor in ((80, 0.96), (20, 0.70))
        ],
        "powerFade": round(power_fade, 2),
        "roundTripEfficiencyat50PerCentCycleLife": round(rte_at_half_life, 2),
        "remainingRoundTripEnergyEfficiency": {
            "remainingRoundTripEnergyEfficiencyValue": round(remaining_rte, 2),
            "lastUpdate": now,
        },
        "roundTripEfficiencyFade": round((1 - remaining_rte / initial_rte) * 100, 2),
        "currentSelfDischargingRate": {
            "currentSelfDischargingRateEntity": round(current_self_discharge, 2),
            "lastUpdate": now,
        },
        "evolutionOfSelfDischarge": {
            "evolutionOfSelfDischargeEntityValue": round(
                (current_self_discharge / chemistry.self_discharge - 1) * 100, 1
            )
        },
        "internalResistanceIncrease": [
            {
                "batteryComponent": component,
                # Busbars and interconnects make up part of an assembly's resistance and barely age.
                "internalResistanceIncreaseValue": round(
                    resistance_increase * 100 * (1.0 if component == "cell" else 0.92), 2
                ),
                "lastUpdate": now,
            }
            for component, _ in _internal_resistance(spec)
        ],
        "temperatureInformation": _temperature_information(rng, application, age_days, now),
        "negativeEvents": _negative_events(spec, rng, application, cycles, age_days, as_of),
    }
    return {"PerformanceAndDurability": {"batteryCondition": condition}}


def _temperature_information(rng: random.Random, application: _Application, age_days: int, now: str) -> dict:
    hot = age_days * rng.uniform(0.0, application.hot_minutes_per_day)
    cold = age_days * rng.uniform(0.0, application.cold_minutes_per_day)
    # Charging is a small part of the day, and a BMS throttles it at the extremes.
    return {
        "timeExtremeHighTemp": round(hot),
        "timeExtremeLowTemp": round(cold),
        "timeExtremeHighTempCharging": round(hot * rng.uniform(0.05, 0.25)),
        "timeExtremeLowTempCharging": round(cold * rng.uniform(0.02, 0.10)),
        "lastUpdate": now,
    }


def _negative_events(
    spec: ModelSpec,
    rng: random.Random,
    application: _Application,
    cycles: int,
    age_days: int,
    as_of: datetime,
) -> list[dict[str, str]]:
    if age_days == 0:
        return []
    chemistry = _chemistry(spec)
    _, minimum, maximum = chemistry.cell_voltage
    start = as_of - timedelta(days=age_days)
    events: list[tuple[datetime, str]] = []

    def moment() -> datetime:
        return start + timedelta(seconds=rng.uniform(0, age_days * 86400))

    # Batteries left standing empty deep-discharge too, not only heavily cycled ones.
    for _ in range(_poisson(rng, cycles * application.deep_discharge_per_cycle + age_days * 0.0005)):
        voltage = minimum - rng.uniform(0.1, 0.6)
        minutes = rng.randint(5, 600)
        events.append(
            (
                moment(),
                f"deep discharge event: lowest cell voltage {voltage:.2f} V "
                f"(limit {minimum:.2f} V) for {minutes} min",
            )
        )
    for _ in range(_poisson(rng, cycles * application.overcharge_per_cycle)):
        voltage = maximum + rng.uniform(0.02, 0.15)
        events.append(
            (
                moment(),
                f"overcharge event: highest cell voltage {voltage:.3f} V "
                f"(limit {maximum:.2f} V), charging stopped by the BMS",
            )
        )
    for _ in range(_poisson(rng, age_days / 365.25 * application.accidents_per_year)):
        what = rng.choice(
            (
                "mechanical impact detected by the crash sensor, no thermal event; inspected and released",
                "water ingress detected at the housing seal; seal replaced, insulation resistance in spec",
                "external short circuit on the main connector; fuse tripped, battery inspected and released",
            )
        )
        events.append((moment(), f"accident: {what}"))
    events.sort(key=lambda event: event[0])
    return [{"negativeEvent": text, "lastUpdate": _timestamp(when)} for when, text in events]
