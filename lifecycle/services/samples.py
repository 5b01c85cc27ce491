"""Writing telemetry samples: PostgreSQL binary COPY built with numpy, plain inserts on SQLite."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import numpy as np
from django.db import connection

from lifecycle.telemetry import TelemetryFrame

TABLE = "lifecycle_telemetrysample"
COLUMNS = ("batch_id", "battery_id", "seq", "cycle", "step", "ts", "voltage_v", "current_a", "temperature_c")
_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_TRAILER = (-1).to_bytes(2, "big", signed=True)
_PG_EPOCH_S = 946_684_800  # 2000-01-01T00:00:00Z, the origin of PostgreSQL timestamps
# One binary COPY tuple: field count, then (length, value) per column, big-endian, no padding.
ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("batch_len", ">i4"), ("batch", ">i8"),
        ("battery_len", ">i4"), ("battery", "V16"),
        ("seq_len", ">i4"), ("seq", ">i4"),
        ("cycle_len", ">i4"), ("cycle", ">i4"),
        ("step_len", ">i4"), ("step", ">i2"),
        ("ts_len", ">i4"), ("ts", ">i8"),
        ("voltage_len", ">i4"), ("voltage", ">f8"),
        ("current_len", ">i4"), ("current", ">f8"),
        ("temperature_len", ">i4"), ("temperature", ">f8"),
    ]
)  # fmt: skip
_LENGTHS = {"batch": 8, "battery": 16, "seq": 4, "cycle": 4, "step": 2, "ts": 8, "voltage": 8, "current": 8,
            "temperature": 8}  # fmt: skip
CHUNK_ROWS = 200_000


def encode_binary(
    batch_id: int, battery_id: uuid.UUID, frame: TelemetryFrame, start: int, stop: int
) -> bytes:
    """Rows [start, stop) of ``frame`` as binary COPY tuples (no header)."""
    rows = np.empty(stop - start, dtype=ROW)
    rows["fields"] = len(COLUMNS)
    for name, length in _LENGTHS.items():
        rows[f"{name}_len"] = length
    rows["batch"] = batch_id
    rows["battery"] = np.void(battery_id.bytes)
    rows["seq"] = np.arange(start, stop, dtype=np.int32)
    rows["cycle"] = frame.cycle[start:stop]
    rows["step"] = frame.step[start:stop]
    rows["ts"] = np.rint((frame.time[start:stop] - _PG_EPOCH_S) * 1e6).astype(np.int64)
    rows["voltage"] = frame.voltage_v[start:stop]
    rows["current"] = frame.current_a[start:stop]
    rows["temperature"] = frame.temperature_c[start:stop]
    return rows.tobytes()


def binary_copy_stream(batch_id: int, battery_id: uuid.UUID, frame: TelemetryFrame):
    """The whole COPY payload in chunks, so memory stays bounded for large files."""
    yield _HEADER
    for start in range(0, len(frame), CHUNK_ROWS):
        yield encode_binary(batch_id, battery_id, frame, start, min(start + CHUNK_ROWS, len(frame)))
    yield _TRAILER


def copy_statement(table: str = TABLE) -> str:
    return f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)"


def reserve_batch_id() -> int | None:
    """A batch id taken from the sequence ahead of the row, so samples can load before it exists
    (PostgreSQL); None where samples are written after the batch row instead."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('lifecycle_telemetrybatch', 'id'))")
        return cursor.fetchone()[0]


class BackgroundCopy:
    """COPY the samples on this connection from a second thread, inside the caller's transaction.

    The server parses COPY data on its own core; meanwhile this process computes the cycle
    aggregates instead of waiting. The caller must not use the connection until ``wait()``.
    """

    def __init__(self, batch_id: int, battery_id: uuid.UUID, frame: TelemetryFrame):
        connection.ensure_connection()
        self._raw = connection.connection
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(batch_id, battery_id, frame), daemon=True)
        self._thread.start()

    def _run(self, batch_id: int, battery_id: uuid.UUID, frame: TelemetryFrame) -> None:
        try:
            with self._raw.cursor() as cursor, cursor.copy(copy_statement()) as copy:
                for chunk in binary_copy_stream(batch_id, battery_id, frame):
                    copy.write(chunk)
        except BaseException as exc:  # handed to the waiting thread, which raises it
            self._error = exc

    def wait(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


def store(batch_id: int, battery_id: uuid.UUID, frame: TelemetryFrame) -> int:
    """Write every sample of ``frame`` inside the caller's transaction; returns the number written."""
    if len(frame) == 0:
        return 0
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        with connection.connection.cursor() as cursor, cursor.copy(copy_statement()) as copy:
            for chunk in binary_copy_stream(batch_id, battery_id, frame):
                copy.write(chunk)
        return len(frame)
    stamps = [
        dt.datetime.fromtimestamp(value, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        for value in frame.time.tolist()
    ]
    rows = zip(
        [batch_id] * len(frame),
        [battery_id.hex] * len(frame),
        range(len(frame)),
        frame.cycle.tolist(),
        frame.step.tolist(),
        stamps,
        frame.voltage_v.tolist(),
        frame.current_a.tolist(),
        frame.temperature_c.tolist(),
        strict=True,
    )
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})", rows
        )
    return len(frame)
