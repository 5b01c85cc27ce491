"""What CSV and Parquet uploads share: sources, column names and units, and one validator that
builds a frame or rejects the file whole (the readers are csv_files.py and parquet_files.py).

Formats, units and rules are documented in docs/telemetry.md. ``TelemetryError`` lists the first offending
row of each kind of problem (at most ``MAX_PROBLEMS``), and no frame exists for a rejected file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lifecycle.telemetry import units
from lifecycle.telemetry.frame import (
    MAX_PROBLEMS,
    CycleInfo,
    Problem,
    Step,
    TelemetryError,
    TelemetryFrame,
    infer_steps,
)
from lifecycle.telemetry.units import Column, UnitError

Source = BinaryIO | bytes | bytearray | memoryview | str | Path
Progress = Callable[[int], None] | None
Start = float | dt.datetime | None

STEP_CODES = {step.name.lower(): int(step) for step in Step}
_CYCLE_MAX = 2**31 - 1


# --- sources ------------------------------------------------------------------------------------


@contextlib.contextmanager
def open_binary(source: Source) -> Iterator[BinaryIO]:
    """Bytes, a path, or an open binary file, as a readable binary stream."""
    if isinstance(source, bytes | bytearray | memoryview):
        yield io.BytesIO(bytes(source))
    elif isinstance(source, str | Path):
        with open(source, "rb") as handle:
            yield handle
    elif hasattr(source, "read"):
        yield source
    else:
        raise TypeError(f"cannot read telemetry from {type(source).__name__}")


class CountingReader(io.RawIOBase):
    """Passes reads through and reports the running byte count to ``progress``.

    Readers that seek (Parquet footers, MATLAB headers) read some bytes twice; the count is capped at
    the size of the source so a progress bar never runs past 100 %.
    """

    def __init__(self, raw: BinaryIO, progress: Progress):
        super().__init__()
        self._raw = raw
        self._progress = progress
        self.count = 0
        self.size: int | None = None
        if self.seekable():
            position = raw.tell()
            self.size = raw.seek(0, io.SEEK_END) - position
            raw.seek(position)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return bool(getattr(self._raw, "seekable", lambda: False)())

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._advance(len(data))
        return data

    def readinto(self, buffer) -> int:
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        self._advance(len(data))
        return len(data)

    def _advance(self, n: int) -> None:
        if n:
            self.count = self.count + n if self.size is None else min(self.count + n, self.size)
            if self._progress is not None:
                self._progress(self.count)


def _epoch(start: Start) -> float:
    if start is None:
        return 0.0
    if isinstance(start, dt.datetime):
        if start.tzinfo is None:
            start = start.replace(tzinfo=dt.UTC)
        return start.timestamp()
    return float(start)


# --- columns ------------------------------------------------------------------------------------


def resolve_columns(names: list[str], hints: dict[str, str] | None = None) -> dict[str, Column]:
    """quantity -> Column for the columns we read; header problems raise at once."""
    problems: list[Problem] = []
    found: dict[str, Column] = {}
    for name in names:
        try:
            column = units.parse_column(name, (hints or {}).get(name))
        except UnitError as exc:
            problems.append(Problem(f"/columns/{name}", str(exc)))
            # Remember the quantity so it is not also reported missing.
            found.setdefault(name.split("[")[0].strip().lower(), Column(name, "", None))
            continue
        if column is None:
            continue  # a column we do not read (BMS exports carry many)
        if column.quantity in found:
            problems.append(
                Problem(
                    f"/columns/{name}",
                    f"{column.quantity} is given twice ({found[column.quantity].name} and {name})",
                )
            )
            continue
        found[column.quantity] = column
    for quantity in units.REQUIRED:
        if quantity not in found:
            problems.append(
                Problem(f"/columns/{quantity}", f"required column missing: {units.accepted(quantity)}")
            )
    if problems:
        raise TelemetryError(problems)
    return found


# --- validation and assembly (shared by CSV and Parquet) ------------------------------------


class FrameBuilder:
    """Collects converted batches and problems; validates the whole file at the end, vectorised."""

    def __init__(self, columns: dict[str, Column], source_format: str, start: Start, absolute_time: bool):
        self.columns = columns
        self.source_format = source_format
        self.start = _epoch(start)
        self.absolute_time = absolute_time  # `time` column: instants, not seconds from start
        self.parts: dict[str, list[np.ndarray]] = {q: [] for q in columns}
        self.row_parts: list[tuple[int, int] | np.ndarray] = []
        self.explicit_rows = False
        self.n = 0
        self.problems: list[Problem] = []
        self.kinds: set[tuple[str, str]] = set()
        self.unparsable: set[str] = set()  # quantities with values that did not convert
        self.step_invalid: list[tuple[int, str]] = []  # (index in the whole file, value)

    def add_problem(self, kind: str, problem: Problem) -> None:
        key = (problem.path, kind)
        if key in self.kinds or len(self.problems) >= MAX_PROBLEMS:
            return
        self.kinds.add(key)
        self.problems.append(problem)

    @property
    def full(self) -> bool:
        return len(self.problems) >= MAX_PROBLEMS

    def add(self, values: dict[str, np.ndarray], rows: int | np.ndarray) -> None:
        """One batch: ``values`` per quantity (steps as codes), ``rows`` its first row number - 1 or
        the explicit 1-based row numbers when bad lines were cut out of it."""
        length = len(next(iter(values.values()))) if values else 0
        for quantity, array in values.items():
            self.parts[quantity].append(array)
        if isinstance(rows, np.ndarray):
            self.explicit_rows = True
            self.row_parts.append(rows)
        else:
            self.row_parts.append((rows, length))
        self.n += length

    def row_of(self, index: int) -> int:
        """The file's 1-based data row of sample ``index``."""
        if not self.explicit_rows:
            return index + 1
        seen = 0
        for part in self.row_parts:
            length = len(part) if isinstance(part, np.ndarray) else part[1]
            if index < seen + length:
                local = index - seen
                return int(part[local]) if isinstance(part, np.ndarray) else part[0] + local + 1
            seen += length
        raise IndexError(index)

    def _column(self, quantity: str, dtype=np.float64) -> np.ndarray:
        parts = self.parts[quantity]
        return np.concatenate(parts).astype(dtype, copy=False) if parts else np.empty(0, dtype)

    def _first(self, mask: np.ndarray, kind: str, quantity: str, message: Callable[[int], str]) -> None:
        if mask.any():
            index = int(np.argmax(mask))
            path = f"/columns/{self.columns[quantity].name}"
            self.add_problem(kind, Problem(path, message(index), self.row_of(index)))

    def finish(self) -> TelemetryFrame:
        if self.n == 0 and not self.problems:
            raise TelemetryError([Problem("/rows", "the file has a header but no data rows")])
        columns = self.columns
        values: dict[str, np.ndarray] = {}
        for quantity in ("time", "voltage", "current", "temperature"):
            raw = self._column(quantity)
            values[quantity] = units.to_si(raw, quantity, columns[quantity].unit)
        if not self.absolute_time:
            values["time"] = values["time"] + self.start
        for quantity in ("time", "voltage", "current", "temperature"):
            if quantity not in self.unparsable:
                self._first(
                    np.isnan(values[quantity]), "missing", quantity, lambda i: "missing value (empty or NaN)"
                )
        self._check_values(values)
        cycle = self._check_cycles() if "cycle" in columns else None
        step = self._check_steps() if "step" in columns else None
        if self.problems:
            raise TelemetryError(self.problems)
        return _assemble(values, cycle, step, self.source_format)

    def _check_values(self, values: dict[str, np.ndarray]) -> None:
        time, voltage = values["time"], values["voltage"]
        current, temperature = values["current"], values["temperature"]
        unit = {q: self.columns[q].unit for q in values}
        with np.errstate(invalid="ignore"):
            low, high = units.TIME_RANGE_S
            hint = "" if self.absolute_time else " (is `start` missing or wrong?)"
            self._first(
                (time < low) | (time > high),
                "range",
                "time",
                lambda i: (
                    f"instant {time[i]:.0f} s is outside the years 1990 to 2100{hint}; relative "
                    "seconds belong in a time[s] column with a start"
                ),
            )
            steps = np.diff(time)
            self._first(
                np.concatenate(([False], ~(steps > 0) & np.isfinite(steps))),
                "order",
                "time",
                lambda i: f"time does not increase: {_quote_time(time[i])} after {_quote_time(time[i - 1])}",
            )
            vlow, vhigh = units.VOLTAGE_RANGE_V
            self._first(
                (voltage < vlow) | (voltage > vhigh),
                "range",
                "voltage",
                lambda i: (
                    f"{units.from_si(voltage[i], 'voltage', unit['voltage']):g} is outside the plausible "
                    f"range {vlow:g} to {vhigh:g} V"
                ),
            )
            self._first(
                np.abs(current) > units.CURRENT_LIMIT_A,
                "range",
                "current",
                lambda i: (
                    f"{units.from_si(current[i], 'current', unit['current']):g} is beyond the plausible "
                    f"±{units.CURRENT_LIMIT_A:g} A"
                ),
            )
            tlow, thigh = units.TEMPERATURE_RANGE_C
            self._first(
                (temperature < tlow) | (temperature > thigh),
                "range",
                "temperature",
                lambda i: (
                    f"{units.from_si(temperature[i], 'temperature', unit['temperature']):g} is outside "
                    f"the plausible range {tlow:g} to {thigh:g} °C"
                ),
            )

    def _check_cycles(self) -> np.ndarray:
        cycle = self._column("cycle")
        if "cycle" not in self.unparsable:
            self._first(np.isnan(cycle), "missing", "cycle", lambda i: "missing value")
        with np.errstate(invalid="ignore"):
            self._first(
                ((cycle < 0) | (cycle > _CYCLE_MAX) | (cycle != np.floor(cycle))) & ~np.isnan(cycle),
                "range",
                "cycle",
                lambda i: f"{cycle[i]:g} is not a cycle number (a non-negative integer)",
            )
            drops = np.diff(cycle) < 0
        self._first(
            np.concatenate(([False], drops)),
            "order",
            "cycle",
            lambda i: (
                f"cycle number goes back from {cycle[i - 1]:g} to {cycle[i]:g}; a cycle's rows must "
                "be contiguous and cycles in order"
            ),
        )
        return cycle

    def _check_steps(self) -> np.ndarray:
        step = self._column("step", np.int16)
        if "step" not in self.unparsable:
            self._first(step == -1, "missing", "step", lambda i: "missing value")
        if self.step_invalid:
            index, value = min(self.step_invalid)
            path = f"/columns/{self.columns['step'].name}"
            allowed = "|".join(STEP_CODES)
            self.add_problem(
                "value", Problem(path, f"unknown step {_short(value)}; use {allowed}", self.row_of(index))
            )
        return step


