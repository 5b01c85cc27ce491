"""The Cellpass vocabulary: well-formed, aligned to Battery Pass and PROV-O, and served at /ns."""

from __future__ import annotations

import json

import pytest
from rdflib import OWL, RDF, RDFS, SKOS, Graph, Namespace, URIRef

from lifecycle.choices import EventType
from ontology.namespaces import CELLPASS, PROV, QUDT, UNIT, VOCABULARY_IRI
from ontology.views.vocabulary import FORMATS, negotiate
from ontology.vocabulary import VOCABULARY_FILE, shapes_graph, vocabulary_graph
from passport.choices import BatteryKind, Role
from tests.support.conformance import conformance_file

DCTERMS = Namespace("http://purl.org/dc/terms/")
SH = Namespace("http://www.w3.org/ns/shacl#")
SAMM_PREFIX = "urn:samm:io.BatteryPass."


@pytest.fixture(scope="module")
def vocabulary() -> Graph:
    return vocabulary_graph()


def test_vocabulary_parses_with_ontology_metadata(vocabulary):
    assert Graph().parse(VOCABULARY_FILE, format="turtle")  # a fresh parse, not the cached graph
    assert (VOCABULARY_IRI, RDF.type, OWL.Ontology) in vocabulary
    assert vocabulary.value(VOCABULARY_IRI, OWL.versionInfo) is not None
    assert vocabulary.value(VOCABULARY_IRI, DCTERMS.license) is not None
    assert vocabulary.value(VOCABULARY_IRI, DCTERMS.title) is not None
    assert vocabulary_graph() is vocabulary  # cached


def test_every_term_has_a_label_and_is_in_our_namespace(vocabulary):
    for kind in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty):
        for term in vocabulary.subjects(RDF.type, kind):
            if isinstance(term, URIRef):
                assert str(term).startswith(str(CELLPASS)), term
                assert vocabulary.value(term, RDFS.label) is not None, f"{term} has no rdfs:label"


def test_every_samm_iri_it_mentions_exists_in_the_aspect_models(vocabulary):
    root = conformance_file()
    models = Graph()
    for path in root.glob("*/*.ttl"):
        models.parse(path, format="turtle")
    defined = set(models.subjects())
    mentioned = {node for triple in vocabulary for node in triple if str(node).startswith(SAMM_PREFIX)}
    assert len(mentioned) > 25
    assert sorted(str(iri) for iri in mentioned - defined) == []


def test_rated_values_align_to_battery_pass_and_carry_qudt_units(vocabulary):
    expected = {
        "ratedCapacity": ("urn:samm:io.BatteryPass.Performance:1.2.0#ratedCapacity", UNIT["A-HR"]),
        "ratedEnergy": ("urn:samm:io.BatteryPass.Performance:1.2.0#ratedEnergy", UNIT["KiloW-HR"]),
        "nominalVoltage": ("urn:samm:io.BatteryPass.Performance:1.2.0#nominalVoltage", UNIT.V),
        "mass": ("urn:samm:io.BatteryPass.GeneralProductInformation:1.2.0#batteryMass", UNIT.KiloGM),
        "capacityThresholdForExhaustion": (
            "urn:samm:io.BatteryPass.Performance:1.2.0#capacityThresholdForExhaustion",
            UNIT.PERCENT,
        ),
    }
    for name, (samm, unit) in expected.items():
        assert (CELLPASS[name], RDFS.subPropertyOf, URIRef(samm)) in vocabulary, name
        assert (CELLPASS[name], QUDT.unit, unit) in vocabulary, name
    assert (CELLPASS.minimumTemperature, QUDT.unit, UNIT.DEG_C) in vocabulary


