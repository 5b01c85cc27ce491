"""Per-cycle figures from a frame: charge and energy, extremes, resistance, events, temperature exposure.

Everything is integrated over the intervals between consecutive samples of the same cycle (the gap
between two cycles is not data) with the trapezoid rule on the linearly interpolated signal, split
exactly where it changes sign. All sums run as cumulative sums over the whole frame, so the cost is
a few passes over the arrays whatever the number of cycles.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lifecycle.telemetry.frame import STEP_NAMES, CycleInfo, Step, TelemetryFrame, current_deadband
from lifecycle.telemetry.limits import OperatingLimits

# A deep discharge is an excursion more than 2 % below the minimum voltage, an overcharge one more
# than 1 % above the maximum; either ends when the voltage is back inside the limit, so noise around
# the limit counts once. The margins absorb a cycler's sampling overshoot at its cutoff under load
# (NASA B0047 stops at 2.5 V and logs down to 2.465 V) and sensor accuracy.
DEEP_DISCHARGE_MARGIN = 0.02
OVERCHARGE_MARGIN = 0.01
EVENT_MERGE_S = 300.0
# Resistance from current steps: consecutive samples at most this far apart whose current changes by
# at least this share of the cycle's peak current; R is the median of dV/dI over those steps.
PULSE_MAX_INTERVAL_S = 30.0
PULSE_MIN_STEP_FRACTION = 0.2
# Anomaly thresholds (docs/telemetry.md).
MIN_SAMPLES = 10
GAP_MIN_S = 600.0
GAP_FACTOR = 20.0
TEMPERATURE_JUMP_C = 5.0
TEMPERATURE_RATE_C_PER_S = 0.5
BELOW_AMBIENT_C = 10.0

KINDS = ("charge", "discharge", "impedance", "rest", "mixed")
_OPTIONAL = {
    "voltage_min_v": None,
    "voltage_max_v": None,
    "temperature_min_c": None,
    "temperature_max_c": None,
    "temperature_mean_c": None,
    "resistance_ohm": None,
    "reported_capacity_ah": None,
    "ambient_temperature_c": None,
    "deep_discharge_events": 0,
    "overcharge_events": 0,
    "time_above_temp_s": 0.0,
    "time_below_temp_s": 0.0,
    "charging_time_above_temp_s": 0.0,
    "charging_time_below_temp_s": 0.0,
}


@dataclass
class CycleAggregate:
    cycle_index: int
    kind: str  # 'charge' | 'discharge' | 'impedance' | 'rest' | 'mixed'
    started_at: float  # epoch seconds UTC
    duration_s: float
    samples: int
    charge_ah: float
    discharge_ah: float
    charge_wh: float
    discharge_wh: float
    voltage_min_v: float | None
    voltage_max_v: float | None
    temperature_min_c: float | None
    temperature_max_c: float | None
    temperature_mean_c: float | None  # time-weighted
    resistance_ohm: float | None  # current steps (median dV/dI); impedance cycles: Re + Rct
    reported_capacity_ah: float | None
    ambient_temperature_c: float | None
    deep_discharge_events: int
    overcharge_events: int
    time_above_temp_s: float
    time_below_temp_s: float
    charging_time_above_temp_s: float
    charging_time_below_temp_s: float
    anomalies: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["anomalies"] = list(self.anomalies)
        return data

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CycleAggregate:
        """The inverse of ``to_dict``; tolerates extra keys and missing optional ones (stored rows)."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {key: value for key, value in d.items() if key in names}
        for key, default in _OPTIONAL.items():
            values.setdefault(key, default)
        values.setdefault("anomalies", [])
        started = values.get("started_at")
        if isinstance(started, dt.datetime):
            values["started_at"] = (started if started.tzinfo else started.replace(tzinfo=dt.UTC)).timestamp()
        values["anomalies"] = list(values["anomalies"] or [])
        return cls(**values)


# --- integration helpers -------------------------------------------------------------------------