def _assemble(
    values: dict[str, np.ndarray], cycle: np.ndarray | None, step: np.ndarray | None, source_format: str
) -> TelemetryFrame:
    current = values["current"]
    steps = step.astype(np.int16) if step is not None else infer_steps(current)
    if cycle is not None:
        cycles = cycle.astype(np.int32)
    else:
        # Without a cycle column a new cycle starts wherever charging starts (rest or discharge ->
        # charge), so one cycle is a charge and the rest and discharge that follow it.
        starts = np.zeros(len(steps), dtype=np.int32)
        starts[1:] = (steps[1:] == Step.CHARGE) & (steps[:-1] != Step.CHARGE)
        cycles = np.cumsum(starts, dtype=np.int32)
    return TelemetryFrame(
        cycle=cycles,
        step=steps,
        time=values["time"],
        voltage_v=values["voltage"],
        current_a=current,
        temperature_c=values["temperature"],
        cycles=_cycle_infos(cycles, steps, values["time"]),
        anomalies=[],
        source_format=source_format,
    )


def _cycle_infos(cycles: np.ndarray, steps: np.ndarray, time: np.ndarray) -> list[CycleInfo]:
    """One CycleInfo per contiguous cycle; its step is the non-rest step with most samples."""
    n = len(cycles)
    if n == 0:
        return []
    starts = np.concatenate(([0], np.flatnonzero(np.diff(cycles) != 0) + 1))
    stops = np.concatenate((starts[1:], [n]))
    counts = []
    for value in (Step.CHARGE, Step.DISCHARGE, Step.IMPEDANCE):
        running = np.concatenate(([0], np.cumsum(steps == value)))
        counts.append(running[stops] - running[starts])
    counts = np.stack(counts, axis=1)
    dominant = np.where(counts.max(axis=1) > 0, counts.argmax(axis=1) + 1, Step.REST)
    return [
        CycleInfo(index=int(cycles[a]), step=Step(int(kind)), started_at=float(time[a]))
        for a, kind in zip(starts, dominant, strict=True)
    ]


