"""Recording lifecycle events: validation, who may record what, and what each event changes."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from lifecycle.choices import END_OF_LIFE_TYPES, MANUFACTURING_TYPES, SYSTEM_EVENT_TYPES, EventType
from lifecycle.models import LifecycleEvent
from lifecycle.payloads import PAYLOADS, clean_payload
from lifecycle.services import condition, records
from passport.choices import BatteryStatus
from passport.exceptions import Conflict, ErrorCollector, FieldError, Forbidden, NotFound, ValidationFailed
from passport.models import Battery, Organisation
from passport.services import access, hierarchy, stewardship

# Clocks of recording systems drift; an event a few minutes "in the future" is not an error.
CLOCK_SKEW = dt.timedelta(minutes=5)
ENVELOPE = frozenset({"type", "occurred_at", "payload", "corrects"})


def _organisation(pk: object, path: str) -> Organisation:
    organisation = Organisation.objects.filter(pk=pk).first()
    if organisation is None:
        raise ValidationFailed([FieldError(path, f"no organisation {pk}")])
    return organisation


def _component(identifier: str, path: str) -> Battery:
    battery = Battery.objects.filter(identifier=identifier).first()
    if battery is None:
        raise ValidationFailed([FieldError(path, f"no battery {identifier}")])
    return battery


def _replace(battery: Battery, payload: dict, at: dt.datetime, actor: Organisation) -> None:
    removed = _component(payload["removed"], "/payload/removed")
    installed = _component(payload["installed"], "/payload/installed")
    current = hierarchy.components_at(battery, at)
    if removed.pk not in {child["battery"].pk for child in current["components"]}:
        raise ValidationFailed(
            [FieldError("/payload/removed", f"is not a direct component of {battery.identifier}")]
        )
    if installed.operator_id != actor.pk:
        raise Forbidden(f"battery {installed.identifier} is operated by another economic operator")
    hierarchy.remove(removed, at=at, reason=payload.get("reason") or "replaced")
    hierarchy.install(battery, installed, position=payload.get("position", ""), at=at, reason="replacement")


def _transfer(battery: Battery, payload: dict, at: dt.datetime, actor: Organisation) -> None:
    stewardship.transfer_operator(battery, _organisation(payload["to"], "/payload/to"))


def _status(battery: Battery, payload: dict, at: dt.datetime, actor: Organisation) -> None:
    operator = (
        _organisation(payload["new_operator"], "/payload/new_operator") if "new_operator" in payload else None
    )
    stewardship.change_status(battery, payload["status"], operator=operator, at=at)


def _collect(battery: Battery, payload: dict, at: dt.datetime, actor: Organisation) -> None:
    collector = _organisation(payload["collector"], "/payload/collector") if "collector" in payload else None
    stewardship.close_passport(battery, at=at, operator=collector)


def _requires_waste(battery: Battery, payload: dict, at: dt.datetime, actor: Organisation) -> None:
    if battery.status != BatteryStatus.WASTE:
        raise Conflict(f"battery {battery.identifier} has not been collected as waste yet")


Effect = Callable[[Battery, dict, dt.datetime, Organisation], None]
EFFECTS: dict[str, Effect] = {
    EventType.REPLACEMENT: _replace,
    EventType.OPERATOR_TRANSFER: _transfer,
    EventType.STATUS_CHANGE: _status,
    EventType.COLLECTION: _collect,
    EventType.DISMANTLING: _requires_waste,
    EventType.MATERIAL_RECOVERY: _requires_waste,
}


def _parse_envelope(
    battery: Battery, data: object, errors: ErrorCollector
) -> tuple[str, dt.datetime, object]:
    if not isinstance(data, dict):
        raise ValidationFailed([FieldError("/", "must be a JSON object")])
    for unknown in sorted(set(data) - ENVELOPE):
        errors.add(f"/{unknown}", "is not a member of an event; put event data in payload")
    event_type = data.get("type")
    if event_type in SYSTEM_EVENT_TYPES:
        errors.add("/type", f"{event_type} records are written by the service that produces them")
    elif event_type not in PAYLOADS:
        errors.add("/type", f"must be one of {', '.join(sorted(PAYLOADS))}")
    occurred_at = data.get("occurred_at")
    moment = parse_datetime(occurred_at) if isinstance(occurred_at, str) else None
    if moment is None or timezone.is_naive(moment):
        errors.add("/occurred_at", "must be an ISO 8601 date-time with a UTC offset")
    elif moment > timezone.now() + CLOCK_SKEW:
        errors.add("/occurred_at", "is in the future")
    elif event_type not in MANUFACTURING_TYPES and moment < battery.manufactured_at:
        errors.add("/occurred_at", "is before the battery was manufactured")
    return event_type, moment, data.get("payload", {})


def _corrected(
    battery: Battery, data: dict, event_type: str, errors: ErrorCollector
) -> LifecycleEvent | None:
    reference = data.get("corrects")
    if event_type != EventType.CORRECTION:
        if reference is not None:
            errors.add("/corrects", f"only {EventType.CORRECTION} events reference another record")
        return None
    if reference is None:
        errors.add("/corrects", "a correction must name the event it corrects")
        return None
    corrected = LifecycleEvent.objects.filter(pk=_uuid_or_none(reference), battery=battery).first()
    if corrected is None:
        errors.add("/corrects", f"no event {reference} of battery {battery.identifier}")
    return corrected


def _uuid_or_none(text: object):
    try:
        return uuid.UUID(str(text))
    except ValueError:
        return None


def _authorise(user, battery: Battery, event_type: str) -> Organisation:
    member = access.require_operator(user)
    if event_type in MANUFACTURING_TYPES:
        if member.organisation_id != battery.model.manufacturer_id:
            raise Forbidden("only the manufacturer records manufacturing events")
    elif member.organisation_id != battery.operator_id:
        raise Forbidden(f"battery {battery.identifier} is operated by another economic operator")
    if battery.status == BatteryStatus.WASTE and event_type not in END_OF_LIFE_TYPES:
        raise Conflict(
            f"battery {battery.identifier} is waste and its passport closed; only end-of-life "
            "records and corrections are accepted"
        )
    return member.organisation


@transaction.atomic
def record_event(user, battery: Battery, data: object) -> LifecycleEvent:
    """Validate, authorise, apply and append one event; nothing is written if any step fails."""
    battery = Battery.objects.select_related("model", "operator").get(pk=battery.pk)
    errors = ErrorCollector()
    event_type, occurred_at, raw_payload = _parse_envelope(battery, data, errors)
    payload: dict = {}
    if event_type in PAYLOADS:
        payload, problems = clean_payload(event_type, raw_payload)
        errors.errors.extend(problems)
    corrected = _corrected(battery, data, event_type, errors) if isinstance(data, dict) else None
    errors.raise_if_any()
    actor = _authorise(user, battery, event_type)
    effect = EFFECTS.get(event_type)
    if effect is not None:
        effect(battery, payload, occurred_at, actor)
    [event] = records.append(
        [
            records.Draft(
                battery=battery,
                type=event_type,
                actor=actor,
                occurred_at=occurred_at,
                payload=payload,
                corrects=corrected,
                recorded_by=user if getattr(user, "is_authenticated", False) else None,
            )
        ]
    )
    if event_type == EventType.NEGATIVE_EVENT:
        condition.refresh(battery)
    return event


def events_of(battery: Battery):
    return (
        LifecycleEvent.objects.filter(battery=battery)
        .select_related("actor", "corrects")
        .order_by("sequence")
    )


def get_event(pk) -> LifecycleEvent:
    event = LifecycleEvent.objects.select_related("battery__model", "battery__operator").filter(pk=pk).first()
    if event is None:
        raise NotFound(f"no event {pk}")
    return event


def has_negative_events(battery: Battery, kinds: tuple[str, ...]) -> list[str]:
    """Record hashes of the battery's negative events of ``kinds`` (accidents, thermal events…)."""
    return list(
        LifecycleEvent.objects.filter(battery=battery, type=EventType.NEGATIVE_EVENT, payload__kind__in=kinds)
        .order_by("sequence")
        .values_list("record_hash", flat=True)
    )


