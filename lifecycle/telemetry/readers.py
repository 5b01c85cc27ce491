"""Reading an upload whatever its format: dispatch by explicit format or file extension."""

from __future__ import annotations

from pathlib import Path

from lifecycle.telemetry.csv_files import read_csv
from lifecycle.telemetry.frame import (
    Problem,
    TelemetryError,
    TelemetryFrame,
)
from lifecycle.telemetry.parquet_files import read_parquet
from lifecycle.telemetry.tabular import Progress, Source, Start

__all__ = ["read_csv", "read_parquet", "read_telemetry"]


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
