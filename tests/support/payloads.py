"""Maximal Battery Pass payloads generated from the schemas themselves.

Every optional member is filled, every enum value of an array's discriminator gets its own
item and every number is distinct, so a test can tell any two attributes' values apart.
"""

from __future__ import annotations

import itertools

from passport import batterypass

PATTERN_VALUES = {
    "^urn:[a-z0-9]+:[a-z0-9]+$": "urn:cellpass:0123456789abcdef",
    "^\\d{2,7}-\\d{2}-\\d{1}$": "7439-93-2",
    "--(0[1-9]|1[0-2])(Z|(\\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?": "--06",
}


def maximal_payload(category: str) -> dict:
    schema = batterypass.schema(category)
    counter = itertools.count(11)
    return _generate(schema, schema, counter, "")


def _resolve(node: dict, root: dict) -> dict:
    while "$ref" in node:
        node = root["components"]["schemas"][node["$ref"].split("/")[-1]]
    if "allOf" in node:
        merged: dict = {k: v for k, v in node.items() if k != "allOf"}
        for part in node["allOf"]:
            part = _resolve(part, root)
            merged.setdefault("properties", {}).update(part.get("properties", {}))
            merged["required"] = merged.get("required", []) + part.get("required", [])
            merged.setdefault("type", part.get("type"))
        return merged
    return node


def _generate(node: dict, root: dict, counter, path: str, variant: int = 0):
    node = _resolve(node, root)
    kind = node.get("type")
    if kind == "object" and "properties" not in node:
        return {"en": f"text-{next(counter)}", "de": f"Text-{next(counter)}"}  # SAMM MultiLanguageText
    if kind == "object" or "properties" in node:
        return {
            name: _generate(child, root, counter, f"{path}/{name}", variant)
            for name, child in node.get("properties", {}).items()
        }
    if kind == "array":
        item = _resolve(node["items"], root)
        variants = _variants(item, root)
        return [_generate(item, root, counter, f"{path}/{i}", i) for i in range(variants)]
    if "enum" in node:
        values = list(dict.fromkeys(node["enum"]))
        return values[variant % len(values)]
    if kind == "string":
        if "pattern" in node:
            if "@" in node["pattern"]:
                return f"contact{next(counter)}@example.org"
            if node["pattern"] in PATTERN_VALUES:
                return PATTERN_VALUES[node["pattern"]]
            return f"2026-03-{(next(counter) % 27) + 1:02d}T08:30:00Z"  # the xsd:dateTime pattern
        if node.get("format") == "uri":
            return f"https://docs.example.org{path or '/'}{next(counter)}.pdf"
        if node.get("format") == "date-time":
            return "2026-03-02T08:30:00Z"
        return f"text-{next(counter)}"
    if kind == "number":
        return next(counter) + 0.5
    if kind == "boolean":
        return variant % 2 == 0
    raise ValueError(f"no generator for {node!r} at {path}")


def _variants(item: dict, root: dict) -> int:
    """How many items an array needs so that each enum value and boolean of its items occurs."""
    count = 1
    for child in item.get("properties", {}).values():
        child = _resolve(child, root)
        if "enum" in child:
            count = max(count, len(set(child["enum"])))
        elif child.get("type") == "boolean":
            count = max(count, 2)
    return count
