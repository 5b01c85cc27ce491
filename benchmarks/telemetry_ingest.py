"""Benchmark: telemetry ingest next to plain COPY of the same rows into an identical table.

    python -m benchmarks.telemetry_ingest [--samples 2000000] [--repeat 3]

The ingest figure is end to end: SHA-256 of the file, CSV parse and validation, cycle aggregates,
binary COPY into the partitioned sample table, the aggregates, the provenance record and the
passport's dynamic attributes. The baselines load the same rows, already encoded, into an
identical partitioned table with nothing else: binary COPY and CSV COPY. Targets (issue 3, on
PostgreSQL): ingest ≥ 50 % of plain COPY and ≥ 500,000 samples/s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from benchmarks.harness import django_environment, make_operator

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp()


def synthetic_csv(path: Path, samples: int, seed: int) -> None:
    """A cell cycled at 1C with 1 s sampling, in the documented upload format."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    rng = np.random.default_rng(seed)
    per_cycle = 7200
    index = np.arange(samples)
    phase = index % per_cycle
    charging = phase < per_cycle // 2
    soc = np.where(charging, phase / (per_cycle / 2), 2 - phase / (per_cycle / 2))
    current = np.where(charging, 5.0, -5.0) + rng.normal(0, 0.01, samples)
    table = pa.table(
        {
            "time": START + index.astype(np.float64) + seed * 1e8,
            "cycle": (index // per_cycle + 1).astype(np.int32),
            "step": np.where(charging, "charge", "discharge"),
            "voltage[V]": np.round(3.0 + 1.15 * soc + current * 0.02, 4),
            "current[A]": np.round(current, 3),
            "temperature[degC]": np.round(25 + 3 * soc + rng.normal(0, 0.05, samples), 2),
        }
    )
    pcsv.write_csv(table, path, pcsv.WriteOptions(quoting_style="none"))


def _twin_table(cursor, name: str) -> None:
    """An empty table shaped and partitioned exactly like lifecycle_telemetrysample."""

    cursor.execute(f"DROP TABLE IF EXISTS {name}")
    cursor.execute(
        f"CREATE TABLE {name} (LIKE lifecycle_telemetrysample INCLUDING ALL) PARTITION BY HASH (battery_id)"
    )
    for remainder in range(8):
        bounds = f"FOR VALUES WITH (MODULUS 8, REMAINDER {remainder})"
        cursor.execute(f"CREATE TABLE {name}_p{remainder} PARTITION OF {name} {bounds}")


def bench_copy(frame, battery_id: uuid.UUID, repeat: int) -> dict[str, float]:
    """Plain COPY of the frame's rows (encoded beforehand, not timed) into a twin table."""
    import io

    from django.db import connection, transaction

    from lifecycle.services import samples

    binary = b"".join(samples.binary_copy_stream(1, battery_id, frame))
    stamps = np.datetime_as_string((frame.time * 1e6).astype("datetime64[us]"), unit="us", timezone="UTC")
    text = io.StringIO()
    columns = zip(
        frame.cycle.tolist(), frame.step.tolist(), stamps.tolist(), frame.voltage_v.tolist(),
        frame.current_a.tolist(), frame.temperature_c.tolist(), strict=True,
    )  # fmt: skip
    for n, (cycle, step, stamp, voltage, current, temperature) in enumerate(columns):
        text.write(f"1,{battery_id},{n},{cycle},{step},{stamp},{voltage!r},{current!r},{temperature!r}\n")
    csv_bytes = text.getvalue().encode()
    results: dict[str, list[float]] = {"binary COPY": [], "CSV COPY": []}
    connection.ensure_connection()
    for _ in range(repeat):
        for label, payload, options in (
            ("binary COPY", binary, "FORMAT BINARY"),
            ("CSV COPY", csv_bytes, "FORMAT CSV"),
        ):
            with transaction.atomic(), connection.connection.cursor() as cursor:
                _twin_table(cursor, "bench_plain_samples")
                started = time.perf_counter()
                with cursor.copy(
                    f"COPY bench_plain_samples ({', '.join(samples.COLUMNS)}) FROM STDIN ({options})"
                ) as copy:
                    for offset in range(0, len(payload), 8 << 20):
                        copy.write(payload[offset : offset + (8 << 20)])
                results[label].append(len(frame) / (time.perf_counter() - started))
                cursor.execute("DROP TABLE bench_plain_samples")
    return {label: statistics.median(rates) for label, rates in results.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with django_environment("bench_telemetry") as description, tempfile.TemporaryDirectory() as scratch:
        from django.db import connection

        from lifecycle.services import telemetry
        from lifecycle.telemetry import read_csv
        from passport.choices import BatteryKind
        from passport.models import Battery, BatteryModel

        print(description)
        organisation, _ = make_operator()
        model = BatteryModel.objects.create(
            manufacturer=organisation, model_number="BENCH-CELL", name="Bench cell", kind=BatteryKind.CELL,
            category="ev", chemistry="NMC811", rated_capacity_ah=5, nominal_voltage_v=3.6,
        )  # fmt: skip
        files = []
        for n in range(args.repeat):
            path = Path(scratch) / f"bench-{n}.csv"
            synthetic_csv(path, args.samples, seed=n + 1)
            files.append(path)
        size_mb = files[0].stat().st_size / 1e6
        print(f"file: {args.samples:,} samples, {size_mb:.0f} MB CSV")
        rates = []
        for n, path in enumerate(files):
            battery = Battery.objects.create(
                identifier=f"04099999BENCH{n:04d}", kind=BatteryKind.CELL, model=model, operator=organisation,
                manufactured_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
            )  # fmt: skip
            started = time.perf_counter()
            result = telemetry.ingest(battery, path, actor=organisation, filename=path.name)
            rates.append(result.batch.sample_count / (time.perf_counter() - started))
            assert result.created and result.batch.sample_count == args.samples
        ingest_rate = statistics.median(rates)
        frame = read_csv(files[0])
        on_postgres = connection.vendor == "postgresql"
        baselines = bench_copy(frame, uuid.uuid4(), args.repeat) if on_postgres else {}
    print("\nsummary")
    print(
        f"  ingest (hash, parse, validate, aggregate, COPY, record, attributes): {ingest_rate:,.0f} samples/s"
    )
    for label, rate in baselines.items():
        print(f"  plain {label} of the same rows into an identical table: {rate:,.0f} samples/s "
              f"-> ingest is {ingest_rate / rate:.0%} of it")  # fmt: skip
    print("  targets: >= 50% of plain COPY, >= 500,000 samples/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
