"""Routes of the vocabulary part of the semantic layer: /ns and /ns/shapes (content-negotiated)."""

from django.urls import path

from ontology.views import vocabulary

urlpatterns: list = [
    path("ns", vocabulary.vocabulary, name="vocabulary"),
    path("ns/shapes", vocabulary.shapes, name="vocabulary-shapes"),
]
