"""The semantic layer's routes: vocabulary and shapes, RDF and SPARQL, and the AAS Part 2 API."""

from django.urls import include, path

urlpatterns = [
    path("", include("ontology.urls.vocabulary")),
    path("", include("ontology.urls.rdf")),
    path("", include("ontology.urls.aas")),
]
