"""GET /ns and /ns/shapes: the vocabulary and the SHACL shapes, content-negotiated.

The same graph is offered as Turtle, JSON-LD, RDF/XML, N-Triples and a readable HTML page; the
``Accept`` header picks one (with q-values, RFC 9110 §12.5.1), ``?format=`` overrides it, and a
request that accepts none of them gets 406 with the list. Serialisations are computed once per
process: the files only change with a deployment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.views.decorators.http import require_safe
from rdflib import OWL, RDF, RDFS, SKOS, Graph, Literal, Namespace, URIRef
from rdflib.term import BNode, Node

from ontology.vocabulary import shapes_graph, vocabulary_graph

SH = Namespace("http://www.w3.org/ns/shacl#")
QUDT_UNIT = URIRef("http://qudt.org/schema/qudt/unit")


@dataclass(frozen=True)
class Format:
    key: str  # the ?format= value
    media_type: str
    rdflib_format: str | None  # None: the HTML page


# In server preference order: on a tie (e.g. Accept: */*), Turtle wins.
FORMATS = (
    Format("ttl", "text/turtle", "turtle"),
    Format("jsonld", "application/ld+json", "json-ld"),
    Format("rdf", "application/rdf+xml", "xml"),
    Format("nt", "application/n-triples", "nt"),
    Format("html", "text/html", None),
)
BY_KEY = {f.key: f for f in FORMATS}
GRAPHS: dict[str, Callable[[], Graph]] = {"vocabulary": vocabulary_graph, "shapes": shapes_graph}


def _accept_ranges(header: str) -> list[tuple[str, float]]:
    ranges = []
    for part in header.split(","):
        fields = [f.strip() for f in part.split(";")]
        media_range = fields[0].lower()
        if not media_range:
            continue
        quality = 1.0
        for parameter in fields[1:]:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = max(0.0, min(1.0, float(value)))
                except ValueError:
                    quality = 0.0  # a malformed q must not make a type preferred
        ranges.append((media_range, quality))
    return ranges


def negotiate(header: str | None) -> Format | None:
    """The format ``header`` prefers most, or None if it accepts none of ours."""
    if not header or not header.strip():
        return FORMATS[0]
    ranges = _accept_ranges(header)
    best: tuple[float, int] | None = None
    chosen = None
    for preference, candidate in enumerate(FORMATS):
        kind = candidate.media_type.split("/")[0]
        # The most specific matching range decides the quality (exact > type/* > */*).
        quality = None
        for pattern in (candidate.media_type, f"{kind}/*", "*/*"):
            matches = [q for media_range, q in ranges if media_range == pattern]
            if matches:
                quality = max(matches)
                break
        if quality is None or quality <= 0:
            continue
        if best is None or (quality, -preference) > best:
            best, chosen = (quality, -preference), candidate
    return chosen


def _not_acceptable(detail: str) -> HttpResponse:
    listing = "\n".join(f"  {f.media_type} (?format={f.key})" for f in FORMATS)
    response = HttpResponse(
        f"{detail}\nAvailable representations:\n{listing}\n",
        status=406,
        content_type="text/plain; charset=utf-8",
    )
    response["Vary"] = "Accept"
    return response


@cache
def _serialised(which: str, rdflib_format: str) -> bytes:
    graph = GRAPHS[which]()
    if rdflib_format == "json-ld":
        prefixes = {prefix: str(ns) for prefix, ns in graph.namespaces() if prefix}
        return graph.serialize(format="json-ld", context=prefixes, indent=2).encode("utf-8")
    return graph.serialize(format=rdflib_format, encoding="utf-8")


def _serve(request: HttpRequest, which: str) -> HttpResponse:
    requested = request.GET.get("format")
    if requested is not None:
        chosen = BY_KEY.get(requested)
        if chosen is None:
            return _not_acceptable(f"Unknown format {requested!r}.")
    else:
        chosen = negotiate(request.headers.get("Accept"))
        if chosen is None:
            return _not_acceptable(
                f"None of the types in Accept: {request.headers.get('Accept')} is available."
            )
    if chosen.rdflib_format is None:
        body = _html(which).encode("utf-8")
        content_type = "text/html; charset=utf-8"
    else:
        body = _serialised(which, chosen.rdflib_format)
        content_type = f"{chosen.media_type}; charset=utf-8"
    response = HttpResponse(body, content_type=content_type)
    response["Vary"] = "Accept"
    response["Cache-Control"] = "public, max-age=3600"
    response["Link"] = ", ".join(
        f'<{request.path}?format={f.key}>; rel="alternate"; type="{f.media_type}"' for f in FORMATS
    )
    return response


@require_safe
def vocabulary(request: HttpRequest) -> HttpResponse:
    return _serve(request, "vocabulary")


@require_safe
def shapes(request: HttpRequest) -> HttpResponse:
    return _serve(request, "shapes")


# --- the HTML page ----------------------------------------------------------------------------


def _name(graph: Graph, node: Node) -> str:
    if isinstance(node, URIRef):
        try:
            return graph.namespace_manager.curie(str(node), generate=False)
        except (ValueError, KeyError):
            return str(node)
    if isinstance(node, Literal):
        return str(node)
    return _path(graph, node)


def _path(graph: Graph, node: Node) -> str:
    """A SHACL property path as text: ``a / b`` for sequences."""
    if isinstance(node, BNode) and (node, RDF.first, None) in graph:
        return " / ".join(_path(graph, item) for item in graph.items(node))
    if isinstance(node, BNode):
        return "[…]"
    return _name(graph, node)


def _text(graph: Graph, node: Node, predicate: URIRef) -> str:
    values = list(graph.objects(node, predicate))
    english = [v for v in values if isinstance(v, Literal) and v.language in (None, "en")]
    return str((english or values or [""])[0])


def _links(graph: Graph, node: Node, *predicates: URIRef) -> list[dict]:
    return [
        {"relation": _name(graph, predicate), "target": _name(graph, value), "href": str(value)}
        for predicate in predicates
        for value in sorted(graph.objects(node, predicate), key=str)
        if isinstance(value, URIRef)
    ]


def _term(graph: Graph, node: URIRef, *predicates: URIRef) -> dict:
    return {
        "name": _name(graph, node),
        "anchor": node.fragment or str(node),
        "iri": str(node),
        "label": _text(graph, node, RDFS.label),
        "comment": _text(graph, node, RDFS.comment),
        "notation": _text(graph, node, SKOS.notation),
        "links": _links(graph, node, *predicates),
    }


ALIGNMENTS = (OWL.equivalentProperty, OWL.equivalentClass, SKOS.closeMatch, SKOS.relatedMatch, RDFS.seeAlso)


@cache
def _html(which: str) -> str:
    graph = GRAPHS[which]()
    if which == "vocabulary":
        ontology = next(graph.subjects(RDF.type, OWL.Ontology))

        def by_type(kind: URIRef) -> list[URIRef]:
            return sorted((s for s in graph.subjects(RDF.type, kind) if isinstance(s, URIRef)), key=str)

        properties = sorted({*by_type(OWL.ObjectProperty), *by_type(OWL.DatatypeProperty)}, key=str)
        context = {
            "title": _text(graph, ontology, URIRef("http://purl.org/dc/terms/title")),
            "description": _text(graph, ontology, URIRef("http://purl.org/dc/terms/description")),
            "iri": str(ontology),
            "version": _text(graph, ontology, OWL.versionInfo),
            "license": _text(graph, ontology, URIRef("http://purl.org/dc/terms/license")),
            "classes": [_term(graph, c, RDFS.subClassOf, *ALIGNMENTS) for c in by_type(OWL.Class)],
            "properties": [
                _term(
                    graph,
                    p,
                    RDFS.domain,
                    RDFS.range,
                    RDFS.subPropertyOf,
                    OWL.inverseOf,
                    QUDT_UNIT,
                    *ALIGNMENTS,
                )
                for p in properties
            ],
            "individuals": [_term(graph, i, RDF.type) for i in by_type(OWL.NamedIndividual)],
        }
        return render_to_string("ontology/vocabulary.html", context)
    node_shapes = []
    for shape in sorted(graph.subjects(RDF.type, SH.NodeShape), key=str):
        if not isinstance(shape, URIRef):
            continue
        constraints = []
        for prop in graph.objects(shape, SH.property):
            constraints.append(
                {
                    "name": _text(graph, prop, SH.name),
                    "path": _path(graph, graph.value(prop, SH.path)),
                    "severity": _name(graph, graph.value(prop, SH.severity) or SH.Violation),
                    "message": _text(graph, prop, SH.message),
                }
            )
        node_shapes.append(
            {**_term(graph, shape), "constraints": sorted(constraints, key=lambda c: c["name"])}
        )
    return render_to_string("ontology/vocabulary_shapes.html", {"shapes": node_shapes})
