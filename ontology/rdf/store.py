"""The process's Oxigraph store, the named graphs of the projection and who may read which.

One ``pyoxigraph.Store`` per process (RocksDB on disk, or in memory for tests). rdflib code reaches
the same store through oxrdflib (``dataset()``); the hot paths (bulk loading, the SPARQL endpoint)
call pyoxigraph directly, because only its ``query`` takes an explicit list of default graphs, which
is how a role's query is confined to what the role may see.

Named graphs (``{BASE}/graph/...``), chosen so that every role's union holds each battery's passport
content exactly once (no duplicated, differently-shaped copies of the same structure):

* ``registry``: batteries (kind, identifier, model, status, operator, hierarchy) and passports as
  things (identifier, state, predecessors): what the API shows everyone;
* ``catalogue``: battery models and organisations (rewritten whole on every sync; they are few);
* ``public/<manufacturer>/<operator>``: the public passport view, partitioned by the battery's two
  responsible organisations, so an economic operator's union can leave out its own batteries here;
* ``responsible/<manufacturer>/<operator>``: the full (economic operator) view, same partitions;
* ``legitimate-interest`` and ``authority``: those roles' passport views of every battery;
* ``history/<manufacturer>/<operator>``: lifecycle records and twin results (never public);
* ``sync-state``: the incremental sync's watermark; in no role's union.

A role's default graph (``audience_graphs``):

* public: registry + catalogue + public/*
* legitimate_interest: registry + catalogue + legitimate-interest + history/*
* authority: registry + catalogue + authority + history/*
* economic operator X: registry + catalogue + public/M/O for batteries X is not responsible for
  (X not in {M, O}), responsible/M/O and history/M/O where X is M or O.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

import pyoxigraph as ox
import rdflib
from django.conf import settings
from oxrdflib import OxigraphStore
from rdflib import BNode, Literal, URIRef

from ontology.namespaces import base_url
from passport.choices import Role

_lock = threading.Lock()
_store: ox.Store | None = None


def store_path() -> str:
    configured = settings.CELLPASS_RDF_STORE
    if configured == ":memory:":
        return configured
    return configured or str(Path(settings.VAR_DIR) / "rdf-store")


def store() -> ox.Store:
    """The process's store, opened on first use."""
    global _store
    if _store is None:
        with _lock:
            if _store is None:
                path = store_path()
                _store = ox.Store() if path == ":memory:" else ox.Store(path)
    return _store


def reset_store(replacement: ox.Store | None = None) -> ox.Store:
    """Drop the process's store (tests: a fresh in-memory one per test) and return the new one."""
    global _store
    with _lock:
        _store = replacement if replacement is not None else None
    return store()


def dataset(target: ox.Store | None = None) -> rdflib.Dataset:
    """rdflib's API over the (same) Oxigraph store, for code that wants rdflib objects."""
    return rdflib.Dataset(store=OxigraphStore(store=store() if target is None else target))


# --- graph names ---------------------------------------------------------------------------------


def graph(name: str) -> str:
    return f"{base_url()}/graph/{name}"


def registry_graph() -> str:
    return graph("registry")


def catalogue_graph() -> str:
    return graph("catalogue")


def sync_state_graph() -> str:
    return graph("sync-state")


def role_content_graph(role: str) -> str:
    """The graph of ``role``'s passport view, for the two roles that see every battery alike."""
    return graph({Role.LEGITIMATE_INTEREST: "legitimate-interest", Role.AUTHORITY: "authority"}[role])


def partition_graph(kind: str, manufacturer_id: object, operator_id: object) -> str:
    """``public``, ``responsible`` or ``history`` graph of the batteries of one responsible pair."""
    return graph(f"{kind}/{manufacturer_id}/{operator_id}")


PARTITIONED = ("public", "responsible", "history")


def audience_graphs(
    role: str, organisation_id: object | None = None, target: ox.Store | None = None
) -> list[str]:
    """The graphs whose union is everything ``role`` (of organisation ``organisation_id``) may see."""
    target = store() if target is None else target
    common = [registry_graph(), catalogue_graph()]
    prefix = graph("")
    partitions: dict[str, list[tuple[str, str, str]]] = {kind: [] for kind in PARTITIONED}
    for name in target.named_graphs():
        iri = name.value
        if not iri.startswith(prefix):
            continue
        parts = iri[len(prefix) :].split("/")
        if len(parts) == 3 and parts[0] in partitions:
            partitions[parts[0]].append((iri, parts[1], parts[2]))
    if role == Role.PUBLIC:
        return common + [iri for iri, *_ in partitions["public"]]
    if role in (Role.LEGITIMATE_INTEREST, Role.AUTHORITY):
        return common + [role_content_graph(role)] + [iri for iri, *_ in partitions["history"]]
    if role == Role.ECONOMIC_OPERATOR and organisation_id is not None:
        org = str(organisation_id)
        return (
            common
            + [iri for iri, m, o in partitions["public"] if org not in (m, o)]
            + [iri for iri, m, o in partitions["responsible"] if org in (m, o)]
            + [iri for iri, m, o in partitions["history"] if org in (m, o)]
        )
    # An economic operator without an organisation is treated as the public.
    return audience_graphs(Role.PUBLIC, target=target)


# --- rdflib -> pyoxigraph terms --------------------------------------------------------------------

_named: dict[str, ox.NamedNode] = {}


def named_node(iri: str) -> ox.NamedNode:
    # Predicates, classes and datatypes repeat millions of times in a rebuild: intern their nodes.
    node = _named.get(iri)
    if node is None:
        node = ox.NamedNode(iri)
        if len(_named) < 200_000:
            _named[iri] = node
    return node


def to_ox(term: URIRef | Literal | BNode) -> ox.NamedNode | ox.Literal | ox.BlankNode:
    if isinstance(term, URIRef):
        return named_node(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype:
            return ox.Literal(str(term), datatype=named_node(str(term.datatype)))
        return ox.Literal(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    raise TypeError(f"not an RDF term: {term!r}")


def to_quads(graph_iri: str, triples: Iterable[tuple]) -> list[ox.Quad]:
    g = named_node(graph_iri)
    return [ox.Quad(to_ox(s), to_ox(p), to_ox(o), g) for s, p, o in triples]
