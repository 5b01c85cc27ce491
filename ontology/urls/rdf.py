"""Routes of the rdf part of the semantic layer."""

from django.urls import path

from ontology.api.views import SparqlView

urlpatterns: list = [
    path("sparql", SparqlView.as_view(), name="sparql"),
]
