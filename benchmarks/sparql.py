"""Benchmark: the RDF projection and SPARQL over a fleet, Oxigraph against plain in-memory rdflib.

    DATABASE_URL=postgres://... python -m benchmarks.sparql [--cells 10000] [--packs 100] [--runs 30]

On a scratch database (PostgreSQL if DATABASE_URL says so, else SQLite):
1. seeds ``--cells`` cells of two models (NMC811, LFP) with the demo series content (all seven Battery
   Pass categories), an end-of-line test and 50-200 cycles of telemetry each (``fleet_sweep.seed_fleet``),
   a health-twin result each (``twins.services.health.assess_ids``), and ``--packs`` packs with 10 of the
   cells installed and three inspection records each;
2. rebuilds the Oxigraph store on disk with its in-memory query replicas (``ontology.rdf.sync.rebuild``
   into ``store.Replicated``) and prints quads and time, then how long loading the replicas from disk
   takes (what a process start costs) and the process's memory;
3. runs the three typical queries as the authority, ``--runs`` times each, p50/p95: on the authority's
   replica (what ``/sparql`` uses for that role: ``store.audience``), on the on-disk store with the list
   of the authority's graphs as default graph (how an economic operator's query runs), and on an
   in-memory copy of the whole store with the same list; then on a plain in-memory rdflib ``Graph``
   holding the same triples (fewer runs: rdflib is slow), in the same process;
4. times the RDF export of one passport (Turtle, as ``/id/passport/<uuid>`` serves it).

The queries are written for the projection's shape (docs/ontology.md): the latest SoH is on the battery
(``cellpass:latestStateOfHealth``), and a passport's content other than the registry-owned members is on
a content node shared by the passports of a model with the same content, so "materials across a model"
counts passports per content node (the same numbers as visiting every passport:
tests/ontology/test_rdf_fleet_queries.py).

Targets (issue): typical queries p50 <= 50 ms; export of one passport <= 20 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time

from benchmarks.fleet_sweep import MANUFACTURED, seed_fleet
from benchmarks.harness import django_environment, make_operator

PREFIXES = """PREFIX cellpass: <https://w3id.org/cellpass/ns#>
PREFIX mc: <urn:samm:io.BatteryPass.MaterialComposition:1.2.0#>
"""


def queries(model_iri: str, pack_iri: str) -> dict[str, str]:
    return {
        "cells of a chemistry with SoH in a range": soh_query("NMC811", 0.90, 0.95),
        "history of one pack": PREFIXES
        + f"""SELECT ?e ?type ?at ?battery WHERE {{
  {{ BIND(<{pack_iri}> AS ?battery) }} UNION {{ <{pack_iri}> cellpass:hasComponent ?battery }}
  ?e cellpass:battery ?battery ; cellpass:eventType ?type ; cellpass:occurredAt ?at }} ORDER BY ?at""",
        "materials across a model": materials_query(model_iri),
    }


def soh_query(chemistry: str, low: float, high: float) -> str:
    """Cells of a chemistry whose latest state of health is in [low, high], with their identifiers."""
    return (
        PREFIXES
        + f"""SELECT ?id ?soh WHERE {{
  ?b cellpass:latestStateOfHealth ?soh . FILTER(?soh >= {low} && ?soh <= {high})
  ?b a cellpass:Cell ; cellpass:chemistry "{chemistry}" ; cellpass:identifier ?id }}"""
    )


def materials_query(model_iri: str) -> str:
    """Per material name, over the passports of the model's batteries: how many passports declare it and
    the total mass. Each content node of the model once, weighted by the passports that link it."""
    return (
        PREFIXES
        + f"""SELECT ?name (SUM(?n) AS ?passports) (SUM(?n * ?perPassport) AS ?kg) WHERE {{
  {{ SELECT ?content (COUNT(DISTINCT ?p) AS ?n) WHERE {{
      ?content cellpass:forModel <{model_iri}> . ?p cellpass:content ?content }} GROUP BY ?content }}
  {{ SELECT ?content ?name (SUM(?mass) AS ?perPassport) WHERE {{
      ?content mc:batteryMaterials ?m . ?m mc:batteryMaterialName ?name .
      OPTIONAL {{ ?m mc:batteryMaterialMass ?mass }} }} GROUP BY ?content ?name }}
}} GROUP BY ?name"""
    )


def timed(run, query: str, runs: int) -> tuple[float, float, int]:
    """p50 and p95 in ms of ``runs`` runs of ``query`` (results read to the end), and its row count."""
    samples, rows = [], 0
    for _ in range(runs):
        began = time.perf_counter()
        rows = len(list(run(query)))
        samples.append(time.perf_counter() - began)
    return (*percentiles(samples), rows)


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def seed(cells: int, packs: int) -> dict:
    from lifecycle.choices import EventType
    from lifecycle.services import records
    from passport.demo_content import DEMO_MODELS, model_content
    from passport.models import Battery, BatteryModel
    from passport.services import hierarchy, registration
    from twins.services import health

    organisation, _ = make_operator("Bench Cells", "4099999")
    specs = {spec.model_number: spec for spec in DEMO_MODELS}
    models = {}
    for number in ("VX-21700-50N", "LF-280P", "VX-P75-400"):
        spec = specs[number]
        models[number] = BatteryModel.objects.create(
            manufacturer=organisation, model_number=spec.model_number, name=spec.name, kind=spec.kind,
            category=spec.category, chemistry=spec.chemistry, rated_capacity_ah=spec.rated_capacity_ah,
            nominal_voltage_v=spec.nominal_voltage_v, rated_energy_kwh=spec.rated_energy_kwh,
            mass_kg=spec.mass_kg, content=model_content(spec, organisation.name),
        )  # fmt: skip
    began = time.perf_counter()
    half = cells // 2
    ids = seed_fleet(organisation, models["VX-21700-50N"], half, prefix="N", seed=1)
    ids += seed_fleet(organisation, models["LF-280P"], cells - half, prefix="L", seed=2)
    seeded = time.perf_counter()
    for start in range(0, len(ids), 500):
        health.assess_ids(ids[start : start + 500])
    assessed = time.perf_counter()
    rows = [
        {"serial_number": f"P{n:06d}", "model": "VX-P75-400", "manufactured_at": MANUFACTURED.isoformat()}
        for n in range(packs)
    ]
    pack_batteries = registration.register(
        organisation, registration.parse_rows(rows, max_rows=packs)
    ).batteries
    cells_by_id = Battery.objects.in_bulk(ids[: packs * 10])
    at = MANUFACTURED + dt.timedelta(days=1)
    drafts = []
    for index, pack in enumerate(pack_batteries):
        for slot in range(10):
            hierarchy.install(pack, cells_by_id[ids[index * 10 + slot]], position=f"S{slot}", at=at)
        drafts += [
            records.Draft(
                pack, EventType.INSPECTION, organisation, at + dt.timedelta(days=30 * k), {"passed": True}
            )
            for k in range(1, 4)
        ]
    records.append(drafts)
    print(
        f"seeded {cells} cells in {seeded - began:.0f} s, twin results in {assessed - seeded:.0f} s, "
        f"{packs} packs in {time.perf_counter() - assessed:.0f} s"
    )
    return {"model": models["VX-21700-50N"].iri, "pack": pack_batteries[0].iri}


def resident_mb() -> float:
    with open("/proc/self/status") as status:  # Linux
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=10_000)
    parser.add_argument("--packs", type=int, default=100)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--rdflib-runs", type=int, default=3)
    args = parser.parse_args()
    with django_environment("sparql") as described:
        from django.conf import settings

        settings.CELLPASS_RDF_SYNC = "off"  # the rebuild below is what is measured, not per-write sync
        print(described)
        print("machine: 2 cores shared with other engineers' work; figures are indicative")
        iris = seed(args.cells, args.packs)
        measure(iris, args.runs, args.rdflib_runs)
    return 0


def measure(iris: dict, runs: int, rdflib_runs: int) -> None:
    """Steps 2-4 on the seeded database (``iris``: what ``seed`` returns)."""
    import pyoxigraph as ox
    from django.conf import settings
    from rdflib import Graph

    from ontology.rdf import resources, sync
    from ontology.rdf import store as rdf_store
    from passport.choices import Role
    from passport.models import Passport

    settings.CELLPASS_RDF_STORE = str(settings.VAR_DIR / "rdf-store-bench")
    before = resident_mb()
    target = rdf_store.reset_store()  # on disk: a store.Replicated
    report = sync.rebuild(target)
    print(f"rebuild: {report.batteries} batteries, {report.quads:,} quads in {report.seconds:.1f} s "
          f"({report.quads / report.seconds:,.0f} quads/s), replicas included")  # fmt: skip
    replicated = {role: len(replica) for role, replica in target.replicas().items()}
    print(f"replicas: {', '.join(f'{role} {n:,}' for role, n in replicated.items())} quads; "
          f"process memory {before:,.0f} MB before the store, {resident_mb():,.0f} MB after")  # fmt: skip
    t = time.perf_counter()
    rdf_store.Replicated(target.primary)  # what opening the store at process start costs
    print(f"loading the replicas from disk: {time.perf_counter() - t:.1f} s")
    graphs = rdf_store.audience_graphs(Role.AUTHORITY)
    names = [ox.NamedNode(g) for g in graphs]
    in_union = sum(1 for name in names for _ in target.quads_for_pattern(None, None, None, name))
    print(f"authority union: {len(graphs)} graphs, {in_union:,} triples")
    typical = queries(iris["model"], iris["pack"])
    # The same quads in an in-memory Oxigraph store, queried with the list of graphs like the disk
    # store: RocksDB point lookups cost ~10x more than in-memory ones, and these queries are joins
    # of many lookups; a default graph that is a list costs a lookup per graph.
    memory = ox.Store()
    memory.bulk_extend(list(target.quads_for_pattern(None, None, None, None)))
    audiences = {
        "oxigraph replica": rdf_store.audience(Role.AUTHORITY, target=target),
        "oxigraph disk": rdf_store.Audience(target.primary, graphs),
        "oxigraph memory": rdf_store.Audience(memory, graphs),
    }
    assert audiences["oxigraph replica"].replicated
    oxigraph_times = {
        (store_label, label): timed(audience.query, query, runs)
        for store_label, audience in audiences.items()
        for label, query in typical.items()
    }
    # The same triples in a plain in-memory rdflib graph (the authority's union, merged).
    t = time.perf_counter()
    graph = Graph()
    for name in names:
        for quad in target.quads_for_pattern(None, None, None, name):
            graph.add(
                (
                    rdf_store.from_ox(quad.subject),
                    rdf_store.from_ox(quad.predicate),
                    rdf_store.from_ox(quad.object),
                )
            )
    print(f"rdflib graph: {len(graph):,} triples loaded in {time.perf_counter() - t:.0f} s")
    rdflib_times = {label: timed(graph.query, query, rdflib_runs) for label, query in typical.items()}
    print(f"\n{'query':42} {'store':16} {'p50':>10} {'p95':>10} rows")
    for label in typical:
        for store_label in audiences:
            p50, p95, rows = oxigraph_times[store_label, label]
            print(f"{label:42} {store_label:16} {p50:7.1f} ms {p95:7.1f} ms {rows}")
        p50, p95, rows = rdflib_times[label]
        print(f"{label:42} {'rdflib memory':16} {p50:7.1f} ms {p95:7.1f} ms {rows}")
    del graph
    passport = Passport.objects.select_related("battery__model").filter(battery__kind="cell").first()
    own = rdf_store.audience_graphs(Role.ECONOMIC_OPERATOR, passport.battery.operator_id)
    # The same queries as the fleet's economic operator (every battery here is its own): its replica
    # is loaded on its first query; without one it queries the disk store with its list of graphs.
    t = time.perf_counter()
    operator = rdf_store.audience(Role.ECONOMIC_OPERATOR, passport.battery.operator_id, target)
    print(
        f"\noperator replica: {len(operator.store):,} quads, loaded on its first query in "
        f"{time.perf_counter() - t:.1f} s ({len(own)} graphs in its union)"
    )
    assert operator.replicated
    for store_label, audience in {
        "operator replica": operator,
        "operator disk": rdf_store.Audience(target.primary, own),
    }.items():
        for label, query in typical.items():
            p50, p95, rows = timed(audience.query, query, runs)
            print(f"{label:42} {store_label:16} {p50:7.1f} ms {p95:7.1f} ms {rows}")
    # Export of one passport, as the IRI serves it to the responsible operator (the biggest view).
    for store_label, store in {"oxigraph disk": target.primary, "oxigraph memory": memory}.items():
        samples, size = [], 0
        for _ in range(max(runs, 50)):
            t = time.perf_counter()
            body = resources.serialise(resources.triples_of(passport.iri, own, store), "text/turtle")
            samples.append(time.perf_counter() - t)
            size = len(body)
        p50, p95 = percentiles(samples)
        print(
            f"RDF export of one passport, {store_label} (Turtle, {size:,} bytes): "
            f"p50 {p50:.1f} ms, p95 {p95:.1f} ms"
        )


if __name__ == "__main__":
    sys.exit(main())
