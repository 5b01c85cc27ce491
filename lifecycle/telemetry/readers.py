"""CSV and Parquet uploads: parse with pyarrow, validate with vectorised numpy, reject or build a frame.

Formats, units and rules are documented in docs/telemetry.md. A file is either accepted whole or
rejected whole: ``TelemetryError`` lists the first offending row of each kind of problem (at most
``MAX_PROBLEMS``), and no frame exists for a rejected file.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

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

# pyarrow's read_csv parses one buffer on all cores; feeding it 8 MiB slices cut at line ends streams a
# large file in bounded memory and is about twice as fast as open_csv's block-at-a-time reader on a
# 2-core machine (measured, see docs/telemetry.md).
CHUNK_BYTES = 8 << 20
PARQUET_BATCH_ROWS = 1 << 20
STEP_CODES = {step.name.lower(): int(step) for step in Step}
_MAX_BAD_LINES_PER_CHUNK = 50
_BOM = b"\xef\xbb\xbf"
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


class _Builder:
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


def _step_codes(array: pa.Array | pa.ChunkedArray, offset: int, builder: _Builder) -> np.ndarray:
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


def _floats(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Numbers as float64 with NaN for nulls."""
    if pa.types.is_timestamp(array.type):
        factor = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}[array.type.unit]
        return _floats(pc.cast(array, pa.int64())) / factor
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


# --- CSV ---------------------------------------------------------------------------------------


def read_csv(source: Source, *, progress: Progress = None, start: Start = None) -> TelemetryFrame:
    """Parse and validate a CSV upload (documented in docs/telemetry.md) into a frame.

    ``progress(bytes_read)`` is called after every slice read; ``start`` (epoch seconds or an aware
    datetime) is the origin of a ``time[s]``/``time[ms]`` column.
    """
    with open_binary(source) as stream:
        return _CsvReader(stream, progress, start).read()


