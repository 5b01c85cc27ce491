"""The database as RDF quads: per battery, the triples of every audience graph it appears in.

The projection is a pure function of the database (no clocks, no random blank-node labels), so an
incremental sync and a full rebuild give the same quads. Passport content goes through the Battery
Pass JSON-LD contexts (``ontology.jsonld.category_graph``); its blank nodes are skolemised to IRIs
derived from the content below the node, so they are stable across runs and can be found again when a
battery is re-projected: every subject a battery owns starts with one of its *root* IRIs (the battery,
its passports, its records); content nodes (``/.well-known/genid/``) are shared, content-addressed and
garbage-collected per graph.

A passport's content is split in two (``content_triples``): the members the registry owns
(``content.REGISTRY_MEMBERS``: identifiers, category, status, dates, mass; different for every battery)
are stated about the passport IRI; everything else (the model's series content merged with the
passport's own sections) about a ``cellpass:PassportContent`` node the passport links with
``cellpass:content``. That node is content-addressed and names its battery model
(``cellpass:forModel``), so every passport of a model with the same content, as one audience sees it,
links the same node: a graph holds the series content of a model once instead of once per passport,
and a fleet query counts passports per content node instead of visiting every passport.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

import pyoxigraph as ox
from rdflib import RDF, RDFS, XSD, BNode, Graph, Literal, URIRef

from lifecycle.choices import EventType
from lifecycle.services import events as lifecycle_events
from ontology.namespaces import CELLPASS, PROV, base_url, resource_iri
from ontology.rdf import store as rdf_store
from passport.choices import BatteryKind, Role
from passport.services import content, registry

KIND_CLASSES = {
    BatteryKind.CELL: CELLPASS.Cell,
    BatteryKind.MODULE: CELLPASS.Module,
    BatteryKind.PACK: CELLPASS.Pack,
    BatteryKind.SYSTEM: CELLPASS.BatterySystem,
}
EVENT_CLASSES = {
    EventType.FORMATION: CELLPASS.Formation,
    EventType.END_OF_LINE_TEST: CELLPASS.EndOfLineTest,
    EventType.QUALITY_RELEASE: CELLPASS.QualityRelease,
    EventType.TELEMETRY: CELLPASS.TelemetryRecording,
    EventType.NEGATIVE_EVENT: CELLPASS.NegativeEvent,
    EventType.INSPECTION: CELLPASS.Inspection,
    EventType.REPAIR: CELLPASS.Repair,
    EventType.REPLACEMENT: CELLPASS.Replacement,
    EventType.OPERATOR_TRANSFER: CELLPASS.OperatorTransfer,
    EventType.STATUS_CHANGE: CELLPASS.StatusChange,
    EventType.COLLECTION: CELLPASS.Collection,
    EventType.DISMANTLING: CELLPASS.Dismantling,
    EventType.MATERIAL_RECOVERY: CELLPASS.MaterialRecovery,
    EventType.CORRECTION: CELLPASS.Correction,
    EventType.TWIN_RESULT: CELLPASS.TwinRun,
}
# Which role's passport view goes to which graph; public and responsible views are partitioned.
CONTENT_ROLES = (Role.PUBLIC, Role.LEGITIMATE_INTEREST, Role.AUTHORITY, Role.ECONOMIC_OPERATOR)
BATCH = 500

Triple = tuple[URIRef | BNode, URIRef, URIRef | BNode | Literal]


@dataclass
class BatteryInput:
    """Everything the projection of one battery reads, loaded in batches."""

    battery: object
    passports: list[tuple[object, list]] = field(default_factory=list)  # (passport, predecessor ids)
    sections: dict[object, dict[str, dict]] = field(default_factory=dict)  # by passport id
    components: list = field(default_factory=list)
    records: list = field(default_factory=list)


def load(ids: Iterable) -> list[BatteryInput]:
    """The inputs of these batteries: six queries for the whole batch, none per battery."""
    batteries = registry.batteries_for_projection(ids)
    keys = [battery.pk for battery in batteries]
    passports = registry.passports_by_battery(keys)
    sections = content.sections_by_passport([p.pk for items in passports.values() for p, _ in items])
    components = registry.installed_components(keys)
    records = lifecycle_events.events_by_battery(keys)
    return [
        BatteryInput(
            battery=battery,
            passports=passports[battery.pk],
            sections={p.pk: sections[p.pk] for p, _ in passports[battery.pk]},
            components=components[battery.pk],
            records=records[battery.pk],
        )
        for battery in batteries
    ]


def roots(item: BatteryInput) -> list[str]:
    """IRIs under which every subject of this battery's projection lies."""
    battery = item.battery
    return (
        [battery.iri]
        + [passport.iri for passport, _ in item.passports]
        + [str(resource_iri("event", record.pk)) for record in item.records]
    )


