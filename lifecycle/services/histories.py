"""Cycle histories aggregated elsewhere, recorded for many batteries at once.

A fleet migrated from another system (or a benchmark's synthetic fleet) arrives as per-cycle
aggregates without the samples behind them. Each battery gets what a telemetry ingest would have
given it, minus the samples: one ``operation.telemetry`` record (chained and in the Merkle log), one
``TelemetryBatch`` identified by the SHA-256 of its canonical aggregates, and the aggregates
themselves; optionally an end-of-line test record first. Everything is written with one
``records.append`` and COPY (PostgreSQL) per call, so 10,000 batteries with 150 cycles each take
seconds instead of the hours that 10,000 file uploads would.

Unlike ``telemetry.ingest`` this sends no ``telemetry_ingested`` signal and does not refresh the
passports' dynamic attributes: a bulk load is followed by a fleet sweep, not by 10,000 single runs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import orjson
from django.db import connection, transaction
from psycopg.types.json import Jsonb

from lifecycle.choices import EventType, TelemetryFormat
from lifecycle.models import CycleAggregate, TelemetryBatch
from lifecycle.payloads import clean_payload
from lifecycle.services import bulk, records
from lifecycle.telemetry import CycleAggregate as Aggregate
from passport.exceptions import FieldError, ValidationFailed
from passport.models import Battery, Organisation

_AGGREGATE_TABLE = CycleAggregate._meta.db_table
_AGGREGATE_FIELDS = [
    field.name
    for field in CycleAggregate._meta.concrete_fields
    if field.name not in {"id", "battery", "batch"}
]


def _as_dict(aggregate: Aggregate) -> dict:
    """``Aggregate.to_dict`` without ``dataclasses.asdict``'s deep copy (100 µs per aggregate)."""
    values = {name: getattr(aggregate, name) for name in _AGGREGATE_FIELDS}
    values["anomalies"] = list(aggregate.anomalies)
    return values


@dataclass
class History:
    """One battery's aggregated cycles, and optionally its end-of-line test (``EndOfLineTest`` payload)."""

    battery: Battery
    aggregates: list[Aggregate]
    source: str = ""  # where the history comes from (kept as the batch's file name)
    end_of_line_test: dict | None = None
    end_of_line_tested_at: dt.datetime | None = None


@dataclass
class Recorded:
    batches: list[TelemetryBatch]
    aggregates: int
    records: int


