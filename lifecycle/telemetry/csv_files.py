"""CSV uploads: pyarrow parses 8 MiB slices cut at line ends, the shared validator checks them."""

from __future__ import annotations

import csv
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from lifecycle.telemetry.frame import (
    Problem,
    TelemetryError,
    TelemetryFrame,
)
from lifecycle.telemetry.tabular import (
    FrameBuilder,
    Progress,
    Source,
    Start,
    float_values,
    looks_numeric,
    not_parsed_message,
    open_binary,
    resolve_columns,
    step_codes,
)

# pyarrow's read_csv parses one buffer on all cores; feeding it 8 MiB slices cut at line ends streams a
# large file in bounded memory and is about twice as fast as open_csv's block-at-a-time reader on a
# 2-core machine (measured, see docs/telemetry.md).
CHUNK_BYTES = 8 << 20

_MAX_BAD_LINES_PER_CHUNK = 50

_BOM = b"\xef\xbb\xbf"


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
        numeric_time = not self.absolute_time or looks_numeric(self._first_value(buffer, time_column.name))
        self.types = self._types(numeric_time)
        self.builder = FrameBuilder(self.columns, "csv", self.start, self.absolute_time)
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
                values[quantity] = step_codes(array, self.builder.n, self.builder)
            else:
                values[quantity] = float_values(array)
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
                        f"/columns/{column.name}",
                        not_parsed_message(quantity, self.types[column.name], value),
                        row,
                    ),
                )
                return
        builder.add_problem("parse", Problem("/rows", "this line could not be parsed", row))
