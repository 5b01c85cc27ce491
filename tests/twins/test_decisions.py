"""Residual value, routing and warranty rules on plain numbers."""

from __future__ import annotations

import datetime as dt

import pytest

from twins.chemistry import PROFILES
from twins.decisions import routing, value, warranty

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def test_value_scales_with_health_and_life_and_never_drops_below_recycling():
    common = {
        "rated_energy_kwh": 75,
        "expected_cycles_new": 1500,
        "chemistry": "NMC811",
        "application": "reuse",
    }
    good = value.residual_value(soh=0.9, remaining_cycles=1200, **common)
    worn = value.residual_value(soh=0.75, remaining_cycles=300, **common)
    dead = value.residual_value(soh=0.5, remaining_cycles=0, **common)
    assert good.eur_per_kwh == pytest.approx(115 * 0.9 * 0.8 * 0.75, abs=0.01)
    assert good.eur_total == pytest.approx(good.eur_per_kwh * 75, abs=0.05)
    assert (
        good.eur_per_kwh > worn.eur_per_kwh > dead.eur_per_kwh == PROFILES["NMC"].recycling_credit_eur_per_kwh
    )
    assert good.assumptions["new_price_eur_per_kwh"] == 115 and good.assumptions["chemistry_family"] == "NMC"
    lfp = value.residual_value(soh=0.9, remaining_cycles=1200, **{**common, "chemistry": "LFP"})
    assert lfp.eur_per_kwh < good.eur_per_kwh  # cheaper chemistry new, cheaper used


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"soh": 0.92, "rul_cycles": 900, "resistance_soh": 0.8, "damaged": False}, "reuse"),
        ({"soh": 0.78, "rul_cycles": 1200, "resistance_soh": 0.8, "damaged": False}, "stationary-power"),
        ({"soh": 0.78, "rul_cycles": 1200, "resistance_soh": 0.3, "damaged": False}, "stationary-energy"),
        ({"soh": 0.78, "rul_cycles": 1200, "resistance_soh": None, "damaged": False}, "stationary-energy"),
        ({"soh": 0.55, "rul_cycles": 10, "resistance_soh": 0.8, "damaged": False}, "recycling"),
        ({"soh": 0.95, "rul_cycles": 2000, "resistance_soh": 0.9, "damaged": True}, "recycling"),
        ({"soh": None, "rul_cycles": None, "resistance_soh": None, "damaged": False}, "recycling"),
    ],
)
def test_routes(kwargs, expected):
    decided = routing.route(**kwargs, evidence=["ab" * 32])
    assert decided.route == expected and decided.reasons and decided.evidence == ["ab" * 32]


def test_a_pack_with_two_weak_cells_is_remanufactured():
    cells = [routing.ComponentHealth(f"C{n}", 0.93) for n in range(10)]
    cells[3] = routing.ComponentHealth("C3", 0.71)
    cells[7] = routing.ComponentHealth("C7", 0.80)
    decided = routing.route(soh=0.8, rul_cycles=600, resistance_soh=0.7, damaged=False, components=cells)
    assert decided.route == "remanufacture" and decided.weak_components == ["C3", "C7"]
    view = routing.spread(cells)
    assert view["weakest"][:2] == ["C3", "C7"] and view["imbalance"] == pytest.approx(0.22)


def test_warranty_claim_needs_coverage_and_a_confident_drop():
    terms = warranty.WarrantyTerms(years=8, soh_floor=0.7, max_cycles=2000)
    claim = dict(put_into_service_at=T0, claimed_at=T0 + dt.timedelta(days=365 * 3))
    valid = warranty.evaluate_claim(terms, soh=0.62, soh_std=0.01, full_cycles=800, **claim)
    assert valid.covered and valid.claim_valid
    noisy = warranty.evaluate_claim(terms, soh=0.68, soh_std=0.02, full_cycles=800, **claim)
    assert noisy.covered and not noisy.claim_valid  # 0.68 + 2*0.02 is not below 0.70
    used_up = warranty.evaluate_claim(terms, soh=0.5, soh_std=0.01, full_cycles=2500, **claim)
    assert not used_up.covered and not used_up.claim_valid
    expired = warranty.evaluate_claim(
        terms, soh=0.5, soh_std=0.01, put_into_service_at=T0, claimed_at=T0 + dt.timedelta(days=365 * 9)
    )
    assert not expired.covered and any("exceeds the 8-year term" in r for r in expired.reasons)
    unknown = warranty.evaluate_claim(terms, soh=None, soh_std=None, **claim)
    assert not unknown.claim_valid and "no state of health on record" in unknown.reasons
