"""The dynamic passport attributes (#53 to #93) rebuilt from a battery's cycle aggregates and events."""

from __future__ import annotations

import datetime as dt

from lifecycle.choices import EventType, NegativeEventKind
from lifecycle.models import CycleAggregate, LifecycleEvent
from lifecycle.telemetry import CycleAggregate as Aggregate
from lifecycle.telemetry import OperatingLimits, dynamic_attributes, limits_for
from passport.choices import PassportCategory
from passport.models import Battery
from passport.services import content, stewardship

PERFORMANCE = PassportCategory.PERFORMANCE_AND_DURABILITY
AGGREGATE_FIELDS = [
    field.name
    for field in CycleAggregate._meta.concrete_fields
    if field.name not in {"id", "battery", "batch"}
]


def technical_properties(battery: Battery) -> dict:
    passport = stewardship.active_passport(battery) or battery.passports.order_by("-created_at").first()
    if passport is None:
        return battery.model.content.get(PERFORMANCE, {}).get("batteryTechicalProperties", {})
    return content.full_content(passport).get(PERFORMANCE, {}).get("batteryTechicalProperties", {})


def limits(battery: Battery) -> OperatingLimits:
    return limits_for(technical_properties(battery), battery.model.chemistry)


def aggregates(battery: Battery) -> list[Aggregate]:
    rows = CycleAggregate.objects.filter(battery=battery).order_by("started_at", "batch_id", "cycle_index")
    result = []
    for row in rows.values(*AGGREGATE_FIELDS):
        row["started_at"] = row["started_at"].timestamp()
        result.append(Aggregate.from_dict(row))
    return result


def accidents(battery: Battery) -> list[dict]:
    events = LifecycleEvent.objects.filter(
        battery=battery, type=EventType.NEGATIVE_EVENT, payload__kind=NegativeEventKind.ACCIDENT
    ).order_by("occurred_at")
    return [
        {
            "kind": event.payload.get("kind"),
            "description": event.payload.get("description", ""),
            "occurred_at": event.occurred_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        }
        for event in events
    ]


def initial_resistance_ohm(battery: Battery) -> float | None:
    test = (
        LifecycleEvent.objects.filter(battery=battery, type=EventType.END_OF_LINE_TEST)
        .order_by("sequence")
        .first()
    )
    return test.payload["internal_resistance_mohm"] / 1000 if test else None


def refresh(battery: Battery, *, now: dt.datetime | None = None) -> dict | None:
    """Recompute and store the measured condition; returns the stored ``batteryCondition``."""
    model = battery.model
    condition = dynamic_attributes(
        aggregates(battery),
        rated_capacity_ah=float(model.rated_capacity_ah),
        rated_energy_kwh=float(model.rated_energy_kwh) if model.rated_energy_kwh is not None else None,
        nominal_voltage_v=float(model.nominal_voltage_v),
        limits=limits(battery),
        accidents=accidents(battery),
        initial_resistance_ohm=initial_resistance_ohm(battery),
        now=now or dt.datetime.now(dt.UTC),
    )
    return stewardship.apply_condition(battery, condition.get("batteryCondition", {}))