def _lit(value: object) -> Literal:
    if isinstance(value, dt.datetime):
        return Literal(value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"), datatype=XSD.dateTime)
    if isinstance(value, Decimal):
        return Literal(format(value.normalize(), "f"), datatype=XSD.decimal)
    if isinstance(value, bool):
        return Literal(value)
    if isinstance(value, int):
        return Literal(value, datatype=XSD.integer)
    if isinstance(value, float):
        return Literal(repr(value), datatype=XSD.double)
    return Literal(str(value))


def _org(pk: object) -> URIRef:
    return resource_iri("organisation", pk)


def registry_triples(item: BatteryInput) -> list[Triple]:
    battery = item.battery
    model = battery.model
    b = URIRef(battery.iri)
    triples: list[Triple] = [
        (b, RDF.type, CELLPASS.Battery),
        (b, RDF.type, KIND_CLASSES[battery.kind]),
        (b, CELLPASS.identifier, _lit(battery.identifier)),
        (b, CELLPASS.kind, _lit(battery.kind)),
        (b, CELLPASS.model, resource_iri("battery-model", model.pk)),
        (b, CELLPASS.manufacturer, _org(model.manufacturer_id)),
        (b, CELLPASS.operator, _org(battery.operator_id)),
        # Denormalised from the model: the usual filters of a fleet query, without a join.
        (b, CELLPASS.chemistry, _lit(model.chemistry)),
        (b, CELLPASS.ratedCapacity, _lit(model.rated_capacity_ah)),
        (b, CELLPASS.status, _lit(battery.status)),
        (b, CELLPASS.manufacturedAt, _lit(battery.manufactured_at)),
    ]
    if battery.put_into_service_at:
        triples.append((b, CELLPASS.putIntoServiceAt, _lit(battery.put_into_service_at)))
    for child in item.components:
        triples.append((b, CELLPASS.hasComponent, URIRef(child.iri)))
    for passport, predecessors in item.passports:
        p = URIRef(passport.iri)
        triples += [
            (b, CELLPASS.hasPassport, p),
            (p, RDF.type, CELLPASS.Passport),
            (p, CELLPASS.battery, b),
            (p, CELLPASS.identifier, _lit(passport.identifier)),
            (p, CELLPASS.passportState, _lit(passport.state)),
            (p, CELLPASS.issuedBy, _org(passport.issued_by_id)),
        ]
        triples += [(p, PROV.wasRevisionOf, resource_iri("passport", pk)) for pk in predecessors]
    return triples


def genid_prefix() -> str:
    return f"{base_url()}/.well-known/genid/"


_PLACEHOLDER = "urn:cellpass:projection-subject"


@lru_cache(maxsize=8192)
def _category_triples(category: str, document: str) -> tuple[Triple, ...]:
    """One category payload as skolemised triples about a placeholder subject. Cached: the series
    content of a model is the same JSON in thousands of passports, and JSON-LD parsing is the costly
    step of a rebuild."""
    from ontology import jsonld  # the vocabulary engineer's module; imported late

    graph = jsonld.category_graph(category, json.loads(document), _PLACEHOLDER)
    return tuple(skolemise(graph))


def _dump(document: object) -> str:
    return json.dumps(document, sort_keys=True, default=str)


ContentNode = tuple[URIRef, tuple[Triple, ...]]  # a content node and its triples (with those below it)


def content_triples(item: BatteryInput) -> dict[str, tuple[list[Triple], list[ContentNode]]]:
    """Each passport's content as each role may see it, by role (JSON-LD via the Battery Pass contexts):
    the triples about the passports (the registry-owned members and the ``cellpass:content`` links)
    and the shared content nodes they link."""
    by_role: dict[str, tuple[list[Triple], list[ContentNode]]] = {role: ([], []) for role in CONTENT_ROLES}
    battery = item.battery
    model = str(resource_iri("battery-model", battery.model.pk))
    placeholder = URIRef(_PLACEHOLDER)
    for passport, _ in item.passports:
        subject = URIRef(passport.iri)
        views = content.role_views(passport, battery, item.sections[passport.pk], CONTENT_ROLES)
        for role, view in views.items():
            triples, nodes = by_role[role]
            shared: dict[str, dict] = {}
            for category, payload in view.items():
                owned = content.REGISTRY_MEMBERS.get(category, ())
                own = {key: value for key, value in payload.items() if key in owned}
                rest = {key: value for key, value in payload.items() if key not in owned}
                if rest:
                    shared[category] = rest
                if own:
                    for s, p, o in _category_triples(category, _dump(own)):
                        triples.append(
                            (subject if s == placeholder else s, p, subject if o == placeholder else o)
                        )
            if shared:
                node = _content_node(model, _dump(shared))
                triples.append((subject, CELLPASS.content, node[0]))
                nodes.append(node)
    return by_role


@lru_cache(maxsize=1024)
def _content_node(model: str, document: str) -> ContentNode:
    """The ``cellpass:PassportContent`` node of these category payloads (by category) of a passport of
    ``model``, and its triples (with those of the content below it). Named by a digest of its own
    statements, whose objects below it are content-addressed already: the same content of the same
    model is the same node."""
    placeholder = URIRef(_PLACEHOLDER)
    body: list[Triple] = [
        (placeholder, RDF.type, CELLPASS.PassportContent),
        (placeholder, CELLPASS.forModel, URIRef(model)),
    ]
    for category, payload in sorted(json.loads(document).items()):
        body += _category_triples(category, _dump(payload))
    own = sorted({f"{p.n3()} {o.n3()}" for s, p, o in body if s == placeholder})
    digest = hashlib.sha256(("passport-content\n" + "\n".join(own)).encode()).hexdigest()[:32]
    node = URIRef(genid_prefix() + digest)
    return node, tuple(
        (node if s == placeholder else s, p, node if o == placeholder else o) for s, p, o in body
    )


def skolemise(graph: Graph) -> list[Triple]:
    """``graph``'s triples with each blank node replaced by ``{BASE}/.well-known/genid/<digest>``, the
    digest being that of everything below the node.

    Content-addressed names make the projection deterministic, and identical structures (the series
    content every passport of a model shares, an organisation's address) become one node per graph,
    which changes nothing an RDF query can tell apart (lean graphs) and keeps the store small. Such
    nodes belong to no single battery: a sync removes one when nothing in its graph points to it
    any more (``sync._collect_garbage``).
    """
    prefix = genid_prefix()
    names: dict[BNode, URIRef] = {}
    outgoing: dict[BNode, list[tuple]] = {}
    for s, p, o in graph:
        if isinstance(s, BNode):
            outgoing.setdefault(s, []).append((p, o))

    def name(node: BNode, depth: int = 0) -> URIRef:
        found = names.get(node)
        if found is None:
            if depth > 64:  # JSON-LD from a JSON tree has no cycles; guard anyway
                raise ValueError("blank-node structure too deep or cyclic")
            parts = sorted(
                f"{p.n3()} {name(o, depth + 1) if isinstance(o, BNode) else o.n3()}"
                for p, o in outgoing.get(node, [])
            )
            digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]
            found = names[node] = URIRef(prefix + digest)
        return found

    return [
        (name(s) if isinstance(s, BNode) else s, p, name(o) if isinstance(o, BNode) else o)
        for s, p, o in graph
    ]


