"""Chemistry profiles: family lookup, the unknown fallback, and the rescaled aging prior."""

from __future__ import annotations

import numpy as np
import pytest

from passport.chemistry import chemistry_family
from twins.chemistry import (
    PROFILES,
    UNKNOWN,
    chemistry_prior,
    fade_prior,
    prior_crossing_cycle,
    profile_for,
)
from twins.decisions import value
from twins.health import DEFAULT_PRIOR, rul_forecast


@pytest.mark.parametrize(
    ("chemistry", "family"),
    [("NMC811", "NMC"), ("LiFePO4", "LFP"), ("NCA", "NCA"), ("LTO/NMC", "LTO"), ("li-ion NCM 622", "NMC")],
)
def test_free_text_chemistry_maps_to_its_family(chemistry, family):
    assert chemistry_family(chemistry) == family
    assert profile_for(chemistry) is PROFILES[family]
    assert profile_for(chemistry).warning(chemistry) is None


@pytest.mark.parametrize("chemistry", ["sodium-ion", "", None, "XYZ"])
def test_unknown_chemistry_falls_back_with_a_warning_that_names_it(chemistry):
    profile = profile_for(chemistry)
    assert profile is UNKNOWN and not profile.known
    assert repr(chemistry) in profile.warning(chemistry)
    # The default is never longer-lived than a known family: unknown batteries are not over-valued.
    assert UNKNOWN.cycle_life_80 <= min(p.cycle_life_80 for p in PROFILES.values())


@pytest.mark.parametrize("family", sorted(PROFILES))
def test_the_rescaled_prior_crosses_80_percent_at_the_chemistrys_cycle_life(family):
    prior = chemistry_prior(PROFILES[family])
    assert prior_crossing_cycle(prior, 0.8) == pytest.approx(PROFILES[family].cycle_life_80, rel=1e-9)
    # Shape, spread and noise are the training cells'; only the time scale moves.
    assert prior.mean[1] == DEFAULT_PRIOR.mean[1] and prior.covariance == DEFAULT_PRIOR.covariance
    assert prior.log_sigma_mean == DEFAULT_PRIOR.log_sigma_mean
    assert prior_crossing_cycle(prior, 0.7) > prior_crossing_cycle(prior, 0.8)


@pytest.mark.parametrize(("cycles", "threshold"), [(2000, 0.7), (800, 0.8), (5000, 0.6)])
def test_a_passport_cycle_life_at_its_own_threshold_sets_the_prior(cycles, threshold):
    assert prior_crossing_cycle(fade_prior(cycles, threshold), threshold) == pytest.approx(cycles, rel=1e-9)


@pytest.mark.parametrize(("cycles", "threshold"), [(0, 0.8), (-5, 0.8), (1000, 0), (1000, 1.0)])
def test_an_impossible_life_basis_is_refused(cycles, threshold):
    with pytest.raises(ValueError, match="cycle_life"):
        fade_prior(cycles, threshold)


def test_a_short_history_is_forecast_on_the_chemistrys_time_scale():
    # 30 cycles of a healthy cell: the prior dominates, so the chemistry's life sets the forecast.
    cycles = np.arange(1, 31)
    history = list(zip(cycles, 2.0 * (1 - 0.0002 * cycles), strict=True))
    lfp = rul_forecast(history, 2.0, threshold=0.8, prior=chemistry_prior(PROFILES["LFP"]))
    lco = rul_forecast(history, 2.0, threshold=0.8, prior=chemistry_prior(PROFILES["LCO"]))
    nasa = rul_forecast(history, 2.0, threshold=0.8)
    assert lfp.median_cycles > lco.median_cycles > nasa.median_cycles
    assert lfp.median_cycles > 1000


def test_residual_value_of_an_unknown_chemistry_carries_the_warning():
    worth = value.residual_value(
        rated_energy_kwh=10, soh=0.9, remaining_cycles=300, expected_cycles_new=1000,
        chemistry="sodium-ion", application="reuse",
    )  # fmt: skip
    assert worth.assumptions["chemistry_family"] == "unknown"
    assert "sodium-ion" in worth.assumptions["warning"]
    assert worth.assumptions["new_price_eur_per_kwh"] == UNKNOWN.new_price_eur_per_kwh


def test_the_passport_life_figures_win_over_the_chemistry_defaults():
    from twins.services.life import life_basis

    properties = {"expectedNumberOfCycles": 3000, "capacityThresholdForExhaustion": 75.0}
    basis = life_basis("NMC811", "ev", properties)
    assert basis.cycle_life == 3000 and basis.cycle_life_source == "passport expectedNumberOfCycles"
    assert basis.first_life_threshold == 0.75 and "passport" in basis.first_life_threshold_source
    assert basis.cycles_to(0.8) == pytest.approx(3000)
    assert basis.thresholds == (0.75, 0.7, 0.6)
    assert basis.warnings == ()


@pytest.mark.parametrize(
    "properties", [None, {}, {"expectedNumberOfCycles": 0}, {"expectedNumberOfCycles": "many"}]
)
def test_without_passport_figures_the_chemistry_and_category_decide(properties):
    from twins.services.life import life_basis

    ev = life_basis("LiFePO4", "ev", properties)
    assert ev.cycle_life == PROFILES["LFP"].cycle_life_80 and ev.cycle_life_source == "LFP default"
    assert ev.first_life_threshold == 0.8 and ev.thresholds == (0.8, 0.7, 0.6)
    assert life_basis("LiFePO4", "industrial", properties).thresholds == (0.7, 0.6)


def test_an_unknown_chemistry_is_forecast_on_the_documented_default_with_a_warning():
    from twins.services.life import life_basis

    basis = life_basis("sodium-ion", "lmt", {})
    assert basis.chemistry_family == "unknown" and basis.cycle_life == UNKNOWN.cycle_life_80
    assert len(basis.warnings) == 1 and "sodium-ion" in basis.warnings[0]
    assert basis.as_dict()["warnings"] == list(basis.warnings) and "prior" not in basis.as_dict()
