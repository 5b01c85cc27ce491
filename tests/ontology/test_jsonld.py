"""The Battery Pass JSON-LD contexts: generated from the aspect models, and lossless on payloads."""

from __future__ import annotations

import json
import time

import pytest
from rdflib import RDF, XSD, Graph, Literal, URIRef
from rdflib.compare import isomorphic

from ontology import jsonld
from tests.support.conformance import conformance_file
from tests.support.payloads import maximal_payload

SUBJECT = "https://cellpass.example/id/passport/PP-1"
ASPECT_IRIS = {
    "GeneralProductInformation": "urn:samm:io.BatteryPass.GeneralProductInformation:1.2.0#",
    "CarbonFootprint": "urn:samm:io.BatteryPass.CarbonFootprint:1.2.0#",
    "Circularity": "urn:samm:io.BatteryPass.Circularity:1.2.0#",
    "Labels": "urn:samm:io.BatteryPass.Labels:1.2.0#",
    "MaterialComposition": "urn:samm:io.BatteryPass.MaterialComposition:1.2.0#",
    "PerformanceAndDurability": "urn:samm:io.BatteryPass.Performance:1.2.0#",
    "SupplyChainDueDiligence": "urn:samm:io.BatteryPass.SupplyChainDueDiligence:1.2.0#",
}
categories = pytest.mark.parametrize("category", jsonld.CATEGORIES)
NUMERIC = {XSD.float, XSD.double, XSD.decimal, XSD.integer, XSD.long, XSD.int, XSD.short}


def sample_payload(category: str) -> dict:
    return json.loads(conformance_file(category, "sample-payload.json").read_text(encoding="utf-8"))


def leaves(value, path: str = "") -> list[tuple[str, object]]:
    """(JSON pointer, value) of every scalar; a language map's entries count one each."""
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in leaves(item, f"{path}/{key}")]
    if isinstance(value, list):
        return [leaf for index, item in enumerate(value) for leaf in leaves(item, f"{path}/{index}")]
    return [] if value is None else [(path, value)]


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    conformance_file()
    target = tmp_path_factory.mktemp("contexts")
    jsonld.regenerate(target=target)
    return target


@categories
def test_committed_contexts_are_what_the_aspect_models_generate(category, regenerated):
    committed = (jsonld.CONTEXT_DIR / f"{category}.context.jsonld").read_text(encoding="utf-8")
    assert (regenerated / f"{category}.context.jsonld").read_text(encoding="utf-8") == committed, (
        "regenerate with `python -m ontology.jsonld --regenerate`"
    )


@categories
def test_every_term_is_a_property_of_its_aspect_model(category):
    model = Graph().parse(jsonld.aspect_model_file(conformance_file(), category))
    samm_property = URIRef("urn:samm:org.eclipse.esmf.samm:meta-model:2.1.0#Property")
    for name, term in jsonld.context(category).items():
        if name == "xsd":
            continue
        assert term["@id"].startswith(ASPECT_IRIS[category]), name
        assert (URIRef(term["@id"]), RDF.type, samm_property) in model, (
            f"{category}: {name} -> {term['@id']} is not a samm:Property of the aspect model"
        )


def test_context_carries_samm_data_types():
    performance = jsonld.context("PerformanceAndDurability")
    assert performance["ratedCapacity"] == {
        "@id": "urn:samm:io.BatteryPass.Performance:1.2.0#ratedCapacity",
        "@type": "xsd:float",
    }
    general = jsonld.context("GeneralProductInformation")
    assert general["manufacturingDate"]["@type"] == "xsd:dateTimeStamp"
    assert general["puttingIntoService"]["@type"] == "xsd:dateTime"
    assert general["warrentyPeriod"]["@type"] == "xsd:gMonth"
    assert "@type" not in general["productIdentifier"]  # xsd:string: a plain literal
    assert jsonld.context("Labels")["labelingMeaning"]["@container"] == "@language"


def test_context_is_a_copy():
    jsonld.context("Labels")["labels"] = "mangled"
    assert jsonld.context("Labels")["labels"]["@id"].endswith("#labels")