def history_triples(item: BatteryInput) -> list[Triple]:
    battery = item.battery
    b = URIRef(battery.iri)
    by_hash = {record.record_hash: record for record in item.records}
    triples: list[Triple] = []
    latest = None
    for record in item.records:
        e = resource_iri("event", record.pk)
        triples += [
            (e, RDF.type, CELLPASS.LifecycleEvent),
            (e, RDF.type, PROV.Activity),
            (e, RDF.type, EVENT_CLASSES.get(record.type, CELLPASS.LifecycleEvent)),
            (e, CELLPASS.eventType, _lit(record.type)),
            (e, CELLPASS.battery, b),
            (e, CELLPASS.sequence, _lit(record.sequence)),
            (e, CELLPASS.occurredAt, _lit(record.occurred_at)),
            (e, PROV.endedAtTime, _lit(record.occurred_at)),
            (e, PROV.wasAssociatedWith, _org(record.actor_id)),
            (e, CELLPASS.recordHash, _lit(record.record_hash)),
        ]
        if record.previous_hash and record.previous_hash in by_hash:
            triples.append(
                (e, CELLPASS.previousRecord, resource_iri("event", by_hash[record.previous_hash].pk))
            )
        if record.corrects_id:
            triples.append((e, CELLPASS.corrects, resource_iri("event", record.corrects_id)))
        payload = record.payload if isinstance(record.payload, dict) else {}
        if record.type == EventType.NEGATIVE_EVENT and payload.get("kind"):
            triples.append((e, CELLPASS.negativeEventKind, _lit(payload["kind"])))
        if record.type == EventType.STATUS_CHANGE and payload.get("status"):
            triples.append((e, CELLPASS.newStatus, _lit(payload["status"])))
        if record.type == EventType.TWIN_RESULT:
            soh = _twin_triples(e, payload, by_hash, triples)
            if soh is not None:
                latest = (e, soh)
    if latest is not None:
        # The newest result with a SoH, and that SoH on the battery itself: "cells with SoH in a range"
        # is then one pattern per battery, not a hop through every battery's latest result. Both are
        # in the history graph, so only history readers see them.
        triples.append((b, CELLPASS.latestTwinResult, latest[0]))
        triples.append((b, CELLPASS.latestStateOfHealth, latest[1]))
    return triples


