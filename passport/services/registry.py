"""Changes to a battery's registry record that are not lifecycle events."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

from django.db import transaction
from django.db.models import F, Q

from passport.choices import PassportState
from passport.exceptions import ErrorCollector, NotFound
from passport.models import Battery, BatteryModel, Composition, Organisation, Passport

_UNSET = object()


@transaction.atomic
def update_battery(battery: Battery, *, put_into_service_at: dt.datetime | object | None = _UNSET) -> Battery:
    errors = ErrorCollector()
    fields = []
    if put_into_service_at is not _UNSET:
        if put_into_service_at is not None and put_into_service_at < battery.manufactured_at:
            errors.add("/put_into_service_at", "is before the manufacturing date")
        battery.put_into_service_at = put_into_service_at
        fields.append("put_into_service_at")
    errors.raise_if_any()
    if fields:
        battery.save(update_fields=[*fields, "updated_at"])
        Battery.objects.filter(pk=battery.pk).update(revision=F("revision") + 1)
        battery.refresh_from_db(fields=["revision"])
    return battery


def get_battery(pk) -> Battery:
    """The battery with this UUID, with its model and operator; NotFound (404) otherwise."""
    battery = Battery.objects.select_related("model__manufacturer", "operator").filter(pk=pk).first()
    if battery is None:
        raise NotFound(f"no battery {pk}")
    return battery


def batteries_by_ids(ids: Iterable) -> dict[object, Battery]:
    """The batteries with these ids, with model and operator, by id (one query); unknown ids are absent."""
    return {
        battery.pk: battery
        for battery in Battery.objects.filter(pk__in=list(ids)).select_related("model", "operator")
    }


def installed_components(parent_ids: Iterable) -> dict[object, list[Battery]]:
    """The batteries installed directly in each parent now, in slot order (one query for all parents);
    the first level of ``hierarchy.components_at`` for many batteries. Every requested id is a key."""
    ids = list(parent_ids)
    result: dict[object, list[Battery]] = {pk: [] for pk in ids}
    links = (
        Composition.objects.filter(parent_id__in=ids, removed_at__isnull=True)
        .select_related("child__model")
        .order_by("parent_id", "position", "installed_at")
    )
    for link in links:
        result.setdefault(link.parent_id, []).append(link.child)
    return result


# --- batched reads (the RDF projection) --------------------------------------------------------


def battery_ids() -> list:
    """Every battery's id, in a stable order."""
    return list(Battery.objects.order_by("id").values_list("id", flat=True))


def batteries_for_projection(ids: Iterable) -> list[Battery]:
    """The batteries with these ids, with model, its manufacturer and the operator (one query)."""
    return list(
        Battery.objects.filter(pk__in=list(ids))
        .select_related("model__manufacturer", "operator")
        .order_by("id")
    )


def passports_by_battery(battery_ids: Iterable) -> dict[object, list[tuple[Passport, list]]]:
    """Every passport of these batteries with its predecessors' ids, oldest first (two queries)."""
    ids = list(battery_ids)
    result: dict[object, list[tuple[Passport, list]]] = {pk: [] for pk in ids}
    passports = list(Passport.objects.filter(battery_id__in=ids).order_by("created_at", "id"))
    links: dict[object, list] = {}
    through = Passport.predecessors.through.objects.filter(from_passport__in=[p.pk for p in passports])
    for successor, predecessor in through.values_list("from_passport_id", "to_passport_id"):
        links.setdefault(successor, []).append(predecessor)
    for passport in passports:
        result[passport.battery_id].append((passport, sorted(links.get(passport.pk, []), key=str)))
    return result


def catalogue() -> tuple[list[BatteryModel], list[Organisation]]:
    """The battery models that have batteries and the organisations that make or operate one."""
    models = list(BatteryModel.objects.filter(batteries__isnull=False).distinct().order_by("id"))
    organisations = list(
        Organisation.objects.filter(
            Q(operated_batteries__isnull=False) | Q(battery_models__batteries__isnull=False)
        )
        .distinct()
        .order_by("id")
    )
    return models, organisations


def changed_battery_ids(since: dt.datetime) -> set:
    """Batteries whose registry record, passports, sections, model or organisations were written at or
    after ``since`` (by their auto timestamps; bulk inserts set them too)."""
    changed = set(
        Battery.objects.filter(Q(created_at__gte=since) | Q(updated_at__gte=since)).values_list(
            "id", flat=True
        )
    )
    changed |= set(
        Passport.objects.filter(Q(created_at__gte=since) | Q(updated_at__gte=since)).values_list(
            "battery_id", flat=True
        )
    )
    changed |= set(
        Passport.objects.filter(sections__updated_at__gte=since).values_list("battery_id", flat=True)
    )
    models = BatteryModel.objects.filter(updated_at__gte=since)
    organisations = Organisation.objects.filter(updated_at__gte=since)
    changed |= set(
        Battery.objects.filter(
            Q(model__in=models) | Q(operator__in=organisations) | Q(model__manufacturer__in=organisations)
        ).values_list("id", flat=True)
    )
    return changed


# --- look-ups by what a person types (ontology: `manage.py shacl`) -------------------------------


def battery_by_reference(reference: str) -> Battery:
    """The battery with this UUID or battery identifier, with its model; NotFound (404) otherwise."""
    batteries = Battery.objects.select_related("model__manufacturer", "operator")
    battery = batteries.filter(identifier=reference).first()
    if battery is None:
        try:
            battery = batteries.filter(pk=uuid.UUID(reference)).first()
        except ValueError:
            battery = None
    if battery is None:
        raise NotFound(f"no battery with identifier or id {reference!r}")
    return battery


def current_passport(battery: Battery) -> Passport | None:
    """The battery's active passport, else its most recent one (a waste battery's closed passport)."""
    passports = Passport.objects.select_related("battery__model__manufacturer", "battery__operator")
    return (
        passports.filter(battery=battery, state=PassportState.ACTIVE).order_by("-created_at").first()
        or passports.filter(battery=battery).order_by("-created_at", "-id").first()
    )