def test_unknown_category_names_it():
    with pytest.raises(jsonld.UnknownCategory, match="'Battery'"):
        jsonld.context("Battery")


def same_value(literal: Literal, value: object) -> bool:
    """Whether ``literal`` holds the JSON scalar ``value`` (rdflib normalises lexical forms)."""
    if literal.datatype is None:
        return str(literal) == value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # Compare numerically: also holds for a fraction under an integer-typed property (below).
        return float(str(literal)) == float(value)
    lexical = json.dumps(value) if isinstance(value, bool) else str(value)
    return literal.toPython() == Literal(lexical, datatype=literal.datatype).toPython()


def assert_lossless(category: str, payload: dict) -> Graph:
    assert jsonld.unmapped(category, payload) == []
    graph = jsonld.category_graph(category, payload, SUBJECT)
    terms = jsonld.context(category)
    literals = [o for o in graph.objects() if isinstance(o, Literal)]
    # Every scalar is one literal triple. RDF graphs are sets, so equal scalars under the same
    # property of the same node would collapse into one triple; the payloads here have none.
    assert len(literals) == len(leaves(payload)), category
    for pointer, value in leaves(payload):
        names = [part for part in pointer.split("/")[1:] if not part.isdigit()]
        if terms.get(names[-1]) is None:  # a language map's key: the property is the one before
            names = names[:-1]
        predicate = URIRef(terms[names[-1]]["@id"])
        matching = [o for o in graph.objects(None, predicate) if isinstance(o, Literal)]
        assert any(same_value(o, value) for o in matching), (
            f"{category}{pointer} = {value!r} has no triple with predicate {predicate}"
        )
    # Top-level members hang off the subject with the aspect's property IRIs.
    for name in payload:
        assert (URIRef(SUBJECT), URIRef(terms[name]["@id"]), None) in graph, name
    return graph


@categories
def test_conformance_sample_payload_becomes_triples_with_samm_predicates(category):
    assert_lossless(category, sample_payload(category))


@categories
def test_maximal_payload_becomes_triples_with_samm_predicates(category):
    assert_lossless(category, maximal_payload(category))


def test_numbers_and_dates_are_typed_as_the_aspect_model_says():
    graph = jsonld.category_graph(
        "PerformanceAndDurability",
        {"batteryTechicalProperties": {"ratedCapacity": 52, "expectedLifetime": 10}},
        SUBJECT,
    )
    objects = {p.fragment: o for _, p, o in graph if isinstance(o, Literal)}
    assert objects["ratedCapacity"].datatype == XSD.float and objects["ratedCapacity"].toPython() == 52.0
    assert objects["expectedLifetime"].datatype == XSD.short
    general = jsonld.category_graph(
        "GeneralProductInformation", {"puttingIntoService": "2026-03-02T08:30:00Z"}, SUBJECT
    )
    (moment,) = general.objects()
    assert moment.datatype == XSD.dateTime and moment.toPython().year == 2026


def test_fraction_for_an_integer_property_stays_visible_as_ill_typed():
    # The Battery Pass JSON schema says "number" where the aspect model says xsd:long
    # (expectedNumberOfCycles). JSON-LD keeps the declared type, so 16.5 becomes an ill-typed
    # literal that SHACL/SPARQL can spot, rather than silently becoming another number.
    graph = jsonld.category_graph(
        "PerformanceAndDurability", {"batteryTechicalProperties": {"expectedNumberOfCycles": 16.5}}, SUBJECT
    )
    (cycles,) = (o for o in graph.objects() if isinstance(o, Literal))
    assert cycles.datatype == XSD.long and str(cycles) == "16.5"
    assert Literal(str(cycles), datatype=XSD.long).ill_typed  # what a store reading it back sees


def test_language_map_becomes_language_tagged_literals():
    graph = jsonld.category_graph(
        "Labels",
        {"labels": [{"labelingSubject": "CE", "labelingMeaning": {"en": "CE", "de": "CE-Zeichen"}}]},
        SUBJECT,
    )
    meanings = set(graph.objects(None, URIRef(ASPECT_IRIS["Labels"] + "labelingMeaning")))
    assert meanings == {Literal("CE", lang="en"), Literal("CE-Zeichen", lang="de")}


