"""The RDF of one resource IRI as the caller may see it (content negotiation of ``/id/...``).

Read from the store (the same graphs as the caller's SPARQL), so it is what the projection holds: a
write shows up once it is synced. Per battery the role is ``access.reading_role`` (an economic operator
sees the full view of its own batteries, the public view of the others); that is exactly what the
union of ``audience_graphs`` gives. The resource's description is its own triples plus those of the
nodes minted below its IRI (RUL forecasts) and of the content nodes it reaches (skolemised passport
content), like a concise bounded description.
"""

from __future__ import annotations

import json

import pyoxigraph as ox
from rdflib import Graph

from ontology.namespaces import CELLPASS, PROV, base_url
from ontology.rdf import store as rdf_store
from passport.services import access

PREFIXES = {
    "cellpass": str(CELLPASS),
    "prov": str(PROV),
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
}
FORMATS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
}


def triples_of(iri: str, graphs: list[str], target: ox.Store | None = None) -> list[ox.Triple]:
    """The triples about ``iri`` (and nodes minted below it) in the union of ``graphs``, deduplicated."""
    target = rdf_store.store() if target is None else target
    names = [ox.NamedNode(g) for g in graphs]
    below = iri + "/"
    genid = f"{base_url()}/.well-known/genid/"
    found: dict[ox.Triple, None] = {}
    pending, seen = [iri], set()
    while pending:
        subject = pending.pop()
        if subject in seen:
            continue
        seen.add(subject)
        node = ox.NamedNode(subject)
        for name in names:
            for quad in target.quads_for_pattern(node, None, None, name):
                found[quad.triple] = None
                obj = quad.object
                if isinstance(obj, ox.NamedNode) and obj.value.startswith((below, genid)):
                    pending.append(obj.value)
    return list(found)


def graphs_for(user, battery=None) -> list[str]:
    role = access.granted_role(user)
    return rdf_store.audience_graphs(role, access.organisation_id(user))


def serialise(triples: list[ox.Triple], media: str) -> bytes:
    if media == "application/ld+json":
        graph = Graph()
        graph.parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b"", format="nt")
        return graph.serialize(format="json-ld", context=PREFIXES, auto_compact=True).encode()
    return ox.serialize(triples, format=FORMATS[media], prefixes=PREFIXES) or b""


def passport_jsonld(passport, role: str) -> bytes:
    """A passport as JSON-LD with the Battery Pass contexts: one node per category the role may see,
    each with its category's @context (embedded contexts), all about the passport IRI."""
    from ontology import jsonld
    from passport.services import content

    view = content.role_view(passport, role)
    nodes = [jsonld.payload_jsonld(category, payload, passport.iri) for category, payload in view.items()]
    # No top-level @id: that would make the nodes a named graph instead of triples about the passport.
    return json.dumps({"@graph": nodes}, default=str).encode()