class _CsvReader:
    def __init__(self, stream: BinaryIO, progress: Progress, start: Start):
        self.stream = stream
        self.progress = progress
        self.start = start
        self.bytes_read = 0
        self.row_offset = 0

    def _read(self) -> bytes:
        data = self.stream.read(CHUNK_BYTES)
        if data:
            self.bytes_read += len(data)
            if self.progress is not None:
                self.progress(self.bytes_read)
        return data

    def read(self) -> TelemetryFrame:
        buffer = self._read()
        if buffer.startswith(_BOM):
            buffer = buffer[len(_BOM) :]
        while b"\n" not in buffer and len(buffer) < 2 * CHUNK_BYTES and (more := self._read()):
            buffer += more
        if not buffer.strip():
            raise TelemetryError([Problem("/", "the file is empty")])
        if b"\n" not in buffer and len(buffer) >= 2 * CHUNK_BYTES:
            raise TelemetryError([Problem("/", "no line break in the first 16 MiB: not a CSV file")])
        header_line, _, buffer = buffer.partition(b"\n")
        self.names = self._header_names(header_line)
        self.columns = resolve_columns(self.names)
        self.header = header_line.rstrip(b"\r") + b"\n"
        while not buffer.strip() and (more := self._read()):
            buffer += more
        if not buffer.strip():
            raise TelemetryError([Problem("/rows", "the file has a header but no data rows")])
        time_column = self.columns["time"]
        self.absolute_time = time_column.unit is None
        numeric_time = not self.absolute_time or _looks_numeric(self._first_value(buffer, time_column.name))
        self.types = self._types(numeric_time)
        self.builder = _Builder(self.columns, "csv", self.start, self.absolute_time)
        self._parse_stream(buffer)
        return self.builder.finish()

    def _header_names(self, line: bytes) -> list[str]:
        try:
            text = line.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            raise TelemetryError([Problem("/columns", "the header is not UTF-8 text")]) from None
        return next(csv.reader([text]))

    def _first_value(self, buffer: bytes, name: str) -> str:
        """The first non-empty value of column ``name`` in the first lines (decides its type)."""
        index = self.names.index(name)
        for raw in buffer.split(b"\n", 64)[:64]:
            if raw.strip():
                fields = next(csv.reader([raw.decode("utf-8", "replace").rstrip("\r")]))
                if index < len(fields) and fields[index].strip():
                    return fields[index]
        return ""

    def _types(self, numeric_time: bool) -> dict[str, pa.DataType]:
        types = {}
        for quantity, column in self.columns.items():
            if quantity == "time":
                types[column.name] = pa.float64() if numeric_time else pa.timestamp("ns", tz="UTC")
            elif quantity == "cycle":
                types[column.name] = pa.int64()
            elif quantity == "step":
                types[column.name] = pa.dictionary(pa.int32(), pa.string())
            else:
                types[column.name] = pa.float64()
        return types

    def _parse_stream(self, buffer: bytes) -> None:
        eof = False
        while True:
            if not eof:
                more = self._read()
                if more:
                    buffer += more
                else:
                    eof = True
            if eof:
                body, buffer = buffer, b""
            else:
                cut = buffer.rfind(b"\n")
                if cut < 0:
                    continue
                body, buffer = buffer[: cut + 1], buffer[cut + 1 :]
            if body.strip():
                self._parse_chunk(body)
            if eof or self.builder.full:
                return

    def _parse(
        self, body: bytes, types: dict[str, pa.DataType] | None = None, threads: bool = True
    ) -> pa.Table:
        return pcsv.read_csv(
            pa.BufferReader(self.header + body),
            read_options=pcsv.ReadOptions(use_threads=threads, block_size=1 << 20),
            convert_options=pcsv.ConvertOptions(
                column_types=types or self.types,
                include_columns=list(self.types),
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )

    def _parse_chunk(self, body: bytes) -> None:
        try:
            table = self._parse(body)
        except (pa.ArrowInvalid, UnicodeDecodeError):
            self._diagnose(body)
            return
        self._take(table, self.row_offset)
        self.row_offset += table.num_rows

    def _take(self, table: pa.Table, rows: int | np.ndarray) -> None:
        values = {}
        for quantity, column in self.columns.items():
            array = table.column(column.name)
            if quantity == "step":
                values[quantity] = _step_codes(array, self.builder.n, self.builder)
            else:
                values[quantity] = _floats(array)
        self.builder.add(values, rows)

    def _diagnose(self, body: bytes) -> None:
        """Locate the bad lines of a slice that did not parse, report them, keep the good rows."""
        lines = body.split(b"\n")
        nonblank = np.array([bool(line.strip()) for line in lines])
        row_numbers = self.row_offset + np.cumsum(nonblank)

        def parses(segment: list[bytes]) -> bool:
            try:
                self._parse(b"\n".join(segment) + b"\n")
            except (pa.ArrowInvalid, UnicodeDecodeError):
                return False
            return True

        bad: list[int] = []
        position = 0
        while position < len(lines):
            if parses(lines[position:]):
                break
            if len(bad) >= _MAX_BAD_LINES_PER_CHUNK or self.builder.full:
                # Too many bad lines to isolate each: the rest of the slice only counts rows.
                bad.extend(range(position, len(lines)))
                break
            low, high = position, len(lines)  # the first bad line is in [low, high)
            while high - low > 1:
                middle = (low + high) // 2
                if parses(lines[low:middle]):
                    low = middle
                else:
                    high = middle
            bad.append(low)
            if not self._describe(lines[low], int(row_numbers[low])):
                # Only a kind already reported: the rest of the slice is not worth isolating.
                bad.extend(range(low + 1, len(lines)))
                break
            position = low + 1
        keep = np.ones(len(lines), dtype=bool)
        keep[bad] = False
        good = [line for line, kept in zip(lines, keep, strict=True) if kept]
        if any(line.strip() for line in good):
            try:
                table = self._parse(b"\n".join(good) + b"\n")
            except (pa.ArrowInvalid, UnicodeDecodeError):
                table = None
            if table is not None:
                self._take(table, row_numbers[keep & nonblank].astype(np.int64))
        self.row_offset = int(row_numbers[-1]) if len(row_numbers) else self.row_offset

    def _describe(self, line: bytes, row: int) -> bool:
        """Report why ``line`` does not parse; False when that kind of problem was reported before."""
        builder = self.builder
        before = len(builder.problems)
        text = line.decode("utf-8", "replace").rstrip("\r")
        fields = next(csv.reader([text])) if text else []
        if len(fields) != len(self.names):
            builder.add_problem(
                "columns",
                Problem(
                    "/rows",
                    f"expected {len(self.names)} columns, found {len(fields)} (truncated or malformed line)",
                    row,
                ),
            )
            return len(builder.problems) > before
        strings = {name: pa.string() for name in self.types}
        for quantity, column in self.columns.items():
            try:
                self._parse(line + b"\n", {**strings, column.name: self.types[column.name]}, threads=False)
            except (pa.ArrowInvalid, UnicodeDecodeError):
                value = fields[self.names.index(column.name)]
                builder.unparsable.add(quantity)
                builder.add_problem(
                    "parse",
                    Problem(
                        f"/columns/{column.name}", _not_parsed(quantity, self.types[column.name], value), row
                    ),
                )
                return
        builder.add_problem("parse", Problem("/rows", "this line could not be parsed", row))


def _not_parsed(quantity: str, dtype: pa.DataType, value: str) -> str:
    if quantity == "time" and pa.types.is_timestamp(dtype):
        return f"not an ISO 8601 timestamp with a zone offset (Z or ±hh:mm): {_short(value)}"
    if quantity == "time":
        return f"not a number of seconds: {_short(value)}"
    if quantity == "cycle":
        return f"not an integer: {_short(value)}"
    if quantity == "step":
        return f"not UTF-8 text: {_short(value)}"
    return f"not a number: {_short(value)}"


def _looks_numeric(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


# --- Parquet -----------------------------------------------------------------------------------


def read_parquet(source: Source, *, progress: Progress = None, start: Start = None) -> TelemetryFrame:
    """Parse and validate a Parquet upload: the CSV columns, names with units in brackets or a
    ``unit`` entry in the field metadata (docs/telemetry.md)."""
    with open_binary(source) as stream:
        counting = CountingReader(stream, progress)
        try:
            parquet = pq.ParquetFile(counting)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise TelemetryError([Problem("/", f"not a readable Parquet file: {exc}")]) from None
        schema = parquet.schema_arrow
        hints = {}
        for field in schema:
            metadata = field.metadata or {}
            unit = metadata.get(b"unit")
            if unit is not None:
                hints[field.name] = unit.decode("utf-8", "replace")
        columns = resolve_columns(list(schema.names), hints)
        time_column = columns["time"]
        absolute = time_column.unit is None
        builder = _Builder(columns, "parquet", start, absolute)
        offset = 0
        try:
            batches = parquet.iter_batches(
                batch_size=PARQUET_BATCH_ROWS, columns=[column.name for column in columns.values()]
            )
            for batch in batches:
                values = {
                    quantity: _parquet_values(batch.column(column.name), quantity, column, offset, builder)
                    for quantity, column in columns.items()
                }
                builder.add(values, offset)
                offset += batch.num_rows
                if builder.full:
                    break
        except (pa.ArrowException, OSError) as exc:
            raise TelemetryError([Problem("/", f"the Parquet data could not be read: {exc}")]) from None
        if progress is not None:
            progress(counting.count)
        return builder.finish()


def _parquet_values(
    array: pa.Array, quantity: str, column: Column, offset: int, builder: _Builder
) -> np.ndarray:
    path = f"/columns/{column.name}"
    kind = array.type
    if quantity == "step":
        if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_dictionary(kind):
            return _step_codes(array, builder.n, builder)
        builder.add_problem("type", Problem(path, f"step must be text, not {kind}"))
        return np.full(len(array), -1, np.int16)
    if quantity == "time" and column.unit is None and pa.types.is_timestamp(kind):
        if kind.tz is None:
            builder.unparsable.add(quantity)
            builder.add_problem(
                "type", Problem(path, "timestamps without a time zone are ambiguous; store them as UTC")
            )
            return np.full(len(array), np.nan)
        return _floats(array)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return _floats(array)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        trimmed = pc.utf8_trim_whitespace(array)
        if quantity == "time" and column.unit is None and not _numeric_strings(trimmed):
            target = pa.timestamp("ns", tz="UTC")
        elif quantity == "cycle":
            target = pa.int64()
        else:
            target = pa.float64()
        try:
            return _floats(pc.cast(trimmed, target))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            index = _first_failing(trimmed, target)
            builder.unparsable.add(quantity)
            builder.add_problem(
                "parse",
                Problem(path, _not_parsed(quantity, target, array[index].as_py()), offset + index + 1),
            )
            return np.full(len(array), np.nan)
    builder.unparsable.add(quantity)
    builder.add_problem("type", Problem(path, f"{quantity} must be numeric, not {kind}"))
    return np.full(len(array), np.nan)


def _numeric_strings(array: pa.Array) -> bool:
    first = pc.drop_null(array)
    return len(first) > 0 and _looks_numeric(first[0].as_py())


def _first_failing(array: pa.Array, target: pa.DataType) -> int:
    """Index of the first value that does not cast (bisection: a handful of casts, only on error)."""
    low, high = 0, len(array)
    while high - low > 1:
        middle = (low + high) // 2
        try:
            pc.cast(array.slice(low, middle - low), target)
            low = middle
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            high = middle
    return low


# --- dispatch ----------------------------------------------------------------------------------

FORMATS = {"csv": "csv", "parquet": "parquet", "pq": "parquet", "nasa-mat": "nasa-mat", "mat": "nasa-mat"}
EXTENSIONS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".mat": "nasa-mat"}


def read_telemetry(
    source: Source,
    *,
    format: str | None = None,
    filename: str | None = None,
    progress: Progress = None,
    start: Start = None,
) -> TelemetryFrame:
    """Read an upload by explicit ``format`` (csv, parquet, nasa-mat) or by the file extension."""
    kind = _format(source, format, filename)
    if kind == "csv":
        return read_csv(source, progress=progress, start=start)
    if kind == "parquet":
        return read_parquet(source, progress=progress, start=start)
    from lifecycle.telemetry.nasa import read_nasa_mat

    return read_nasa_mat(source, progress=progress)


def _format(source: Source, format: str | None, filename: str | None) -> str:
    if format:
        kind = FORMATS.get(format.strip().lower())
        if kind is None:
            raise TelemetryError(
                [Problem("/format", f"unknown format {format!r}; use csv, parquet or nasa-mat")]
            )
        return kind
    if filename is None and isinstance(source, str | Path):
        filename = str(source)
    if filename is None:
        name = getattr(source, "name", None)
        filename = name if isinstance(name, str) else None
    suffix = Path(filename).suffix.lower() if filename else ""
    kind = EXTENSIONS.get(suffix)
    if kind is None:
        said = f"extension {suffix!r}" if suffix else "no file name or extension"
        raise TelemetryError(
            [Problem("/format", f"cannot tell the format from {said}; use .csv, .parquet or .mat or name it")]
        )
    return kind
