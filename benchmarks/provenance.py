"""Benchmark: provenance — event append + hash + log, inclusion proofs at 1M leaves, history verification.

    python -m benchmarks.provenance [--leaves 1000000] [--events 50000] [--batch 1000] [--history 1000]

Targets (issue 3, on PostgreSQL): append ≥ 5,000 events/s; inclusion proof ≤ 1 ms at a log of
1,000,000 leaves (node fetch from the database included); verifying a battery's full history of
1,000 events ≤ 200 ms. Runs in a scratch database <name>_bench_provenance that it drops.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import time

from benchmarks.harness import django_environment, make_operator


def _percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return statistics.median(ordered), pick(0.95), pick(0.99)


def fill_log(leaves: int) -> float:
    """A log of ``leaves`` synthetic leaves written straight to the node table; returns seconds."""
    from django.db import connection

    from lifecycle.models import LogHead, MerkleNode
    from lifecycle.provenance import merkle
    from lifecycle.services import log

    started = time.perf_counter()
    rng = random.Random(7)
    size, edge, chunk = 0, {}, 100_000
    table = MerkleNode._meta.db_table
    while size < leaves:
        count = min(chunk, leaves - size)
        hashes = [merkle.leaf_hash(rng.randbytes(32)) for _ in range(count)]
        created = merkle.appended_nodes(size, edge, hashes)
        if connection.vendor == "postgresql":
            connection.ensure_connection()
            with (
                connection.connection.cursor() as cursor,
                cursor.copy(f'COPY {table} ("level", "index", "hash") FROM STDIN') as copy,
            ):
                for row in created:
                    copy.write_row(row)
        else:
            MerkleNode.objects.bulk_create(
                [MerkleNode(level=a, index=b, hash=c) for a, b, c in created], 10_000
            )
        known = {(level, index): digest for level, index, digest in created} | edge
        size += count
        edge = {coord: known[coord] for coord in merkle.compact_range(size)}
    LogHead.objects.update_or_create(pk=1, defaults={"size": size})
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table}")  # as autovacuum would after a load this size
    assert log.current_size() == leaves
    return time.perf_counter() - started


def bench_inclusion(size: int, samples: int) -> tuple[float, float, float]:
    from lifecycle.provenance import merkle
    from lifecycle.services import log

    root = log.root(size)
    rng = random.Random(11)
    timings = []
    for _ in range(samples):
        index = rng.randrange(size)
        started = time.perf_counter()
        path = log.inclusion_proof(index, size)
        timings.append((time.perf_counter() - started) * 1000)
        leaf = log.fetch_nodes([(0, index)])[(0, index)]
        assert merkle.verify_inclusion(leaf, index, size, path, root)
    return _percentiles(timings)


def _batteries(count: int):
    from passport.choices import BatteryKind
    from passport.models import Battery, BatteryModel

    organisation, _ = make_operator()
    model = BatteryModel.objects.create(
        manufacturer=organisation,
        model_number="BENCH-1",
        name="Bench cell",
        kind=BatteryKind.CELL,
        category="EV",
        chemistry="NMC811",
        rated_capacity_ah=5,
        nominal_voltage_v=3.6,
    )
    made = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    Battery.objects.bulk_create(
        [
            Battery(
                identifier=f"04099999B{n:08d}",
                kind=BatteryKind.CELL,
                model=model,
                operator=organisation,
                manufactured_at=made,
            )
            for n in range(count)
        ]
    )
    return organisation, list(Battery.objects.all())


def bench_append(batteries, organisation, events: int, batch: int) -> float:
    from lifecycle.choices import EventType
    from lifecycle.services import records

    rng = random.Random(3)
    base = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    started = time.perf_counter()
    for offset in range(0, events, batch):
        drafts = [
            records.Draft(
                battery=rng.choice(batteries),
                type=EventType.INSPECTION,
                actor=organisation,
                occurred_at=base + dt.timedelta(seconds=offset + n),
                payload={"passed": True, "findings": f"routine inspection {offset + n}", "torque_nm": 12.5},
            )
            for n in range(min(batch, events - offset))
        ]
        records.append(drafts)
    return events / (time.perf_counter() - started)


def bench_single_appends(batteries, organisation, events: int) -> float:
    from lifecycle.choices import EventType
    from lifecycle.services import records

    base = dt.datetime(2026, 7, 1, tzinfo=dt.UTC)
    started = time.perf_counter()
    for n in range(events):
        records.append(
            [
                records.Draft(
                    battery=batteries[n % len(batteries)],
                    type=EventType.REPAIR,
                    actor=organisation,
                    occurred_at=base + dt.timedelta(seconds=n),
                    payload={"description": f"repair {n}"},
                )
            ]
        )
    return events / (time.perf_counter() - started)


def bench_history(battery, organisation, events: int) -> tuple[float, float, int]:
    from lifecycle.choices import EventType
    from lifecycle.provenance.verifier import verify_bundle
    from lifecycle.services import bundles, records

    base = dt.datetime(2026, 8, 1, tzinfo=dt.UTC)
    records.append(
        [
            records.Draft(
                battery=battery,
                type=EventType.INSPECTION,
                actor=organisation,
                occurred_at=base + dt.timedelta(minutes=n),
                payload={"passed": True, "findings": str(n)},
            )
            for n in range(events)
        ]
    )
    started = time.perf_counter()
    bundle = bundles.for_battery(battery)
    built = (time.perf_counter() - started) * 1000
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        report = verify_bundle(bundle)
        timings.append((time.perf_counter() - started) * 1000)
        assert report.ok, report.failures
    return built, statistics.median(timings), len(bundle["records"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--single", type=int, default=1_000)
    parser.add_argument("--history", type=int, default=1_000)
    parser.add_argument("--proofs", type=int, default=2_000)
    args = parser.parse_args()
    with django_environment("bench_provenance") as description:
        print(description)
        seconds = fill_log(args.leaves)
        print(f"log filled with {args.leaves:,} leaves in {seconds:.1f} s")
        p50, p95, p99 = bench_inclusion(args.leaves, args.proofs)
        print(
            f"inclusion proof at {args.leaves:,} leaves (fetch + build): p50 {p50:.3f} ms, p95 {p95:.3f} ms, "
            f"p99 {p99:.3f} ms"
        )
        organisation, batteries = _batteries(1_000)
        batched = bench_append(batteries, organisation, args.events, args.batch)
        print(
            f"append + hash + log, batches of {args.batch}: {batched:,.0f} events/s ({args.events:,} events)"
        )
        single = bench_single_appends(batteries, organisation, args.single)
        print(f"append + hash + log, one event per transaction: {single:,.0f} events/s")
        built, verified, count = bench_history(batteries[0], organisation, args.history)
        print(f"history bundle of {count:,} records: built in {built:.1f} ms, verified in {verified:.1f} ms")
    print("\nsummary")
    print(f"  events appended: {batched:,.0f}/s batched, {single:,.0f}/s singly (target >= 5,000/s)")
    print(f"  inclusion proof at {args.leaves:,} leaves: p50 {p50:.3f} ms, p95 {p95:.3f} ms (target <= 1 ms)")
    print(f"  verify a {count:,}-record history: {verified:.1f} ms (target <= 200 ms)")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    raise SystemExit(main())