def _instant(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


@transaction.atomic
def record_histories(histories: Sequence[History], *, actor: Organisation) -> Recorded:
    """Record ``histories`` (one per battery, each with at least one aggregate); all or nothing."""
    tests = []
    for index, history in enumerate(histories):
        if not history.aggregates:
            raise ValidationFailed([FieldError(f"/{index}/aggregates", "is empty")])
        if history.end_of_line_test is not None:
            payload, problems = clean_payload(EventType.END_OF_LINE_TEST, history.end_of_line_test)
            if problems:
                for problem in problems:
                    problem.row = index
                raise ValidationFailed(problems)
            moment = history.end_of_line_tested_at or history.battery.manufactured_at
            tests.append(records.Draft(history.battery, EventType.END_OF_LINE_TEST, actor, moment, payload))
    digests, spans, telemetry = [], [], []
    for history in histories:
        rows = [_as_dict(aggregate) for aggregate in history.aggregates]
        # The batch's "file" is its aggregates as JSON (sorted keys): the hash identifies the content,
        # as an upload's SHA-256 does; loading the same history twice fails on that unique hash.
        digest = hashlib.sha256(
            orjson.dumps(
                {"battery": history.battery.identifier, "aggregates": rows}, option=orjson.OPT_SORT_KEYS
            )
        ).hexdigest()
        counts = Counter(code for row in rows for code in row["anomalies"])
        first = min(a.started_at for a in history.aggregates)
        last = max(a.started_at + a.duration_s for a in history.aggregates)
        digests.append(digest)
        spans.append((first, last))
        telemetry.append(
            records.Draft(
                battery=history.battery,
                type=EventType.TELEMETRY,
                actor=actor,
                occurred_at=_instant(last),
                payload={
                    "sha256": digest,
                    "format": TelemetryFormat.CSV.value,
                    "filename": history.source,
                    "size_bytes": 0,
                    "samples": 0,
                    "cycles": len(rows),
                    "first_sample_at": records.timestamp(_instant(first)),
                    "last_sample_at": records.timestamp(_instant(last)),
                    "anomalies": dict(sorted(counts.items())),
                    "aggregated_elsewhere": True,
                },
            )
        )
    events = records.append([*tests, *telemetry])[len(tests) :]
    batches = TelemetryBatch.objects.bulk_create(
        [
            TelemetryBatch(
                battery=history.battery,
                sha256=digest,
                format=TelemetryFormat.CSV,
                filename=history.source[:255],
                size_bytes=0,
                sample_count=0,
                cycle_count=len(history.aggregates),
                first_sample_at=_instant(first),
                last_sample_at=_instant(last),
                anomalies=[],
                event=event,
            )
            for history, digest, (first, last), event in zip(histories, digests, spans, events, strict=True)
        ],
        batch_size=2000,
    )
    count = _insert_aggregates(histories, batches)
    return Recorded(batches, count, len(tests) + len(events))


def _insert_aggregates(histories: Sequence[History], batches: list[TelemetryBatch]) -> int:
    def rows():
        for history, batch in zip(histories, batches, strict=True):
            for aggregate in history.aggregates:
                values = _as_dict(aggregate)
                values["started_at"] = _instant(aggregate.started_at)
                yield history.battery.pk, batch.pk, values

    if connection.vendor != "postgresql":
        made = [CycleAggregate(battery_id=b, batch_id=t, **values) for b, t, values in rows()]
        CycleAggregate.objects.bulk_create(made, batch_size=2000)
        return len(made)
    count = 0

    def tuples():
        nonlocal count
        for battery_id, batch_id, values in rows():
            count += 1
            values["anomalies"] = Jsonb(values["anomalies"])
            yield (battery_id, batch_id, *(values[name] for name in _AGGREGATE_FIELDS))

    columns = [
        "battery_id",
        "batch_id",
        *(CycleAggregate._meta.get_field(n).column for n in _AGGREGATE_FIELDS),
    ]
    bulk.copy_rows(_AGGREGATE_TABLE, columns, tuples())
    return count


# --- synthetic histories (benchmarks and tests) ---------------------------------------------------


@dataclass(frozen=True)
class FadeShape:
    """Capacity after k cycles as a fraction of rated: ``q·(1 - alpha·(k/100)^beta)`` + AR(1) noise."""

    q: float
    alpha: float
    beta: float
    noise: float  # standard deviation of the measurement noise, fraction of rated
    rho: float  # lag-1 autocorrelation of the noise (regeneration after rests spans several cycles)


def random_shape(rng: np.random.Generator) -> FadeShape:
    """A plausible cell: 2-35 % lost by cycle 100, decelerating to accelerating fade."""
    return FadeShape(
        q=float(rng.uniform(0.97, 1.03)),
        alpha=float(np.clip(rng.lognormal(math.log(0.12), 0.5), 0.02, 0.35)),
        beta=float(rng.uniform(0.7, 1.6)),
        noise=float(rng.uniform(0.002, 0.008)),
        rho=float(rng.uniform(0.3, 0.9)),
    )


def synthetic_history(
    rng: np.random.Generator,
    *,
    cycles: int,
    rated_capacity_ah: float,
    nominal_voltage_v: float,
    start: dt.datetime,
    shape: FadeShape | None = None,
    with_charges: bool = True,
) -> list[Aggregate]:
    """``cycles`` full discharges at about 1C (each after a charge, when ``with_charges``), one every
    8 hours from ``start``: capacity from the fade shape, pulse resistance growing with the fade,
    ambient temperature per cell between 15 and 35 °C."""
    shape = shape or random_shape(rng)
    k = np.arange(1, cycles + 1, dtype=float)
    shocks = rng.standard_normal(cycles) * shape.noise * math.sqrt(1 - shape.rho**2)
    noise = np.empty(cycles)
    noise[0] = rng.standard_normal() * shape.noise
    for n in range(1, cycles):
        noise[n] = shape.rho * noise[n - 1] + shocks[n]
    fraction = shape.q * (1 - shape.alpha * (k / 100) ** shape.beta) + noise
    capacity = np.maximum(fraction, 0.05) * rated_capacity_ah
    ambient = float(rng.uniform(15, 35))
    current = rated_capacity_ah * rng.uniform(0.95, 1.05, cycles)
    resistance0 = float(rng.uniform(0.015, 0.03)) * 5.0 / rated_capacity_ah
    resistance = resistance0 * (1 + 2.5 * (shape.q - fraction)) * (1 + rng.normal(0, 0.02, cycles))
    result = []
    t0 = start.timestamp()
    for n in range(cycles):
        began = t0 + n * 8 * 3600
        duration = float(capacity[n] / current[n] * 3600)
        common = {
            "samples": int(duration // 10),
            "voltage_min_v": round(nominal_voltage_v * 0.83, 4),
            "voltage_max_v": round(nominal_voltage_v * 1.16, 4),
            "ambient_temperature_c": round(ambient, 2),
            "resistance_ohm": float(resistance[n]),
            "deep_discharge_events": 0,
            "overcharge_events": 0,
            "time_above_temp_s": 0.0,
            "time_below_temp_s": 0.0,
            "charging_time_above_temp_s": 0.0,
            "charging_time_below_temp_s": 0.0,
            "reported_capacity_ah": None,
            "anomalies": [],
        }
        if with_charges:
            charged = float(capacity[n] * 1.002)
            result.append(
                Aggregate(
                    cycle_index=2 * n + 1,
                    kind="charge",
                    started_at=began,
                    duration_s=duration * 1.1,
                    charge_ah=charged,
                    discharge_ah=0.0,
                    charge_wh=charged * nominal_voltage_v * 1.03,
                    discharge_wh=0.0,
                    temperature_min_c=ambient,
                    temperature_max_c=ambient + 4,
                    temperature_mean_c=ambient + 2,
                    **common,
                )
            )
        result.append(
            Aggregate(
                cycle_index=2 * n + 2,
                kind="discharge",
                started_at=began + 4 * 3600,
                duration_s=duration,
                charge_ah=0.0,
                discharge_ah=float(capacity[n]),
                charge_wh=0.0,
                discharge_wh=float(capacity[n] * nominal_voltage_v),
                temperature_min_c=ambient,
                temperature_max_c=ambient + 6,
                temperature_mean_c=ambient + 3,
                **common,
            )
        )
    return result
