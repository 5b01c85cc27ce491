"""A battery as an Asset Administration Shell (AAS V3.0, basyx objects), built for one reading role.

One shell per battery (``globalAssetId`` = the battery identifier) referencing one submodel per
Battery Pass category the role may see, shaped like the Battery Pass v1.2 AAS templates (JSON objects
become SubmodelElementCollections, arrays SubmodelElementLists, scalars typed Properties), plus three
submodels of our own: the lifecycle history, the latest health-twin result and the provenance of
the record chain. The mapping is reversible (``payload_of``) so a Submodel written through the Part 2
API becomes the category's Battery Pass payload again and goes through ``content.write_section``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from basyx.aas import model
from django.conf import settings

from ontology.namespaces import BATTERYPASS, CELLPASS, resource_iri
from passport.choices import PassportCategory, PassportState, Role
from passport.models import Battery, Passport

# Root element names of the Battery Pass v1.2 AAS templates
# (../shared/conformance/batterypass-1.2/<Category>/*.aas.xml): the submodel's idShort, and with the
# category's SAMM namespace its semanticId.
TEMPLATE_ROOTS = {
    "GeneralProductInformation": "GeneralProductInformation",
    "CarbonFootprint": "CarbonFootprintForBatteries",
    "Circularity": "Circularity",
    "Labels": "Labeling",
    "MaterialComposition": "MaterialComposition",
    "PerformanceAndDurability": "PerformanceAndDurability",
    "SupplyChainDueDiligence": "SupplyChainDueDiligence",
}
# The published GeneralProductInformation template still carries the 1.0.0 URN although its aspect
# model (the .ttl) is 1.2.0; we keep the template's URN as a supplemental semanticId so consumers
# matching on either find the submodel.
TEMPLATE_SEMANTIC_ID_ALIASES = {
    "GeneralProductInformation": (
        "urn:samm:io.BatteryPass.GeneralProductInformation:1.0.0#GeneralProductInformation"
    ),
}

HISTORY = "LifecycleHistory"
HEALTH = "HealthTwin"
PROVENANCE = "Provenance"
OWN_SUBMODELS = {
    HISTORY: CELLPASS.LifecycleHistory,
    HEALTH: CELLPASS.HealthTwinResult,
    PROVENANCE: CELLPASS.Provenance,
}
# Lifecycle records carry attributes the longlist restricts to persons with a legitimate interest;
# the same audience as lifecycle.services.policy.HISTORY_READERS (never the public).
HISTORY_READERS = frozenset({Role.LEGITIMATE_INTEREST, Role.AUTHORITY, Role.ECONOMIC_OPERATOR})

# An Extension carrying the JSON member name whenever the idShort had to differ from it (AASd-002),
# so the mapping back to the Battery Pass payload is exact.
JSON_NAME = "https://w3id.org/cellpass/ns#jsonName"

_ID_SHORT_BAD = re.compile(r"[^A-Za-z0-9_-]")
_LONG = (-(2**63), 2**63 - 1)


class MappingError(ValueError):
    """A submodel that cannot be turned back into a Battery Pass payload (names the element)."""


def shell_id(battery_pk: object) -> str:
    return f"{resource_iri('battery', battery_pk)}/aas"


def submodel_id(battery_pk: object, name: str) -> str:
    return f"{resource_iri('battery', battery_pk)}/submodel/{name}"


_ID_PATTERN = None


def parse_id(identifier: str) -> tuple[uuid.UUID, str | None] | None:
    """(battery pk, submodel name or None for the shell) of one of our ids; None if it is not ours."""
    global _ID_PATTERN
    if _ID_PATTERN is None:
        base = re.escape(f"{settings.CELLPASS_BASE_URL}/id/battery/")
        _ID_PATTERN = re.compile(rf"^{base}([0-9a-f-]{{36}})/(?:aas|submodel/([A-Za-z]+))$")
    match = _ID_PATTERN.match(identifier)
    if not match:
        return None
    try:
        return uuid.UUID(match.group(1)), match.group(2)
    except ValueError:
        return None


def id_short(name: str) -> str:
    """``name`` made a valid idShort (AASd-002: letters, digits, '_' and '-', starting with a letter,
    not ending with '-'; at most 128 characters)."""
    text = _ID_SHORT_BAD.sub("_", str(name)) or "x"
    if not text[0].isascii() or not text[0].isalpha():
        text = "x" + text
    text = text[:128]
    if text.endswith("-"):
        text = text[:-1] + "_"
    return text


def _global(iri: str) -> model.ExternalReference:
    return model.ExternalReference((model.Key(model.KeyTypes.GLOBAL_REFERENCE, str(iri)),))


def _property(name: str | None, value: Any, semantic: str | None) -> model.Property:
    if isinstance(value, bool):
        value_type: type = model.datatypes.Boolean
    elif isinstance(value, int):
        value_type = model.datatypes.Long if _LONG[0] <= value <= _LONG[1] else model.datatypes.Integer
    elif isinstance(value, float):
        value_type = model.datatypes.Double
    else:
        value_type = model.datatypes.String
        value = None if value is None else str(value)
    return model.Property(
        id_short=name, value_type=value_type, value=value, semantic_id=_global(semantic) if semantic else None
    )


def element(
    name: str | None, value: Any, namespace: str | None = None, json_name: str | None = None
) -> model.SubmodelElement:
    """One JSON value as a submodel element; ``name`` None for the items of a list (AASd-120)."""
    semantic = f"{namespace}{json_name}" if namespace and json_name else None
    if isinstance(value, dict):
        result: model.SubmodelElement = model.SubmodelElementCollection(
            id_short=name,
            value=members(value, namespace),
            semantic_id=_global(semantic) if semantic else None,
        )
    elif isinstance(value, list):
        result = _list(name, value, namespace, semantic)
    else:
        result = _property(name, value, semantic)
    if json_name is not None and name != json_name:
        result.extension.add(model.Extension(JSON_NAME, model.datatypes.String, json_name))
    return result


def members(document: dict, namespace: str | None = None) -> list[model.SubmodelElement]:
    """The members of a JSON object as elements with unique idShorts (AASd-022)."""
    taken: set[str] = set()
    result = []
    for key, value in document.items():
        name = id_short(key)
        candidate, n = name, 1
        while candidate.lower() in taken:  # idShorts are compared case-insensitively
            n += 1
            candidate = f"{name[:120]}_{n}"
        taken.add(candidate.lower())
        result.append(element(candidate, value, namespace, str(key)))
    return result


def _list(
    name: str | None, items: list, namespace: str | None, semantic: str | None
) -> model.SubmodelElement:
    # A SubmodelElementList is homogeneous (AASd-108/109): objects as collections, scalars as
    # Properties of one value type (numbers widen to double, anything mixed to string).
    if any(isinstance(item, (dict, list)) for item in items):
        kind: type = (
            model.SubmodelElementList
            if all(isinstance(item, list) for item in items)
            else model.SubmodelElementCollection
        )
        children = [
            element(None, item if isinstance(item, (dict, list)) else {"value": item}, namespace)
            for item in items
        ]
        if kind is model.SubmodelElementList:
            children = [element(None, item, namespace) for item in items]
        return model.SubmodelElementList(
            id_short=name,
            type_value_list_element=kind,
            value=children,
            semantic_id=_global(semantic) if semantic else None,
        )
    kinds = {type(item) for item in items if item is not None}
    if kinds <= {bool}:
        value_type: type = model.datatypes.Boolean
    elif kinds <= {int}:
        value_type = model.datatypes.Long
    elif kinds <= {int, float}:
        value_type = model.datatypes.Double
        items = [float(item) if item is not None else None for item in items]
    else:
        value_type = model.datatypes.String
        items = [None if item is None else str(item) for item in items]
    children = [model.Property(None, value_type=value_type, value=item) for item in items]
    if not children:
        # An empty JSON array still needs a list type; collections are what the templates use.
        return model.SubmodelElementList(
            id_short=name,
            type_value_list_element=model.SubmodelElementCollection,
            semantic_id=_global(semantic) if semantic else None,
        )
    return model.SubmodelElementList(
        id_short=name,
        type_value_list_element=model.Property,
        value_type_list_element=value_type,
        value=children,
        semantic_id=_global(semantic) if semantic else None,
    )


# --- back to JSON ------------------------------------------------------------------------------


def json_name(item: model.SubmodelElement) -> str:
    for extension in item.extension:
        if extension.name == JSON_NAME and extension.value:
            return str(extension.value)
    return str(item.id_short)


def value_of(item: model.SubmodelElement, path: str = "") -> Any:
    """The JSON value of an element (the inverse of ``element``); also the value-only serialisation."""
    if isinstance(item, model.SubmodelElementCollection):
        return {json_name(child): value_of(child, f"{path}.{child.id_short}") for child in item.value}
    if isinstance(item, model.SubmodelElementList):
        return [value_of(child, f"{path}[{i}]") for i, child in enumerate(item.value)]
    if isinstance(item, model.Property):
        value = item.value
        if value is None or isinstance(value, (bool, int, float, str)):
            if (
                isinstance(value, float)
                and value.is_integer()
                and item.value_type is not model.datatypes.Double
            ):
                return int(value)
            return value
        return model.datatypes.xsd_repr(value)
    if isinstance(item, model.MultiLanguageProperty):
        return {lang: text for lang, text in (item.value or {}).items()}
    raise MappingError(
        f"{path.lstrip('.') or item.id_short}: a {type(item).__name__} has no place in a Battery Pass payload"
    )


def payload_of(submodel: model.Submodel) -> dict:
    """The Battery Pass payload a category submodel stands for."""
    return {json_name(item): value_of(item, str(item.id_short)) for item in submodel.submodel_element}


# --- a battery for a role ----------------------------------------------------------------------


@dataclass
class BatteryView:
    """What one reader may see of one battery: the inputs of every shell and submodel built for it."""

    battery: Battery
    passport: Passport | None
    role: str
    categories: dict[str, dict] = field(default_factory=dict)

    @property
    def reads_history(self) -> bool:
        return self.role in HISTORY_READERS


def passport_of(battery: Battery) -> Passport | None:
    """The active passport, else the newest (a waste battery's closed one)."""
    passports = sorted(battery.passports.all(), key=lambda p: p.created_at, reverse=True)
    active = [p for p in passports if p.state == PassportState.ACTIVE]
    return (active or passports or [None])[0]


def view_for(battery: Battery, role: str) -> BatteryView:
    from passport.services import content

    passport = passport_of(battery)
    categories = content.role_view(passport, role) if passport else {}
    return BatteryView(battery, passport, role, categories)


def submodel_names(view: BatteryView) -> list[str]:
    """The submodels ``view``'s role may see, in a stable order."""
    names = [c.value for c in PassportCategory if c.value in view.categories]
    if view.reads_history:
        names.append(HISTORY)
        if _twin_run(view.battery) is not None:
            names.append(HEALTH)
        names.append(PROVENANCE)
    return names


def _twin_run(battery: Battery):
    from twins.services import health

    if not hasattr(battery, "_aas_twin_run"):
        battery._aas_twin_run = health.latest(battery)
    return battery._aas_twin_run


def submodel_reference(battery_pk: object, name: str) -> model.ModelReference:
    return model.ModelReference(
        (model.Key(model.KeyTypes.SUBMODEL, submodel_id(battery_pk, name)),), model.Submodel
    )


def _describe(battery: Battery) -> str:
    text = f"Digital battery passport of {battery.kind} {battery.identifier} ({battery.model.name})"
    return text[:1023]


def build_shell(view: BatteryView) -> model.AssetAdministrationShell:
    battery = view.battery
    return model.AssetAdministrationShell(
        id_=shell_id(battery.pk),
        id_short=id_short(f"Battery_{battery.identifier}"),
        display_name=model.MultiLanguageNameType({"en": f"Battery {battery.identifier}"[:128]}),
        description=model.MultiLanguageTextType({"en": _describe(battery)}),
        asset_information=model.AssetInformation(
            asset_kind=model.AssetKind.INSTANCE,
            global_asset_id=battery.identifier,
            specific_asset_id=[model.SpecificAssetId("serialNumber", battery.serial_number)]
            if battery.serial_number
            else [],
            asset_type=str(resource_iri("battery-model", battery.model_id)),
        ),
        submodel={submodel_reference(battery.pk, name) for name in submodel_names(view)},
    )


def build_submodel(view: BatteryView, name: str) -> model.Submodel:
    """One submodel of the battery, as ``view``'s role may see it (KeyError if it may not)."""
    if name not in submodel_names(view):
        raise KeyError(name)
    if name in TEMPLATE_ROOTS:
        return _category_submodel(view, name)
    if name == HISTORY:
        elements = _history_elements(view.battery)
    elif name == HEALTH:
        elements = _health_elements(view.battery)
    else:
        elements = _provenance_elements(view.battery)
    return model.Submodel(
        id_=submodel_id(view.battery.pk, name),
        id_short=name,
        kind=model.ModellingKind.INSTANCE,
        semantic_id=_global(OWN_SUBMODELS[name]),
        submodel_element=elements,
    )


def _category_submodel(view: BatteryView, category: str) -> model.Submodel:
    namespace = str(BATTERYPASS[category])
    root = TEMPLATE_ROOTS[category]
    alias = TEMPLATE_SEMANTIC_ID_ALIASES.get(category)
    passport = view.passport
    return model.Submodel(
        id_=submodel_id(view.battery.pk, category),
        id_short=root,
        kind=model.ModellingKind.INSTANCE,
        semantic_id=_global(f"{namespace}{root}"),
        supplemental_semantic_id=[_global(alias)] if alias else (),
        administration=model.AdministrativeInformation(version=str(passport.revision)) if passport else None,
        submodel_element=members(view.categories.get(category, {}), namespace),
    )


def _history_elements(battery: Battery) -> list[model.SubmodelElement]:
    from lifecycle.services import events
    from passport.services.content import isoformat

    records = [
        {
            "sequence": event.sequence,
            "type": event.type,
            "occurredAt": isoformat(event.occurred_at),
            "actor": str(resource_iri("organisation", event.actor_id)),
            "recordHash": event.record_hash,
            "previousHash": event.previous_hash,
            "corrects": event.corrects.record_hash if event.corrects_id else None,
            "payload": event.payload,
        }
        for event in events.events_of(battery)
    ]
    return members({"battery": battery.identifier, "records": records})


def _health_elements(battery: Battery) -> list[model.SubmodelElement]:
    from passport.services.content import isoformat

    run = _twin_run(battery)
    return members(
        {
            "model": run.model,
            "modelVersion": run.model_version,
            "modelHash": run.model_hash,
            "inputHash": run.input_hash,
            "assessedAt": isoformat(run.created_at),
            "recordHash": run.record.record_hash,
            "outputs": run.outputs,
        }
    )


def _provenance_elements(battery: Battery) -> list[model.SubmodelElement]:
    from lifecycle.services import events, log

    chain = list(events.events_of(battery).values_list("sequence", "record_hash", "log_index"))
    document: dict = {
        "battery": battery.identifier,
        "chainLength": len(chain),
        "proof": f"{settings.CELLPASS_BASE_URL}/api/batteries/{battery.pk}/proof/",
    }
    if chain:
        document["firstRecordHash"] = chain[0][1]
        document["latestRecordHash"] = chain[-1][1]
        document["latestLogIndex"] = chain[-1][2]
        head = log.latest_tree_head()
        if head is not None and head.tree_size > chain[-1][2]:
            tree_head: dict = {
                "treeSize": head.tree_size,
                "rootHash": head.root_hash,
                "timestamp": head.timestamp,
                "logId": head.log_id,
                "signature": head.signature,
            }
            anchor = getattr(head, "anchor", None)
            if anchor is not None:
                tree_head["anchor"] = {
                    "state": anchor.state,
                    "chainId": anchor.chain_id,
                    "transactionHash": anchor.tx_hash,
                    "blockNumber": anchor.block_number,
                }
            document["treeHead"] = tree_head
    return members(document)


def build_all(view: BatteryView) -> tuple[model.AssetAdministrationShell, list[model.Submodel]]:
    return build_shell(view), [build_submodel(view, name) for name in submodel_names(view)]


def object_store(views: Iterable[BatteryView]) -> model.DictIdentifiableStore:
    """Shells and submodels of ``views`` in one basyx object store (what the exports write)."""
    store: model.DictIdentifiableStore = model.DictIdentifiableStore()
    for view in views:
        shell, submodels = build_all(view)
        store.add(shell)
        for submodel in submodels:
            store.add(submodel)
    return store
