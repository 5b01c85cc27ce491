"""Histories recorded in bulk, and the batched reads a fleet sweep uses: equal to the one-battery reads."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from lifecycle.choices import EventType
from lifecycle.models import CycleAggregate, TelemetryBatch
from lifecycle.payloads import clean_payload
from lifecycle.provenance.verifier import verify_bundle
from lifecycle.services import bundles, condition, events, histories, records
from passport.exceptions import ValidationFailed
from passport.models import Battery
from tests.support.fixtures import MANUFACTURED

pytestmark = pytest.mark.django_db


def _history(
    battery: Battery, rng, cycles: int, *, test: bool = True, start_day: int = 30
) -> histories.History:
    aggregates = histories.synthetic_history(
        rng,
        cycles=cycles,
        rated_capacity_ah=5.0,
        nominal_voltage_v=3.6,
        start=MANUFACTURED + dt.timedelta(days=start_day),
    )
    end_of_line = {"capacity_ah": 5.01, "internal_resistance_mohm": 21.5, "ocv_v": 3.6, "passed": True}
    return histories.History(
        battery, aggregates, f"{battery.serial_number}.csv", end_of_line if test else None
    )


@pytest.fixture
def batteries(cells) -> list[Battery]:
    return list(Battery.objects.filter(pk__in=[c["id"] for c in cells]).order_by("serial_number"))


@pytest.fixture
def recorded(batteries, manufacturer):
    """Three cells with a history (the third without an end-of-line test, the first with two
    histories), an accident on the second, and a fourth cell with nothing recorded."""
    rng = np.random.default_rng(11)
    first, second, third, _ = batteries
    loads = [_history(first, rng, 12), _history(second, rng, 30), _history(third, rng, 8, test=False)]
    histories.record_histories(loads, actor=manufacturer)
    histories.record_histories([_history(first, rng, 5, test=False, start_day=90)], actor=manufacturer)
    payload, _ = clean_payload(EventType.NEGATIVE_EVENT, {"kind": "accident", "description": "crash"})
    at = MANUFACTURED + dt.timedelta(days=100)
    records.append([records.Draft(second, EventType.NEGATIVE_EVENT, manufacturer, at, payload)])
    return loads


def test_bulk_histories_are_chained_records_with_their_aggregates(recorded, batteries):
    first, second, third, nothing = batteries
    assert condition.aggregates(second) == recorded[1].aggregates  # stored and read back exactly
    assert len(condition.aggregates(first)) == 2 * (12 + 5)  # a charge and a discharge per cycle
    batch = TelemetryBatch.objects.get(battery=third)
    assert batch.event.type == EventType.TELEMETRY and batch.event.payload["sha256"] == batch.sha256
    assert batch.cycle_count == CycleAggregate.objects.filter(batch=batch).count() == 16
    assert condition.initial_resistance_ohm(second) == pytest.approx(0.0215)
    for battery in (first, second, third):
        assert verify_bundle(bundles.for_battery(battery)).ok
    assert bundles.for_battery(nothing) is None


def test_a_history_is_refused_whole_when_a_part_is_wrong(batteries, manufacturer):
    rng = np.random.default_rng(2)
    good, bad = _history(batteries[0], rng, 5), _history(batteries[1], rng, 5)
    bad.end_of_line_test = {"capacity_ah": -1, "internal_resistance_mohm": 20, "ocv_v": 3.6, "passed": True}
    with pytest.raises(ValidationFailed) as refused:
        histories.record_histories([good, bad], actor=manufacturer)
    assert refused.value.errors[0].row == 1 and refused.value.errors[0].path == "/payload/capacity_ah"
    empty = histories.History(batteries[2], [], "empty.csv")
    with pytest.raises(ValidationFailed):
        histories.record_histories([empty], actor=manufacturer)
    assert not TelemetryBatch.objects.exists() and not CycleAggregate.objects.exists()


def test_batched_reads_equal_the_one_battery_reads(recorded, batteries):
    ids = [battery.pk for battery in batteries]
    aggregates = condition.aggregates_by_battery(ids)
    hashes = records.hashes_by_battery(ids, (EventType.TELEMETRY, EventType.END_OF_LINE_TEST))
    damage = events.negative_events_by_battery(ids, ("accident", "thermal_event"))
    resistances = condition.initial_resistances_ohm(ids)
    for battery in batteries:
        assert aggregates[battery.pk] == condition.aggregates(battery)
        assert hashes[battery.pk] == records.hashes_of(
            battery, (EventType.TELEMETRY, EventType.END_OF_LINE_TEST)
        )
        assert damage[battery.pk] == events.has_negative_events(battery, ("accident", "thermal_event"))
        assert resistances.get(battery.pk) == condition.initial_resistance_ohm(battery)
    first, second, third, nothing = batteries
    assert aggregates[nothing.pk] == [] and hashes[nothing.pk] == [] and nothing.pk not in resistances
    assert len(damage[second.pk]) == 1 and damage[first.pk] == []
    assert third.pk not in resistances  # no end-of-line test recorded
    # One entry per battery with telemetry, whatever its number of batches (the first has two).
    assert condition.batteries_with_telemetry() == sorted([first.pk, second.pk, third.pk])


def test_aggregates_with_anomalies_read_back_equal(batteries, manufacturer):
    history = _history(batteries[0], np.random.default_rng(5), 6)
    history.aggregates[3].anomalies = ["gap", "partial_discharge"]
    histories.record_histories([history], actor=manufacturer)
    [batched] = condition.aggregates_by_battery([batteries[0].pk]).values()
    assert batched == condition.aggregates(batteries[0]) == history.aggregates
    assert batched[3].anomalies == ["gap", "partial_discharge"]


def test_aggregate_arrays_out_of_order_are_put_back_in_the_numbered_order():
    arrays = [[30.0, 10.0, 20.0], ["c", "a", "b"]]
    assert condition._in_order([3, 1, 2], arrays) == [[10.0, 20.0, 30.0], ["a", "b", "c"]]
    assert condition._in_order([4, 7, 9], arrays) is arrays  # already in order: kept as it came
