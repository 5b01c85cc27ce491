"""Per-cycle aggregates on synthetic frames with known answers, operating limits, and the passport
attributes built from aggregates (numbers by hand, and valid against the v1.2 schema)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from lifecycle.telemetry import (
    Anomaly,
    CycleAggregate,
    CycleInfo,
    OperatingLimits,
    Step,
    TelemetryFrame,
    cycle_aggregates,
    dynamic_attributes,
    limits_for,
)
from passport import batterypass

START = 1_700_000_000.0
LIMITS = OperatingLimits(
    min_voltage_v=2.5, max_voltage_v=4.2, temp_low_c=-20.0, temp_high_c=45.0, source="test"
)
NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


def frame_of(time, voltage, current, temperature, cycle=None, step=None, infos=None, anomalies=()):
    n = len(time)
    cycle = np.zeros(n, np.int32) if cycle is None else np.asarray(cycle, np.int32)
    if step is None:
        step = np.where(
            np.asarray(current) > 0, Step.CHARGE, np.where(np.asarray(current) < 0, Step.DISCHARGE, 0)
        )
    if infos is None:
        starts = np.concatenate(([0], np.flatnonzero(np.diff(cycle)) + 1))
        infos = [
            CycleInfo(index=int(cycle[a]), step=Step.DISCHARGE, started_at=float(time[a])) for a in starts
        ]
    return TelemetryFrame(
        cycle=cycle,
        step=np.asarray(step, np.int16),
        time=np.asarray(time, np.float64),
        voltage_v=np.asarray(voltage, np.float64),
        current_a=np.asarray(current, np.float64),
        temperature_c=np.asarray(temperature, np.float64),
        cycles=infos,
        anomalies=list(anomalies),
        source_format="csv",
    )


def test_resistance_from_current_pulses_within_2_percent():
    rng = np.random.default_rng(3)
    time = np.arange(2000.0)
    current = np.zeros_like(time)
    for begin in range(60, 1900, 80):  # 10 s pulses, alternately 10 A discharge and 5 A charge
        current[begin : begin + 10] = -10.0 if (begin // 80) % 2 == 0 else 5.0
    resistance = 0.025
    ocv = 3.7 - 1e-5 * time  # slowly drifting open-circuit voltage
    voltage = ocv + resistance * current + rng.normal(0, 1e-4, len(time))
    [aggregate] = cycle_aggregates(frame_of(time, voltage, current, np.full_like(time, 25.0)), LIMITS)
    assert aggregate.resistance_ohm == pytest.approx(resistance, rel=0.02)
    # The same data with 30 % more resistance reads 30 % more.
    voltage = ocv + 1.3 * resistance * current
    [aggregate] = cycle_aggregates(frame_of(time, voltage, current, np.full_like(time, 25.0)), LIMITS)
    assert aggregate.resistance_ohm == pytest.approx(1.3 * resistance, rel=0.02)


def test_constant_current_without_steps_has_no_resistance():
    time = np.arange(100.0)
    [aggregate] = cycle_aggregates(
        frame_of(time, 3.7 - time * 1e-3, np.full(100, -1.0), np.full(100, 25.0)), LIMITS
    )
    assert aggregate.resistance_ohm is None


def piecewise(segments, dt_s=1.0):
    """Concatenate (seconds, value) holds into a sampled series."""
    return np.concatenate([np.full(int(seconds / dt_s), value) for seconds, value in segments])


def test_deep_discharge_and_overcharge_count_excursions_not_samples():
    rng = np.random.default_rng(5)
    voltage = piecewise(
        [
            (100, 3.6),
            (100, 2.44),  # event 1 (noise below adds crossings of 2.45 V, still one excursion)
            (1000, 3.6),
            (50, 2.3),  # event 2 ...
            (60, 3.0),  # ... back above the floor for only a minute ...
            (50, 2.3),  # ... and down again: the same event (pulsed load)
            (1000, 3.6),
            (100, 2.47),  # below 2.5 V but within the 2 % margin: not an event
            (1000, 3.6),
            (20, 2.3),  # event 3
            (1000, 3.6),
            (100, 4.25),  # overcharge 1, noisy around the 4.242 V entry
            (1000, 4.1),
            (100, 4.23),  # within the 1 % margin: not an event
            (1000, 4.1),
            (10, 4.3),  # overcharge 2
            (100, 4.1),
        ]
    )
    noisy = np.abs(voltage - 2.44) < 1e-9
    voltage[noisy] += rng.uniform(-0.02, 0.02, noisy.sum())
    noisy = np.abs(voltage - 4.25) < 1e-9
    voltage[noisy] += rng.uniform(-0.015, 0.015, noisy.sum())
    time = START + np.arange(len(voltage), dtype=np.float64)
    # Three cycles: the events land in the cycle where they begin.
    cycle = np.zeros(len(voltage), np.int32)
    cycle[1150:3400] = 1
    cycle[3400:] = 2
    aggregates = cycle_aggregates(
        frame_of(time, voltage, np.zeros_like(time), np.full_like(time, 25.0), cycle), LIMITS
    )
    assert [a.deep_discharge_events for a in aggregates] == [1, 1, 1]
    assert [a.overcharge_events for a in aggregates] == [0, 0, 2]


def test_time_in_extreme_temperatures_and_charging_only_while_charging():
    time = np.arange(0.0, 401.0, 10.0)  # 41 samples, 10 s apart
    temperature = np.concatenate(
        [
            np.linspace(40, 50, 11),  # t 0..100: crosses 45 °C at t = 50
            np.linspace(49, 40, 10),  # t 110..200: back down, crosses 45 °C at t = 150
            np.linspace(-16, -24, 5),  # t 210..250: ramps below -20 °C from t = 230
            np.linspace(-22.5, -17.5, 5),  # t 260..300: back above -20 °C at t = 280
            np.full(10, 20.0),
        ]
    )
    assert len(temperature) == len(time)
    # Charging up to t = 100, discharging from t = 110 to 240, charging again from t = 250.
    current = np.where(time <= 100, 1.0, np.where(time < 250, -1.0, 1.0))
    [aggregate] = cycle_aggregates(frame_of(time, np.full_like(time, 3.7), current, temperature), LIMITS)
    assert aggregate.time_above_temp_s == pytest.approx(100.0)  # 50 .. 150
    # Above 45 °C while charging: 50 .. 100; the interval 100 .. 110 changes direction (mean 0).
    assert aggregate.charging_time_above_temp_s == pytest.approx(50.0)
    # Below -20 °C: linear from -16 at 210 (-2 °C per 10 s) crosses -20 at 230; the jump from -24 at
    # 250 to -22.5 at 260 stays below; from -22.5 at 260 (+1.25 °C per 10 s) it crosses at 280.
    assert aggregate.time_below_temp_s == pytest.approx(50.0)
    # Charging again from 250 (interval 240..250 has mean current 0): 250 .. 280.
    assert aggregate.charging_time_below_temp_s == pytest.approx(30.0)
    assert aggregate.temperature_min_c == pytest.approx(-24.0)
    assert aggregate.temperature_max_c == pytest.approx(50.0)


def test_gaps_between_cycles_are_not_integrated():
    # Two cycles with a day between them at 50 °C: only the time inside each cycle counts.
    time = np.concatenate([START + np.arange(0.0, 100.0, 10.0), START + 86_400 + np.arange(0.0, 100.0, 10.0)])
    cycle = np.repeat([0, 1], 10)
    aggregates = cycle_aggregates(
        frame_of(time, np.full(20, 3.7), np.full(20, -1.0), np.full(20, 50.0), cycle), LIMITS
    )
    assert [a.time_above_temp_s for a in aggregates] == [90.0, 90.0]
    assert [a.discharge_ah for a in aggregates] == pytest.approx([90 / 3600, 90 / 3600])


def test_anomalies_from_the_reader_and_the_aggregation_reach_the_cycle():
    time = START + np.arange(0.0, 40.0)
    cycle = np.repeat([0, 1], [5, 35])
    temperature = np.full(40, 25.0)
    temperature[20] = 60.0  # a 35 °C jump in one second
    infos = [
        CycleInfo(0, Step.DISCHARGE, float(time[0])),
        CycleInfo(1, Step.DISCHARGE, float(time[5]), ambient_temperature_c=25.0),
        CycleInfo(2, Step.CHARGE, START + 100),  # announced, no samples
        CycleInfo(3, Step.IMPEDANCE, START + 200, re_ohm=0.05, rct_ohm=0.07),
    ]
    frame = frame_of(
        time,
        np.full(40, 3.7),
        np.full(40, -1.0),
        temperature,
        cycle,
        infos=infos,
        anomalies=[
            Anomaly(1, "capacity_missing", "reported Capacity is 0 Ah"),
            Anomaly(None, "note", "file"),
        ],
    )
    aggregates = {a.cycle_index: a for a in cycle_aggregates(frame, LIMITS)}
    assert aggregates[0].anomalies == ["too_few_samples"]
    assert aggregates[1].anomalies == ["capacity_missing", "temperature_implausible"]
    assert aggregates[2].anomalies == ["no_samples"] and aggregates[2].kind == "charge"
    assert aggregates[3].anomalies == [] and aggregates[3].resistance_ohm == pytest.approx(0.12)


def test_aggregate_dict_round_trip_tolerates_stored_rows():
    time = START + np.arange(0.0, 50.0)
    [aggregate] = cycle_aggregates(
        frame_of(time, np.full(50, 3.7), np.full(50, -1.0), np.full(50, 25.0)), LIMITS
    )
    data = aggregate.to_dict()
    assert CycleAggregate.from_dict(data) == aggregate
    row = {key: value for key, value in data.items() if key not in ("time_below_temp_s", "resistance_ohm")}
    row["started_at"] = dt.datetime.fromtimestamp(aggregate.started_at, dt.UTC)
    row["battery_id"] = "ignored"
    restored = CycleAggregate.from_dict(row)
    assert restored.started_at == aggregate.started_at and restored.resistance_ohm is None


# --- limits ---------------------------------------------------------------------------------------


def test_limits_prefer_the_passport_and_fall_back_to_chemistry():
    passport = {"minimumVoltage": 280.0, "maximumVoltage": 403.2, "temperatureRangeIdleState": 50.0}
    limits = limits_for(passport, "NMC811")
    assert (limits.min_voltage_v, limits.max_voltage_v) == (280.0, 403.2)
    assert (limits.temp_low_c, limits.temp_high_c) == (-20.0, 50.0)
    assert "passport minimumVoltage" in limits.source and "NMC default" in limits.source
    # A lone boundary below room temperature can only be the lower one.
    assert limits_for({"temperatureRangeIdleState": -10}, "LFP").temp_low_c == -10.0
    both = limits_for({"temperatureRangeIdleState": {"lowerBoundary": -30, "upperBoundary": 55}}, None)
    assert (both.temp_low_c, both.temp_high_c) == (-30, 55)
    assert limits_for(None, "LiFePO4").max_voltage_v == 3.65
    assert limits_for(None, "LCO").min_voltage_v == 2.5
    unknown = limits_for(None, "sodium-ion")
    assert (
        "unknown chemistry" in unknown.source
        and unknown.min_voltage_v <= 1.5
        and unknown.max_voltage_v >= 4.4
    )
    # Nonsense in the passport does not override a sane default.
    assert limits_for({"minimumVoltage": "2.8", "maximumVoltage": -1}, "NMC").min_voltage_v == 2.5


# --- attributes -----------------------------------------------------------------------------------


def aggregate(index, kind, **figures) -> CycleAggregate:
    base = {
        "cycle_index": index,
        "kind": kind,
        "started_at": START + index * 10_000,
        "duration_s": 3600.0,
        "samples": 360,
        "charge_ah": 0.0,
        "discharge_ah": 0.0,
        "charge_wh": 0.0,
        "discharge_wh": 0.0,
        "voltage_min_v": 3.0,
        "voltage_max_v": 4.2,
        "temperature_min_c": 20.0,
        "temperature_max_c": 30.0,
        "temperature_mean_c": 25.0,
        "resistance_ohm": None,
        "reported_capacity_ah": None,
        "ambient_temperature_c": 24.0,
        "deep_discharge_events": 0,
        "overcharge_events": 0,
        "time_above_temp_s": 0.0,
        "time_below_temp_s": 0.0,
        "charging_time_above_temp_s": 0.0,
        "charging_time_below_temp_s": 0.0,
        "anomalies": [],
    }
    return CycleAggregate(**{**base, **figures})


@pytest.fixture
def history() -> list[CycleAggregate]:
    return [
        aggregate(5, "impedance", samples=0, resistance_ohm=0.10),
        aggregate(
            0, "charge", charge_ah=2.0, charge_wh=8.0, charging_time_above_temp_s=120, time_above_temp_s=120
        ),
        aggregate(
            1, "discharge", discharge_ah=1.9, discharge_wh=7.0, voltage_min_v=2.6, deep_discharge_events=1
        ),
        aggregate(
            2, "discharge", discharge_ah=1.8, discharge_wh=6.5, voltage_min_v=2.7, time_below_temp_s=300
        ),
        # Not sound for throughput: capacity does not match the samples.
        aggregate(
            3,
            "discharge",
            discharge_ah=1.7,
            discharge_wh=6.2,
            voltage_min_v=2.6,
            anomalies=["capacity_mismatch"],
        ),
        # Sound current, bad temperature sensor: throughput yes, temperatures and health no.
        aggregate(
            4,
            "discharge",
            discharge_ah=1.75,
            discharge_wh=6.6,
            voltage_min_v=2.2,
            time_above_temp_s=999,
            deep_discharge_events=1,
            anomalies=["temperature_implausible"],
        ),
        aggregate(6, "impedance", samples=0, resistance_ohm=0.12),
        aggregate(7, "impedance", samples=0, resistance_ohm=0.30, ambient_temperature_c=4.0),
        aggregate(8, "discharge", discharge_ah=0.5, discharge_wh=2.0, voltage_min_v=3.6),  # partial
    ]


def test_attributes_by_hand(history):
    payload = dynamic_attributes(
        history,
        rated_capacity_ah=2.0,
        rated_energy_kwh=0.0074,
        nominal_voltage_v=3.7,
        limits=LIMITS,
        accidents=[
            {"kind": "accident", "description": "dropped in transit", "occurred_at": "2025-02-01T08:00:00Z"}
        ],
        now=NOW,
        battery_component="cell",
    )
    condition = payload["batteryCondition"]
    stamp = "2025-03-01T12:00:00Z"
    # Throughput: all discharges with sound current (1.9 + 1.8 + 1.75 + 0.5 Ah), not the mismatched one.
    assert condition["capacityThroughput"] == {"capacityThroughputValue": 5.95, "lastUpdate": stamp}
    assert condition["energyThroughput"] == pytest.approx((7.0 + 6.5 + 6.6 + 2.0) / 1000)
    assert condition["numberOfFullCycles"]["numberOfFullCyclesValue"] == pytest.approx(5.95 / 2.0)
    # Remaining capacity: the latest good full discharge is cycle 2 (3 and 4 flagged, 8 partial).
    assert condition["remainingCapacity"] == {"remainingCapacityValue": 1.8, "lastUpdate": stamp}
    assert condition["capacityFade"]["capacityFadeValue"] == pytest.approx(10.0)
    assert condition["remainingEnergy"] == {"remainingEnergyalue": 0.0065, "lastUpdate": stamp}
    assert condition["stateOfCertifiedEnergy"]["stateOfCertifiedEnergyValue"] == pytest.approx(
        6.5 / 7.4 * 100, rel=1e-5
    )
    # Minutes, without the cycle whose sensor is implausible.
    assert condition["temperatureInformation"] == {
        "timeExtremeHighTemp": 2.0,
        "timeExtremeLowTemp": 5.0,
        "timeExtremeHighTempCharging": 2.0,
        "timeExtremeLowTempCharging": 0.0,
        "lastUpdate": stamp,
    }
    # Impedance series at 24 °C: 0.10 -> 0.12 Ohm is +20 %; the 4 °C measurement is not comparable.
    assert condition["internalResistanceIncrease"] == [
        {
            "internalResistanceIncreaseValue": pytest.approx(20.0),
            "batteryComponent": "cell",
            "lastUpdate": stamp,
        }
    ]
    events = [entry["negativeEvent"] for entry in condition["negativeEvents"]]
    assert events[0].startswith("deep discharge events: 2 ")
    assert events[1].startswith("overcharge events: 0 ")
    assert events[2] == "accident: dropped in transit (occurred 2025-02-01T08:00:00Z)"
    assert all(entry["lastUpdate"] == stamp for entry in condition["negativeEvents"])


def test_initial_resistance_and_missing_figures(history):
    payload = dynamic_attributes(
        history[:2],
        rated_capacity_ah=2.0,
        rated_energy_kwh=None,
        nominal_voltage_v=None,
        limits=LIMITS,
        initial_resistance_ohm=0.08,
        now=dt.datetime(2025, 3, 1, 12, 0, 0, 250_000),  # naive: taken as UTC
    )["batteryCondition"]
    assert payload["internalResistanceIncrease"][0]["internalResistanceIncreaseValue"] == pytest.approx(25.0)
    assert payload["internalResistanceIncrease"][0]["batteryComponent"] == "pack"
    assert payload["capacityThroughput"]["lastUpdate"] == "2025-03-01T12:00:00.250Z"
    for absent in ("remainingCapacity", "capacityFade", "remainingEnergy", "stateOfCertifiedEnergy"):
        assert absent not in payload
    # SOCE falls back to rated capacity x nominal voltage.
    soce = dynamic_attributes(
        history, rated_capacity_ah=2.0, rated_energy_kwh=None, nominal_voltage_v=3.7, limits=LIMITS, now=NOW
    )["batteryCondition"]["stateOfCertifiedEnergy"]
    assert soce["stateOfCertifiedEnergyValue"] == pytest.approx(6.5 / 7.4 * 100, rel=1e-5)


# The members of batteryCondition telemetry cannot feed, filled with valid values: BatteryConditionEntity
# requires all 18, and partial validation only lifts the category's top-level `required`.
OTHER_MEMBERS = {
    "remainingPowerCapability": [],
    "powerFade": 0.0,
    "roundTripEfficiencyFade": 0.0,
    "evolutionOfSelfDischarge": {"evolutionOfSelfDischargeEntityValue": 0.0},
    "currentSelfDischargingRate": {
        "currentSelfDischargingRateEntity": 0.0,
        "lastUpdate": "2025-01-01T00:00:00Z",
    },
    "roundTripEfficiencyat50PerCentCycleLife": 0.0,
    "remainingRoundTripEnergyEfficiency": {
        "remainingRoundTripEnergyEfficiencyValue": 0.0,
        "lastUpdate": "2025-01-01T00:00:00Z",
    },
    "stateOfCharge": {"stateOfChargeValue": 50.0, "lastUpdate": "2025-01-01T00:00:00Z"},
}


def test_attributes_validate_against_the_schema(history):
    payload = dynamic_attributes(
        history,
        rated_capacity_ah=2.0,
        rated_energy_kwh=0.0074,
        nominal_voltage_v=3.7,
        limits=LIMITS,
        accidents=[{"description": "water ingress"}],
        now=NOW,
    )
    produced = set(payload["batteryCondition"])
    assert produced | set(OTHER_MEMBERS) == set(
        batterypass.schema("PerformanceAndDurability")["components"]["schemas"]["BatteryConditionEntity"][
            "required"
        ]
    )
    # On its own the payload is well-formed: the only complaints are the members it does not carry.
    problems = batterypass.validate("PerformanceAndDurability", payload, partial=True)
    assert problems and all(
        p.path == "/batteryCondition" and p.message.endswith("is a required property") for p in problems
    )
    assert {p.message.split("'")[1] for p in problems} == set(OTHER_MEMBERS)
    merged = {"batteryCondition": {**OTHER_MEMBERS, **payload["batteryCondition"]}}
    assert batterypass.validate("PerformanceAndDurability", merged, partial=True) == []
