"""NASA PCoE .mat files: the five shared cells ingest, capacities agree, irregularities are flagged."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter

import numpy as np
import pytest
import scipy.io

from lifecycle.telemetry import (
    CycleAggregate,
    Step,
    TelemetryError,
    cycle_aggregates,
    discharge_ah_until,
    dynamic_attributes,
    limits_for,
    read_nasa_mat,
    read_telemetry,
)
from passport import batterypass
from tests.support.conformance import nasa_file

CELLS = ("B0025", "B0029", "B0030", "B0045", "B0047")
LCO = limits_for(None, "LCO")
# (cycles, discharge cycles) per file, and the cycles the raw data gives reason to flag.
SHAPE = {"B0025": (80, 28), "B0029": (97, 40), "B0030": (97, 40), "B0045": (184, 72), "B0047": (184, 72)}
KNOWN_FLAGS = {
    "B0025": {79: {"non_finite_samples"}},  # the last charge logs NaN samples
    "B0029": {},
    "B0030": {},
    "B0045": {50: {"capacity_missing"}, 164: {"capacity_missing"}},  # Capacity 0: never reached 2.7 V
    "B0047": {50: {"capacity_missing"}, 132: {"capacity_missing"}, 164: {"capacity_missing"}},
}


@pytest.fixture(scope="module")
def nasa():
    """Frames and aggregates of the five cells, parsed once for the module."""
    result = {}
    for cell in CELLS:
        frame = read_nasa_mat(nasa_file(cell))
        result[cell] = (frame, cycle_aggregates(frame, LCO))
    return result


def test_all_five_files_ingest_with_every_cycle(nasa):
    for cell, (frame, aggregates) in nasa.items():
        cycles, discharges = SHAPE[cell]
        assert frame.source_format == "nasa-mat"
        assert len(frame.cycles) == cycles == len(aggregates)
        assert sum(a.kind == "discharge" for a in aggregates) == discharges
        assert len(frame) > 100_000
        assert np.isfinite(frame.voltage_v).all() and np.isfinite(frame.temperature_c).all()
        segments = frame.segments()
        infos = {info.index: info for info in frame.cycles}
        assert set(segments) <= set(infos)
        for index, (start, stop) in segments.items():
            assert (np.diff(frame.time[start:stop]) > 0).all(), f"{cell} cycle {index} time not increasing"
            assert (frame.step[start:stop] == infos[index].step).all()
        for info in frame.cycles:
            if info.step == Step.IMPEDANCE:
                assert info.index not in segments
                assert 0 < info.re_ohm < 1 and 0 < info.rct_ohm < 1
        # Discharge current is negative in the raw data already: no sign flip needed.
        for index, (start, stop) in segments.items():
            if infos[index].step == Step.DISCHARGE:
                assert frame.current_a[start:stop].min() < -0.9


def test_capacity_within_1_percent_for_every_unflagged_discharge(nasa):
    """NASA's Capacity is the charge delivered until the voltage first drops below 2.7 V."""
    for cell, (frame, aggregates) in nasa.items():
        segments = frame.segments()
        checked = []
        for aggregate in aggregates:
            if aggregate.kind != "discharge" or aggregate.anomalies or not aggregate.reported_capacity_ah:
                continue
            start, stop = segments[aggregate.cycle_index]
            measured = discharge_ah_until(
                frame.time[start:stop], frame.voltage_v[start:stop], frame.current_a[start:stop], 2.7
            )
            error = abs(measured - aggregate.reported_capacity_ah) / aggregate.reported_capacity_ah
            assert error <= 0.01, f"{cell} cycle {aggregate.cycle_index}: {error:.2%}"
            # The whole discharge goes on below 2.7 V (to 2.0-2.5 V): more charge, never less.
            assert aggregate.discharge_ah >= aggregate.reported_capacity_ah * 0.999
            checked.append(error)
        assert len(checked) >= SHAPE[cell][1] - 3
        assert max(checked) < 1e-4  # in fact the same integral


def test_known_irregularities_are_flagged_and_nothing_else(nasa):
    for cell, (frame, aggregates) in nasa.items():
        flagged = {a.cycle_index: set(a.anomalies) for a in aggregates if a.anomalies}
        assert flagged == KNOWN_FLAGS[cell], cell
        for anomaly in frame.anomalies:
            assert anomaly.cycle in KNOWN_FLAGS[cell] and anomaly.message


