"""Generate ``passport-<battery category>.ttl``: what a complete passport needs, per battery category.

Run ``python -m ontology.shapes.generate`` after the longlist, the attribute selectors or the JSON-LD
contexts change; the output is committed and ``tests/ontology/test_shacl.py`` checks it is current.

Each of the 93 longlist attributes is marked per battery category (columns EV, LMT, "Other
Industrial >2kWh", "Stationary >2kWh"): ``x`` mandatory, ``o`` optional, empty for not applicable.
Where it sits in the payloads comes from ``passport/data/attribute_selectors.toml`` (through
``passport.batterypass.attributes()``); each selector becomes a SHACL property shape over the SAMM
predicates that ``ontology.jsonld.category_graph`` produces:

* ``/a/b`` → ``sh:path ( A B ) ; sh:minCount 1`` (arrays are transparent: each item is a value);
* ``/a/*[f=v]/b`` → ``sh:path A ; sh:qualifiedValueShape [ F hasValue v ; B minCount 1 ] ;
  sh:qualifiedMinCount 1``: at least one item of the list is the one the attribute is about;
* ``x`` → ``sh:Violation``; ``o`` → ``sh:Warning`` (reported, but the passport still conforms).

When an attribute is reached by several selectors, those ending at a member the Battery Pass schema
makes optional are left out (#66: the optional cRate beside powerCapabilityRatio), unless all are.

Every shape is named (no blank nodes but the path lists), so the Turtle output is byte-for-byte
reproducible and the test can compare text instead of running graph isomorphism.
"""

from __future__ import annotations

import csv
from pathlib import Path

from rdflib import OWL, RDF, RDFS, XSD, BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection

from ontology import jsonld
from ontology.namespaces import BATTERYPASS
from passport import batterypass
from passport.selectors import Selector

SH = Namespace("http://www.w3.org/ns/shacl#")
CELLPASS = Namespace("https://w3id.org/cellpass/ns#")
SHAPES = Namespace("https://w3id.org/cellpass/shapes#")
SHAPES_DIR = Path(__file__).parent

# Battery category (passport.choices.BatteryCategory) -> the longlist column marking it.
COLUMNS = {
    "ev": "EV",
    "lmt": "LMT",
    "industrial": "Other Industrial >2kWh",
    "stationary": "Stationary >2kWh",
}
SHAPE_NAMES = {
    "ev": "EvPassportShape",
    "lmt": "LmtPassportShape",
    "industrial": "IndustrialPassportShape",
    "stationary": "StationaryPassportShape",
}
# The vocabulary's passport class per battery category: the shapes' sh:targetClass.
TARGET_CLASSES = {
    "ev": CELLPASS.EvBatteryPassport,
    "lmt": CELLPASS.LmtBatteryPassport,
    "industrial": CELLPASS.IndustrialBatteryPassport,
    "stationary": CELLPASS.StationaryBatteryPassport,
}
LABELS = {
    "ev": "electric vehicle",
    "lmt": "light means of transport",
    "industrial": "industrial (> 2 kWh)",
    "stationary": "stationary energy storage (> 2 kWh)",
}
ANNOTATIONS = {
    "longlistNumber": "Number of the attribute in the Battery Pass v1.2 longlist.",
    "longlistName": "Name of the attribute in the Battery Pass v1.2 longlist.",
    "passportCategory": "The Battery Pass category (aspect) the constrained member belongs to.",
    "selector": "Where the attribute sits in the category payload (JSON pointer with array steps).",
    "requirement": "The longlist mark for the battery category: mandatory or optional.",
}


def requirements() -> dict[int, dict[str, str]]:
    """Per attribute number, per battery category, the longlist mark (``x`` / ``o``).

    ``passport.batterypass.Attribute`` does not carry the per-category columns, so only those four
    are read here from the same vendored longlist; everything else comes from ``attributes()``.
    """
    marks: dict[int, dict[str, str]] = {}
    with (batterypass.STANDARD_DIR / "attributes_v1.2.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            marks[int(row["#"])] = {
                category: row[column].strip().lower()
                for category, column in COLUMNS.items()
                if row[column].strip().lower() in {"x", "o"}
            }
    return marks


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].split("/")[-1]]
    if "allOf" in node:
        merged: dict = {"properties": {}, "required": []}
        for part in node["allOf"]:
            part = _resolve(schema, part)
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += part.get("required", [])
        return merged
    return node


def is_optional(category: str, selector: Selector) -> bool:
    """Whether the member ``selector`` ends at is optional in its object, per the category's schema.

    Only the last member counts: the members on the way are what the attribute is about
    (``sparePartSources`` is optional in the schema, yet it is attribute #38 itself).
    """
    schema = batterypass.schema(category)
    node = _resolve(schema, schema)
    keys = [step for step in selector.steps if step.key is not None]
    for position, step in enumerate(selector.steps):
        if step.key is None:
            node = _resolve(schema, node.get("items", {}))
            continue
        if step is keys[-1] and position == len(selector.steps) - 1:
            return step.key not in node.get("required", [])
        node = _resolve(schema, node.get("properties", {}).get(step.key, {}))
    return False


def _predicate(category: str, member: str) -> URIRef:
    term = jsonld.context(category).get(member)
    if not isinstance(term, dict):
        raise ValueError(f"{category}: member {member!r} has no SAMM property in the JSON-LD context")
    return URIRef(term["@id"])


def _path(graph: Graph, predicates: list[URIRef]) -> URIRef | BNode:
    if len(predicates) == 1:
        return predicates[0]
    head = BNode()
    Collection(graph, head, list(predicates))
    return head


