"""Keeping the store equal to the projection: re-project batteries, catch up on changes, rebuild.

Re-projecting a battery is idempotent: its old quads are removed from every graph (found from its
root IRIs, see ``projection.roots``) and the new ones inserted; battery models and organisations (the
catalogue graph) are rewritten whole, they are few. ``rebuild`` is the reference an incremental sync
must equal (tests compare quad sets).

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


def _remove_subjects(target: ox.Store, roots: Iterable[str], orphans: set | None = None) -> int:
    """Remove every quad whose subject is a root or an IRI minted below a root (RUL forecasts), in every
    graph; content nodes they pointed to are added to ``orphans`` as (node, graph) candidates."""
    removed = 0
    genid = projection.genid_prefix()
    pending = [(root, root + "/") for root in roots]
    seen: set[str] = set()
    while pending:
        iri, below = pending.pop()
        if iri in seen:
            continue
        seen.add(iri)
        for quad in list(target.quads_for_pattern(ox.NamedNode(iri), None, None, None)):
            target.remove(quad)
            removed += 1
            obj = quad.object
            if isinstance(obj, ox.NamedNode):
                if obj.value.startswith(below):
                    pending.append((obj.value, below))
                elif orphans is not None and obj.value.startswith(genid):
                    orphans.add((obj, quad.graph_name))
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


def _write_catalogue(target: ox.Store) -> None:
    target.remove_graph(ox.NamedNode(rdf_store.catalogue_graph()))
    target.extend(projection.catalogue_quads())


def sync_batteries(ids: Iterable, target: ox.Store | None = None) -> int:
    """Re-project these batteries (and the catalogue); returns the number of quads written."""
    target = rdf_store.store() if target is None else target
    ids = list(dict.fromkeys(ids))
    written = 0
    found = set()
    orphans: set = set()
    for item, quads in projection.project(ids):
        found.add(str(item.battery.pk))
        _remove_subjects(target, projection.roots(item), orphans)
        target.extend(quads)
        written += len(quads)
    for missing in {str(pk) for pk in ids} - found:  # not in the database (any more)
        _remove_subjects(target, [str(resource_iri("battery", missing))], orphans)
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
    for _, battery_quads in projection.project(ids):
        buffer += battery_quads
        if len(buffer) > 200_000:
            target.bulk_extend(buffer)
            buffer = []
    buffer += projection.catalogue_quads()
    target.bulk_extend(buffer)
    _set_state(target, started, newest)
    # Shared content nodes were written once per battery; the store keeps each quad once.
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
