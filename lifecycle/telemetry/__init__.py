"""Telemetry: cycler and BMS data to a validated frame, per-cycle aggregates and passport attributes.

Pure Python on numpy, pyarrow and scipy; no models, no database. See docs/telemetry.md.
"""

from lifecycle.telemetry.aggregates import CycleAggregate, cycle_aggregates, discharge_ah_until
from lifecycle.telemetry.attributes import dynamic_attributes
from lifecycle.telemetry.frame import (
    Anomaly,
    CycleInfo,
    Problem,
    Step,
    TelemetryError,
    TelemetryFrame,
)
from lifecycle.telemetry.limits import OperatingLimits, limits_for
from lifecycle.telemetry.nasa import read_nasa_mat
from lifecycle.telemetry.readers import read_csv, read_parquet, read_telemetry

__all__ = [
    "Anomaly",
    "CycleAggregate",
    "CycleInfo",
    "OperatingLimits",
    "Problem",
    "Step",
    "TelemetryError",
    "TelemetryFrame",
    "cycle_aggregates",
    "discharge_ah_until",
    "dynamic_attributes",
    "limits_for",
    "read_csv",
    "read_nasa_mat",
    "read_parquet",
    "read_telemetry",
]
