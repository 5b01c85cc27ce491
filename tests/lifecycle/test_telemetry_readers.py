"""CSV and Parquet telemetry: round trips with known figures, unit conversion, and every rejection."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lifecycle.telemetry import (
    Step,
    TelemetryError,
    cycle_aggregates,
    limits_for,
    read_csv,
    read_parquet,
    read_telemetry,
)
from lifecycle.telemetry import csv_files as readers_module

START = 1_700_000_000.0  # 2023-11-14T22:13:20Z
CHARGE_S, REST_S, DISCHARGE_S = 3600, 600, 1800  # 1 A for 1 h in, 2 A for 0.5 h out: 1 Ah each way
CYCLE_SAMPLES = 300 + CHARGE_S + REST_S + DISCHARGE_S + REST_S


def cc_cycles(cycles: int = 3) -> dict[str, np.ndarray]:
    """Rest, CC charge at +1 A (3.5 -> 4.1 V), rest, CC discharge at -2 A (4.0 -> 3.4 V), rest; 1 s
    samples. Each cycle opens with a rest, so its integrals do not depend on the cycle boundary."""
    parts = {"current": [], "voltage": [], "step": [], "cycle": []}
    for index in range(cycles):
        for seconds, amps, v0, v1, step in (
            (300, 0.0, 3.5, 3.5, "rest"),
            (CHARGE_S, 1.0, 3.5, 4.1, "charge"),
            (REST_S, 0.0, 4.1, 4.0, "rest"),
            (DISCHARGE_S, -2.0, 4.0, 3.4, "discharge"),
            (REST_S, 0.0, 3.4, 3.5, "rest"),
        ):
            parts["current"].append(np.full(seconds, amps))
            parts["voltage"].append(np.linspace(v0, v1, seconds))
            parts["step"].append(np.full(seconds, step))
            parts["cycle"].append(np.full(seconds, index))
    data = {key: np.concatenate(value) for key, value in parts.items()}
    n = len(data["current"])
    data["time"] = START + np.arange(n, dtype=np.float64)
    data["temperature"] = 25.0 + np.sin(np.arange(n) / 500.0)
    return data


def to_csv(
    data: dict[str, np.ndarray], *, time: str = "epoch", units: str = "SI", extra: bool = True
) -> bytes:
    if time == "epoch":
        times = [f"{value:.3f}" for value in data["time"]]
        time_header = "time"
    elif time == "iso":
        times = [
            dt.datetime.fromtimestamp(value, dt.UTC).isoformat().replace("+00:00", "Z")
            for value in data["time"]
        ]
        time_header = "time"
    else:  # seconds from a start
        times = [f"{value - START:.3f}" for value in data["time"]]
        time_header = "time[s]"
    if units == "SI":
        header = [time_header, "voltage[V]", "current[A]", "temperature[degC]"]
        columns = [data["voltage"], data["current"], data["temperature"]]
        formats = ["{:.6f}", "{:.6f}", "{:.4f}"]
    else:
        header = [time_header, "voltage[mV]", "current[mA]", "temperature[K]"]
        columns = [data["voltage"] * 1000, data["current"] * 1000, data["temperature"] + 273.15]
        formats = ["{:.3f}", "{:.3f}", "{:.4f}"]
    if extra:
        header += ["cycle", "step", "note"]
    lines = [",".join(header)]
    for k, stamp in enumerate(times):
        fields = [stamp] + [fmt.format(column[k]) for fmt, column in zip(formats, columns, strict=True)]
        if extra:
            fields += [str(data["cycle"][k]), str(data["step"][k]), "ok"]
        lines.append(",".join(fields))
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture(scope="module")
def cycles_data() -> dict[str, np.ndarray]:
    return cc_cycles(3)


@pytest.fixture(scope="module")
def csv_bytes(cycles_data) -> bytes:
    return to_csv(cycles_data)


def rejection(source, reader=read_csv, **options) -> list:
    with pytest.raises(TelemetryError) as caught:
        reader(source, **options)
    return caught.value.errors


# --- happy path ----------------------------------------------------------------------------------


def test_csv_round_trip_gives_the_known_charge_and_energy(cycles_data, csv_bytes):
    frame = read_csv(csv_bytes)
    assert len(frame) == len(cycles_data["time"])
    assert frame.source_format == "csv"
    np.testing.assert_allclose(frame.time, cycles_data["time"])
    np.testing.assert_allclose(frame.voltage_v, cycles_data["voltage"], atol=1e-6)
    assert frame.cycle.dtype == np.int32 and frame.step.dtype == np.int16
    assert [info.index for info in frame.cycles] == [0, 1, 2]
    assert all(info.step == Step.CHARGE for info in frame.cycles)  # most samples of each cycle
    assert frame.cycles[1].started_at == pytest.approx(START + CYCLE_SAMPLES)

    aggregates = cycle_aggregates(frame, limits_for(None, "NMC"))
    for aggregate in aggregates:
        assert aggregate.kind == "mixed"
        # 3600 samples at 1 A and 1800 at 2 A; the rests around them make the trapezoid exact.
        assert aggregate.charge_ah == pytest.approx(1.0, rel=1e-9)
        assert aggregate.discharge_ah == pytest.approx(1.0, rel=1e-9)
        # Linear voltage at constant current: energy = Ah x mean voltage.
        assert aggregate.charge_wh == pytest.approx(1.0 * (3.5 + 4.1) / 2, rel=1e-6)
        assert aggregate.discharge_wh == pytest.approx(1.0 * (4.0 + 3.4) / 2, rel=1e-6)
        assert aggregate.samples == CYCLE_SAMPLES
        assert aggregate.duration_s == pytest.approx(CYCLE_SAMPLES - 1)


def test_iso_timestamps_with_offsets_and_relative_seconds_read_the_same(cycles_data, csv_bytes):
    reference = read_csv(csv_bytes)
    iso = read_csv(to_csv(cycles_data, time="iso"))
    np.testing.assert_allclose(iso.time, reference.time)
    shifted = to_csv(cycles_data, time="iso").replace(b"2023-11-14T22:13:20Z", b"2023-11-15T00:13:20+02:00")
    assert read_csv(shifted).time[0] == pytest.approx(START)
    relative = to_csv(cycles_data, time="relative")
    np.testing.assert_allclose(read_csv(relative, start=START).time, reference.time)
    start = dt.datetime.fromtimestamp(START, dt.UTC)
    np.testing.assert_allclose(read_csv(relative, start=start).time, reference.time)


def test_relative_seconds_without_a_start_are_refused(cycles_data):
    errors = rejection(to_csv(cycles_data, time="relative"))
    assert errors[0].path == "/columns/time[s]" and errors[0].row == 1
    assert "time[s]" in errors[0].message and "start" in errors[0].message


def test_mv_ma_and_kelvin_convert_to_v_a_and_celsius(cycles_data, csv_bytes):
    reference = read_csv(csv_bytes)
    converted = read_csv(to_csv(cycles_data, units="milli"))
    np.testing.assert_allclose(converted.voltage_v, reference.voltage_v, atol=1e-6)
    np.testing.assert_allclose(converted.current_a, reference.current_a, atol=1e-6)
    np.testing.assert_allclose(converted.temperature_c, reference.temperature_c, atol=1e-6)
    assert converted.temperature_c[0] == pytest.approx(25.0, abs=1e-3)


def test_without_step_and_cycle_columns_steps_follow_the_current_and_cycles_start_at_charging(cycles_data):
    frame = read_csv(to_csv(cycles_data, extra=False))
    expected = np.where(cycles_data["current"] > 0, Step.CHARGE, np.where(cycles_data["current"] < 0, 2, 0))
    np.testing.assert_array_equal(frame.step, expected)
    # A new cycle starts wherever charging starts; the rest before the first charge is cycle 0.
    starts = np.flatnonzero(np.diff(frame.cycle)) + 1
    np.testing.assert_array_equal(starts, 300 + CYCLE_SAMPLES * np.arange(3))
    assert frame.cycle[0] == 0 and frame.cycle[-1] == 3
    assert [info.step for info in frame.cycles] == [Step.REST, Step.CHARGE, Step.CHARGE, Step.CHARGE]


def test_streams_in_slices_and_reports_progress(monkeypatch, cycles_data, csv_bytes):
    monkeypatch.setattr(readers_module, "CHUNK_BYTES", 64 * 1024)
    seen: list[int] = []
    frame = read_csv(io.BytesIO(csv_bytes), progress=seen.append)
    assert len(frame) == len(cycles_data["time"])
    assert len(seen) > 10 and seen == sorted(seen) and seen[-1] == len(csv_bytes)


def test_reads_from_a_path_and_dispatches_by_extension(tmp_path, csv_bytes):
    path = tmp_path / "cell.csv"
    path.write_bytes(csv_bytes)
    assert len(read_telemetry(path)) == len(read_csv(csv_bytes))
    assert len(read_telemetry(io.BytesIO(csv_bytes), filename="upload.CSV")) == len(read_csv(csv_bytes))
    assert read_telemetry(csv_bytes, format="csv").source_format == "csv"
    [error] = rejection(csv_bytes, read_telemetry, filename="cell.xlsx")
    assert error.path == "/format" and ".xlsx" in error.message
    [error] = rejection(csv_bytes, read_telemetry, format="excel")
    assert error.path == "/format"


# --- rejections ----------------------------------------------------------------------------------


def edit(csv_bytes: bytes, row: int, column: int, value: str) -> bytes:
    """Replace one field of data row ``row`` (1-based, header excluded)."""
    lines = csv_bytes.decode().split("\n")
    fields = lines[row].split(",")
    fields[column] = value
    lines[row] = ",".join(fields)
    return "\n".join(lines).encode()


def test_empty_file_and_header_only_are_refused(csv_bytes):
    [error] = rejection(b"")
    assert error.path == "/" and "empty" in error.message
    [error] = rejection(csv_bytes.split(b"\n")[0] + b"\n")
    assert error.path == "/rows" and "no data rows" in error.message


def test_unknown_unit_names_the_column(csv_bytes):
    [error] = rejection(csv_bytes.replace(b"voltage[V]", b"voltage[kV]", 1))
    assert error.path == "/columns/voltage[kV]" and error.row is None
    assert "kV" in error.message and "voltage[mV]" in error.message


def test_missing_unit_and_missing_column_name_the_column(cycles_data):
    data = to_csv(cycles_data, extra=False)
    [error] = rejection(data.replace(b"current[A]", b"current", 1))
    assert error.path == "/columns/current" and "unit" in error.message
    header, _, body = data.partition(b"\n")
    without_temperature = b"\n".join(line.rsplit(b",", 1)[0] for line in [header, *body.split(b"\n")] if line)
    [error] = rejection(without_temperature + b"\n")
    assert error.path == "/columns/temperature" and "missing" in error.message


def test_nan_at_row_1234_names_the_column_and_row(monkeypatch, csv_bytes):
    # Slices of 16 KiB put row 1234 deep in a later slice: its row number must still be right.
    monkeypatch.setattr(readers_module, "CHUNK_BYTES", 16 * 1024)
    for value in ("", "NaN"):
        [error] = rejection(edit(csv_bytes, 1234, 1, value))
        assert (error.path, error.row) == ("/columns/voltage[V]", 1234)
        assert "missing" in error.message


def test_time_going_back_is_refused_at_its_row(csv_bytes):
    lines = csv_bytes.split(b"\n")
    lines[700], lines[701] = lines[701], lines[700]  # rows 700 and 701 swapped
    [error] = rejection(b"\n".join(lines))
    assert (error.path, error.row) == ("/columns/time", 701)
    assert "does not increase" in error.message
    [error] = rejection(edit(csv_bytes, 900, 0, f"{START + 898:.3f}"))  # equal to the row before
    assert (error.path, error.row) == ("/columns/time", 900)


def test_non_numeric_value_is_refused_at_its_row(monkeypatch, csv_bytes):
    monkeypatch.setattr(readers_module, "CHUNK_BYTES", 16 * 1024)
    [error] = rejection(edit(csv_bytes, 2345, 2, "1.0A"))
    assert (error.path, error.row) == ("/columns/current[A]", 2345)
    assert "not a number" in error.message and "1.0A" in error.message
    [error] = rejection(edit(csv_bytes, 10, 4, "first"))
    assert (error.path, error.row) == ("/columns/cycle", 10) and "integer" in error.message
    [error] = rejection(edit(csv_bytes, 11, 5, "charging"))
    assert (error.path, error.row) == ("/columns/step", 11) and "charging" in error.message


def test_out_of_range_values_name_column_and_row(cycles_data, csv_bytes):
    [error] = rejection(edit(csv_bytes, 40, 1, "-0.5"))
    assert (error.path, error.row) == ("/columns/voltage[V]", 40)
    [error] = rejection(edit(csv_bytes, 41, 1, "1500"))
    assert (error.path, error.row) == ("/columns/voltage[V]", 41) and "1500" in error.message
    [error] = rejection(edit(csv_bytes, 42, 3, "250"))
    assert (error.path, error.row) == ("/columns/temperature[degC]", 42)
    [error] = rejection(edit(csv_bytes, 43, 3, "-61"))
    assert (error.path, error.row) == ("/columns/temperature[degC]", 43)
    # The range applies after conversion: 500 K is 226.85 °C, quoted in the file's unit.
    kelvin = to_csv(cycles_data, units="milli")
    [error] = rejection(edit(kelvin, 44, 3, "500"))
    assert (error.path, error.row) == ("/columns/temperature[K]", 44) and "500" in error.message


def test_truncated_file_is_refused_at_the_cut_row(csv_bytes):
    lines = csv_bytes.split(b"\n")
    cut = len(b"\n".join(lines[:4001])) + 1 + len(lines[4001]) // 2  # half of data row 4001
    [error] = rejection(csv_bytes[:cut])
    assert (error.path, error.row) == ("/rows", 4001)
    assert "columns" in error.message


def test_several_problems_are_listed_first_row_per_kind(csv_bytes):
    data = edit(csv_bytes, 5, 1, "")
    data = edit(data, 9, 1, "")  # same kind: not listed again
    data = edit(data, 20, 3, "999")
    data = edit(data, 30, 2, "x")
    errors = rejection(data)
    listed = {(error.path, error.row) for error in errors}
    assert listed == {
        ("/columns/voltage[V]", 5),
        ("/columns/temperature[degC]", 20),
        ("/columns/current[A]", 30),
    }


def test_a_rejected_file_never_produces_a_frame(csv_bytes):
    with pytest.raises(TelemetryError) as caught:
        read_telemetry(edit(csv_bytes, 3, 1, "abc"), format="csv")
    assert "row 3" in str(caught.value)


# --- Parquet -------------------------------------------------------------------------------------


def parquet_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def test_parquet_round_trip_with_unit_brackets_or_metadata(cycles_data, csv_bytes):
    reference = read_csv(csv_bytes)
    stamps = pa.array((cycles_data["time"] * 1e6).astype(np.int64), pa.timestamp("us", tz="UTC"))
    bracketed = pa.table(
        {
            "time": stamps,
            "voltage[mV]": cycles_data["voltage"] * 1000,
            "current[A]": cycles_data["current"],
            "temperature[degC]": cycles_data["temperature"],
            "cycle": pa.array(cycles_data["cycle"], pa.int32()),
            "step": pa.array(cycles_data["step"]).dictionary_encode(),
        }
    )
    seen: list[int] = []
    frame = read_parquet(parquet_bytes(bracketed), progress=seen.append)
    assert frame.source_format == "parquet" and seen and seen == sorted(seen)
    np.testing.assert_allclose(frame.time, reference.time)
    np.testing.assert_allclose(frame.voltage_v, reference.voltage_v, atol=1e-6)
    np.testing.assert_array_equal(frame.step, reference.step)
    np.testing.assert_array_equal(frame.cycle, reference.cycle)

    schema = pa.schema(
        [
            pa.field("time", pa.float64()),
            pa.field("voltage", pa.float64(), metadata={"unit": "V"}),
            pa.field("current", pa.float64(), metadata={"unit": "mA"}),
            pa.field("temperature", pa.float64(), metadata={"unit": "K"}),
        ]
    )
    annotated = pa.table(
        [
            cycles_data["time"],
            cycles_data["voltage"],
            cycles_data["current"] * 1000,
            cycles_data["temperature"] + 273.15,
        ],
        schema=schema,
    )
    frame = read_telemetry(io.BytesIO(parquet_bytes(annotated)), filename="cell.parquet")
    np.testing.assert_allclose(frame.current_a, reference.current_a, atol=1e-9)
    np.testing.assert_allclose(frame.temperature_c, reference.temperature_c, atol=1e-4)
    assert len(np.unique(frame.cycle)) == 4  # segmented at each charge start


def test_parquet_rejections_name_column_and_row(cycles_data):
    voltage = cycles_data["voltage"].copy()
    voltage[1233] = np.nan
    base = {
        "time": cycles_data["time"],
        "voltage[V]": voltage,
        "current[A]": cycles_data["current"],
        "temperature[degC]": cycles_data["temperature"],
    }
    [error] = rejection(parquet_bytes(pa.table(base)), read_parquet)
    assert (error.path, error.row) == ("/columns/voltage[V]", 1234)

    naive = {**base, "voltage[V]": cycles_data["voltage"]}
    naive["time"] = pa.array((cycles_data["time"] * 1e6).astype(np.int64), pa.timestamp("us"))
    [error] = rejection(parquet_bytes(pa.table(naive)), read_parquet)
    assert error.path == "/columns/time" and "time zone" in error.message

    texts = {**base, "voltage[V]": [f"{value:.4f}" for value in cycles_data["voltage"]]}
    texts["voltage[V]"][99] = "n/a"
    [error] = rejection(parquet_bytes(pa.table(texts)), read_parquet)
    assert (error.path, error.row) == ("/columns/voltage[V]", 100) and "n/a" in error.message

    times = cycles_data["time"].copy()
    times[500] = times[498]
    backwards = {**base, "voltage[V]": cycles_data["voltage"], "time": times}
    [error] = rejection(parquet_bytes(pa.table(backwards)), read_parquet)
    assert (error.path, error.row) == ("/columns/time", 501)

    missing = {key: value for key, value in base.items() if key != "current[A]"}
    [error] = rejection(parquet_bytes(pa.table(missing)), read_parquet)
    assert error.path == "/columns/current"

    [error] = rejection(b"PAR1 not really parquet", read_parquet)
    assert error.path == "/"