def test_deep_discharges_count_only_below_the_lco_floor(nasa):
    events = {
        cell: sum(a.deep_discharge_events for a in aggregates) for cell, (_, aggregates) in nasa.items()
    }
    # B0047 stops at 2.5 V (logged down to 2.465 V): the floor itself, not below it.
    assert events["B0047"] == 0
    # B0025/B0029 (2.0 V) and B0030 (2.2 V cutoff) go below 2.45 V once per discharge; B0045's
    # two partial discharges never do.
    assert events["B0029"] == events["B0030"] == 40
    assert events["B0025"] == 28
    assert events["B0045"] == 70
    for _, aggregates in nasa.values():
        assert all(a.deep_discharge_events <= 1 for a in aggregates)


def test_impedance_cycles_carry_re_plus_rct(nasa):
    frame, aggregates = nasa["B0025"]
    infos = {info.index: info for info in frame.cycles}
    impedance = [a for a in aggregates if a.kind == "impedance"]
    assert len(impedance) == 21
    for aggregate in impedance:
        info = infos[aggregate.cycle_index]
        assert aggregate.resistance_ohm == pytest.approx(info.re_ohm + info.rct_ohm)
        assert aggregate.samples == 0 and aggregate.ambient_temperature_c == 24


def modified(cell: str, change) -> bytes:
    contents = scipy.io.loadmat(nasa_file(cell))
    change(contents[cell]["cycle"][0, 0][0])
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, {cell: contents[cell]})
    return buffer.getvalue()


def data_of(entry):
    return entry["data"][0, 0]


def set_field(entry, name, value):
    entry["data"][name][0, 0] = np.asarray(value, dtype=np.float64).reshape(1, -1)


def test_irregular_cycles_ingest_flagged(nasa):
    """B0029 with the irregularities real files have: every one flagged on its cycle, none fatal."""
    original, _ = nasa["B0029"]

    def damage(cycles):
        data_of(cycles[3])["Capacity"][0, 0] = 0.0  # zero capacity
        data_of(cycles[5])["Capacity"][0, 0] *= 1.10  # capacity that does not match the samples
        seconds = data_of(cycles[7])["Time"].ravel().copy()  # logger restart half way
        seconds[90:] -= seconds[90]
        set_field(cycles[7], "Time", seconds)
        cycles[9]["time"][0, 3] -= 2  # starts two hours early: overlaps cycle 8
        for name in ("Time", "Voltage_measured", "Current_measured", "Temperature_measured"):
            set_field(cycles[14], name, data_of(cycles[14])[name].ravel()[:5])  # five samples
        temperature = data_of(cycles[15])["Temperature_measured"].ravel().copy()
        temperature[50] += 40.0  # sensor spike
        temperature[51] = np.nan  # and a NaN sample
        set_field(cycles[15], "Temperature_measured", temperature)
        cycles[16]["type"][0] = "calibration"
        cycles[18]["time"][0, 1] = 13  # month 13: unreadable start
        data_of(cycles[12])["Re"][0, 0] = np.nan

    frame = read_nasa_mat(modified("B0029", damage))
    aggregates = {a.cycle_index: a for a in cycle_aggregates(frame, LCO)}
    expected = {
        3: "capacity_missing",
        5: "capacity_mismatch",
        7: "time_not_monotonic",
        9: "cycle_overlap",
        12: "impedance_missing",
        14: "too_few_samples",
        15: "temperature_implausible",
        16: "unknown_cycle_type",
    }
    for index, code in expected.items():
        assert code in aggregates[index].anomalies, (index, aggregates[index].anomalies)
    assert "non_finite_samples" in aggregates[15].anomalies
    assert 18 not in aggregates  # skipped, recorded on the frame
    assert any(a.cycle == 18 and a.code == "malformed_cycle" for a in frame.anomalies)
    untouched = {i for i in aggregates if i not in expected}
    assert all(not aggregates[i].anomalies for i in untouched)

    # The restarted cycle keeps all its samples, strictly increasing, and its charge.
    start, stop = frame.segments()[7]
    assert stop - start == 179 and (np.diff(frame.time[start:stop]) > 0).all()
    reference = cycle_aggregates(original, LCO)[7]
    assert aggregates[7].discharge_ah == pytest.approx(reference.discharge_ah, rel=0.01)
    # The overlapping cycle keeps its own (earlier) times.
    assert (
        frame.cycles[[info.index for info in frame.cycles].index(9)].started_at
        < frame.time[frame.segments()[8][1] - 1]
    )
    assert aggregates[12].resistance_ohm is None


