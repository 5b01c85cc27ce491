"""JSON-LD for the Battery Pass payloads: one @context per passport category, and their RDF.

A passport's content is seven plain JSON payloads, one per Battery Pass v1.2 aspect model. Each
JSON member is a SAMM property of that aspect (``urn:samm:io.BatteryPass.<Aspect>:1.2.0#<name>``),
so a @context that maps member names to property IRIs turns a payload into RDF without changing it.

The contexts are generated from the SAMM aspect models (``python -m ontology.jsonld --regenerate``,
reading ``../shared/conformance/batterypass-1.2/*/*.ttl``) into ``contexts/batterypass_1_2`` and
committed: the service must not need ``../shared`` at run time. How SAMM maps to JSON-LD:

* every property reachable from the aspect (through entities, ``samm:extends``, traits and
  collections) gets a term named by its payload name (``samm:payloadName`` or the local name);
* a property whose characteristic resolves to an XSD data type other than ``xsd:string`` gets
  ``@type`` (``xsd:float``, ``xsd:dateTime``, ``xsd:gMonth``...), so numbers and dates become
  typed literals, not ``xsd:integer``/``xsd:double`` guessed from JSON;
* ``samm-c:MultiLanguageText`` (``{"en": "..."}``) is a ``@language`` container;
* ``samm-c:ResourcePath`` (``xsd:anyURI``) stays a typed literal rather than ``@id``: payloads are
  not required to carry absolute IRIs and a relative one would silently be resolved against the
  document base. SPARQL can still turn it into a node with ``IRI(?v)``;
* entity-valued properties become nested (blank) nodes; lists become repeated triples (SAMM
  ``List`` order is not kept: no Battery Pass list is ordered by meaning);
* an empty list (``"negativeEvents": []``, "none so far") would leave no triple at all and read as
  absent, so it is written as the JSON-LD list object ``{"@list": []}``: one triple whose object is
  ``rdf:nil``, the empty RDF list. "Given, and empty" stays distinguishable from "not given".

Members the model does not define are not mapped (JSON-LD drops them); ``unmapped`` lists them.
"""

from __future__ import annotations

import argparse
import copy
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import RDF, XSD, Graph, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.plugins.parsers.jsonld import Parser
from rdflib.plugins.shared.jsonld.context import Context

from passport.choices import PassportCategory

CONTEXT_DIR = Path(__file__).parent / "contexts" / "batterypass_1_2"
SHARED_DIR = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "batterypass-1.2"

SAMM = Namespace("urn:samm:org.eclipse.esmf.samm:meta-model:2.1.0#")
SAMM_C = Namespace("urn:samm:org.eclipse.esmf.samm:characteristic:2.1.0#")

# Data types of the characteristics SAMM predefines (SAMM 2.1 "Characteristics" catalogue).
PREDEFINED_CHARACTERISTICS = {
    SAMM_C.Text: XSD.string,
    SAMM_C.Boolean: XSD.boolean,
    SAMM_C.Timestamp: XSD.dateTime,
    SAMM_C.ResourcePath: XSD.anyURI,
    SAMM_C.MimeType: XSD.string,
    SAMM_C.Locale: XSD.string,
    SAMM_C.Language: XSD.string,
    SAMM_C.UnitReference: SAMM.curie,
    SAMM_C.MultiLanguageText: RDF.langString,
}
COLLECTIONS = {SAMM_C.List, SAMM_C.Set, SAMM_C.SortedSet, SAMM_C.Collection, SAMM_C.TimeSeries}

# The seven categories, which are also the file names of their aspect models in the conformance kit.
CATEGORIES = tuple(PassportCategory.values)


class UnknownCategory(ValueError):
    pass


# --- generation from the SAMM aspect models ----------------------------------------------------


