"""Changes of responsibility and status over a battery's life, driven by lifecycle events.

The lifecycle app calls these after it has validated the event; they change only passport tables.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import F

from passport import batterypass
from passport.choices import BatteryStatus, PassportCategory, PassportState
from passport.exceptions import Conflict, ErrorCollector, FieldError, ValidationFailed
from passport.models import Battery, Organisation, Passport, PassportSection
from passport.services.hierarchy import components_at

PERFORMANCE = PassportCategory.PERFORMANCE_AND_DURABILITY
# Art. 77(6): these statuses make a new passport, linked to the one(s) the battery had.
NEW_PASSPORT_STATUSES = frozenset(
    {BatteryStatus.REPURPOSED, BatteryStatus.REUSED, BatteryStatus.REMANUFACTURED}
)


def active_passport(battery: Battery) -> Passport | None:
    return battery.passports.filter(state=PassportState.ACTIVE).first()


def _bump(battery: Battery, fields: list[str]) -> None:
    battery.save(update_fields=[*fields, "updated_at"])
    Battery.objects.filter(pk=battery.pk).update(revision=F("revision") + 1)


@transaction.atomic
def transfer_operator(battery: Battery, operator: Organisation) -> Battery:
    """Responsibility for the battery and its passport moves to ``operator``, components with it."""
    battery = Battery.objects.select_for_update().get(pk=battery.pk)
    if battery.operator_id == operator.pk:
        raise Conflict(f"{operator.name} already operates battery {battery.identifier}")
    battery.operator = operator
    _bump(battery, ["operator"])
    for component in _current_components(battery):
        component.operator = operator
        _bump(component, ["operator"])
    return battery


def _current_components(battery: Battery) -> list[Battery]:
    found: list[Battery] = []

    def walk(node: dict) -> None:
        for child in node.get("components", []):
            found.append(child["battery"])
            walk(child)

    walk(components_at(battery))
    return found


@transaction.atomic
def change_status(
    battery: Battery, status: str, *, operator: Organisation | None = None, at: dt.datetime
) -> Passport | None:
    """Set the battery status. Repurposed, re-used and remanufactured batteries get a new passport
    linked to the previous one, which stays readable as superseded; returns the new passport."""
    battery = Battery.objects.select_for_update().get(pk=battery.pk)
    status = BatteryStatus(status)
    if battery.status == BatteryStatus.WASTE:
        raise Conflict(f"battery {battery.identifier} is waste; its status can no longer change")
    if status == BatteryStatus.WASTE:
        close_passport(battery, at=at)
        return None
    if status not in NEW_PASSPORT_STATUSES:
        raise ValidationFailed([FieldError("/payload/status", f"cannot change back to {status}")])
    previous = active_passport(battery)
    if operator is not None and operator.pk != battery.operator_id:
        battery.operator = operator
    battery.status = status
    _bump(battery, ["status", "operator"])
    successor = None
    if previous is not None:
        Passport.objects.filter(pk=previous.pk).update(state=PassportState.SUPERSEDED, closed_at=at)
    successor = Passport.objects.create(battery=battery, issued_by=battery.operator)
    if previous is not None:
        successor.predecessors.add(previous)
        # The battery-level data stays true of the same battery; the new operator takes it over.
        PassportSection.objects.bulk_create(
            [
                PassportSection(passport=successor, category=section.category, payload=section.payload)
                for section in previous.sections.all()
            ]
        )
    return successor


@transaction.atomic
def close_passport(battery: Battery, *, at: dt.datetime, operator: Organisation | None = None) -> Battery:
    """The battery became waste: its passport is closed (kept readable) and no new one follows."""
    battery = Battery.objects.select_for_update().get(pk=battery.pk)
    if battery.status == BatteryStatus.WASTE:
        raise Conflict(f"battery {battery.identifier} is already waste")
    battery.status = BatteryStatus.WASTE
    if operator is not None:
        battery.operator = operator
    _bump(battery, ["status", "operator"])
    battery.passports.filter(state=PassportState.ACTIVE).update(state=PassportState.CLOSED, closed_at=at)
    return battery


@transaction.atomic
def apply_condition(battery: Battery, condition: dict) -> dict | None:
    """Merge measured dynamic attributes into ``batteryCondition`` of the battery's current passport.

    Only the condition is validated (partially): the static half of the category may still be
    incomplete, and measured data must not be refused for that.
    """
    passport = battery.passports.filter(state=PassportState.ACTIVE).first()
    if passport is None:
        return None
    passport = Passport.objects.select_for_update().get(pk=passport.pk)
    section = PassportSection.objects.filter(passport=passport, category=PERFORMANCE).first()
    payload = dict(section.payload) if section else {}
    payload["batteryCondition"] = {**payload.get("batteryCondition", {}), **condition}
    errors = ErrorCollector()
    condition_only = {"batteryCondition": payload["batteryCondition"]}
    for problem in batterypass.validate(PERFORMANCE, condition_only, partial=True):
        if problem.path == "/batteryCondition" and problem.message.endswith("is a required property"):
            continue  # members nobody has measured yet; the operator supplies or telemetry adds them
        errors.add(problem.path, problem.message)
    errors.raise_if_any()
    PassportSection.objects.update_or_create(
        passport=passport, category=PERFORMANCE, defaults={"payload": payload}
    )
    Passport.objects.filter(pk=passport.pk).update(revision=F("revision") + 1)
    return payload["batteryCondition"]