def _number(value: object) -> Literal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return Literal(repr(float(value)), datatype=XSD.double)


def _twin_triples(e: URIRef, payload: dict, by_hash: dict, triples: list[Triple]) -> Literal | None:
    """Adds the result's triples to ``triples``; returns its SoH, if it has one."""
    outputs = payload.get("outputs") or {}
    if payload.get("model"):
        triples.append((e, CELLPASS.twinModel, _lit(payload["model"])))
    if payload.get("version"):
        triples.append((e, CELLPASS.twinModelVersion, _lit(payload["version"])))
    if payload.get("model_hash"):
        triples.append((e, CELLPASS.twinModelHash, _lit(payload["model_hash"])))
    for record_hash in payload.get("inputs") or []:
        source = by_hash.get(record_hash)
        if source is not None:
            triples.append((e, PROV.wasDerivedFrom, resource_iri("event", source.pk)))
    soh = outputs.get("soh_capacity") or {}
    value = _number(soh.get("value"))
    if value is not None:
        triples.append((e, CELLPASS.stateOfHealth, value))
        std = _number(soh.get("std"))
        if std is not None:
            triples.append((e, CELLPASS.stateOfHealthStd, std))
    for key, forecast in sorted((outputs.get("rul") or {}).items()):
        if not isinstance(forecast, dict) or forecast.get("insufficient_data"):
            continue
        median = _number(forecast.get("median_cycles"))
        if median is None:
            continue
        slug = "".join(ch for ch in str(key) if ch.isalnum()) or "primary"
        r = URIRef(f"{e}/rul/{slug}")
        triples += [
            (e, CELLPASS.remainingUsefulLife, r),
            (r, RDF.type, CELLPASS.RulForecast),
            (r, CELLPASS.medianCycles, median),
        ]
        for name, member in (
            ("lowerCycles", "lower_cycles"),
            ("upperCycles", "upper_cycles"),
            ("threshold", "threshold"),
        ):
            number = _number(forecast.get(member))
            if number is not None:
                triples.append((r, CELLPASS[name], number))
    return value


