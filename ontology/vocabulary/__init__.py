"""The Cellpass vocabulary (``cellpass.ttl``) and the SHACL shapes, as rdflib graphs."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from rdflib import Graph

VOCABULARY_FILE = Path(__file__).parent / "cellpass.ttl"
SHAPES_DIR = Path(__file__).resolve().parent.parent / "shapes"


@cache
def vocabulary_graph() -> Graph:
    """The vocabulary, parsed once; treat it as read-only (it is shared)."""
    graph = Graph()
    graph.parse(VOCABULARY_FILE, format="turtle")
    return graph


@cache
def shapes_graph() -> Graph:
    """Every SHACL shapes file in ``ontology/shapes``, parsed once; read-only."""
    graph = Graph()
    for path in sorted(SHAPES_DIR.glob("*.ttl")):
        graph.parse(path, format="turtle")
    return graph