def _characteristic_type(model: Graph, characteristic: URIRef) -> tuple[URIRef | None, URIRef | None]:
    """(XSD/RDF data type, entity) a characteristic resolves to; exactly one is set."""
    seen = set()
    node = characteristic
    while node not in seen:
        seen.add(node)
        if node in PREDEFINED_CHARACTERISTICS:
            return PREDEFINED_CHARACTERISTICS[node], None
        data_type = model.value(node, SAMM.dataType)
        if data_type is not None:
            if str(data_type).startswith((str(XSD), str(RDF))):
                return URIRef(data_type), None
            return None, URIRef(data_type)
        # Traits wrap a base characteristic; collections may name an element characteristic.
        following = model.value(node, SAMM_C.baseCharacteristic) or model.value(
            node, SAMM_C.elementCharacteristic
        )
        if following is None:
            break
        node = following
    raise ValueError(f"characteristic {characteristic} has no data type")


def _entity_properties(model: Graph, entity: URIRef) -> Iterator[tuple[str, URIRef]]:
    """(payload name, property IRI) of an entity's properties, inherited ones included."""
    parent = model.value(entity, SAMM.extends)
    if parent is not None:
        yield from _entity_properties(model, URIRef(parent))
    members = model.value(entity, SAMM.properties)
    if members is None:
        return
    for item in Collection(model, members):
        if isinstance(item, URIRef):
            yield item.fragment, item
        else:  # [ samm:property :x; samm:optional true; samm:payloadName "y" ]
            prop = URIRef(model.value(item, SAMM.property))
            name = model.value(item, SAMM.payloadName)
            yield str(name) if name is not None else prop.fragment, prop


def build_context(model: Graph) -> dict[str, Any]:
    """The @context for the (single) aspect of ``model``, a parsed SAMM aspect model."""
    aspects = list(model.subjects(RDF.type, SAMM.Aspect))
    if len(aspects) != 1:
        raise ValueError(f"expected one samm:Aspect, found {len(aspects)}")
    terms: dict[str, Any] = {}
    pending, done = [URIRef(aspects[0])], set()
    while pending:
        entity = pending.pop()
        if entity in done:
            continue
        done.add(entity)
        for name, prop in _entity_properties(model, entity):
            characteristic = model.value(prop, SAMM.characteristic)
            if characteristic is None:
                raise ValueError(f"property {prop} has no samm:characteristic")
            data_type, nested = _characteristic_type(model, URIRef(characteristic))
            term: dict[str, Any] = {"@id": str(prop)}
            if nested is not None:
                pending.append(nested)
            elif data_type == RDF.langString:
                term["@container"] = "@language"
            elif data_type != XSD.string:
                term["@type"] = "xsd:" + data_type.removeprefix(str(XSD))
            if name in terms and terms[name] != term:
                # One term per name: a clash would need scoped contexts, which no v1.2 model needs.
                raise ValueError(f"member {name!r} maps to both {terms[name]} and {term}")
            terms[name] = term
    return {"xsd": str(XSD), **dict(sorted(terms.items()))}


def aspect_model_file(shared_dir: Path, category: str) -> Path:
    files = sorted((shared_dir / category).glob("*.ttl"))
    if len(files) != 1:
        raise FileNotFoundError(f"expected one aspect model (*.ttl) in {shared_dir / category}")
    return files[0]