def test_truncated_random_and_foreign_files_are_rejected():
    data = nasa_file("B0029").read_bytes()
    for broken in (data[: len(data) // 2], np.random.default_rng(7).bytes(200_000), b"", data[:100]):
        with pytest.raises(TelemetryError) as caught:
            read_nasa_mat(broken)
        [problem] = caught.value.errors
        assert problem.path == "/" and "MATLAB" in problem.message
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, {"readings": np.arange(10.0)})
    with pytest.raises(TelemetryError) as caught:
        read_nasa_mat(buffer.getvalue())
    [problem] = caught.value.errors
    assert problem.path == "/cycle" and "readings" in problem.message


def test_progress_and_dispatch_by_extension():
    path = nasa_file("B0047")
    seen: list[int] = []
    frame = read_telemetry(path, progress=seen.append)
    assert frame.source_format == "nasa-mat"
    assert seen and seen == sorted(seen) and seen[-1] == path.stat().st_size


def test_flag_counts_per_file(nasa):
    """The per-file summary reported to the lead (kept as a test so it stays true)."""
    summary = {
        cell: Counter(code for a in aggregates for code in a.anomalies)
        for cell, (_, aggregates) in nasa.items()
    }
    assert summary == {
        "B0025": {"non_finite_samples": 1},
        "B0029": {},
        "B0030": {},
        "B0045": {"capacity_missing": 2},
        "B0047": {"capacity_missing": 3},
    }


def test_passport_attributes_from_a_nasa_cell(nasa):
    """B0029 (43 °C, 2 A.. 4 A to 2.0 V): the figures follow from its aggregates, also after storage."""
    _, aggregates = nasa["B0029"]
    stored = [CycleAggregate.from_dict(a.to_dict()) for a in aggregates]
    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    condition = dynamic_attributes(
        stored,
        rated_capacity_ah=2.0,
        rated_energy_kwh=None,
        nominal_voltage_v=3.7,
        limits=LCO,
        now=now,
        battery_component="cell",
    )["batteryCondition"]
    discharges = [a for a in aggregates if a.kind == "discharge"]
    latest = discharges[-1].discharge_ah  # six significant digits in the payload
    assert condition["remainingCapacity"]["remainingCapacityValue"] == pytest.approx(latest, rel=1e-5)
    # Every discharged ampere-hour counts, also the short discharge pulse at the start of each charge.
    total = sum(a.discharge_ah for a in aggregates)
    assert total > sum(a.discharge_ah for a in discharges)
    assert condition["numberOfFullCycles"]["numberOfFullCyclesValue"] == pytest.approx(total / 2.0, rel=1e-5)
    assert condition["capacityThroughput"]["capacityThroughputValue"] == pytest.approx(total, rel=1e-5)
    assert condition["negativeEvents"][0]["negativeEvent"].startswith("deep discharge events: 40 ")
    # At 43 °C ambient the cell runs above the 45 °C idle boundary for hours.
    assert condition["temperatureInformation"]["timeExtremeHighTemp"] > 60
    impedance = [a.resistance_ohm for a in aggregates if a.kind == "impedance"]
    expected = (impedance[-1] - impedance[0]) / impedance[0] * 100
    assert condition["internalResistanceIncrease"][0]["internalResistanceIncreaseValue"] == pytest.approx(
        expected, rel=1e-5
    )
    problems = batterypass.validate("PerformanceAndDurability", {"batteryCondition": condition}, partial=True)
    assert all(p.message.endswith("is a required property") for p in problems)


def test_a_file_of_impedance_cycles_only_has_no_samples_but_aggregates(nasa):
    def impedance_only(cycles):
        for entry in cycles:
            if entry["type"][0] != "impedance":
                entry["type"] = np.array(["impedance"])
                entry["data"] = np.array(
                    [[(np.array([[0.05]]), np.array([[0.07]]))]], dtype=[("Re", "O"), ("Rct", "O")]
                )

    frame = read_nasa_mat(modified("B0029", impedance_only))
    assert len(frame) == 0 and len(frame.cycles) == 97
    aggregates = cycle_aggregates(frame, LCO)
    assert all(a.kind == "impedance" and a.resistance_ohm > 0 for a in aggregates)
