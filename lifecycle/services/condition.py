"""The dynamic passport attributes (#53 to #93) rebuilt from a battery's cycle aggregates and events."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
from collections.abc import Iterable

import psycopg
from django.db import connection

from lifecycle.choices import EventType, NegativeEventKind
from lifecycle.models import CycleAggregate, LifecycleEvent, TelemetryBatch
from lifecycle.telemetry import CycleAggregate as Aggregate
from lifecycle.telemetry import OperatingLimits, dynamic_attributes, limits_for
from passport.choices import PassportCategory
from passport.models import Battery
from passport.services import content, stewardship

PERFORMANCE = PassportCategory.PERFORMANCE_AND_DURABILITY
AGGREGATE_FIELDS = [
    field.name
    for field in CycleAggregate._meta.concrete_fields
    if field.name not in {"id", "battery", "batch"}
]


def technical_properties(battery: Battery) -> dict:
    passport = stewardship.active_passport(battery) or battery.passports.order_by("-created_at").first()
    if passport is None:
        return battery.model.content.get(PERFORMANCE, {}).get("batteryTechicalProperties", {})
    return content.full_content(passport).get(PERFORMANCE, {}).get("batteryTechicalProperties", {})


def limits(battery: Battery) -> OperatingLimits:
    return limits_for(technical_properties(battery), battery.model.chemistry)


# Rows are read as tuples in the dataclass's field order and passed positionally: on a fleet sweep
# (hundreds of thousands of rows) from_dict's per-row field matching costs more than the query.
_ROW_FIELDS = [f.name for f in dataclasses.fields(Aggregate)]
_POSITIONAL = set(_ROW_FIELDS) <= set(AGGREGATE_FIELDS)
if not _POSITIONAL:  # a dataclass field without a column: fall back to from_dict's defaults
    _ROW_FIELDS = [name for name in _ROW_FIELDS if name in AGGREGATE_FIELDS]
_STARTED_AT = _ROW_FIELDS.index("started_at")
_ANOMALIES = _ROW_FIELDS.index("anomalies")


def _aggregate(row: tuple) -> Aggregate:
    """A stored row as the dataclass, exactly as ``Aggregate.from_dict`` would build it."""
    values = list(row)
    values[_STARTED_AT] = values[_STARTED_AT].timestamp()
    values[_ANOMALIES] = list(values[_ANOMALIES] or [])
    if _POSITIONAL:
        return Aggregate(*values)
    return Aggregate.from_dict(dict(zip(_ROW_FIELDS, values, strict=True)))


def aggregates(battery: Battery) -> list[Aggregate]:
    rows = CycleAggregate.objects.filter(battery=battery).order_by("started_at", "batch_id", "cycle_index")
    return [_aggregate(row) for row in rows.values_list(*_ROW_FIELDS)]


def aggregates_by_battery(battery_ids: Iterable) -> dict[object, list[Aggregate]]:
    """``aggregates`` of many batteries in one query (a fleet sweep's batch), in the same order per
    battery and equal to it field for field; every requested id is a key ([] without aggregates)."""
    ids = list(battery_ids)
    result: dict[object, list[Aggregate]] = {pk: [] for pk in ids}
    if not ids:
        return result
    if connection.vendor == "postgresql" and _POSITIONAL:
        result.update(_aggregates_postgres(ids))
        return result
    rows = CycleAggregate.objects.filter(battery_id__in=ids).order_by(
        "battery_id", "started_at", "batch_id", "cycle_index"
    )
    for battery_id, *row in rows.values_list("battery_id", *_ROW_FIELDS):
        result.setdefault(battery_id, []).append(_aggregate(row))
    return result


def _aggregates_postgres(ids: list) -> dict[object, list[Aggregate]]:
    """The same rows, a third of the cost: one row per battery with each column as an array in the
    binary protocol (psycopg decodes arrays in C; a row per cycle costs ~1 µs per value in Python),
    the start as epoch seconds (float8 of the exact microseconds: ``datetime.timestamp()``'s value)
    and the anomalies as JSON text, decoded only when not empty.

    Each battery's rows are read through the battery index, sorted once in the per-battery order
    (start, batch, cycle) and numbered by a window function, and its arrays aggregated without an
    ORDER BY each: PostgreSQL 15 sorts every ordered aggregate separately, and 24 sorts of each
    battery's rows were two thirds of the query. One lateral subquery per battery keeps the plan an
    index scan whatever the table's statistics say (a GROUP BY over ``battery_id = ANY(...)`` became
    a parallel scan of the whole table on a freshly loaded one). SQL does not promise that an aggregate
    sees a subquery's rows in its order, so the numbers come back too, and a battery whose arrays are
    out of order is put back in order here (``_in_order``)."""
    table = CycleAggregate._meta.db_table
    quote = connection.ops.quote_name
    order = ", ".join(
        quote(CycleAggregate._meta.get_field(name).column) for name in ("started_at", "batch", "cycle_index")
    )
    columns = []
    for name in _ROW_FIELDS:
        column = quote(CycleAggregate._meta.get_field(name).column)
        if name == "started_at":
            column = f"EXTRACT(EPOCH FROM {column})::float8"
        elif name == "anomalies":
            column = f"{column}::text"
        columns.append(column)
    selected = ", ".join(f"{column} AS c{number}" for number, column in enumerate(columns))
    aggregated = ", ".join(f"array_agg(c{number})" for number in range(len(columns)))
    battery = quote(CycleAggregate._meta.get_field("battery").column)
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(
            f"SELECT ids.id, numbered.* FROM unnest(%s::uuid[]) AS ids(id) CROSS JOIN LATERAL ("
            f"SELECT array_agg(position), {aggregated} FROM ("
            f"SELECT row_number() OVER (ORDER BY {order}) AS position, {selected} "
            f"FROM {table} WHERE {battery} = ids.id) AS ordered) AS numbered",
            [ids],
            binary=True,
        )
        rows = cursor.fetchall()
    result = {}
    for battery_id, positions, *arrays in rows:
        if positions is None:  # no aggregates: an aggregate over no rows is one row of NULLs
            continue
        aggregates = result[battery_id] = []
        for values in zip(*_in_order(positions, arrays), strict=True):
            values = list(values)
            text = values[_ANOMALIES]
            values[_ANOMALIES] = [] if text == "[]" else list(json.loads(text) or [])
            aggregates.append(Aggregate(*values))
    return result


def _in_order(positions: list[int], arrays: list[list]) -> list[list]:
    """The column arrays in the order of ``positions`` (as they come when the server kept it)."""
    if all(earlier < later for earlier, later in itertools.pairwise(positions)):
        return arrays
    order = sorted(range(len(positions)), key=positions.__getitem__)
    return [[array[index] for index in order] for array in arrays]


def batteries_with_telemetry() -> list:
    """Ids of every battery with at least one telemetry batch, in id order (what a fleet sweep covers)."""
    # order_by replaces the model's ordering, which would otherwise join the DISTINCT (one row per batch).
    return list(TelemetryBatch.objects.order_by("battery_id").values_list("battery_id", flat=True).distinct())


def accidents(battery: Battery) -> list[dict]:
    events = LifecycleEvent.objects.filter(
        battery=battery, type=EventType.NEGATIVE_EVENT, payload__kind=NegativeEventKind.ACCIDENT
    ).order_by("occurred_at")
    return [
        {
            "kind": event.payload.get("kind"),
            "description": event.payload.get("description", ""),
            "occurred_at": event.occurred_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        }
        for event in events
    ]


def initial_resistance_ohm(battery: Battery) -> float | None:
    test = (
        LifecycleEvent.objects.filter(battery=battery, type=EventType.END_OF_LINE_TEST)
        .order_by("sequence")
        .first()
    )
    return test.payload["internal_resistance_mohm"] / 1000 if test else None


def initial_resistances_ohm(battery_ids: Iterable) -> dict[object, float]:
    """``initial_resistance_ohm`` of many batteries in one query; batteries without a test are absent."""
    tests = LifecycleEvent.objects.filter(battery_id__in=list(battery_ids), type=EventType.END_OF_LINE_TEST)
    result: dict[object, float] = {}
    for battery_id, payload in tests.order_by("battery_id", "sequence").values_list("battery_id", "payload"):
        result.setdefault(battery_id, payload["internal_resistance_mohm"] / 1000)
    return result


def refresh(battery: Battery, *, now: dt.datetime | None = None) -> dict | None:
    """Recompute and store the measured condition; returns the stored ``batteryCondition``."""
    model = battery.model
    condition = dynamic_attributes(
        aggregates(battery),
        rated_capacity_ah=float(model.rated_capacity_ah),
        rated_energy_kwh=float(model.rated_energy_kwh) if model.rated_energy_kwh is not None else None,
        nominal_voltage_v=float(model.nominal_voltage_v),
        limits=limits(battery),
        accidents=accidents(battery),
        initial_resistance_ohm=initial_resistance_ohm(battery),
        now=now or dt.datetime.now(dt.UTC),
    )
    return stewardship.apply_condition(battery, condition.get("batteryCondition", {}))
