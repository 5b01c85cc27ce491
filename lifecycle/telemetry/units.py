"""Column names with units in brackets (``voltage[mV]``), their conversion to SI, and plausibility.

Every quantity is converted to one unit on the way in: V, A, degrees Celsius and epoch seconds.
A unit not listed here is refused, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

# quantity -> unit -> (scale, offset): si = value * scale + offset
UNITS: dict[str, dict[str, tuple[float, float]]] = {
    "voltage": {"V": (1.0, 0.0), "mV": (1e-3, 0.0)},
    "current": {"A": (1.0, 0.0), "mA": (1e-3, 0.0)},
    "temperature": {"degC": (1.0, 0.0), "°C": (1.0, 0.0), "K": (1.0, -273.15)},
    # ``time`` without a unit is an absolute instant (ISO 8601 or epoch seconds); with a unit it is
    # seconds counted from the reader's ``start`` (epoch seconds when no start is given).
    "time": {"s": (1.0, 0.0), "ms": (1e-3, 0.0)},
}
UNITLESS = {"time", "cycle", "step"}  # columns that may (time) or must (cycle, step) come without a unit
REQUIRED = ("time", "voltage", "current", "temperature")
QUANTITIES = (*REQUIRED, "cycle", "step")

# Physically impossible beyond these (SI units); readers reject (CSV, Parquet) or drop and flag (NASA).
# They are wide on purpose: a 1000 V pack and a -60 °C cold soak are real, 1 kV+ or 200 °C+ are not.
VOLTAGE_RANGE_V = (0.0, 1000.0)
CURRENT_LIMIT_A = 10_000.0
TEMPERATURE_RANGE_C = (-60.0, 200.0)
# Absolute timestamps outside these years are taken for relative seconds or a wrong unit.
TIME_RANGE_S = (631_152_000.0, 4_102_444_800.0)  # 1990-01-01 .. 2100-01-01 UTC

_HEADER = re.compile(r"^\s*([A-Za-z_]+)\s*(?:\[\s*([^\]]*?)\s*\])?\s*$")


@dataclass(frozen=True)
class Column:
    name: str  # as spelled in the file, for error paths
    quantity: str  # one of QUANTITIES
    unit: str | None


class UnitError(ValueError):
    """A known quantity with a unit we do not accept; the message says which units are accepted."""


def parse_column(name: str, unit_hint: str | None = None) -> Column | None:
    """The quantity and unit of a header name; None for columns we do not read.

    ``unit_hint`` is a unit given outside the name (Parquet field metadata); a unit in the name wins
    if both are given and they disagree is an error.
    """
    match = _HEADER.match(name)
    if not match:
        return None
    quantity, unit = match.group(1).lower(), match.group(2)
    if quantity not in QUANTITIES:
        return None
    if unit_hint and unit and unit_hint != unit:
        raise UnitError(f"the name says [{unit}] but the field metadata says unit {unit_hint!r}")
    unit = unit or unit_hint or None
    if unit is None:
        if quantity in UNITLESS:
            return Column(name, quantity, None)
        raise UnitError(f"{quantity} needs a unit in brackets: {accepted(quantity)}")
    if quantity in ("cycle", "step"):
        raise UnitError(f"{quantity} takes no unit")
    if unit not in UNITS[quantity]:
        raise UnitError(f"unknown unit {unit!r} for {quantity}; use {accepted(quantity)}")
    return Column(name, quantity, unit)


def accepted(quantity: str) -> str:
    spellings = [f"{quantity}[{unit}]" for unit in UNITS.get(quantity, {})]
    if quantity in UNITLESS:
        spellings.insert(0, quantity)
    return " or ".join(spellings)


def to_si(values: np.ndarray, quantity: str, unit: str | None) -> np.ndarray:
    if unit is None:
        return values
    scale, offset = UNITS[quantity][unit]
    if scale == 1.0 and offset == 0.0:
        return values
    return values * scale + offset


def from_si(value: float, quantity: str, unit: str | None) -> float:
    """A value back in the file's unit, so messages quote what the user wrote."""
    if unit is None:
        return value
    scale, offset = UNITS[quantity][unit]
    return (value - offset) / scale
