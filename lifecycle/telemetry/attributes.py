"""The dynamic Battery Pass attributes telemetry can feed, as a partial PerformanceAndDurability payload.

Member names and nesting follow passport/standards/batterypass_1_2/PerformanceAndDurability.schema.json
exactly, typos included (``remainingEnergyalue``). Units follow the longlist (attributes_v1.2.csv):
Ah, kWh, %, minutes. How each figure is computed, and which cycles it leaves out, is in
docs/telemetry.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from lifecycle.telemetry.aggregates import CycleAggregate
from lifecycle.telemetry.limits import OperatingLimits

# A discharge counts as full when it got within 25 % of the minimum voltage (3.125 V for a 2.5 V
# floor): near the end of discharge the voltage falls steeply, so that is practically empty.
FULL_DISCHARGE_FACTOR = 1.25
# Resistances are compared only when measured at ambient temperatures this close (R depends on T).
SAME_AMBIENT_C = 3.0
SIGNIFICANT_DIGITS = 6

# Codes after which a cycle's current/time data are not trusted for throughput, its temperatures
# for exposure times, or its voltages for negative events. Any code at all excludes a cycle from
# capacity, energy and resistance (health) figures.
VOLTAGE_UNSOUND = frozenset({"non_finite_samples", "value_out_of_range", "cycle_overlap", "malformed_cycle"})
CURRENT_UNSOUND = VOLTAGE_UNSOUND | {"no_samples", "sampling_gap", "capacity_mismatch"}
TEMPERATURE_UNSOUND = VOLTAGE_UNSOUND | {"sampling_gap", "temperature_implausible"}


def dynamic_attributes(
    aggregates: Sequence[CycleAggregate],
    *,
    rated_capacity_ah: float,
    rated_energy_kwh: float | None,
    nominal_voltage_v: float | None,
    limits: OperatingLimits,
    accidents: Sequence[Mapping] = (),
    initial_resistance_ohm: float | None = None,
    now: dt.datetime,
    battery_component: str = "pack",
) -> dict:
    """``{"batteryCondition": {...}}`` with the members of #53-#93 the aggregates support.

    Members without data are left out (no remaining capacity without a good full discharge, no SOCE
    without a certified energy, no resistance increase without two comparable measurements).
    """
    stamp = timestamp(now)
    ordered = sorted(aggregates, key=lambda a: (a.started_at, a.cycle_index))
    condition: dict = {}

    sound = [a for a in ordered if not CURRENT_UNSOUND.intersection(a.anomalies)]
    capacity_throughput = sum(a.discharge_ah for a in sound)
    energy_throughput_kwh = sum(a.discharge_wh for a in sound) / 1000.0
    condition["energyThroughput"] = _sig(energy_throughput_kwh)
    condition["capacityThroughput"] = {
        "capacityThroughputValue": _sig(capacity_throughput),
        "lastUpdate": stamp,
    }
    if rated_capacity_ah and rated_capacity_ah > 0:
        condition["numberOfFullCycles"] = {
            "numberOfFullCyclesValue": _sig(capacity_throughput / rated_capacity_ah),
            "lastUpdate": stamp,
        }

    full = [a for a in ordered if not a.anomalies and is_full_discharge(a, limits)]
    if full:
        latest = full[-1]
        remaining_kwh = latest.discharge_wh / 1000.0
        condition["remainingCapacity"] = {
            "remainingCapacityValue": _sig(latest.discharge_ah),
            "lastUpdate": stamp,
        }
        if rated_capacity_ah and rated_capacity_ah > 0:
            fade = (1.0 - latest.discharge_ah / rated_capacity_ah) * 100.0
            condition["capacityFade"] = {"capacityFadeValue": _sig(fade), "lastUpdate": stamp}
        condition["remainingEnergy"] = {"remainingEnergyalue": _sig(remaining_kwh), "lastUpdate": stamp}
        certified = certified_energy_kwh(rated_capacity_ah, rated_energy_kwh, nominal_voltage_v)
        if certified:
            condition["stateOfCertifiedEnergy"] = {
                "stateOfCertifiedEnergyValue": _sig(remaining_kwh / certified * 100.0),
                "lastUpdate": stamp,
            }

    measured = [a for a in ordered if not TEMPERATURE_UNSOUND.intersection(a.anomalies)]
    condition["temperatureInformation"] = {
        "timeExtremeHighTemp": _minutes(sum(a.time_above_temp_s for a in measured)),
        "timeExtremeLowTemp": _minutes(sum(a.time_below_temp_s for a in measured)),
        "timeExtremeHighTempCharging": _minutes(sum(a.charging_time_above_temp_s for a in measured)),
        "timeExtremeLowTempCharging": _minutes(sum(a.charging_time_below_temp_s for a in measured)),
        "lastUpdate": stamp,
    }

    increase = resistance_increase_percent(ordered, initial_resistance_ohm)
    if increase is not None:
        condition["internalResistanceIncrease"] = [
            {
                "internalResistanceIncreaseValue": _sig(increase),
                "batteryComponent": battery_component,
                "lastUpdate": stamp,
            }
        ]

    trusted = [a for a in ordered if not VOLTAGE_UNSOUND.intersection(a.anomalies)]
    deep = sum(a.deep_discharge_events for a in trusted)
    over = sum(a.overcharge_events for a in trusted)
    below = f"voltage below the minimum of {limits.min_voltage_v:g} V"
    above = f"voltage above the maximum of {limits.max_voltage_v:g} V"
    condition["negativeEvents"] = [
        {"negativeEvent": f"deep discharge events: {deep} ({below})", "lastUpdate": stamp},
        {"negativeEvent": f"overcharge events: {over} ({above})", "lastUpdate": stamp},
        *({"negativeEvent": _accident(accident), "lastUpdate": stamp} for accident in accidents),
    ]
    return {"batteryCondition": condition}


def is_full_discharge(aggregate: CycleAggregate, limits: OperatingLimits) -> bool:
    return (
        aggregate.kind in ("discharge", "mixed")
        and aggregate.discharge_ah > 0
        and aggregate.voltage_min_v is not None
        and aggregate.voltage_min_v <= limits.min_voltage_v * FULL_DISCHARGE_FACTOR
    )


def certified_energy_kwh(
    rated_capacity_ah: float, rated_energy_kwh: float | None, nominal_voltage_v: float | None
) -> float | None:
    """The energy SOCE refers to: the rated energy, else rated capacity x nominal voltage."""
    if rated_energy_kwh and rated_energy_kwh > 0:
        return rated_energy_kwh
    if nominal_voltage_v and nominal_voltage_v > 0 and rated_capacity_ah and rated_capacity_ah > 0:
        return rated_capacity_ah * nominal_voltage_v / 1000.0
    return None


def resistance_increase_percent(
    ordered: Sequence[CycleAggregate], initial_resistance_ohm: float | None
) -> float | None:
    """(R(x) - R_BOL) / R_BOL x 100 from good cycles of one kind of measurement.

    Impedance cycles (Re + Rct) are preferred over current steps when both exist, because the two
    methods differ; R_BOL is ``initial_resistance_ohm`` when given, else the first measurement, and
    R(x) the latest one taken at the same ambient temperature as the first.
    """
    candidates = [
        a for a in ordered if not a.anomalies and a.resistance_ohm is not None and a.resistance_ohm > 0
    ]
    series = [a for a in candidates if a.kind == "impedance"] or candidates
    if not series:
        return None
    first = series[0]
    comparable = [a for a in series if _same_ambient(a, first)]
    latest = comparable[-1]
    reference = (
        initial_resistance_ohm
        if initial_resistance_ohm and initial_resistance_ohm > 0
        else first.resistance_ohm
    )
    return (latest.resistance_ohm - reference) / reference * 100.0


def _same_ambient(a: CycleAggregate, b: CycleAggregate) -> bool:
    if a.ambient_temperature_c is None or b.ambient_temperature_c is None:
        return True
    return abs(a.ambient_temperature_c - b.ambient_temperature_c) <= SAME_AMBIENT_C


def _accident(accident: Mapping) -> str:
    description = str(accident.get("description") or accident.get("negativeEvent") or "").strip()
    when = accident.get("occurred_at") or accident.get("occurredAt") or accident.get("date")
    if isinstance(when, dt.datetime):
        when = timestamp(when)
    text = (
        description
        if description.lower().startswith("accident")
        else f"accident: {description or 'reported'}"
    )
    return f"{text} (occurred {when})" if when else text


def timestamp(moment: dt.datetime) -> str:
    """ISO 8601 in UTC with "Z"; a naive datetime counts as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    moment = moment.astimezone(dt.UTC)
    return moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds").replace(
        "+00:00", "Z"
    )


def _minutes(seconds: float) -> float:
    return _sig(seconds / 60.0)


def _sig(value: float) -> float:
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