def _split(a: np.ndarray, b: np.ndarray, width: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positive and negative area of the straight line from a to b over ``width``, per interval."""
    area = (a + b) * 0.5 * width
    positive = np.where(area > 0, area, 0.0)
    negative = np.where(area < 0, -area, 0.0)
    crossing = (a * b) < 0
    if crossing.any():
        ac, bc, wc = a[crossing], b[crossing], width[crossing]
        denominator = 2.0 * (np.abs(ac) + np.abs(bc))
        high, low = np.maximum(ac, bc), np.minimum(ac, bc)
        positive[crossing] = high * high / denominator * wc
        negative[crossing] = low * low / denominator * wc
    return positive, negative


def _beyond(a: np.ndarray, b: np.ndarray, threshold: float, above: bool) -> np.ndarray:
    """Share of each interval the linearly interpolated signal spends beyond ``threshold``."""
    x, y = (a - threshold, b - threshold) if above else (threshold - a, threshold - b)
    share = np.where((x > 0) & (y > 0), 1.0, 0.0)
    crossing = (x > 0) != (y > 0)
    if crossing.any():
        xc, yc = x[crossing], y[crossing]
        with np.errstate(invalid="ignore", divide="ignore"):
            part = np.maximum(xc, yc) / (np.abs(xc) + np.abs(yc))
        share[crossing] = np.nan_to_num(part)
    return share


def discharge_ah_until(
    time: np.ndarray, voltage: np.ndarray, current: np.ndarray, cutoff_v: float | None = None
) -> float:
    """Charge discharged (Ah) from the first sample up to and including the first one below
    ``cutoff_v``; the whole series when there is no cutoff or it is never reached."""
    stop = len(time)
    if cutoff_v is not None:
        below = np.flatnonzero(voltage < cutoff_v)
        if below.size:
            stop = int(below[0]) + 1
    if stop < 2:
        return 0.0
    _, negative = _split(current[: stop - 1], current[1:stop], np.diff(time[:stop]))
    return float(negative.sum() / 3600.0)


def _excursions(time: np.ndarray, enter: np.ndarray, leave: np.ndarray) -> np.ndarray:
    """True at each sample where an event begins. ``enter`` starts an excursion, ``leave`` ends it,
    samples in between keep the state (hysteresis); an excursion starting less than
    ``EVENT_MERGE_S`` after the previous one ended continues the same event (a pulsed load dipping
    below the limit on every pulse is one deep discharge, not one per pulse)."""
    n = len(time)
    state = np.where(enter, 1, np.where(leave, 0, -1)).astype(np.int8)
    known = np.where(state >= 0, np.arange(n), -1)
    np.maximum.accumulate(known, out=known)
    filled = np.where(known >= 0, state[np.maximum(known, 0)], 0)
    previous = np.concatenate(([0], filled[:-1]))
    begins = np.flatnonzero((filled == 1) & (previous == 0))
    ends = np.flatnonzero((filled == 0) & (previous == 1))
    if begins.size > 1:
        # Begins and ends alternate from a released start, so begin k follows end k - 1.
        apart = time[begins[1:]] - time[ends[: begins.size - 1]] >= EVENT_MERGE_S
        begins = begins[np.concatenate(([True], apart))]
    events = np.zeros(n, dtype=bool)
    events[begins] = True
    return events


def _group_median(values: np.ndarray, groups: np.ndarray, count: int) -> np.ndarray:
    result = np.full(count, np.nan)
    if values.size == 0:
        return result
    order = np.lexsort((values, groups))
    values, groups = values[order], groups[order]
    sizes = np.bincount(groups, minlength=count)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    has = sizes > 0
    low = starts[has] + (sizes[has] - 1) // 2
    high = starts[has] + sizes[has] // 2
    result[has] = (values[low] + values[high]) / 2
    return result


# --- per-cycle aggregation -----------------------------------------------------------------------


def cycle_aggregates(frame: TelemetryFrame, limits: OperatingLimits) -> list[CycleAggregate]:
    """One aggregate per cycle of the frame (also cycles without samples), in frame order."""
    figures = _SampleFigures(frame, limits) if len(frame) else None
    flagged: dict[int, list[str]] = {}
    for anomaly in frame.anomalies:
        if anomaly.cycle is not None:
            codes = flagged.setdefault(anomaly.cycle, [])
            if anomaly.code not in codes:
                codes.append(anomaly.code)
    result = []
    for info in frame.cycles:
        position = figures.position.get(info.index) if figures else None
        aggregate = figures.aggregate(info, position) if position is not None else _without_samples(info)
        aggregate.anomalies = flagged.get(info.index, []) + [
            code
            for code in _checks(aggregate, info, figures, position)
            if code not in flagged.get(info.index, [])
        ]
        result.append(aggregate)
    return result


def _without_samples(info: CycleInfo) -> CycleAggregate:
    resistance = info.re_ohm + info.rct_ohm if info.re_ohm is not None and info.rct_ohm is not None else None
    return CycleAggregate(
        cycle_index=info.index,
        kind=STEP_NAMES[info.step],
        started_at=info.started_at,
        duration_s=0.0,
        samples=0,
        charge_ah=0.0,
        discharge_ah=0.0,
        charge_wh=0.0,
        discharge_wh=0.0,
        voltage_min_v=None,
        voltage_max_v=None,
        temperature_min_c=None,
        temperature_max_c=None,
        temperature_mean_c=None,
        resistance_ohm=resistance,
        reported_capacity_ah=info.reported_capacity_ah,
        ambient_temperature_c=info.ambient_temperature_c,
        deep_discharge_events=0,
        overcharge_events=0,
        time_above_temp_s=0.0,
        time_below_temp_s=0.0,
        charging_time_above_temp_s=0.0,
        charging_time_below_temp_s=0.0,
    )


class _SampleFigures:
    """Every per-cycle figure of a non-empty frame, computed at once over all samples."""

    def __init__(self, frame: TelemetryFrame, limits: OperatingLimits):
        n = len(frame)
        t, v, i, temp = frame.time, frame.voltage_v, frame.current_a, frame.temperature_c
        starts = np.concatenate(([0], np.flatnonzero(np.diff(frame.cycle) != 0) + 1))
        stops = np.concatenate((starts[1:], [n]))
        self.starts, self.stops = starts, stops
        self.position = {int(frame.cycle[a]): k for k, a in enumerate(starts)}
        lengths = stops - starts
        segment = np.repeat(np.arange(len(starts)), lengths)

        raw = np.diff(t)
        same = frame.cycle[1:] == frame.cycle[:-1]
        width = np.where(same, raw, 0.0)
        deadband = current_deadband(i)

        def per_cycle(interval_values: np.ndarray) -> np.ndarray:
            running = np.concatenate(([0.0], np.cumsum(interval_values)))
            return running[stops - 1] - running[starts]

        charge, discharge = _split(i[:-1], i[1:], width)
        power = v * i
        charge_e, discharge_e = _split(power[:-1], power[1:], width)
        self.charge_ah = per_cycle(charge) / 3600.0
        self.discharge_ah = per_cycle(discharge) / 3600.0
        self.charge_wh = per_cycle(charge_e) / 3600.0
        self.discharge_wh = per_cycle(discharge_e) / 3600.0
        self.duration = t[stops - 1] - t[starts]
        self.temperature_integral = per_cycle((temp[:-1] + temp[1:]) * 0.5 * width)
        self.temperature_sum = per_cycle_samples(temp, starts, stops)

        charging = (i[:-1] + i[1:]) * 0.5 > deadband
        above = _beyond(temp[:-1], temp[1:], limits.temp_high_c, above=True) * width
        below = _beyond(temp[:-1], temp[1:], limits.temp_low_c, above=False) * width
        self.above = per_cycle(above)
        self.below = per_cycle(below)
        self.charging_above = per_cycle(np.where(charging, above, 0.0))
        self.charging_below = per_cycle(np.where(charging, below, 0.0))

        self.v_min, self.v_max = np.minimum.reduceat(v, starts), np.maximum.reduceat(v, starts)
        self.t_min, self.t_max = np.minimum.reduceat(temp, starts), np.maximum.reduceat(temp, starts)

        deep = _excursions(
            t, v < limits.min_voltage_v * (1 - DEEP_DISCHARGE_MARGIN), v >= limits.min_voltage_v
        )
        over = _excursions(t, v > limits.max_voltage_v * (1 + OVERCHARGE_MARGIN), v <= limits.max_voltage_v)
        self.deep = per_cycle_samples(deep.astype(np.float64), starts, stops).astype(int)
        self.over = per_cycle_samples(over.astype(np.float64), starts, stops).astype(int)

        # Resistance: dV/dI over current steps (V = OCV + R*I with I > 0 charging, so dV/dI = R > 0).
        peak = np.maximum.reduceat(np.abs(i), starts)
        step_current = np.diff(i)
        interval_segment = segment[:-1]
        threshold = np.maximum(PULSE_MIN_STEP_FRACTION * peak[interval_segment], 10 * deadband)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.diff(v) / step_current
        steps = (
            same
            & (raw > 0)
            & (raw <= PULSE_MAX_INTERVAL_S)
            & (np.abs(step_current) >= threshold)
            & (ratio > 0)
        )
        self.resistance = _group_median(ratio[steps], interval_segment[steps], len(starts))

        # Inputs of the anomaly checks.
        mean_interval = np.where(lengths > 1, self.duration / np.maximum(lengths - 1, 1), 0.0)
        gap = same & (raw > np.maximum(GAP_MIN_S, GAP_FACTOR * mean_interval[interval_segment]))
        jump = same & (np.abs(np.diff(temp)) > TEMPERATURE_JUMP_C + TEMPERATURE_RATE_C_PER_S * raw)
        self.gaps = per_cycle(gap.astype(np.float64))
        self.jumps = per_cycle(jump.astype(np.float64))
        self.step_counts = {
            value: per_cycle_samples((frame.step == value).astype(np.float64), starts, stops)
            for value in (Step.CHARGE, Step.DISCHARGE, Step.IMPEDANCE)
        }

    def aggregate(self, info: CycleInfo, k: int) -> CycleAggregate:
        samples = int(self.stops[k] - self.starts[k])
        duration = float(self.duration[k])
        mean = (
            self.temperature_integral[k] / duration
            if duration > 0
            else self.temperature_sum[k] / max(samples, 1)
        )
        present = [value for value, counts in self.step_counts.items() if counts[k] > 0]
        if not present:
            kind = "rest"
        elif len(present) == 1:
            kind = STEP_NAMES[present[0]]
        else:
            kind = "mixed"
        if info.step == Step.IMPEDANCE and info.re_ohm is not None and info.rct_ohm is not None:
            resistance = info.re_ohm + info.rct_ohm
        else:
            resistance = None if np.isnan(self.resistance[k]) else float(self.resistance[k])
        return CycleAggregate(
            cycle_index=info.index,
            kind=kind,
            started_at=info.started_at,
            duration_s=duration,
            samples=samples,
            charge_ah=float(self.charge_ah[k]),
            discharge_ah=float(self.discharge_ah[k]),
            charge_wh=float(self.charge_wh[k]),
            discharge_wh=float(self.discharge_wh[k]),
            voltage_min_v=float(self.v_min[k]),
            voltage_max_v=float(self.v_max[k]),
            temperature_min_c=float(self.t_min[k]),
            temperature_max_c=float(self.t_max[k]),
            temperature_mean_c=float(mean),
            resistance_ohm=resistance,
            reported_capacity_ah=info.reported_capacity_ah,
            ambient_temperature_c=info.ambient_temperature_c,
            deep_discharge_events=int(self.deep[k]),
            overcharge_events=int(self.over[k]),
            time_above_temp_s=float(self.above[k]),
            time_below_temp_s=float(self.below[k]),
            charging_time_above_temp_s=float(self.charging_above[k]),
            charging_time_below_temp_s=float(self.charging_below[k]),
        )


def per_cycle_samples(values: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    running = np.concatenate(([0.0], np.cumsum(values)))
    return running[stops] - running[starts]


def _checks(
    aggregate: CycleAggregate, info: CycleInfo, figures: _SampleFigures | None, position: int | None
) -> list[str]:
    """Anomaly codes the aggregation itself finds (readers add their own before)."""
    codes = []
    if aggregate.samples == 0:
        if info.step in (Step.CHARGE, Step.DISCHARGE):
            codes.append("no_samples")
        return codes
    if aggregate.kind in ("charge", "discharge", "mixed") and aggregate.samples < MIN_SAMPLES:
        codes.append("too_few_samples")
    if figures is not None and position is not None:
        if figures.gaps[position] > 0:
            codes.append("sampling_gap")
        ambient = aggregate.ambient_temperature_c
        too_cold = ambient is not None and aggregate.temperature_min_c < ambient - BELOW_AMBIENT_C
        if figures.jumps[position] > 0 or too_cold:
            codes.append("temperature_implausible")
    if (aggregate.kind == "charge" and aggregate.discharge_ah > aggregate.charge_ah) or (
        aggregate.kind == "discharge" and aggregate.charge_ah > aggregate.discharge_ah
    ):
        codes.append("step_mismatch")
    return codes
