"""Keeping the store equal to the projection: re-project batteries, catch up on changes, rebuild.

Re-projecting a battery is idempotent: its current quads are found in every graph from its root IRIs
(see ``projection.roots``), those the new projection no longer has are removed and the missing ones
inserted (a re-projection that changes nothing writes nothing; the in-memory query replicas of
``store.Replicated`` keep removed quads until they are compacted, so unchanged quads must not be
removed and re-added); the catalogue graph (battery models and organisations, they are few) is
compared whole the same way. ``rebuild`` is the reference an incremental sync must equal (tests
compare quad sets).

Change detection (``sync_changes``) uses a watermark kept in the store's ``sync-state`` graph: records
appended since the last log index, and registry rows whose auto timestamps are at or after the last
scan start minus ``OVERLAP`` (transactions that committed late are caught by the overlap; an
overlap re-projects a few batteries twice, which is harmless).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

import pyoxigraph as ox
from django.utils import timezone
from rdflib import RDF

from lifecycle.services import events as lifecycle_events
from ontology.namespaces import CELLPASS, resource_iri
from ontology.rdf import projection
from ontology.rdf import store as rdf_store
from passport.services import registry

logger = logging.getLogger(__name__)
OVERLAP = dt.timedelta(seconds=60)
XSD_DATETIME = ox.NamedNode("http://www.w3.org/2001/XMLSchema#dateTime")
XSD_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")


@dataclass
class RebuildReport:
    batteries: int
    quads: int
    seconds: float


def _owned_quads(target: ox.Store, roots: Iterable[str]) -> list[ox.Quad]:
    """Every quad whose subject is a root or an IRI minted below a root (RUL forecasts), in every graph."""
    found: list[ox.Quad] = []
    pending = [(root, root + "/") for root in roots]
    seen: set[str] = set()
    while pending:
        iri, below = pending.pop()
        if iri in seen:
            continue
        seen.add(iri)
        for quad in target.quads_for_pattern(ox.NamedNode(iri), None, None, None):
            found.append(quad)
            obj = quad.object
            if isinstance(obj, ox.NamedNode) and obj.value.startswith(below):
                pending.append((obj.value, below))
    return found


def _replace(target: ox.Store, old: Iterable[ox.Quad], new: list[ox.Quad], orphans: set) -> int:
    """Make ``old`` (what the store holds) into ``new``: remove what is stale, add what is missing.
    Content nodes a removed quad pointed to are added to ``orphans`` as (node, graph) candidates.
    Returns the number of quads removed."""
    genid = projection.genid_prefix()
    wanted = set(new)
    held = set(old)
    removed = 0
    for quad in held - wanted:
        target.remove(quad)
        removed += 1
        obj = quad.object
        if isinstance(obj, ox.NamedNode) and obj.value.startswith(genid):
            orphans.add((obj, quad.graph_name))
    missing = [quad for quad in dict.fromkeys(new) if quad not in held]
    if missing:
        target.extend(missing)
    return removed


def _collect_garbage(target: ox.Store, candidates: set) -> int:
    """Remove content nodes nothing in their graph points to any more (and, in turn, their children)."""
    genid = projection.genid_prefix()
    removed = 0
    pending = list(candidates)
    while pending:
        node, graph_name = pending.pop()
        if next(iter(target.quads_for_pattern(None, None, node, graph_name)), None) is not None:
            continue
        for quad in list(target.quads_for_pattern(node, None, None, graph_name)):
            target.remove(quad)
            removed += 1
            if isinstance(quad.object, ox.NamedNode) and quad.object.value.startswith(genid):
                pending.append((quad.object, graph_name))
    return removed


_RDF_TYPE = ox.NamedNode(str(RDF.type))
_PASSPORT_CONTENT = ox.NamedNode(str(CELLPASS.PassportContent))


def _content_in(target: ox.Store) -> projection.Known:
    """Whether ``target`` holds a content node in a graph (then it holds all of it: see
    ``projection.battery_quads``)."""

    def known(graph_iri: str, node) -> bool:
        return (
            ox.Quad(ox.NamedNode(str(node)), _RDF_TYPE, _PASSPORT_CONTENT, ox.NamedNode(graph_iri)) in target
        )

    return known


def _write_catalogue(target: ox.Store) -> None:
    held = target.quads_for_pattern(None, None, None, ox.NamedNode(rdf_store.catalogue_graph()))
    _replace(target, list(held), projection.catalogue_quads(), set())


def sync_batteries(ids: Iterable, target: ox.Store | None = None) -> int:
    """Re-project these batteries (and the catalogue); returns the number of quads written."""
    target = rdf_store.store() if target is None else target
    ids = list(dict.fromkeys(ids))
    written = 0
    found = set()
    orphans: set = set()
    for item, quads in projection.project(ids, known=_content_in(target)):
        found.add(str(item.battery.pk))
        _replace(target, _owned_quads(target, projection.roots(item)), quads, orphans)
        written += len(quads)
    for missing in {str(pk) for pk in ids} - found:  # not in the database (any more)
        _replace(target, _owned_quads(target, [str(resource_iri("battery", missing))]), [], orphans)
    _collect_garbage(target, orphans)
    _write_catalogue(target)
    return written


# --- watermark ---------------------------------------------------------------------------------

_STATE = ox.NamedNode(f"{CELLPASS}syncState")


def _state(target: ox.Store) -> tuple[dt.datetime | None, int]:
    g = ox.NamedNode(rdf_store.sync_state_graph())
    since, log_index = None, -1
    for quad in target.quads_for_pattern(_STATE, None, None, g):
        if quad.predicate.value == str(CELLPASS.syncedAt):
            since = dt.datetime.fromisoformat(quad.object.value.replace("Z", "+00:00"))
        elif quad.predicate.value == str(CELLPASS.syncedLogIndex):
            log_index = int(quad.object.value)
    return since, log_index


def _set_state(target: ox.Store, started: dt.datetime, log_index: int) -> None:
    g = ox.NamedNode(rdf_store.sync_state_graph())
    target.remove_graph(g)
    target.extend(
        [
            ox.Quad(
                _STATE,
                ox.NamedNode(str(CELLPASS.syncedAt)),
                ox.Literal(started.isoformat(), datatype=XSD_DATETIME),
                g,
            ),
            ox.Quad(
                _STATE,
                ox.NamedNode(str(CELLPASS.syncedLogIndex)),
                ox.Literal(str(log_index), datatype=XSD_INTEGER),
                g,
            ),
        ]
    )


def sync_changes(target: ox.Store | None = None) -> int:
    """Re-project the batteries written since the last scan; returns how many. A store that was never
    synced is rebuilt."""
    target = rdf_store.store() if target is None else target
    since, log_index = _state(target)
    if since is None:
        return rebuild(target).batteries
    started = timezone.now()
    newest = lifecycle_events.last_log_index()
    ids = registry.changed_battery_ids(since - OVERLAP) | lifecycle_events.battery_ids_after(log_index)
    if ids:
        sync_batteries(sorted(ids, key=str), target)
    _set_state(target, started, max(newest, log_index))
    return len(ids)


def rebuild(target: ox.Store | None = None) -> RebuildReport:
    """Project the whole database into ``target`` from scratch (clears it first)."""
    target = rdf_store.store() if target is None else target
    began = time.perf_counter()
    # The watermark is taken before reading: whatever is written during the rebuild is caught later.
    started = timezone.now()
    newest = lifecycle_events.last_log_index()
    target.clear()
    ids = registry.battery_ids()
    buffer: list[ox.Quad] = []
    written: set = set()

    def known(graph_iri: str, node) -> bool:  # a content node an earlier battery brought
        if (graph_iri, node) in written:
            return True
        written.add((graph_iri, node))
        return False

    for _, battery_quads in projection.project(ids, known=known):
        buffer += battery_quads
        if len(buffer) > 200_000:
            target.bulk_extend(buffer)
            buffer = []
    buffer += projection.catalogue_quads()
    target.bulk_extend(buffer)
    _set_state(target, started, newest)
    # Shared content nodes below the ones ``known`` left out repeat; the store keeps each quad once.
    quads = len(target) - 2
    seconds = time.perf_counter() - began
    logger.info("rdf rebuild: %d batteries, %d quads in %.1f s", len(ids), quads, seconds)
    return RebuildReport(batteries=len(ids), quads=quads, seconds=seconds)


def content_quads(target: ox.Store) -> set[ox.Quad]:
    """The store's quads without the sync bookkeeping (what a rebuild must reproduce)."""
    state = rdf_store.sync_state_graph()
    return {
        quad
        for quad in target.quads_for_pattern(None, None, None, None)
        if not (isinstance(quad.graph_name, ox.NamedNode) and quad.graph_name.value == state)
    }