def test_an_empty_list_is_the_empty_rdf_list_not_nothing():
    payload = {
        "batteryCondition": {"negativeEvents": [], "numberOfFullCycles": {"numberOfFullCyclesValue": 3}}
    }
    graph = jsonld.category_graph("PerformanceAndDurability", payload, SUBJECT)
    events = URIRef("urn:samm:io.BatteryPass.Performance:1.2.0#negativeEvents")
    assert list(graph.objects(None, events)) == [RDF.nil]
    assert payload["batteryCondition"]["negativeEvents"] == []  # the caller's payload is not changed
    parsed = Graph().parse(
        data=json.dumps(jsonld.payload_jsonld("PerformanceAndDurability", payload, SUBJECT)), format="json-ld"
    )
    assert isomorphic(parsed, graph)


def test_json_ld_keywords_in_a_payload_are_refused_by_pointer():
    payload = {"labels": [{"labelingSubject": "CE", "@id": "https://evil.example/x"}]}
    with pytest.raises(ValueError, match="/labels/0/@id"):
        jsonld.category_graph("Labels", payload, SUBJECT)
    with pytest.raises(ValueError, match="/@type"):
        jsonld.payload_jsonld("Labels", {"@type": "x"}, SUBJECT)


def test_unmapped_members_are_reported_by_pointer():
    payload = {"batteryChemistry": {"shortName": "NMC", "colour": "blue"}, "extra": 1}
    assert jsonld.unmapped("MaterialComposition", payload) == ["/batteryChemistry/colour", "/extra"]


@categories
def test_category_graph_equals_rdflib_parse_of_payload_jsonld(category):
    payload = maximal_payload(category)
    document = jsonld.payload_jsonld(category, payload, SUBJECT)
    assert document["@id"] == SUBJECT and "@context" in document
    parsed = Graph().parse(data=json.dumps(document), format="json-ld")
    assert isomorphic(parsed, jsonld.category_graph(category, payload, SUBJECT))


def by_value(graph: Graph) -> Graph:
    """``graph`` with every typed literal in one lexical form per value (numbers as Python floats, so
    that also an ill-typed fraction under an integer type compares equal across parsers)."""
    normal = Graph()
    for s, p, o in graph:
        if isinstance(o, Literal) and o.datatype in NUMERIC:
            o = Literal(repr(float(str(o))), datatype=o.datatype)
        elif isinstance(o, Literal) and o.datatype is not None and o.value is not None:
            o = Literal(o.value, datatype=o.datatype)
        normal.add((s, p, o))
    return normal


def from_oxigraph(quads) -> Graph:
    from ontology.rdf.store import from_ox

    graph = Graph()
    for quad in quads:
        graph.add((from_ox(quad.subject), from_ox(quad.predicate), from_ox(quad.object)))
    return graph


@categories
def test_oxigraph_quads_state_the_same_as_the_rdflib_graph(category):
    import pyoxigraph as ox

    payload = maximal_payload(category)
    if category == "PerformanceAndDurability":
        payload["batteryCondition"]["negativeEvents"] = []
    name = ox.NamedNode("https://cellpass.example/graph/g")
    quads = jsonld.category_quads(category, payload, SUBJECT, name)
    assert quads and all(q.graph_name == name for q in quads)
    expected = by_value(jsonld.category_graph(category, payload, SUBJECT))
    assert isomorphic(by_value(from_oxigraph(quads)), expected)


def test_one_passport_of_seven_categories_is_fast():
    payloads = {category: maximal_payload(category) for category in jsonld.CATEGORIES}
    start = time.perf_counter()
    for index in range(20):
        graph = Graph()
        for category, payload in payloads.items():
            jsonld.category_graph(category, payload, f"{SUBJECT}-{index}", graph)
    per_passport = (time.perf_counter() - start) / 20
    assert per_passport < 0.1, f"{per_passport * 1000:.1f} ms per passport"
    start = time.perf_counter()
    for index in range(20):
        for category, payload in payloads.items():
            jsonld.category_quads(category, payload, f"{SUBJECT}-{index}")
    assert (time.perf_counter() - start) / 20 < per_passport  # the bulk path is the faster one
