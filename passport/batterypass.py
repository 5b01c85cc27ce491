"""The Battery Pass Data Model v1.2 as the code sees it: schemas, validation and the longlist.

Schemas and the longlist are read from the vendored copy in ``standards/batterypass_1_2``;
upstream defects are corrected by the JSON patches in ``errata.json`` at load time.
"""

from __future__ import annotations

import copy
import csv
import json
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonpatch
from jsonschema import Draft4Validator

from passport.choices import AUDIENCE_ROLES, AccessRight, PassportCategory, Role
from passport.selectors import Selector, pointer

STANDARD_DIR = Path(__file__).parent / "standards" / "batterypass_1_2"
SELECTORS_FILE = Path(__file__).parent / "data" / "attribute_selectors.toml"
ASPECT_URNS = {
    PassportCategory.GENERAL_PRODUCT_INFORMATION: "urn:samm:io.BatteryPass.GeneralProductInformation:1.2.0",
    PassportCategory.CARBON_FOOTPRINT: "urn:samm:io.BatteryPass.CarbonFootprint:1.2.0",
    PassportCategory.CIRCULARITY: "urn:samm:io.BatteryPass.Circularity:1.2.0",
    PassportCategory.LABELS: "urn:samm:io.BatteryPass.Labels:1.2.0",
    PassportCategory.MATERIAL_COMPOSITION: "urn:samm:io.BatteryPass.MaterialComposition:1.2.0",
    PassportCategory.PERFORMANCE_AND_DURABILITY: "urn:samm:io.BatteryPass.Performance:1.2.0",
    PassportCategory.SUPPLY_CHAIN_DUE_DILIGENCE: "urn:samm:io.BatteryPass.SupplyChainDueDiligence:1.2.0",
}


@dataclass(frozen=True)
class ContentError:
    """One reason a payload is rejected, located by JSON pointer."""

    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


# --- schemas -------------------------------------------------------------------------------


@cache
def errata() -> list[dict]:
    return json.loads((STANDARD_DIR / "errata.json").read_text())


@cache
def upstream_schema(category: str) -> dict:
    return json.loads((STANDARD_DIR / f"{PassportCategory(category).value}.schema.json").read_text())


@cache
def schema(category: str) -> dict:
    """The category's JSON schema with the errata applied."""
    document = copy.deepcopy(upstream_schema(category))
    for erratum in errata():
        if category in erratum["categories"]:
            document = jsonpatch.apply_patch(document, erratum["patch"])
    return document


@cache
def _validator(category: str, partial: bool) -> Draft4Validator:
    document = schema(category)
    if partial:
        # Type-level content carries only some members of a category; what it does carry
        # must still be well-formed, so only the top-level `required` is lifted.
        document = {**document, "required": []}
    return Draft4Validator(document, format_checker=Draft4Validator.FORMAT_CHECKER)


def validate(category: str, payload: Any, *, partial: bool = False) -> list[ContentError]:
    """All schema violations of ``payload``, sorted by path; empty when it is valid."""
    if not isinstance(payload, dict):
        return [ContentError("/", f"a {category} payload must be a JSON object")]
    errors = [
        ContentError(pointer(error.absolute_path), error.message)
        for error in _validator(category, partial).iter_errors(payload)
    ]
    return sorted(errors, key=lambda e: (e.path, e.message))


# --- the longlist -------------------------------------------------------------------------


@dataclass(frozen=True)
class Attribute:
    number: int
    name: str
    longlist_category: str
    access_right: AccessRight
    dynamic: bool
    individual: bool  # granularity: individual battery (True) or battery model (False)
    unit: str
    data_format: str
    selectors: tuple[tuple[str, Selector], ...]  # (PassportCategory, selector)

    @property
    def audience(self) -> frozenset[str]:
        return AUDIENCE_ROLES[self.access_right]

    def visible_to(self, role: str) -> bool:
        return role in self.audience


@cache
def attributes() -> dict[int, Attribute]:
    """The 93 longlist attributes, keyed by number, with where each sits in the payloads."""
    placements: dict[int, list[tuple[str, Selector]]] = {}
    for category, entries in tomllib.loads(SELECTORS_FILE.read_text()).items():
        PassportCategory(category)
        for number, texts in entries.items():
            placements.setdefault(int(number), []).extend((category, Selector.parse(text)) for text in texts)
    catalogue = {}
    with (STANDARD_DIR / "attributes_v1.2.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            number = int(row["#"])
            catalogue[number] = Attribute(
                number=number,
                name=" ".join(row["Attribute"].split()),
                longlist_category=row["Attribute category"].strip(),
                access_right=AccessRight(row["Access rights according to Battery Regulation"].strip()),
                dynamic=row["Data behavioural characteristic: static vs. dynamic"].strip() == "Dynamic",
                individual=row["Granularity level I: Model vs individual battery"].strip()
                == "Individual battery",
                unit=row["Unit of attribute or sign (if applicable)"].strip(),
                data_format=row[" Data format"].strip(),
                selectors=tuple(placements.pop(number, ())),
            )
    if placements:
        raise ValueError(f"selectors for attributes not in the longlist: {sorted(placements)}")
    return catalogue


@cache
def visible_selectors(role: str) -> dict[str, tuple[Selector, ...]]:
    """Per category, the selectors of every attribute ``role`` may see."""
    Role(role)
    grouped: dict[str, list[Selector]] = {c.value: [] for c in PassportCategory}
    for attribute in attributes().values():
        if attribute.visible_to(role):
            for category, selector in attribute.selectors:
                grouped[category].append(selector)
    return {category: tuple(selectors) for category, selectors in grouped.items()}


@cache
def withheld_attributes(role: str) -> tuple[int, ...]:
    return tuple(n for n, a in attributes().items() if not a.visible_to(role))
