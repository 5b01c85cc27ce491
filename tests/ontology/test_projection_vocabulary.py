"""The projection types each record with the vocabulary's class for its event type."""

from __future__ import annotations

from rdflib import URIRef
from rdflib.namespace import OWL, RDF, SKOS

from lifecycle.choices import EventType
from ontology.rdf.projection import EVENT_CLASSES
from ontology.vocabulary import vocabulary_graph


def test_every_event_type_is_projected_to_the_class_whose_notation_it_is():
    vocabulary = vocabulary_graph()
    assert set(EVENT_CLASSES) == set(EventType)
    for event_type, cls in EVENT_CLASSES.items():
        assert (URIRef(cls), RDF.type, OWL.Class) in vocabulary, cls
        notations = {str(value) for value in vocabulary.objects(URIRef(cls), SKOS.notation)}
        assert notations == {event_type.value}, (cls, notations)