def regenerate(shared_dir: Path = SHARED_DIR, target: Path = CONTEXT_DIR) -> list[Path]:
    """Write one ``<Category>.context.jsonld`` per category from the SAMM aspect models."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for category in CATEGORIES:
        source = aspect_model_file(shared_dir, category)
        model = Graph().parse(source, format="turtle")
        document = {"@context": build_context(model)}
        path = target / f"{category}.context.jsonld"
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


# --- run time ---------------------------------------------------------------------------------


@cache
def _context_document(category: str) -> dict[str, Any]:
    if category not in CATEGORIES:
        raise UnknownCategory(f"unknown passport category {category!r}; expected one of {CATEGORIES}")
    path = CONTEXT_DIR / f"{category}.context.jsonld"
    return json.loads(path.read_text(encoding="utf-8"))["@context"]


def context(category: str) -> dict[str, Any]:
    """The JSON-LD @context of a Battery Pass category (a copy: callers may change it)."""
    return copy.deepcopy(_context_document(category))


@cache
def _rdflib_context(category: str) -> Context:
    # Building rdflib's Context resolves ~100 term definitions; done once per category.
    parsed = Context()
    parsed.load(_context_document(category))
    return parsed


def _explicit_empty_lists(value: Any, path: str = "") -> Any:
    """``value`` with every empty list as ``{"@list": []}``; shares all unchanged parts.

    Payload members named like JSON-LD keywords (``@id``, ``@type``...) are refused: they would
    change the graph's structure (re-identify or re-type nodes) instead of stating a value.
    """
    if isinstance(value, dict):
        changed = {}
        for key, item in value.items():
            if key.startswith("@"):
                raise ValueError(f"{path}/{key}: a payload member must not be a JSON-LD keyword")
            changed[key] = _explicit_empty_lists(item, f"{path}/{key}")
        return changed if any(changed[key] is not value[key] for key in value) else value
    if isinstance(value, list):
        if not value:
            return {"@list": []}
        items = [_explicit_empty_lists(item, f"{path}/{index}") for index, item in enumerate(value)]
        return items if any(new is not old for new, old in zip(items, value, strict=True)) else value
    return value


def payload_jsonld(category: str, payload: dict, subject: str) -> dict[str, Any]:
    """A JSON-LD document: ``payload`` with its category's @context and ``@id`` = ``subject``."""
    if not isinstance(payload, dict):
        raise TypeError(f"a {category} payload must be a JSON object, not {type(payload).__name__}")
    return {"@context": context(category), "@id": str(subject), **_explicit_empty_lists(payload)}


def category_graph(category: str, payload: dict, subject: str, graph: Graph | None = None) -> Graph:
    """The RDF of one category payload about ``subject`` (added to ``graph`` if given).

    Same triples as parsing ``payload_jsonld(...)`` with rdflib's JSON-LD parser; the parsed
    context is reused instead of re-read for every payload (no network: it is inline).
    """
    if not isinstance(payload, dict):
        raise TypeError(f"a {category} payload must be a JSON object, not {type(payload).__name__}")
    target = graph if graph is not None else Graph()
    document = {**_explicit_empty_lists(payload), "@id": str(subject)}
    Parser().parse(document, _rdflib_context(category), target)
    return target


def category_quads(
    category: str, payload: dict, subject: str, graph_name: ox.NamedNode | None = None
) -> list[ox.Quad]:
    """The same statements as ``category_graph``, as pyoxigraph quads (in ``graph_name`` if given).

    For bulk work (the RDF projection writes into an Oxigraph store): Oxigraph's JSON-LD parser
    (Rust) is three to four times faster than rdflib's and needs no conversion of terms. Numbers get
    the JSON-LD canonical lexical form (``11.5`` under xsd:float is ``"1.15E1"``), rdflib keeps
    ``"11.5"``: the same value, so compare literals by value, not by lexical form.
    """
    if not isinstance(payload, dict):
        raise TypeError(f"a {category} payload must be a JSON object, not {type(payload).__name__}")
    text = json.dumps(
        {"@context": _context_document(category), "@id": str(subject), **_explicit_empty_lists(payload)}
    )
    quads = ox.parse(text, format=ox.RdfFormat.JSON_LD)
    if graph_name is None:
        return list(quads)
    return [ox.Quad(q.subject, q.predicate, q.object, graph_name) for q in quads]


def unmapped(category: str, payload: Any, path: str = "") -> list[str]:
    """JSON pointers of the members of ``payload`` its category's context does not map."""
    terms = _context_document(category)
    found: list[str] = []
    if isinstance(payload, dict):
        for key, value in payload.items():
            here = f"{path}/{key}"
            term = terms.get(key)
            if term is None or key == "xsd":
                found.append(here)
            elif isinstance(term, dict) and term.get("@container") == "@language":
                continue
            else:
                found.extend(unmapped(category, value, here))
    elif isinstance(payload, list):
        for index, item in enumerate(payload):
            found.extend(unmapped(category, item, f"{path}/{index}"))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regenerate", action="store_true", help="write the contexts from the aspect models")
    parser.add_argument(
        "--shared", type=Path, default=SHARED_DIR, help="the batterypass-1.2 conformance folder"
    )
    args = parser.parse_args(argv)
    if not args.regenerate:
        parser.print_help()
        return 2
    for path in regenerate(args.shared):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
