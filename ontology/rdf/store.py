"""The process's Oxigraph store, the named graphs of the projection and who may read which.

One ``pyoxigraph.Store`` per process (RocksDB on disk, or in memory for tests). rdflib code reaches
the same store through oxrdflib (``dataset()``); the hot paths (bulk loading, the SPARQL endpoint)
call pyoxigraph directly, because only its ``query`` takes an explicit list of default graphs, which
is how a role's query is confined to what the role may see.

An on-disk store is opened as ``Replicated``: the RocksDB store (the persistent one, which the sync
writes) plus, for each of the three roles that see every battery alike (public, legitimate interest,
authority), an in-memory store holding exactly that role's audience graphs, kept equal to them by
routing every write to it. Those roles' SPARQL queries run on their replica (``audience``): fleet
queries are joins of thousands of look-ups, which RocksDB answers about ten times slower than memory,
and a default graph that is a list of graphs costs one look-up per graph, where a replica's union is
one. An economic operator's union (its own partitions) is queried on the primary store with the list.

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
    """The process's store, opened on first use. An on-disk store comes with its in-memory query
    replicas (``Replicated``), loaded here: the first caller waits for that (about 13 s per million
    replicated quads); not in a Celery worker, which never serves queries."""
    global _store
    if _store is None:
        with _lock:
            if _store is None:
                from ontology.signals import in_worker

                path = store_path()
                if path == ":memory:":
                    _store = ox.Store()
                else:
                    _store = ox.Store(path) if in_worker() else Replicated(ox.Store(path))
    return _store


def reset_store(replacement: ox.Store | None = None) -> ox.Store:
    """Drop the process's store (tests: a fresh in-memory one per test) and return the new one."""
    global _store
    with _lock:
        _store = replacement if replacement is not None else None
    return store()


def primary(target: ox.Store | None = None) -> ox.Store:
    """The ``pyoxigraph.Store`` itself (the on-disk one of a ``Replicated``)."""
    target = store() if target is None else target
    return target.primary if isinstance(target, Replicated) else target


def dataset(target: ox.Store | None = None) -> rdflib.Dataset:
    """rdflib's API over the (same) Oxigraph store, for code that wants rdflib objects."""
    return rdflib.Dataset(store=OxigraphStore(store=primary(target)))


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


# --- in-memory query replicas ------------------------------------------------------------------

REPLICATED_ROLES = (Role.PUBLIC, Role.LEGITIMATE_INTEREST, Role.AUTHORITY)


def graph_audiences(iri: str) -> tuple[str, ...]:
    """The roles of ``REPLICATED_ROLES`` whose union holds the graph ``iri`` (the rule of
    ``audience_graphs``, per graph: tests check the two agree)."""
    prefix = graph("")
    if not iri.startswith(prefix):
        return ()
    parts = iri[len(prefix) :].split("/")
    if parts in (["registry"], ["catalogue"]):
        return REPLICATED_ROLES
    if parts == ["legitimate-interest"]:
        return (Role.LEGITIMATE_INTEREST,)
    if parts == ["authority"]:
        return (Role.AUTHORITY,)
    if len(parts) == 3 and parts[0] == "public":
        return (Role.PUBLIC,)
    if len(parts) == 3 and parts[0] == "history":
        return (Role.LEGITIMATE_INTEREST, Role.AUTHORITY)
    return ()  # responsible/*, sync-state: no replicated role sees them


_UNREPLICATED_WRITES = frozenset({"update", "load", "bulk_load", "add_graph", "clear_graph"})


