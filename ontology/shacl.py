"""What a passport still lacks for the Regulation: SHACL validation of its content.

The passport's seven categories are turned into RDF about the passport IRI
(``ontology.jsonld.category_graph``) and validated with pyshacl against the node shape of the
battery's category (``ontology/shapes/passport-<category>.ttl``, generated from the Battery Pass
longlist). Mandatory attributes (longlist ``x``) that are missing are violations and make the
passport non-conforming; optional ones (``o``) are reported as warnings only.

A list given empty (``"negativeEvents": []``: none so far) counts as given: ``category_graph`` writes
it as ``rdf:nil``.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import asdict, dataclass, field
from functools import cache

from pyshacl import validate
from rdflib import RDF, Graph, Namespace, URIRef
from rdflib.term import BNode, Node

from ontology.jsonld import category_graph
from ontology.namespaces import CELLPASS, CELLPASS_SHAPES, resource_iri
from ontology.shapes.generate import SHAPE_NAMES, TARGET_CLASSES, shapes_file
from passport.services import content

SH = Namespace("http://www.w3.org/ns/shacl#")


@dataclass(frozen=True)
class Finding:
    """One thing the passport lacks."""

    number: int  # in the Battery Pass v1.2 longlist
    name: str
    category: str  # the Battery Pass category (aspect) it belongs in
    selector: str  # where in that category's payload
    path: str  # the SHACL path over the SAMM properties
    severity: str  # "violation" (mandatory) or "warning" (optional)
    message: str


@dataclass
class Report:
    passport: str  # the passport identifier
    battery: str  # the battery identifier
    battery_category: str
    conforms: bool
    missing: list[Finding] = field(default_factory=list)  # mandatory: violations
    optional_missing: list[Finding] = field(default_factory=list)  # optional: warnings
    triples: int = 0
    seconds: float = 0.0
    checked_at: str = ""

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def missing_numbers(self) -> set[int]:
        return {finding.number for finding in self.missing}


@cache
def category_shapes(battery_category: str) -> Graph:
    """The shapes graph of one battery category, parsed once (pyshacl does not change it)."""
    if battery_category not in SHAPE_NAMES:
        raise ValueError(
            f"unknown battery category {battery_category!r}; expected one of {sorted(SHAPE_NAMES)}"
        )
    graph = Graph()
    graph.parse(shapes_file(battery_category), format="turtle")
    return graph


def content_graph(payloads: dict[str, dict], subject: str, battery_category: str | None = None) -> Graph:
    """All categories of a passport's content as one graph about ``subject`` (the passport IRI).

    With ``battery_category`` the passport is also typed with the class the category's shape targets
    (stated, not inferred: the OWL definition by batteryCategory needs a reasoner pyshacl does not run).
    """
    graph = Graph()
    graph.add((URIRef(subject), RDF.type, CELLPASS.Passport))
    if battery_category is not None:
        graph.add((URIRef(subject), RDF.type, TARGET_CLASSES[battery_category]))
    for category, payload in payloads.items():
        category_graph(category, payload, subject, graph)
    return graph


def _path_text(shapes: Graph, node: Node | None) -> str:
    if node is None:
        return ""
    if isinstance(node, BNode) and (node, RDF.first, None) in shapes:
        return " / ".join(_path_text(shapes, item) for item in shapes.items(node))
    text = str(node)
    return text.rsplit("#", 1)[-1] if "#" in text else text


def check_content(
    payloads: dict[str, dict], subject: str, battery_category: str
) -> tuple[bool, list[Finding], int]:
    """(conforms, findings, triple count) of the content ``payloads`` for a battery category."""
    shapes = category_shapes(battery_category)
    data = content_graph(payloads, subject, battery_category)
    # The shape finds the passport by sh:targetClass. (pyshacl 0.40's focus_nodes + use_shapes
    # evaluates no property shape of a target-less shape, so the target is declared, not passed.)
    conforms, results, _ = validate(
        data,
        shacl_graph=shapes,
        allow_warnings=True,  # optional attributes (sh:Warning) do not make a passport non-conforming
        inference="none",
    )
    findings = []
    for result in results.subjects(RDF.type, SH.ValidationResult):
        source = results.value(result, SH.sourceShape)
        number = shapes.value(source, CELLPASS_SHAPES.longlistNumber)
        if number is None:
            # Not one of our attribute shapes: keep it visible rather than drop it.
            findings.append(
                Finding(0, "", "", "", "", "violation", str(results.value(result, SH.resultMessage) or ""))
            )
            continue
        severity = results.value(result, SH.resultSeverity)
        findings.append(
            Finding(
                number=int(number),
                name=str(shapes.value(source, CELLPASS_SHAPES.longlistName)),
                category=str(shapes.value(source, CELLPASS_SHAPES.passportCategory)),
                selector=str(shapes.value(source, CELLPASS_SHAPES.selector)),
                path=_path_text(shapes, shapes.value(source, SH.path)),
                severity="warning" if severity == SH.Warning else "violation",
                message=str(
                    shapes.value(source, SH.message) or results.value(result, SH.resultMessage) or ""
                ),
            )
        )
    findings.sort(key=lambda f: (f.severity != "violation", f.number, f.selector))
    return bool(conforms), findings, len(data)


def passport_report(passport) -> Report:
    """What ``passport`` (a ``passport.models.Passport``) still lacks for the Regulation."""
    started = time.perf_counter()
    battery = passport.battery
    battery_category = battery.model.category
    subject = str(resource_iri("passport", passport.pk))
    payloads = content.full_content(passport)
    conforms, findings, triples = check_content(payloads, subject, battery_category)
    return Report(
        passport=passport.identifier,
        battery=battery.identifier,
        battery_category=battery_category,
        conforms=conforms,
        missing=[f for f in findings if f.severity == "violation"],
        optional_missing=[f for f in findings if f.severity == "warning"],
        triples=triples,
        seconds=round(time.perf_counter() - started, 4),
        checked_at=dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
    )