def negative_events_by_battery(battery_ids: Iterable, kinds: tuple[str, ...]) -> dict[object, list[str]]:
    """``has_negative_events`` for many batteries in one query; every requested id is a key."""
    ids = list(battery_ids)
    result: dict[object, list[str]] = {pk: [] for pk in ids}
    rows = LifecycleEvent.objects.filter(
        battery_id__in=ids, type=EventType.NEGATIVE_EVENT, payload__kind__in=kinds
    ).order_by("battery_id", "sequence")
    for battery_id, record_hash in rows.values_list("battery_id", "record_hash"):
        result.setdefault(battery_id, []).append(record_hash)
    return result


def events_by_battery(battery_ids: Iterable) -> dict[object, list[LifecycleEvent]]:
    """Every record of these batteries in chain order, by battery id (one query; every id is a key)."""
    ids = list(battery_ids)
    result: dict[object, list[LifecycleEvent]] = {pk: [] for pk in ids}
    for event in LifecycleEvent.objects.filter(battery_id__in=ids).order_by("battery_id", "sequence"):
        result[event.battery_id].append(event)
    return result


def last_log_index() -> int:
    """The log index of the newest record (-1 when there is none)."""
    newest = LifecycleEvent.objects.order_by("-log_index").values_list("log_index", flat=True).first()
    return -1 if newest is None else newest


def battery_ids_after(log_index: int) -> set:
    """Batteries with a record whose log index is above ``log_index`` (records appended since)."""
    return set(LifecycleEvent.objects.filter(log_index__gt=log_index).values_list("battery_id", flat=True))
