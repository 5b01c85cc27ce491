"""NASA PCoE Li-ion aging data (MATLAB 5 ``.mat``, one struct per cell with a ``cycle`` array).

Real lab data is irregular, and that must not stop an upload: a cycle that is odd but readable is
kept and flagged (``Anomaly`` with the cycle index and a code from docs/telemetry.md), a cycle that
cannot be read is skipped and flagged; only a file that is not a NASA battery struct at all is
rejected. Decisions (all documented in docs/telemetry.md):

* ``time`` is a MATLAB date vector in the lab's local time; the dataset does not say which zone,
  so it is taken as UTC. Sample time is that start plus the cycle's ``Time`` (seconds).
* A cycle starting before the previous one ended keeps its own times (``cycle_overlap``): the
  samples stay monotonic per cycle, which is what storage needs, and nothing is invented.
* Time that goes backwards inside a cycle (a logger restart) is repaired by shifting the later
  samples to continue one median sampling interval after the last good one (``time_not_monotonic``).
* Non-finite or physically impossible samples are dropped (``non_finite_samples``,
  ``value_out_of_range``); impedance cycles keep only Re/Rct on their ``CycleInfo``.
* NASA's ``Capacity`` is the charge delivered until the measured voltage first drops below 2.7 V
  (verified to 0.01 % on B0025/29/30/45/47), whatever the cell's own cutoff was; it is checked
  against our integral to the same point (``capacity_mismatch``); zero or missing is
  ``capacity_missing``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from lifecycle.telemetry import units
from lifecycle.telemetry.aggregates import discharge_ah_until
from lifecycle.telemetry.frame import (
    Anomaly,
    CycleInfo,
    Problem,
    Step,
    TelemetryError,
    TelemetryFrame,
    empty_frame,
)
from lifecycle.telemetry.tabular import CountingReader, Progress, Source, open_binary

NASA_CAPACITY_CUTOFF_V = 2.7
# Our integral and NASA's figure agree to 0.01 % on good cycles; 3 % apart means the samples or the
# figure are wrong.
CAPACITY_TOLERANCE = 0.03
TYPES = {"charge": Step.CHARGE, "discharge": Step.DISCHARGE, "impedance": Step.IMPEDANCE}
SAMPLE_FIELDS = ("Time", "Voltage_measured", "Current_measured", "Temperature_measured")
# Re and Rct of an 18650 are tens of milliohms; beyond this the fit failed.
IMPEDANCE_MAX_OHM = 10.0


class _Malformed(ValueError):
    pass


def read_nasa_mat(source: Source, *, progress: Progress = None) -> TelemetryFrame:
    """Read a NASA PCoE battery ``.mat`` into a frame; only a non-NASA or unreadable file raises."""
    with open_binary(source) as stream:
        counting = CountingReader(stream, progress)
        contents = _load(counting)
    name, battery = _battery(contents)
    cycles = _cycle_entries(name, battery)
    return FrameBuilder(name).build(cycles)


def _load(stream: CountingReader) -> dict[str, Any]:
    import scipy.io  # 0.2 s to import: only when a .mat file is actually read

    try:
        return scipy.io.loadmat(stream, squeeze_me=False, struct_as_record=True)
    except NotImplementedError as exc:
        message = f"MATLAB v7.3 (HDF5) files are not supported; save with -v7 ({exc})"
        raise TelemetryError([Problem("/", message)]) from None
    except Exception as exc:  # any failure to parse untrusted bytes is a rejection, whatever its type
        message = (
            f"not a readable MATLAB 5 .mat file (truncated or another format): {type(exc).__name__}: {exc}"
        )
        raise TelemetryError([Problem("/", message[:300])]) from None


def _battery(contents: dict[str, Any]) -> tuple[str, np.void]:
    variables = {key: value for key, value in contents.items() if not key.startswith("__")}
    candidates = [
        key
        for key, value in variables.items()
        if isinstance(value, np.ndarray) and value.dtype.names and "cycle" in value.dtype.names and value.size
    ]
    if not candidates:
        listed = ", ".join(sorted(variables)) or "none"
        raise TelemetryError(
            [
                Problem(
                    "/cycle",
                    f"no struct with a 'cycle' array (variables: {listed}): not a NASA PCoE battery file",
                )
            ]
        )
    if len(candidates) > 1:
        raise TelemetryError(
            [
                Problem(
                    "/",
                    f"more than one battery struct ({', '.join(sorted(candidates))}); one cell per file",
                )
            ]
        )
    name = candidates[0]
    return name, variables[name].flat[0]


def _cycle_entries(name: str, battery: np.void) -> np.ndarray:
    cycles = battery["cycle"]
    path = f"/{name}/cycle"
    if not isinstance(cycles, np.ndarray) or not cycles.dtype.names:
        raise TelemetryError([Problem(path, "is not a struct array")])
    missing = [field for field in ("type", "time", "data") if field not in cycles.dtype.names]
    if missing:
        raise TelemetryError(
            [Problem(path, f"entries lack {', '.join(missing)}: not a NASA PCoE battery file")]
        )
    if cycles.size == 0:
        raise TelemetryError([Problem(path, "has no cycles")])
    return cycles.ravel()


class FrameBuilder:
    def __init__(self, name: str):
        self.name = name
        self.infos: list[CycleInfo] = []
        self.anomalies: list[Anomaly] = []
        self.parts: dict[str, list[np.ndarray]] = {key: [] for key in ("cycle", "step", "t", "v", "i", "T")}
        self.previous_end = -np.inf

    def flag(self, cycle: int, code: str, message: str) -> None:
        self.anomalies.append(Anomaly(cycle, code, message))

    def build(self, entries: np.ndarray) -> TelemetryFrame:
        for index, entry in enumerate(entries):
            try:
                self._cycle(index, entry)
            except _Malformed as exc:
                self.flag(index, "malformed_cycle", f"{exc}; the cycle is skipped")
        if not any(len(part) for part in self.parts["t"]):
            return empty_frame("nasa-mat", self.infos, self.anomalies)
        return TelemetryFrame(
            cycle=np.concatenate(self.parts["cycle"]).astype(np.int32),
            step=np.concatenate(self.parts["step"]).astype(np.int16),
            time=np.concatenate(self.parts["t"]),
            voltage_v=np.concatenate(self.parts["v"]),
            current_a=np.concatenate(self.parts["i"]),
            temperature_c=np.concatenate(self.parts["T"]),
            cycles=self.infos,
            anomalies=self.anomalies,
            source_format="nasa-mat",
        )

    def _cycle(self, index: int, entry: np.void) -> None:
        kind = _text(entry["type"], "type").strip().lower()
        started_at = _start(entry["time"])
        ambient = _optional_number(entry, "ambient_temperature")
        step = TYPES.get(kind)
        if step is None:
            self.flag(
                index, "unknown_cycle_type", f"cycle type {kind!r} is not charge, discharge or impedance"
            )
            step = Step.REST
        data = _record(entry["data"])
        info = CycleInfo(index=index, step=step, started_at=started_at, ambient_temperature_c=ambient)
        if started_at < self.previous_end:
            self.flag(
                index,
                "cycle_overlap",
                f"starts {self.previous_end - started_at:.1f} s before the previous cycle ended; times kept",
            )
        self.previous_end = max(self.previous_end, started_at)
        if step == Step.IMPEDANCE:
            self._impedance(info, data)
        else:
            self._samples(info, data)
        self.infos.append(info)

    def _impedance(self, info: CycleInfo, data: np.void | None) -> None:
        re = _optional_number(data, "Re")
        rct = _optional_number(data, "Rct")
        for label, value in (("Re", re), ("Rct", rct)):
            if value is None or not 0 < value < IMPEDANCE_MAX_OHM:
                self.flag(info.index, "impedance_missing", f"{label} is {value!r}, not a resistance")
                return
        info.re_ohm, info.rct_ohm = re, rct

    def _samples(self, info: CycleInfo, data: np.void | None) -> None:
        index = info.index
        names = data.dtype.names if data is not None else ()
        missing = [field for field in SAMPLE_FIELDS if field not in names]
        if missing:
            self.flag(index, "malformed_cycle", f"data lacks {', '.join(missing)}; no samples kept")
            return
        arrays = [_numbers(data[field], field) for field in SAMPLE_FIELDS]
        lengths = {len(array) for array in arrays}
        if len(lengths) > 1:
            self.flag(
                index,
                "malformed_cycle",
                f"sample arrays differ in length {sorted(lengths)}; cut to the shortest",
            )
            shortest = min(lengths)
            arrays = [array[:shortest] for array in arrays]
        seconds, voltage, current, temperature = arrays
        seconds, voltage, current, temperature = self._clean(index, seconds, voltage, current, temperature)
        if info.step == Step.DISCHARGE:
            self._capacity(info, data, seconds, voltage, current)
        if not len(seconds):
            return
        time = info.started_at + seconds
        self.previous_end = max(self.previous_end, float(time[-1]))
        n = len(time)
        self.parts["cycle"].append(np.full(n, index, np.int32))
        self.parts["step"].append(np.full(n, int(info.step), np.int16))
        self.parts["t"].append(time)
        self.parts["v"].append(voltage)
        self.parts["i"].append(current)
        self.parts["T"].append(temperature)

    def _clean(self, index: int, seconds, voltage, current, temperature):
        finite = np.isfinite(seconds) & np.isfinite(voltage) & np.isfinite(current) & np.isfinite(temperature)
        if not finite.all():
            dropped = int((~finite).sum())
            self.flag(
                index,
                "non_finite_samples",
                f"{dropped} of {len(finite)} samples are NaN or infinite; dropped",
            )
            seconds, voltage, current, temperature = (
                a[finite] for a in (seconds, voltage, current, temperature)
            )
        vlow, vhigh = units.VOLTAGE_RANGE_V
        tlow, thigh = units.TEMPERATURE_RANGE_C
        plausible = (
            (voltage >= vlow)
            & (voltage <= vhigh)
            & (np.abs(current) <= units.CURRENT_LIMIT_A)
            & (temperature >= tlow)
            & (temperature <= thigh)
        )
        if not plausible.all():
            dropped = int((~plausible).sum())
            self.flag(index, "value_out_of_range", f"{dropped} samples have impossible V, I or T; dropped")
            seconds, voltage, current, temperature = (
                a[plausible] for a in (seconds, voltage, current, temperature)
            )
        steps = np.diff(seconds)
        if (steps <= 0).any():
            seconds = _repair_time(seconds)
            first = int(np.argmax(steps <= 0)) + 1
            self.flag(
                index,
                "time_not_monotonic",
                f"Time goes back {int((steps <= 0).sum())} time(s), first at sample {first}; later samples "
                "shifted to continue after the previous one",
            )
        return seconds, voltage, current, temperature

    def _capacity(self, info: CycleInfo, data: np.void, seconds, voltage, current) -> None:
        capacity = _optional_number(data, "Capacity")
        if capacity is None or capacity <= 0:
            said = "missing" if capacity is None else f"{capacity:g} Ah"
            self.flag(info.index, "capacity_missing", f"reported Capacity is {said}")
            return
        info.reported_capacity_ah = capacity
        if len(seconds) < 2:
            return
        measured = discharge_ah_until(seconds, voltage, current, NASA_CAPACITY_CUTOFF_V)
        if abs(measured - capacity) > CAPACITY_TOLERANCE * capacity:
            self.flag(
                info.index,
                "capacity_mismatch",
                f"reported Capacity {capacity:.4f} Ah, the samples give {measured:.4f} Ah to 2.7 V",
            )


def _repair_time(seconds: np.ndarray) -> np.ndarray:
    """Make time strictly increasing: after each backward step, continue one median interval on."""
    steps = np.diff(seconds)
    forward = steps[steps > 0]
    typical = float(np.median(forward)) if forward.size else 1.0
    shift = np.where(steps <= 0, typical - steps, 0.0)
    return seconds + np.concatenate(([0.0], np.cumsum(shift)))


# --- MATLAB structure access --------------------------------------------------------------------


def _unwrap(value: Any) -> Any:
    while isinstance(value, np.ndarray) and value.dtype == object and value.size == 1:
        value = value.flat[0]
    return value


def _text(value: Any, label: str) -> str:
    value = _unwrap(value)
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray) and value.dtype.kind == "U":
        return "".join(str(part) for part in value.ravel())
    raise _Malformed(f"{label} is not text")


def _numbers(value: Any, label: str) -> np.ndarray:
    value = _unwrap(value)
    array = np.asarray(value)
    if array.dtype.kind not in "fiuc":
        raise _Malformed(f"{label} is not numeric")
    return np.real(array).astype(np.float64).ravel()


def _record(value: Any) -> np.void | None:
    value = _unwrap(value)
    if isinstance(value, np.ndarray) and value.dtype.names:
        return value.flat[0] if value.size else None
    if isinstance(value, np.void) and value.dtype.names:
        return value
    return None


def _optional_number(record: np.void | None, field: str) -> float | None:
    if record is None or field not in (record.dtype.names or ()):
        return None
    try:
        numbers = _numbers(record[field], field)
    except _Malformed:
        return None
    if numbers.size == 0 or not np.isfinite(numbers[0]):
        return None
    return float(numbers[0])


def _start(value: Any) -> float:
    vector = _numbers(value, "time")
    if vector.size != 6 or not np.isfinite(vector).all():
        raise _Malformed(f"time is not a date vector [Y M D h m s]: {vector.tolist()}")
    year, month, day, hour, minute = (int(part) for part in vector[:5])
    if not 1990 <= year <= 2100:
        raise _Malformed(f"time has year {year}")
    try:
        base = dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)
    except ValueError as exc:
        raise _Malformed(f"time is not a date: {exc}") from None
    return base.timestamp() + float(vector[5])
