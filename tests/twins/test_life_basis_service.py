"""The stored health twin against each battery's life basis, with the ensemble RUL and its evidence."""

from __future__ import annotations

import pytest

from passport.choices import PassportCategory, PassportState
from passport.models import Battery, PassportSection
from passport.services import content
from tests.support.conformance import nasa_file
from twins.health.fade import MODEL_NAME as EMPIRICAL_NAME
from twins.learned import artifact_hash
from twins.learned.forecast import MODEL_NAME as LEARNED_NAME
from twins.services import forecasts, health
from twins.services.life import life_basis

pytestmark = pytest.mark.django_db
PERFORMANCE = PassportCategory.PERFORMANCE_AND_DURABILITY


@pytest.fixture
def aged_cell(nasa_cell):
    from lifecycle.services import telemetry

    battery = Battery.objects.select_related("model", "operator").get(pk=nasa_cell["id"])
    telemetry.ingest(battery, nasa_file("B0025"), actor=battery.operator, filename="B0025.mat")
    return battery


def _set_series_properties(battery: Battery, properties: dict) -> None:
    model = battery.model
    model.content = {**model.content, PERFORMANCE: {"batteryTechicalProperties": properties}}
    model.save(update_fields=["content"])


def test_stored_rul_is_the_ensemble_of_both_models(aged_cell):
    outputs = health.assess(aged_cell).outputs
    seventy = outputs["rul"]["70%"]
    assert seventy["model"] == "rul-ensemble"
    components = seventy["components"]
    assert set(components) == {EMPIRICAL_NAME, LEARNED_NAME}
    medians = sorted(part["median_cycles"] for part in components.values())
    assert medians[0] <= seventy["median_cycles"] <= medians[1]
    assert seventy["lower_cycles"] <= seventy["median_cycles"] <= seventy["upper_cycles"]
    assert outputs["models"]["learned"]["sha256"] == artifact_hash()
    # The lab cell was cycled over weeks: a calendar rate exists, and every quantile has days.
    assert seventy["median_days"] > 0 and seventy["upper_days"] >= seventy["median_days"]


def test_design_life_comes_from_the_passport_and_is_an_input(aged_cell):
    first = health.assess(aged_cell)
    basis = first.outputs["life_basis"]
    assert basis["cycle_life_source"] == "LCO default" and basis["first_life_threshold"] == 0.8  # an EV cell
    assert list(first.outputs["rul"]) == ["80%", "70%", "60%"]
    _set_series_properties(aged_cell, {"expectedNumberOfCycles": 300, "capacityThresholdForExhaustion": 75})
    aged_cell.model.refresh_from_db()
    second = health.assess(aged_cell)
    assert second.pk != first.pk  # same records, new design life: a new input, a new run
    basis = second.outputs["life_basis"]
    assert basis["cycle_life"] == 300 and basis["cycle_life_source"] == "passport expectedNumberOfCycles"
    assert basis["first_life_threshold"] == 0.75
    assert list(second.outputs["rul"]) == ["75%", "70%", "60%"]
    assert second.rul_threshold == 0.75
    value = second.outputs["residual_value"]["assumptions"]
    assert value["expected_cycles_new"] == pytest.approx(
        life_basis("LCO", "ev", {"expectedNumberOfCycles": 300}).cycles_to(0.7)
    )


def test_a_passport_section_overrides_the_series_content(aged_cell):
    _set_series_properties(aged_cell, {"expectedNumberOfCycles": 300, "ratedCapacity": 2.0})
    passport = aged_cell.passports.get(state=PassportState.ACTIVE)
    section, _ = PassportSection.objects.get_or_create(passport=passport, category=PERFORMANCE)
    section.payload = {**section.payload, "batteryTechicalProperties": {"expectedNumberOfCycles": 450}}
    section.save()
    battery = Battery.objects.select_related("model").get(pk=aged_cell.pk)
    assert content.technical_properties([battery])[battery.pk] == {
        "expectedNumberOfCycles": 450,
        "ratedCapacity": 2.0,
    }
    assert health.assess(battery).outputs["life_basis"]["cycle_life"] == 450


def test_an_unknown_chemistry_falls_back_with_a_warning(aged_cell):
    model = aged_cell.model
    model.chemistry = "sodium-sulphur"
    model.save(update_fields=["chemistry"])
    outputs = health.assess(Battery.objects.select_related("model", "operator").get(pk=aged_cell.pk)).outputs
    assert outputs["life_basis"]["chemistry_family"] == "unknown"
    assert any("unknown chemistry 'sodium-sulphur'" in warning for warning in outputs["warnings"])
    assert "unknown chemistry" in outputs["residual_value"]["assumptions"]["warning"]
    assert outputs["rul"]["70%"]["median_cycles"] > 0  # still a forecast, on the documented default


def _history(cycles: int, fade_per_cycle: float) -> list[tuple[int, float]]:
    return [(k, 2.0 * (1.0 - fade_per_cycle * k)) for k in range(1, cycles + 1)]


def test_the_learned_clock_follows_the_design_life():
    history = _history(60, 0.0004)
    short, long = life_basis("LCO", "ev", None), life_basis("LFP", "ev", None)
    assert forecasts.learned_time_scale(long) / forecasts.learned_time_scale(short) == pytest.approx(
        3500 / 700
    )
    [on_short], [on_long] = (
        forecasts.rul_of_many([forecasts.ForecastInput(history, 2.0, basis)], particles=200)
        for basis in (short, long)
    )
    learned_short = on_short[0.7].components[LEARNED_NAME]
    learned_long = on_long[0.7].components[LEARNED_NAME]
    assert learned_long.median_cycles > learned_short.median_cycles
    assert learned_long.last_cycle == on_long[0.7].components[EMPIRICAL_NAME].last_cycle == 60
    assert any("clock rescaled" in warning for warning in learned_long.warnings)


def test_too_short_a_history_is_insufficient_for_both_models():
    [result] = forecasts.rul_of_many(
        [forecasts.ForecastInput(_history(3, 0.001), 2.0, life_basis("NMC", "ev", None))], particles=100
    )
    assert set(result) == {0.8, 0.7, 0.6}
    assert all("at least 5 cycles" in forecast.missing[0] for forecast in result.values())


def test_calendar_rate_needs_a_day_of_history():
    assert forecasts.cycles_per_day([(1, 0.0), (5, 3600.0)]) is None
    assert forecasts.cycles_per_day([(1, 0.0), (11, 5 * 86400.0)]) == pytest.approx(2.0)
    assert forecasts.cycles_per_day([(1, 0.0)]) is None


def test_a_rescaled_learned_forecast_stays_within_the_horizon():
    from twins.health.rul import HORIZON_CYCLES

    flat = [(k, 2.0 * (1.0 - 0.00002 * k)) for k in range(1, 41)]
    [result] = forecasts.rul_of_many(
        [forecasts.ForecastInput(flat, 2.0, life_basis("LTO", "stationary", None))], particles=200
    )
    for forecast in result.values():
        learned = forecast.components[LEARNED_NAME]
        assert learned.upper_cycles <= HORIZON_CYCLES and forecast.upper_cycles <= HORIZON_CYCLES + 1e-6
    assert any("horizon" in warning for warning in result[0.6].warnings)