class Replicated:
    """A store (the primary: RocksDB) with an in-memory replica of each replicated role's graphs.

    Every write goes to the primary and to each replica whose role sees the quad's graph, under one
    lock, so the replicas go through the same sequence of changes as the primary; everything else
    (``quads_for_pattern``, ``named_graphs``, ``query``, ``len``, ``in`` ...) reads the primary. A
    replica holds the role's graphs under their own names, so a query on it runs with the union of
    all its graphs as the default graph and ``GRAPH ?g`` sees those graphs and no others: the
    confinement of a role's query is physical there.

    Oxigraph's memory store keeps a removed quad (marked as removed) until the store is dropped, so
    the sync removes only what changed (``sync._replace``) and a replica is reloaded from the primary
    once the quads removed from it since its last load outnumber both ``compact_after`` and the quads
    it still holds (estimated: loaded + added - removed; re-adding a quad it holds counts as added,
    which only delays the reload).
    """

    def __init__(self, primary: ox.Store, roles=REPLICATED_ROLES, compact_after: int = 100_000):
        self.primary = primary
        self.roles = tuple(roles)
        self.compact_after = compact_after
        self._write = threading.RLock()
        self._replicas: dict[str, ox.Store] = {}
        self._sizes: dict[str, int] = {}  # quads loaded and added since the last load
        self._removed: dict[str, int] = {}  # quads removed since the last load
        self._routes: dict[object, tuple[str, ...]] = {}
        with self._write:
            self._load(*self.roles)

    def replica(self, role: str) -> ox.Store | None:
        return self._replicas.get(role)

    def replicas(self) -> dict[str, ox.Store]:
        return dict(self._replicas)

    def _audiences(self, graph_name) -> tuple[str, ...]:
        found = self._routes.get(graph_name)
        if found is None:
            iri = graph_name.value if isinstance(graph_name, ox.NamedNode) else ""
            found = tuple(role for role in graph_audiences(iri) if role in self.roles)
            if len(self._routes) < 100_000:
                self._routes[graph_name] = found
        return found

    def _split(self, quads: list[ox.Quad]) -> dict[str, list[ox.Quad]]:
        by_role: dict[str, list[ox.Quad]] = {}
        for quad in quads:
            for role in self._audiences(quad.graph_name):
                by_role.setdefault(role, []).append(quad)
        return by_role

    def _load(self, *roles: str) -> None:
        """(Re)build these roles' replicas from the primary, reading each graph once; the old replicas
        serve queries until they are swapped."""
        fresh = {role: ox.Store() for role in roles}
        sizes = dict.fromkeys(roles, 0)
        for name in list(self.primary.named_graphs()):
            targets = [role for role in self._audiences(name) if role in fresh]
            if targets:
                quads = list(self.primary.quads_for_pattern(None, None, None, name))
                for role in targets:
                    fresh[role].bulk_extend(quads)
                    sizes[role] += len(quads)
        for role in roles:
            self._replicas[role] = fresh[role]
            self._sizes[role] = sizes[role]
            self._removed[role] = 0

    def _removed_from(self, role: str, count: int) -> None:
        self._removed[role] += count
        removed = self._removed[role]
        if removed > max(self.compact_after, self._sizes[role] - removed):
            self._load(role)

    # --- writes: the primary and the replicas that see the graph ---

    def add(self, quad: ox.Quad) -> None:
        with self._write:
            self.primary.add(quad)
            for role in self._audiences(quad.graph_name):
                self._replicas[role].add(quad)
                self._sizes[role] += 1

    def extend(self, quads: Iterable[ox.Quad]) -> None:
        self._insert("extend", quads)

    def bulk_extend(self, quads: Iterable[ox.Quad]) -> None:
        self._insert("bulk_extend", quads)

    def _insert(self, method: str, quads: Iterable[ox.Quad]) -> None:
        """``extend`` or ``bulk_extend`` (same quads, different transactions) on the primary and the
        replicas that see each quad's graph."""
        quads = list(quads)
        with self._write:
            getattr(self.primary, method)(quads)
            for role, part in self._split(quads).items():
                getattr(self._replicas[role], method)(part)
                self._sizes[role] += len(part)

    def remove(self, quad: ox.Quad) -> None:
        with self._write:
            self.primary.remove(quad)
            for role in self._audiences(quad.graph_name):
                self._replicas[role].remove(quad)
                self._removed_from(role, 1)

    def remove_graph(self, graph_name) -> None:
        with self._write:
            self.primary.remove_graph(graph_name)
            for role in self._audiences(graph_name):
                replica = self._replicas[role]
                count = sum(1 for _ in replica.quads_for_pattern(None, None, None, graph_name))
                if replica.contains_named_graph(graph_name):
                    replica.remove_graph(graph_name)
                self._removed_from(role, count)

    def clear(self) -> None:
        with self._write:
            self.primary.clear()
            for role in self.roles:  # fresh stores: nothing removed is kept
                self._replicas[role] = ox.Store()
                self._sizes[role] = 0
                self._removed[role] = 0

    # --- reads: the primary ---

    def __getattr__(self, name: str):
        if name == "primary":  # not set yet (copying, unpickling): no recursion
            raise AttributeError(name)
        if name in _UNREPLICATED_WRITES:  # would change the primary behind the replicas' back
            raise AttributeError(f"{name} is not replicated: write with add, extend or remove")
        return getattr(self.primary, name)

    def __len__(self) -> int:
        return len(self.primary)

    def __contains__(self, quad: ox.Quad) -> bool:
        return quad in self.primary

    def __iter__(self):
        return iter(self.primary)


class Audience:
    """What one caller may query: a replica that holds exactly the caller's graphs, or the store with
    the list of the caller's graphs as its default graph and its named graphs."""

    def __init__(self, target: ox.Store, graphs: list[str], replica: ox.Store | None = None):
        self.store = replica if replica is not None else target
        self.graphs = graphs
        self.replicated = replica is not None

    def query(self, query: str, **options):
        if self.replicated:
            return self.store.query(query, use_default_graph_as_union=True, **options)
        names = [ox.NamedNode(g) for g in self.graphs]
        return self.store.query(query, default_graph=names, named_graphs=names, **options)


def audience(role: str, organisation_id: object | None = None, target: ox.Store | None = None) -> Audience:
    """Where and how ``role`` (of organisation ``organisation_id``) queries: see ``Audience``."""
    target = store() if target is None else target
    graphs = audience_graphs(role, organisation_id, target)
    replica = None
    if isinstance(target, Replicated):
        if role in REPLICATED_ROLES:
            replica = target.replica(role)
        elif role != Role.ECONOMIC_OPERATOR or organisation_id is None:  # seen as the public
            replica = target.replica(Role.PUBLIC)
    return Audience(target, graphs, replica)


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
