"""Benchmark: bulk registration of 100,000 cells and public passport reads.

    python -m benchmarks.registration [--cells 100000] [--batch 10000] [--reads 2000]

Runs against DATABASE_URL (PostgreSQL for the figures that count) in a scratch database
named <database>_bench that it creates and drops. Requests go through the whole Django/DRF
stack in-process (no network), so the times are server-side.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time

from benchmarks.harness import django_environment, make_operator


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--reads", type=int, default=2_000)
    parser.add_argument("--passports", type=int, default=500)
    args = parser.parse_args()

    with django_environment() as description:
        from django.conf import settings
        from django.test import Client

        print(description)
        print(f"cache: {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}")
        registration_rate = bench_registration(Client(), args.cells, args.batch)
        read_stats = bench_reads(Client(), args.passports, args.reads)
    print("\nsummary")
    print(f"  bulk registration: {registration_rate:,.0f} cells/s (target >= 5,000)")
    p50, p95, p99 = read_stats["p50"], read_stats["p95"], read_stats["p99"]
    print(
        f"  public passport read, warm cache: p50 {p50:.2f} ms, p95 {p95:.2f} ms, p99 {p99:.2f} ms "
        "(target p95 <= 20 ms)"
    )
    return 0


def bench_registration(client, cells: int, batch: int) -> float:
    import orjson

    from passport.demo_content import DEMO_MODELS, model_content
    from passport.models import Battery, BatteryModel
    from passport.services import content

    organisation, token = make_operator()
    spec = next(s for s in DEMO_MODELS if s.kind == "cell")
    model = BatteryModel.objects.create(
        manufacturer=organisation,
        model_number=spec.model_number,
        name=spec.name,
        kind=spec.kind,
        category=spec.category,
        chemistry=spec.chemistry,
        rated_capacity_ah=spec.rated_capacity_ah,
        nominal_voltage_v=spec.nominal_voltage_v,
        mass_kg=spec.mass_kg,
    )
    for category, payload in model_content(spec, organisation.name).items():
        content.write_model_content(model, category, payload)
    made = dt.datetime(2026, 10, 1, tzinfo=dt.UTC).isoformat()
    headers = {"HTTP_AUTHORIZATION": f"Token {token}"}
    print(f"\nbulk registration: {cells:,} cells in requests of {batch:,}")
    started = time.perf_counter()
    for start in range(0, cells, batch):
        rows = [
            {"serial_number": f"B{n:010d}", "model": spec.model_number, "manufactured_at": made}
            for n in range(start, min(start + batch, cells))
        ]
        body = orjson.dumps({"batteries": rows})
        t0 = time.perf_counter()
        response = client.post("/api/batteries/bulk/", body, content_type="application/json", **headers)
        if response.status_code != 201:
            raise SystemExit(f"registration failed: {response.status_code} {response.content[:500]!r}")
        rate = len(rows) / (time.perf_counter() - t0)
        print(f"  rows {start:>7,}-{start + len(rows) - 1:>7,}: {rate:,.0f} cells/s")
    elapsed = time.perf_counter() - started
    assert Battery.objects.filter(operator=organisation).count() == cells
    rate = cells / elapsed
    print(f"  total {elapsed:.1f} s, {rate:,.0f} cells/s")
    return rate


def bench_reads(client, passports: int, reads: int) -> dict:
    from passport.demo_content import DEMO_MODELS, battery_content
    from passport.models import Passport
    from passport.services import content

    rng = random.Random(7)
    spec = next(s for s in DEMO_MODELS if s.kind == "cell")
    chosen = list(Passport.objects.select_related("battery__model")[:passports])
    as_of = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    for passport in chosen:
        for category, payload in battery_content(spec, rng, cycles=300, age_days=400, as_of=as_of).items():
            content.write_section(passport, category, payload)
    ids = [str(p.id) for p in chosen]
    for passport_id in ids:  # warm the cache
        assert client.get(f"/api/passports/{passport_id}/").status_code == 200
    samples = []
    for _ in range(reads):
        url = f"/api/passports/{rng.choice(ids)}/"
        t0 = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200
    samples.sort()
    stats = {
        "p50": statistics.median(samples),
        "p95": samples[int(0.95 * len(samples)) - 1],
        "p99": samples[int(0.99 * len(samples)) - 1],
    }
    print(f"\npublic passport reads: {reads:,} over {len(ids)} passports with full content, warm cache")
    print(f"  p50 {stats['p50']:.2f} ms, p95 {stats['p95']:.2f} ms, p99 {stats['p99']:.2f} ms")
    return stats


if __name__ == "__main__":
    sys.exit(main())