def _value(raw: object) -> Literal:
    return Literal(raw) if isinstance(raw, bool) else Literal(str(raw))


def _constrain(graph: Graph, shape: URIRef, category: str, steps: tuple) -> None:
    """Add to ``shape`` what makes ``steps`` reach at least one value from the focus node."""
    keys: list[URIRef] = []
    for index, step in enumerate(steps):
        if step.key is not None:
            keys.append(_predicate(category, step.key))
        elif step.field is not None:
            # An item predicate: at least one item of the list must match it (and the rest).
            item = URIRef(f"{shape}-item")
            graph.add((item, RDF.type, SH.NodeShape))
            matches = URIRef(f"{shape}-item-{step.field}")
            graph.add((item, SH.property, matches))
            graph.add((matches, RDF.type, SH.PropertyShape))
            graph.add((matches, SH.path, _predicate(category, step.field)))
            graph.add((matches, SH.hasValue, _value(step.value)))
            if index + 1 < len(steps):
                rest = URIRef(f"{shape}-item-value")
                graph.add((item, SH.property, rest))
                graph.add((rest, RDF.type, SH.PropertyShape))
                _constrain(graph, rest, category, steps[index + 1 :])
            graph.add((shape, SH.path, _path(graph, keys)))
            graph.add((shape, SH.qualifiedValueShape, item))
            graph.add((shape, SH.qualifiedMinCount, Literal(1)))
            return
        # A plain array step: every item is a value of the path so far; nothing to add.
    graph.add((shape, SH.path, _path(graph, keys)))
    graph.add((shape, SH.minCount, Literal(1)))


def shapes_for(battery_category: str) -> Graph:
    graph = Graph()
    for prefix, namespace in (("sh", SH), ("cellpass", CELLPASS), ("cps", SHAPES), ("xsd", XSD)):
        graph.bind(prefix, namespace)
    for category, namespace in BATTERYPASS.items():
        graph.bind(PREFIXES[category], namespace)
    node_shape = SHAPES[SHAPE_NAMES[battery_category]]
    graph.add((node_shape, RDF.type, SH.NodeShape))
    graph.add((node_shape, SH.targetClass, TARGET_CLASSES[battery_category]))
    graph.add(
        (node_shape, RDFS.label, Literal(f"Complete {LABELS[battery_category]} battery passport", lang="en"))
    )
    graph.add(
        (
            node_shape,
            RDFS.comment,
            Literal(
                f"Regulation (EU) 2023/1542 requirements for the passport of a battery of category "
                f"'{battery_category}' ({LABELS[battery_category]}), "
                f"from the Battery Pass v1.2 longlist column '{COLUMNS[battery_category]}'. "
                f"Targets passports typed {TARGET_CLASSES[battery_category].fragment} "
                f"(in OWL: batteryCategory '{battery_category}'), "
                "in the RDF of their seven categories (ontology.jsonld.category_graph).",
                lang="en",
            ),
        )
    )
    for name, comment in ANNOTATIONS.items():
        graph.add((SHAPES[name], RDF.type, OWL.AnnotationProperty))
        graph.add((SHAPES[name], RDFS.comment, Literal(comment, lang="en")))
    marks = requirements()
    for number, attribute in sorted(batterypass.attributes().items()):
        mark = marks.get(number, {}).get(battery_category)
        if mark is None:
            continue
        selectors = list(attribute.selectors)
        required = [(c, s) for c, s in selectors if not is_optional(c, s)]
        for index, (category, selector) in enumerate(required or selectors, start=1):
            prop = SHAPES[f"{battery_category}-{number}-{index}"]
            graph.add((node_shape, SH.property, prop))
            graph.add((prop, RDF.type, SH.PropertyShape))
            graph.add((prop, SH.name, Literal(f"#{number} {attribute.name}")))
            graph.add((prop, SH.severity, SH.Violation if mark == "x" else SH.Warning))
            need = "mandatory" if mark == "x" else "optional"
            graph.add(
                (
                    prop,
                    SH.message,
                    Literal(
                        f"#{number} {attribute.name} is missing: {category} {selector.text} "
                        f"({need} for {LABELS[battery_category]} batteries)",
                        lang="en",
                    ),
                )
            )
            graph.add((prop, SHAPES.longlistNumber, Literal(number)))
            graph.add((prop, SHAPES.longlistName, Literal(attribute.name)))
            graph.add((prop, SHAPES.passportCategory, Literal(category)))
            graph.add((prop, SHAPES.selector, Literal(selector.text)))
            graph.add((prop, SHAPES.requirement, Literal(need)))
            _constrain(graph, prop, category, selector.steps)
    return graph


PREFIXES = {
    "GeneralProductInformation": "bpgpi",
    "CarbonFootprint": "bpcf",
    "Circularity": "bpcirc",
    "Labels": "bplab",
    "MaterialComposition": "bpmat",
    "PerformanceAndDurability": "bpperf",
    "SupplyChainDueDiligence": "bpscdd",
}


def shapes_file(battery_category: str) -> Path:
    return SHAPES_DIR / f"passport-{battery_category}.ttl"


HEADER = (
    "# Generated by `python -m ontology.shapes.generate` from the Battery Pass v1.2 longlist (CC BY-NC 4.0,\n"
    "# see passport/standards/batterypass_1_2/LICENSE.md) and passport/data/attribute_selectors.toml.\n"
    "# Do not edit by hand.\n"
)


def render(battery_category: str) -> str:
    return HEADER + shapes_for(battery_category).serialize(format="turtle")


def main() -> int:
    for battery_category in COLUMNS:
        path = shapes_file(battery_category)
        path.write_text(render(battery_category), encoding="utf-8")
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
