"""The demo fleet's Battery Pass content: schema-valid, internally consistent and reproducible."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import re

import pytest

from passport import batterypass
from passport.choices import PassportCategory
from passport.demo_content import DEMO_MODELS, ModelSpec, battery_content, manufacturer_slug, model_content

MANUFACTURERS = ("Voltora Cells GmbH", "Ferrolyt Energy AB", "Velocell Mobility S.p.A.")
SEEDS = (0, 1, 7, 42, 2024)
AS_OF = dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC)
ALL_CATEGORIES = set(PassportCategory.values)
MODEL_LEVEL_ONLY = {"GeneralProductInformation", "PerformanceAndDurability"}
REGISTRY_MEMBERS = {
    "productIdentifier",
    "batteryPassportIdentifier",
    "batteryCategory",
    "batteryStatus",
    "manufacturingDate",
    "puttingIntoService",
    "batteryMass",
    "manufacturerInformation",
    "operatorInformation",
}
# (cycles, age in days): new, lightly used, mid-life and well past the rated cycle life.
USAGE = ((0, 0), (40, 60), (600, 900), (2500, 3650))
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

models = pytest.mark.parametrize("spec", DEMO_MODELS, ids=lambda spec: spec.model_number)


def manufacturer_of(spec: ModelSpec) -> str:
    return MANUFACTURERS[DEMO_MODELS.index(spec) % len(MANUFACTURERS)]


def condition(spec: ModelSpec, seed: int, cycles: int, age_days: int) -> dict:
    content = battery_content(spec, random.Random(seed), cycles=cycles, age_days=age_days, as_of=AS_OF)
    assert set(content) == {"PerformanceAndDurability"}
    assert set(content["PerformanceAndDurability"]) == {"batteryCondition"}
    return content["PerformanceAndDurability"]["batteryCondition"]


def remaining_capacity(spec: ModelSpec, seed: int, cycles: int, age_days: int) -> float:
    return condition(spec, seed, cycles, age_days)["remainingCapacity"]["remainingCapacityValue"]


def test_demo_fleet_spans_kinds_categories_and_chemistries():
    assert len(DEMO_MODELS) >= 6
    assert len({spec.model_number for spec in DEMO_MODELS}) == len(DEMO_MODELS)
    assert {spec.kind for spec in DEMO_MODELS} == {"cell", "module", "pack"}
    assert {spec.category for spec in DEMO_MODELS} == {"ev", "lmt", "industrial", "stationary"}
    assert {"NMC811", "LFP"} <= {spec.chemistry for spec in DEMO_MODELS}


@models
def test_model_content_is_valid_per_category(spec):
    content = model_content(spec, manufacturer_of(spec))
    assert set(content) == ALL_CATEGORIES
    for category, payload in content.items():
        assert batterypass.validate(category, payload, partial=True) == [], category
        if category not in MODEL_LEVEL_ONLY:
            assert batterypass.validate(category, payload) == [], category


@models
def test_model_content_leaves_registry_members_and_battery_condition_out(spec):
    content = model_content(spec, manufacturer_of(spec))
    assert set(content["GeneralProductInformation"]) == {"manufacturingPlace", "warrentyPeriod"}
    assert not REGISTRY_MEMBERS & set(content["GeneralProductInformation"])
    assert re.fullmatch(r"--(0[1-9]|1[0-2])", content["GeneralProductInformation"]["warrentyPeriod"])
    assert set(content["PerformanceAndDurability"]) == {"batteryTechicalProperties"}


@models
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("cycles", "age_days"), USAGE)
def test_model_and_battery_performance_merge_into_a_valid_payload(spec, seed, cycles, age_days):
    model_part = model_content(spec, manufacturer_of(spec))["PerformanceAndDurability"]
    battery_part = battery_content(spec, random.Random(seed), cycles=cycles, age_days=age_days, as_of=AS_OF)[
        "PerformanceAndDurability"
    ]
    merged = {**model_part, **battery_part}
    assert batterypass.validate("PerformanceAndDurability", merged) == []


@models
@pytest.mark.parametrize("seed", SEEDS)
def test_remaining_capacity_never_exceeds_rated_and_falls_with_cycles(spec, seed):
    rated = spec.rated_capacity_ah
    for age_days in (0, 365, 2000):
        values = [remaining_capacity(spec, seed, n, age_days) for n in (0, 50, 200, 500, 1000, 2000)]
        assert all(0 < value <= rated for value in values), values
        assert all(later < earlier for earlier, later in itertools.pairwise(values)), values
    assert remaining_capacity(spec, seed, 0, 0) == rated


@models
@pytest.mark.parametrize("seed", SEEDS)
def test_remaining_capacity_falls_with_age(spec, seed):
    values = [remaining_capacity(spec, seed, 300, age_days) for age_days in (30, 365, 1500, 4000)]
    assert all(later < earlier for earlier, later in itertools.pairwise(values)), values


@models
def test_condition_figures_agree_with_each_other(spec):
    performance = model_content(spec, manufacturer_of(spec))["PerformanceAndDurability"]
    model_part = performance["batteryTechicalProperties"]
    state = condition(spec, 3, 800, 1200)
    remaining = state["remainingCapacity"]["remainingCapacityValue"]
    fade = state["capacityFade"]["capacityFadeValue"]
    assert fade == pytest.approx((1 - remaining / spec.rated_capacity_ah) * 100, abs=0.01)
    assert state["numberOfFullCycles"]["numberOfFullCyclesValue"] == 800
    soce = state["stateOfCertifiedEnergy"]["stateOfCertifiedEnergyValue"]
    assert 40 < soce < 100
    assert state["remainingEnergy"]["remainingEnergyalue"] < model_part["ratedEnergy"]
    # Throughput of 800 full cycles lies between 800 x the remaining and 800 x the rated capacity.
    throughput = state["capacityThroughput"]["capacityThroughputValue"]
    assert 800 * remaining <= throughput <= 800 * spec.rated_capacity_ah
    assert 0 <= state["stateOfCharge"]["stateOfChargeValue"] <= 100
    assert (
        state["remainingRoundTripEnergyEfficiency"]["remainingRoundTripEnergyEfficiencyValue"]
        < (model_part["roundtripEfficiency"])
    )
    components = {entry["batteryComponent"] for entry in model_part["initialInternalResistance"]}
    assert {entry["batteryComponent"] for entry in state["internalResistanceIncrease"]} == components
    for entry in state["remainingPowerCapability"]:
        assert DATE_TIME.match(entry["lastUpdate"])
    for value in state["temperatureInformation"].values():
        assert isinstance(value, str) or value >= 0


@models
@pytest.mark.parametrize("seed", SEEDS)
def test_battery_content_is_reproducible_from_the_seed(spec, seed):
    assert condition(spec, seed, 700, 1000) == condition(spec, seed, 700, 1000)


def test_different_seeds_give_different_batteries():
    spec = DEMO_MODELS[0]
    assert len({repr(condition(spec, seed, 700, 1000)) for seed in SEEDS}) == len(SEEDS)


def test_negative_events_are_dated_within_the_battery_life_in_order():
    spec = next(s for s in DEMO_MODELS if s.category == "lmt")
    events = [event for seed in SEEDS for event in condition(spec, seed, 2500, 3650)["negativeEvents"]]
    assert any(event["negativeEvent"].startswith("deep discharge event") for event in events)
    start = AS_OF - dt.timedelta(days=3650)
    for seed in SEEDS:
        stamps = [event["lastUpdate"] for event in condition(spec, seed, 2500, 3650)["negativeEvents"]]
        assert stamps == sorted(stamps)
        for stamp in stamps:
            assert DATE_TIME.match(stamp)
            assert start <= dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")) <= AS_OF
    assert condition(spec, 0, 0, 0)["negativeEvents"] == []


def test_last_update_is_the_reporting_time_in_utc():
    spec = DEMO_MODELS[0]
    local = dt.datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    state = battery_content(spec, random.Random(0), cycles=10, age_days=10, as_of=local)
    stamp = state["PerformanceAndDurability"]["batteryCondition"]["remainingCapacity"]["lastUpdate"]
    assert stamp == "2026-03-02T08:30:15Z"


def test_negative_usage_is_rejected():
    with pytest.raises(ValueError):
        battery_content(DEMO_MODELS[0], random.Random(0), cycles=-1, age_days=0, as_of=AS_OF)


@models
def test_materials_add_up_to_the_battery_mass_with_real_cas_numbers(spec):
    composition = model_content(spec, manufacturer_of(spec))["MaterialComposition"]
    materials = composition["batteryMaterials"]
    assert sum(m["batteryMaterialMass"] for m in materials) == pytest.approx(spec.mass_kg * 1000, rel=0.001)
    cas = {m["batteryMaterialName"]: m["batteryMaterialIdentifier"] for m in materials}
    assert cas["Lithium"] == "7439-93-2"
    assert cas["Graphite"] == "7782-42-5"
    critical = {m["batteryMaterialName"] for m in materials if m["isCriticalRawMaterial"]}
    assert {"Lithium", "Graphite", "Copper"} <= critical
    if spec.chemistry.startswith("NMC"):
        assert cas["Nickel"] == "7440-02-0"
        assert cas["Cobalt"] == "7440-48-4"
        assert cas["Manganese"] == "7439-96-5"
        assert {"Nickel", "Cobalt", "Manganese"} <= critical
    if spec.chemistry == "LFP":
        assert cas["Iron phosphate"] == "10045-86-0"
    hazardous = {h["hazardousSubstanceIdentifier"]: h for h in composition["hazardousSubstances"]}
    electrolyte_salt = hazardous["21324-40-3"]
    salt_mass = sum(
        m["batteryMaterialMass"] for m in materials if m["batteryMaterialIdentifier"] == "21324-40-3"
    )
    assert electrolyte_salt["hazardousSubstanceConcentration"] == pytest.approx(
        salt_mass / (spec.mass_kg * 1000) * 100, rel=0.01
    )


@models
def test_carbon_footprint_stages_add_up_to_the_declared_total(spec):
    footprint = model_content(spec, manufacturer_of(spec))["CarbonFootprint"]
    per_stage = footprint["carbonFootprintPerLifecycleStage"]
    stages = {s["lifecycleStage"]: s["carbonFootprint"] for s in per_stage}
    assert set(stages) == {"RawMaterialExtraction", "MainProduction", "Distribution", "Recycling"}
    assert all(value > 0 for value in stages.values())
    assert sum(stages.values()) == pytest.approx(footprint["batteryCarbonFootprint"], abs=1e-4)
    assert footprint["absoluteCarbonFootprint"] > footprint["batteryCarbonFootprint"]


@models
def test_circularity_labels_and_documents_point_at_the_manufacturer(spec):
    manufacturer = manufacturer_of(spec)
    slug = manufacturer_slug(manufacturer)
    content = model_content(spec, manufacturer)
    circularity, labels = content["Circularity"], content["Labels"]
    recycled = {entry["recycledMaterial"] for entry in circularity["recycledContent"]}
    assert recycled == {"Nickel", "Cobalt", "Lithium", "Lead"}
    assert {label["labelingSubject"] for label in labels["labels"]} == {
        "SeparateCollection",
        "HazardousMaterial",
        "CarbonFootPrint",
        "ExtinguishingAgent",
    }
    for source in circularity["sparePartSources"]:
        assert source["emailAddressOfSupplier"] == f"spareparts@{slug}.example"
    urls = [doc["documentURL"] for doc in circularity["dismantlingAndRemovalInformation"]]
    urls += [labels["declarationOfConformity"], labels["resultOfTestReport"]]
    urls += [content["CarbonFootprint"]["carbonFootprintStudy"]]
    assert all(url.startswith(f"https://docs.{slug}.example/") for url in urls), urls


def test_manufacturer_slug_is_the_brand():
    assert manufacturer_slug("Voltora Cells GmbH") == "voltora"
    assert manufacturer_slug("Ferrolyt Energy AB") == "ferrolyt"
    assert manufacturer_slug("Énergie Nordique S.A.") == "energie"


@pytest.mark.parametrize(
    "spec",
    [
        ModelSpec("NC-P230", "NCA pack, no mass", "pack", "ev", "NCA", 230.0, 350.0, None, None),
        ModelSpec("NM-C48", "NMC622 cell, no energy", "cell", "lmt", "NMC622", 4.8, 3.65, None, None),
    ],
    ids=lambda spec: spec.model_number,
)
def test_models_without_energy_or_mass_still_get_valid_content(spec):
    content = model_content(spec, "Åkerlund Batteri AB")
    for category, payload in content.items():
        assert batterypass.validate(category, payload, partial=True) == [], category
    battery_part = battery_content(spec, random.Random(5), cycles=300, age_days=400, as_of=AS_OF)
    merged = {**content["PerformanceAndDurability"], **battery_part["PerformanceAndDurability"]}
    assert batterypass.validate("PerformanceAndDurability", merged) == []
