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
one. An economic operator's union (its own partitions) gets a replica of its own on its first query,
for the ``CELLPASS_RDF_OPERATOR_REPLICAS`` most recent operators; the others query the primary store
with the list.

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
from collections import OrderedDict
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


def operator_key(organisation_id: object) -> str:
    """The replica key of an economic operator's audience (its organisation)."""
    return f"organisation:{organisation_id}"


def graph_audiences(iri: str, organisations: Iterable[object] = ()) -> tuple[str, ...]:
    """The audiences whose union holds the graph ``iri``: the roles of ``REPLICATED_ROLES`` and, for
    each of ``organisations``, its economic operator's (``operator_key``). The rule of
    ``audience_graphs``, per graph: tests check the two agree."""
    prefix = graph("")
    if not iri.startswith(prefix):
        return ()
    parts = iri[len(prefix) :].split("/")
    organisations = [str(org) for org in organisations]
    if parts in (["registry"], ["catalogue"]):
        return (*REPLICATED_ROLES, *map(operator_key, organisations))
    if parts == ["legitimate-interest"]:
        return (Role.LEGITIMATE_INTEREST,)
    if parts == ["authority"]:
        return (Role.AUTHORITY,)
    if len(parts) != 3 or parts[0] not in PARTITIONED:
        return ()  # sync-state: nobody's
    kind, responsible = parts[0], parts[1:]
    own = tuple(operator_key(org) for org in organisations if org in responsible)
    if kind == "public":
        return (Role.PUBLIC, *(operator_key(org) for org in organisations if org not in responsible))
    if kind == "history":
        return (Role.LEGITIMATE_INTEREST, Role.AUTHORITY, *own)
    return own  # responsible/M/O: its two organisations only


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

    def __init__(
        self,
        primary: ox.Store,
        roles=REPLICATED_ROLES,
        compact_after: int = 100_000,
        operator_replicas: int | None = None,
    ):
        self.primary = primary
        self.roles = tuple(roles)
        self.compact_after = compact_after
        if operator_replicas is None:
            operator_replicas = settings.CELLPASS_RDF_OPERATOR_REPLICAS
        self.operator_replicas = operator_replicas
        self._write = threading.RLock()
        self._replicas: dict[str, ox.Store] = {}
        self._sizes: dict[str, int] = {}  # quads loaded and added since the last load
        self._removed: dict[str, int] = {}  # quads removed since the last load
        self._routes: dict[object, tuple[str, ...]] = {}
        self._organisations: OrderedDict[str, None] = OrderedDict()  # operator replicas, least recent first
        with self._write:
            self._load(*self.roles)

    def replica(self, role: str) -> ox.Store | None:
        return self._replicas.get(role)

    def replicas(self) -> dict[str, ox.Store]:
        return dict(self._replicas)

    def operator_replica(self, organisation_id: object) -> ox.Store | None:
        """The replica of economic operator ``organisation_id``'s graphs, loaded on its first query
        (the caller waits: as long as loading a role's replica) and kept in sync like the others; the
        least recently used one is dropped when more than ``operator_replicas`` are loaded (0: none,
        such operators query the primary with their list of graphs)."""
        if self.operator_replicas <= 0:
            return None
        organisation = str(organisation_id)
        key = operator_key(organisation)
        # A loaded replica is served without the write lock (a long sync batch holds it); dicts'
        # single operations are atomic, and a replica dropped meanwhile falls through to the lock.
        replica = self._replicas.get(key)
        if replica is not None:
            try:
                self._organisations.move_to_end(organisation)
                return replica
            except KeyError:
                pass
        with self._write:
            if organisation in self._organisations:
                self._organisations.move_to_end(organisation)
                return self._replicas[key]
            while len(self._organisations) >= self.operator_replicas:
                dropped, _ = self._organisations.popitem(last=False)
                for table in (self._replicas, self._sizes, self._removed):
                    table.pop(operator_key(dropped), None)
            self._organisations[organisation] = None
            self._routes.clear()  # the routes now include this organisation's graphs
            self._load(key)
            return self._replicas[key]

    def _audiences(self, graph_name) -> tuple[str, ...]:
        found = self._routes.get(graph_name)
        if found is None:
            iri = graph_name.value if isinstance(graph_name, ox.NamedNode) else ""
            found = tuple(
                key
                for key in graph_audiences(iri, self._organisations)
                if key in self.roles or key.startswith("organisation:")
            )
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
            for key in list(self._replicas):  # fresh stores: nothing removed is kept
                self._replicas[key] = ox.Store()
                self._sizes[key] = 0
                self._removed[key] = 0

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
        else:
            replica = target.operator_replica(organisation_id)
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


def from_ox(term: ox.NamedNode | ox.Literal | ox.BlankNode) -> URIRef | Literal | BNode:
    """The rdflib term of a pyoxigraph one (``to_ox`` reversed). A plain string literal comes back
    without a datatype: rdflib tells ``"x"`` and ``"x"^^xsd:string`` apart, RDF 1.1 does not."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    datatype = term.datatype.value
    return Literal(term.value, datatype=None if datatype == _XSD_STRING else URIRef(datatype))


_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def to_quads(graph_iri: str, triples: Iterable[tuple]) -> list[ox.Quad]:
    g = named_node(graph_iri)
    return [ox.Quad(to_ox(s), to_ox(p), to_ox(o), g) for s, p, o in triples]
