"""Operating limits against which negative events and extreme temperatures are counted.

The passport's own figures win (``batteryTechicalProperties`` of PerformanceAndDurability, pack
level when the passport is for a pack); what it lacks comes from per-cell chemistry defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from passport.chemistry import chemistry_family

# The longlist's "Temperature range idle state" (#85/#86) is a lower and an upper boundary, but the
# v1.2 schema has one number. Every safe range contains room temperature, so a lone boundary below
# this is the lower one and at or above it the upper one (the demo content stores the upper one).
ROOM_TEMPERATURE_C = 20.0


@dataclass(frozen=True)
class OperatingLimits:
    min_voltage_v: float
    max_voltage_v: float
    temp_low_c: float
    temp_high_c: float
    source: str  # where each figure came from, for the record


@dataclass(frozen=True)
class _Defaults:
    min_voltage_v: float
    max_voltage_v: float
    temp_low_c: float
    temp_high_c: float


# Per cell. Voltages: the lower and upper limits of safe operation in typical datasheets (not the
# tighter cycling cutoffs): a discharge that stops at 2.5 V on an LCO cell is not a deep discharge,
# one that goes on to 2.2 or 2.0 V is. Temperatures: idle (storage) range, lower boundary -20 °C as
# the schema's TemperatureRangeIdleStateTrait allows at most; upper boundary as in the demo content.
CHEMISTRY_DEFAULTS: dict[str, _Defaults] = {
    "NMC": _Defaults(2.5, 4.2, -20.0, 45.0),
    "NCA": _Defaults(2.5, 4.2, -20.0, 45.0),
    "LCO": _Defaults(2.5, 4.2, -20.0, 45.0),
    "LMO": _Defaults(2.5, 4.2, -20.0, 45.0),
    "LFP": _Defaults(2.5, 3.65, -20.0, 50.0),
    "LTO": _Defaults(1.5, 2.8, -20.0, 55.0),
}
# Unknown chemistry: the envelope of the above, so only what is out of range for every lithium-ion
# chemistry counts (no negative event is claimed that another chemistry would call normal).
UNKNOWN_DEFAULTS = _Defaults(1.5, 4.4, -20.0, 60.0)


def limits_for(technical_properties: Mapping | None, chemistry: str | None) -> OperatingLimits:
    """Limits from the passport's technical properties where present, else chemistry defaults."""
    family = chemistry_family(chemistry)
    defaults = CHEMISTRY_DEFAULTS.get(family) if family else None
    fallback = (
        f"{family} default" if defaults else f"conservative default for unknown chemistry {chemistry!r}"
    )
    defaults = defaults or UNKNOWN_DEFAULTS
    properties = technical_properties or {}
    chosen = {
        "min_voltage_v": (defaults.min_voltage_v, fallback),
        "max_voltage_v": (defaults.max_voltage_v, fallback),
        "temp_low_c": (defaults.temp_low_c, fallback),
        "temp_high_c": (defaults.temp_high_c, fallback),
    }
    minimum, maximum = _number(properties.get("minimumVoltage")), _number(properties.get("maximumVoltage"))
    if minimum is not None and minimum > 0 and (maximum is None or minimum < maximum):
        chosen["min_voltage_v"] = (minimum, "passport minimumVoltage")
    if maximum is not None and maximum > chosen["min_voltage_v"][0]:
        chosen["max_voltage_v"] = (maximum, "passport maximumVoltage")
    low, high = _idle_range(properties.get("temperatureRangeIdleState"))
    if low is not None and low < chosen["temp_high_c"][0]:
        chosen["temp_low_c"] = (low, "passport temperatureRangeIdleState (lower)")
    if high is not None and high > chosen["temp_low_c"][0]:
        chosen["temp_high_c"] = (high, "passport temperatureRangeIdleState (upper)")
    return OperatingLimits(
        min_voltage_v=chosen["min_voltage_v"][0],
        max_voltage_v=chosen["max_voltage_v"][0],
        temp_low_c=chosen["temp_low_c"][0],
        temp_high_c=chosen["temp_high_c"][0],
        source=_describe(chosen),
    )


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if value == value and abs(value) != float("inf") else None


def _idle_range(value: object) -> tuple[float | None, float | None]:
    """(lower, upper) from the schema's single number, or from a pair or a lower/upper mapping."""
    if isinstance(value, Mapping):
        low = next(
            (_number(value.get(key)) for key in ("lowerBoundary", "lower", "min") if key in value), None
        )
        high = next(
            (_number(value.get(key)) for key in ("upperBoundary", "upper", "max") if key in value), None
        )
        return low, high
    if isinstance(value, list | tuple) and len(value) == 2:
        low, high = _number(value[0]), _number(value[1])
        if low is not None and high is not None and low > high:
            low, high = high, low
        return low, high
    single = _number(value)
    if single is None:
        return None, None
    return (single, None) if single < ROOM_TEMPERATURE_C else (None, single)


def _describe(chosen: dict[str, tuple[float, str]]) -> str:
    parts = []
    for label, key in (("min voltage", "min_voltage_v"), ("max voltage", "max_voltage_v")):
        value, origin = chosen[key]
        parts.append(f"{label} {value:g} V ({origin})")
    for label, key in (("low temperature", "temp_low_c"), ("high temperature", "temp_high_c")):
        value, origin = chosen[key]
        parts.append(f"{label} {value:g} °C ({origin})")
    return "; ".join(parts)