def step_codes(array: pa.Array | pa.ChunkedArray, offset: int, builder: FrameBuilder) -> np.ndarray:
    """Step labels -> int16 codes; -1 for missing, -2 for an unknown label (recorded for the message)."""
    chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
    out = []
    seen = offset
    for chunk in chunks:
        if not pa.types.is_dictionary(chunk.type):
            chunk = pc.dictionary_encode(chunk)
        labels = chunk.dictionary.to_pylist()
        lookup = np.array(
            [STEP_CODES.get(label.strip().lower(), -2) if label is not None else -1 for label in labels]
            + [-1],
            dtype=np.int16,
        )
        indices = chunk.indices.fill_null(len(labels)).to_numpy(zero_copy_only=False)
        codes = lookup[indices]
        bad = np.flatnonzero(codes == -2)
        if bad.size:
            builder.step_invalid.append((seen + int(bad[0]), labels[indices[bad[0]]]))
        out.append(codes)
        seen += len(chunk)
    return np.concatenate(out) if out else np.empty(0, np.int16)


def float_values(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Numbers as float64 with NaN for nulls."""
    if pa.types.is_timestamp(array.type):
        factor = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}[array.type.unit]
        return float_values(pc.cast(array, pa.int64())) / factor
    if array.type != pa.float64():
        # Not `safe`: nanosecond instants exceed 2**53 and lose only sub-microsecond digits.
        array = pc.cast(array, pa.float64(), safe=False)
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 42 else text[:39] + "...'"


def _quote_time(value: float) -> str:
    try:
        return dt.datetime.fromtimestamp(value, dt.UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return f"{value:g} s"


def not_parsed_message(quantity: str, dtype: pa.DataType, value: str) -> str:
    if quantity == "time" and pa.types.is_timestamp(dtype):
        return f"not an ISO 8601 timestamp with a zone offset (Z or ±hh:mm): {_short(value)}"
    if quantity == "time":
        return f"not a number of seconds: {_short(value)}"
    if quantity == "cycle":
        return f"not an integer: {_short(value)}"
    if quantity == "step":
        return f"not UTF-8 text: {_short(value)}"
    return f"not a number: {_short(value)}"


def looks_numeric(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True
