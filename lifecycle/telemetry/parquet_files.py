"""Parquet uploads: read in record batches, checked by the shared validator."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lifecycle.telemetry.frame import (
    Problem,
    TelemetryError,
    TelemetryFrame,
)
from lifecycle.telemetry.tabular import (
    CountingReader,
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
from lifecycle.telemetry.units import Column

PARQUET_BATCH_ROWS = 1 << 20


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
        builder = FrameBuilder(columns, "parquet", start, absolute)
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
    array: pa.Array, quantity: str, column: Column, offset: int, builder: FrameBuilder
) -> np.ndarray:
    path = f"/columns/{column.name}"
    kind = array.type
    if quantity == "step":
        if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_dictionary(kind):
            return step_codes(array, builder.n, builder)
        builder.add_problem("type", Problem(path, f"step must be text, not {kind}"))
        return np.full(len(array), -1, np.int16)
    if quantity == "time" and column.unit is None and pa.types.is_timestamp(kind):
        if kind.tz is None:
            builder.unparsable.add(quantity)
            builder.add_problem(
                "type", Problem(path, "timestamps without a time zone are ambiguous; store them as UTC")
            )
            return np.full(len(array), np.nan)
        return float_values(array)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return float_values(array)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        trimmed = pc.utf8_trim_whitespace(array)
        if quantity == "time" and column.unit is None and not _numeric_strings(trimmed):
            target = pa.timestamp("ns", tz="UTC")
        elif quantity == "cycle":
            target = pa.int64()
        else:
            target = pa.float64()
        try:
            return float_values(pc.cast(trimmed, target))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            index = _first_failing(trimmed, target)
            builder.unparsable.add(quantity)
            builder.add_problem(
                "parse",
                Problem(path, not_parsed_message(quantity, target, array[index].as_py()), offset + index + 1),
            )
            return np.full(len(array), np.nan)
    builder.unparsable.add(quantity)
    builder.add_problem("type", Problem(path, f"{quantity} must be numeric, not {kind}"))
    return np.full(len(array), np.nan)


def _numeric_strings(array: pa.Array) -> bool:
    first = pc.drop_null(array)
    return len(first) > 0 and looks_numeric(first[0].as_py())


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