def test_passport_related_properties_are_all_aligned(vocabulary):
    # Every property whose subject is a battery, model or passport and that mirrors passport
    # content must point at a Battery Pass property, by rdfs:subPropertyOf or a SKOS match.
    passport_related = [
        "identifier", "batteryCategory", "chemistry", "status", "manufacturedAt", "putIntoServiceAt",
        "manufacturer", "operator", "ratedCapacity", "ratedEnergy", "nominalVoltage", "mass",
        "expectedLifetime", "passportIdentifier", "negativeEventKind", "newStatus", "stateOfHealth",
    ]  # fmt: skip
    for name in passport_related:
        targets = [
            o
            for p in (RDFS.subPropertyOf, OWL.equivalentProperty, SKOS.closeMatch)
            for o in vocabulary.objects(CELLPASS[name], p)
        ]
        assert any(str(t).startswith(SAMM_PREFIX) for t in targets), name


def test_passport_class_points_at_the_seven_aspects(vocabulary):
    aspects = {str(o) for o in vocabulary.objects(CELLPASS.Passport, RDFS.seeAlso)}
    assert len([a for a in aspects if a.startswith(SAMM_PREFIX)]) == 7


def subclasses(vocabulary: Graph, parent: URIRef) -> set[URIRef]:
    return set(vocabulary.transitive_subjects(RDFS.subClassOf, parent)) - {parent}


def test_every_event_type_has_exactly_one_class(vocabulary):
    events = subclasses(vocabulary, CELLPASS.LifecycleEvent)
    by_code: dict[str, list] = {}
    for cls in events:
        for notation in vocabulary.objects(cls, SKOS.notation):
            by_code.setdefault(str(notation), []).append(cls)
    assert set(by_code) == set(EventType.values)
    assert all(len(classes) == 1 for classes in by_code.values()), by_code


def test_prov_alignment(vocabulary):
    assert (CELLPASS.LifecycleEvent, RDFS.subClassOf, PROV.Activity) in vocabulary
    for entity in (CELLPASS.TelemetryBatch, CELLPASS.TwinResult, CELLPASS.Passport, CELLPASS.Decision):
        assert (entity, RDFS.subClassOf, PROV.Entity) in vocabulary, entity
    assert (CELLPASS.Organisation, RDFS.subClassOf, PROV.Organization) in vocabulary
    assert (CELLPASS.Role, RDFS.subClassOf, PROV.Role) in vocabulary
    assert subclasses(vocabulary, CELLPASS.Decision) == {
        CELLPASS.RepurposingDecision,
        CELLPASS.WarrantyDecision,
    }
    assert (CELLPASS.occurredAt, RDFS.subPropertyOf, PROV.endedAtTime) in vocabulary
    # The twin result's uncertainty: SoH standard deviation and a RUL credible interval.
    for name in ("stateOfHealthStd", "medianCycles", "lowerCycles", "upperCycles", "credibleLevel"):
        assert (CELLPASS[name], RDF.type, OWL.DatatypeProperty) in vocabulary, name


def test_battery_kinds_roles_and_composition(vocabulary):
    kinds = {CELLPASS.Cell, CELLPASS.Module, CELLPASS.Pack, CELLPASS.BatterySystem}
    assert subclasses(vocabulary, CELLPASS.Battery) == kinds and len(kinds) == len(BatteryKind)
    roles = {str(vocabulary.value(r, SKOS.notation)) for r in vocabulary.subjects(RDF.type, CELLPASS.Role)}
    assert roles == set(Role.values)
    assert (CELLPASS.hasComponent, OWL.inverseOf, CELLPASS.isComponentOf) in vocabulary
    for name in ("installedAt", "removedAt", "position", "component"):
        assert (CELLPASS[name], RDFS.domain, CELLPASS.Composition) in vocabulary, name


def test_projection_terms_are_defined(vocabulary):
    """Every cellpass: term the other semantic-layer modules write must dereference at /ns."""
    import ast
    from pathlib import Path

    import ontology

    used = set()
    for path in Path(ontology.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "CELLPASS"
            ):
                used.add(CELLPASS[node.attr])
    defined = set(vocabulary.subjects(RDF.type, None))
    assert sorted(str(term) for term in used - defined) == []


