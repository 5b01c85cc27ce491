"""The shells and submodels a reader may see, paged: the data side of the Part 2 API.

Nothing is stored as AAS: every shell and submodel is built from the passport (through
``content.role_view``, cached per passport revision and role), the lifecycle records and the twin runs
when asked for, so the AAS view can never drift from the passport.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from basyx.aas import model

from ontology.aas import build
from passport.models import Battery
from passport.services import access


class NotFoundError(LookupError):
    pass


def _batteries():
    return Battery.objects.select_related("model__manufacturer", "operator").prefetch_related("passports")


def battery(pk: uuid.UUID) -> Battery:
    found = _batteries().filter(pk=pk).first()
    if found is None:
        raise NotFoundError(f"no battery {pk}")
    return found


def view(user, found: Battery) -> build.BatteryView:
    return build.view_for(found, access.reading_role(user, found))


def resolve_shell(user, identifier: str) -> build.BatteryView:
    parsed = build.parse_id(identifier)
    if parsed is None or parsed[1] is not None:
        raise NotFoundError(f"no AssetAdministrationShell with id {identifier!r}")
    try:
        return view(user, battery(parsed[0]))
    except NotFoundError as exc:
        raise NotFoundError(f"no AssetAdministrationShell with id {identifier!r}") from exc


def resolve_submodel(user, identifier: str) -> tuple[build.BatteryView, model.Submodel]:
    """The submodel with ``identifier`` as the user's role sees it; a submodel the role may not see
    is reported as missing, like one that does not exist (its existence is no secret, its content is)."""
    parsed = build.parse_id(identifier)
    missing = NotFoundError(f"no Submodel with id {identifier!r} visible to this reader")
    if parsed is None or parsed[1] is None:
        raise missing
    try:
        found = view(user, battery(parsed[0]))
        return found, build.build_submodel(found, parsed[1])
    except (NotFoundError, KeyError) as exc:
        raise missing from exc


def battery_ids(id_short: str | None = None, asset_ids: list[dict] | None = None) -> list[uuid.UUID]:
    """Ids of the batteries whose shells match the filters, in shell order (battery identifier)."""
    rows = Battery.objects.order_by("identifier").values_list("pk", "identifier", "serial_number")
    if asset_ids:
        wanted_global = {a["value"] for a in asset_ids if a.get("name") == "globalAssetId"}
        wanted_serial = {a["value"] for a in asset_ids if a.get("name") == "serialNumber"}
        others = [a for a in asset_ids if a.get("name") not in ("globalAssetId", "serialNumber")]
        if others:
            return []
        if wanted_global:
            rows = rows.filter(identifier__in=wanted_global)
        if wanted_serial:
            rows = rows.filter(serial_number__in=wanted_serial)
    result = []
    for pk, identifier, _serial in rows:
        if id_short is not None and build.id_short(f"Battery_{identifier}") != id_short:
            continue
        result.append(pk)
    return result


def views(user, pks: list[uuid.UUID]) -> Iterator[build.BatteryView]:
    by_pk = {b.pk: b for b in _batteries().filter(pk__in=pks)}
    for pk in pks:
        if pk in by_pk:
            yield view(user, by_pk[pk])


def submodels_page(
    user, start: tuple[int, int], limit: int
) -> tuple[list[model.Submodel], tuple[int, int] | None]:
    """Up to ``limit`` submodels from position ``start`` = (battery index, submodel index) over all
    batteries; returns them and the next position (None at the end). Only as many batteries are built
    as the page needs."""
    pks = battery_ids()
    battery_index, submodel_index = start
    page: list[model.Submodel] = []
    chunk = 16
    while battery_index < len(pks):
        for current in views(user, pks[battery_index : battery_index + chunk]):
            names = build.submodel_names(current)
            while submodel_index < len(names):
                if len(page) == limit:
                    return page, (battery_index, submodel_index)
                page.append(build.build_submodel(current, names[submodel_index]))
                submodel_index += 1
            battery_index, submodel_index = battery_index + 1, 0
    return page, None