Known = Callable[[str, URIRef], bool]


def battery_quads(item: BatteryInput, known: Known | None = None) -> list[ox.Quad]:
    """All quads of one battery, over every graph it appears in. The quads of a content node the
    battery's passports link are left out where ``known(graph, node)`` says that graph has the node
    already (a content node is written whole, and removed whole when nothing links it any more):
    the rebuild asks whether an earlier battery brought it, the sync whether the store holds it."""
    battery = item.battery
    manufacturer, operator = battery.model.manufacturer_id, battery.operator_id
    quads = rdf_store.to_quads(rdf_store.registry_graph(), registry_triples(item))
    by_role = content_triples(item)
    for graph_iri, role in (
        (rdf_store.partition_graph("public", manufacturer, operator), Role.PUBLIC),
        (rdf_store.partition_graph("responsible", manufacturer, operator), Role.ECONOMIC_OPERATOR),
        (rdf_store.role_content_graph(Role.LEGITIMATE_INTEREST), Role.LEGITIMATE_INTEREST),
        (rdf_store.role_content_graph(Role.AUTHORITY), Role.AUTHORITY),
    ):
        triples, nodes = by_role[role]
        quads += rdf_store.to_quads(graph_iri, triples)
        for node, node_triples in dict(nodes).items():
            if known is None or not known(graph_iri, node):
                quads += rdf_store.to_quads(graph_iri, node_triples)
    quads += rdf_store.to_quads(
        rdf_store.partition_graph("history", manufacturer, operator), history_triples(item)
    )
    return quads


def catalogue_quads() -> list[ox.Quad]:
    """Battery models and organisations that have batteries (a few hundred triples)."""
    models, organisations = registry.catalogue()
    triples: list[Triple] = []
    for model in models:
        m = resource_iri("battery-model", model.pk)
        triples += [
            (m, RDF.type, CELLPASS.BatteryModel),
            (m, RDFS.label, _lit(model.name)),
            (m, CELLPASS.modelNumber, _lit(model.model_number)),
            (m, CELLPASS.kind, _lit(model.kind)),
            (m, CELLPASS.batteryCategory, _lit(model.category)),
            (m, CELLPASS.chemistry, _lit(model.chemistry)),
            (m, CELLPASS.ratedCapacity, _lit(model.rated_capacity_ah)),
            (m, CELLPASS.nominalVoltage, _lit(model.nominal_voltage_v)),
            (m, CELLPASS.manufacturer, _org(model.manufacturer_id)),
        ]
        if model.rated_energy_kwh is not None:
            triples.append((m, CELLPASS.ratedEnergy, _lit(model.rated_energy_kwh)))
        if model.mass_kg is not None:
            triples.append((m, CELLPASS.mass, _lit(model.mass_kg)))
    for organisation in organisations:
        o = _org(organisation.pk)
        triples += [
            (o, RDF.type, CELLPASS.Organisation),
            (o, RDF.type, PROV.Organization),
            (o, RDFS.label, _lit(organisation.name)),
            (o, CELLPASS.companyIdentifier, _lit(organisation.operator_identifier)),
        ]
        if organisation.country:
            triples.append((o, CELLPASS.country, _lit(organisation.country)))
    return rdf_store.to_quads(rdf_store.catalogue_graph(), triples)


def project(
    ids: Iterable, batch: int = BATCH, known: Known | None = None
) -> Iterator[tuple[BatteryInput, list[ox.Quad]]]:
    """(inputs, quads) per battery, loading ``batch`` batteries at a time; each battery's quads are
    made when it is reached (``known`` may depend on what the caller wrote for the earlier ones)."""
    ids = list(ids)
    for start in range(0, len(ids), batch):
        for item in load(ids[start : start + batch]):
            yield item, battery_quads(item, known)