# --- /ns ---------------------------------------------------------------------------------------

RDF_TYPES = {
    "text/turtle": "turtle",
    "application/ld+json": "json-ld",
    "application/rdf+xml": "xml",
    "application/n-triples": "nt",
}


@pytest.mark.parametrize("media_type", list(RDF_TYPES))
def test_ns_negotiates_rdf_serialisations(client, vocabulary, media_type):
    response = client.get("/ns", HTTP_ACCEPT=media_type)
    assert response.status_code == 200
    assert response["Content-Type"].startswith(media_type)
    assert "Accept" in response["Vary"]
    parsed = Graph().parse(data=response.content, format=RDF_TYPES[media_type])
    assert len(parsed) == len(vocabulary)


def test_ns_html_page_shows_terms_with_labels_and_alignments(client):
    response = client.get("/ns", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert 'id="ratedCapacity"' in page and "rated capacity" in page
    assert "bpperf:ratedCapacity" in page  # the Battery Pass alignment
    assert "prov:Activity" in page and "unit:A-HR" in page


@pytest.mark.parametrize(("key", "media_type"), [(f.key, f.media_type) for f in FORMATS])
def test_format_parameter_overrides_accept(client, key, media_type):
    response = client.get(f"/ns?format={key}", HTTP_ACCEPT="image/png")
    assert response.status_code == 200 and response["Content-Type"].startswith(media_type)


def test_unacceptable_type_is_406_listing_what_is_available(client):
    response = client.get("/ns", HTTP_ACCEPT="image/png, application/pdf")
    assert response.status_code == 406 and "Accept" in response["Vary"]
    body = response.content.decode()
    assert all(f.media_type in body for f in FORMATS)
    response = client.get("/ns?format=yaml")
    assert response.status_code == 406 and "'yaml'" in response.content.decode()


def test_no_accept_gets_turtle_and_post_is_refused(client):
    assert client.get("/ns")["Content-Type"].startswith("text/turtle")
    assert client.post("/ns").status_code == 405


def test_accept_quality_values_are_honoured():
    assert negotiate("text/html;q=0.5, application/ld+json").media_type == "application/ld+json"
    assert negotiate("application/*;q=0.9, text/turtle;q=0.1").media_type == "application/ld+json"
    assert negotiate("text/*").media_type == "text/turtle"  # server preference on a tie
    assert negotiate("*/*;q=0.2, text/turtle;q=0").media_type == "application/ld+json"
    assert negotiate("text/turtle;q=abc") is None


def test_ns_shapes_serves_the_shacl_shapes(client):
    response = client.get("/ns/shapes", HTTP_ACCEPT="application/ld+json")
    assert response.status_code == 200
    document = json.loads(response.content)
    parsed = Graph().parse(data=json.dumps(document), format="json-ld")
    assert len(parsed) == len(shapes_graph())
    assert len(set(parsed.subjects(RDF.type, SH.NodeShape))) >= 4
    page = client.get("/ns/shapes?format=html").content.decode()
    assert "#57 State of certified energy (SOCE)" in page and "sh:Warning" in page


def test_shapes_target_the_vocabularys_passport_classes(vocabulary):
    targets = set(shapes_graph().objects(None, SH.targetClass))
    assert targets == subclasses(vocabulary, CELLPASS.Passport)
    assert len(targets) == 4
    for target in targets:
        restriction = vocabulary.value(target, OWL.equivalentClass)
        assert str(vocabulary.value(restriction, OWL.onProperty)).endswith(
            "GeneralProductInformation:1.2.0#batteryCategory"
        )


def test_ns_links_its_alternates(client):
    links = client.get("/ns")["Link"]
    assert all(f'type="{f.media_type}"' in links for f in FORMATS)
