"""Capacity and resistance SoH on synthetic aggregates with known answers; the default correction
against the NASA data (skipped without ../shared)."""

from __future__ import annotations

import math

import pytest

from lifecycle.telemetry import CycleAggregate
from tests.support.conformance import nasa_file
from twins.health import (
    DEFAULT_CORRECTION,
    CapacityCorrection,
    InsufficientData,
    SohEstimate,
    capacity_soh,
    resistance_soh,
    soh_series,
)

RATED = 2.0


def aggregate(index: int, kind: str = "discharge", **values) -> CycleAggregate:
    base = {
        "cycle_index": index,
        "kind": kind,
        "started_at": 1_700_000_000.0 + 10_000 * index,
        "duration_s": 3600.0,
        "samples": 100,
        "charge_ah": 0.0,
        "discharge_ah": 2.0,
        "charge_wh": 0.0,
        "discharge_wh": 7.0,
        "ambient_temperature_c": 24.0,
    }
    base.update(values)
    return CycleAggregate.from_dict(base)


def fading(n: int, start: float = 1.9, per_cycle: float = 0.004, **values) -> list[CycleAggregate]:
    """Discharges at 2 A (2 Ah over one hour) whose NASA capacity falls linearly."""
    return [aggregate(k, reported_capacity_ah=start - per_cycle * k, **values) for k in range(n)]


def test_capacity_soh_tracks_a_linear_fade_without_lag():
    estimate = capacity_soh(fading(30), RATED)
    assert isinstance(estimate, SohEstimate)
    truth = (1.9 - 0.004 * 29) / RATED
    # A plain mean of the last five would lag by two cycles of fade (0.4 %): the trend does not.
    assert estimate.value == pytest.approx(truth, abs=1e-6)
    assert estimate.std < 1e-6
    assert estimate.method == "capacity"
    assert estimate.inputs["count"] == 5
    assert estimate.inputs["capacity_source"] == ["nasa_2.7v"]


def test_capacity_soh_std_reflects_scatter():
    history = fading(30)
    for k, a in enumerate(history):
        a.reported_capacity_ah += 0.02 * (-1) ** k
    estimate = capacity_soh(history, RATED)
    assert 0.005 < estimate.std < 0.03


def test_anomalous_cycles_are_left_out_and_too_little_history_is_insufficient():
    history = [*fading(2), aggregate(2, reported_capacity_ah=0.1, anomalies=["capacity_mismatch"])]
    result = capacity_soh(history, RATED)
    assert isinstance(result, InsufficientData)
    assert "have 2" in result.missing[0]
    assert isinstance(capacity_soh([aggregate(0, "charge")], RATED), InsufficientData)


def test_full_discharge_is_used_and_flagged_without_a_nasa_capacity():
    history = [aggregate(k, discharge_ah=1.8, duration_s=3240.0) for k in range(6)]  # 2 A
    estimate = capacity_soh(history, RATED)
    assert estimate.value == pytest.approx(0.9)
    assert estimate.inputs["capacity_source"] == ["full_discharge"]
    assert any("cutoff" in w for w in estimate.warnings)


def test_temperature_correction_and_its_uncertainty():
    correction = CapacityCorrection(0.005, 0.0, ((1e-6, 0.0), (0.0, 0.0)), trained_on=("x",))
    cold = fading(10, per_cycle=0.0, ambient_temperature_c=4.0)
    estimate = capacity_soh(cold, RATED, correction=correction)
    # Factor 1 + 0.005 * (4 - 24) = 0.9; its std 20 * 0.001 = 0.02 relative.
    assert estimate.value == pytest.approx(1.9 / 0.9 / RATED)
    assert estimate.std == pytest.approx(estimate.value * 0.02 / 0.9, rel=1e-6)
    at_test = capacity_soh(cold, RATED, correction=correction, reference_temperature_c=4.0)
    assert at_test.value == pytest.approx(1.9 / RATED)


def test_soh_series_has_one_entry_per_discharge():
    history = []
    for k in range(8):
        history.append(aggregate(2 * k, "charge"))
        history.append(aggregate(2 * k + 1, reported_capacity_ah=1.9 - 0.01 * k))
    series = soh_series(history, RATED)
    assert [index for index, _ in series] == [2 * k + 1 for k in range(8)]
    assert isinstance(series[1][1], InsufficientData)
    assert series[-1][1].value == pytest.approx((1.9 - 0.07) / RATED)


def test_resistance_soh_prefers_impedance_cycles():
    history = [aggregate(k, "impedance", resistance_ohm=0.15) for k in range(5)]
    history += [aggregate(10 + k, resistance_ohm=0.5) for k in range(5)]
    estimate = resistance_soh(history, initial_resistance_ohm=0.1)
    assert estimate.value == pytest.approx(0.5)
    assert estimate.inputs["source"] == "impedance"
    halfway = resistance_soh(history[5:], initial_resistance_ohm=0.1, end_of_life_factor=6.0)
    assert halfway.value == pytest.approx(0.2)
    assert any("pulse" in w for w in halfway.warnings)


def test_resistance_soh_clips_and_needs_data():
    fresher = [aggregate(k, "impedance", resistance_ohm=0.08) for k in range(3)]
    estimate = resistance_soh(fresher, initial_resistance_ohm=0.1)
    assert estimate.value == 1.0 and estimate.warnings
    assert isinstance(resistance_soh(fading(5), 0.1), InsufficientData)


def test_default_correction_is_the_fit_on_the_nasa_cells():
    nasa_file("B0047")
    from twins.health.evaluation import correction_for, load_cells

    cells = load_cells()
    fitted = correction_for(cells, sorted(cells))
    assert fitted.trained_on == DEFAULT_CORRECTION.trained_on
    assert math.isclose(
        fitted.temperature_coeff_per_c, DEFAULT_CORRECTION.temperature_coeff_per_c, rel_tol=1e-3
    )
    assert math.isclose(fitted.rate_coeff_per_a, DEFAULT_CORRECTION.rate_coeff_per_a, rel_tol=1e-3)
