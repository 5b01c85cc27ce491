"""Lifecycle history for the demo fleet: manufacturing records, cycling telemetry, a repurposed pack
and a recycled one. Idempotent: does nothing once the fleet has a history."""

from __future__ import annotations

import datetime as dt
import io
import random

import numpy as np
from django.contrib.auth import get_user_model
from django.db import transaction

from lifecycle.choices import EventType
from lifecycle.models import LifecycleEvent
from lifecycle.services import events, telemetry
from passport.choices import BatteryCategory, BatteryKind
from passport.models import Battery, Organisation

SAMPLE_SECONDS = 30.0


def synthetic_cycles_csv(
    rated_ah: float, nominal_v: float, cycles: int, start: dt.datetime, rng: random.Random
) -> bytes:
    """Constant-current cycling of an ageing battery, as a CSV in the documented upload format."""
    chunks = []
    clock = start.timestamp()
    capacity = rated_ah * rng.uniform(0.97, 1.0)
    resistance = 0.08 * nominal_v / rated_ah  # pack-level ohms scaled from a 3.6 V cell's 80 mΩ·Ah
    for cycle in range(1, cycles + 1):
        capacity *= 1 - rng.uniform(0.0002, 0.0006)
        ambient = 25 + 12 * np.sin(cycle / 9) + rng.uniform(-2, 2)
        # A BMS numbers half-cycles: the charge (with the rest after it), then the discharge.
        for segment, step, c_rate in ((2 * cycle - 1, 1, 0.33), (2 * cycle - 1, 0, 0.0), (2 * cycle, 2, -0.5),
                                      (2 * cycle, 0, 0.0)):  # fmt: skip
            seconds = 600.0 if step == 0 else abs(capacity / (c_rate * rated_ah)) * 3600
            # Whole sampling intervals, so consecutive segments never share a (rounded) timestamp.
            seconds = max(1, round(seconds / SAMPLE_SECONDS)) * SAMPLE_SECONDS
            t = np.arange(0.0, seconds, SAMPLE_SECONDS)
            current = np.full(len(t), c_rate * rated_ah)
            if step == 1:
                soc = 0.05 + 0.9 * t / seconds
            elif step == 2:
                soc = 0.95 - 0.9 * t / seconds
            else:
                soc = np.full(len(t), 0.95 if segment % 2 else 0.05)
            voltage = nominal_v * (0.86 + 0.26 * soc) + current * resistance
            temperature = ambient + 4 * np.abs(c_rate) * (1 - np.exp(-t / 900)) + rng.uniform(-0.2, 0.2)
            chunks.append(
                np.column_stack([clock + t, np.full(len(t), segment), np.full(len(t), step), voltage, current,
                                 temperature])
            )  # fmt: skip
            clock += seconds
    rows = np.vstack(chunks)
    buffer = io.StringIO()
    buffer.write("time,cycle,step,voltage[V],current[A],temperature[degC]\n")
    names = {0: "rest", 1: "charge", 2: "discharge"}
    for time_s, cycle, step, voltage, current, temperature in rows:
        buffer.write(
            f"{time_s:.1f},{int(cycle)},{names[int(step)]},{voltage:.4f},{current:.3f},{temperature:.2f}\n"
        )
    return buffer.getvalue().encode()


def _user_of(organisation: Organisation):
    return get_user_model().objects.filter(membership__organisation=organisation).order_by("id").first()


def _event(user, battery: Battery, event_type: str, at: dt.datetime, payload: dict) -> None:
    events.record_event(
        user, battery, {"type": event_type, "occurred_at": at.isoformat(), "payload": payload}
    )


@transaction.atomic
def seed(seed: int = 2027) -> int:
    """Record the demo fleet's history; returns the number of records made."""
    if LifecycleEvent.objects.exists():
        return 0
    rng = random.Random(seed)
    packs = list(
        Battery.objects.filter(kind=BatteryKind.PACK).select_related("model__manufacturer", "operator")
    )
    for pack in packs:
        user = _user_of(pack.model.manufacturer)
        if user is None:
            continue
        made = pack.manufactured_at
        rated = float(pack.model.rated_capacity_ah)
        _event(user, pack, EventType.END_OF_LINE_TEST, made + dt.timedelta(hours=2), {
            "capacity_ah": round(rated * rng.uniform(1.0, 1.03), 2),
            "internal_resistance_mohm": round(rng.uniform(60, 90), 1),
            "ocv_v": round(float(pack.model.nominal_voltage_v) * 0.98, 1),
            "passed": True,
            "test_station": f"EOL-{rng.randint(1, 4)}",
        })  # fmt: skip
        _event(user, pack, EventType.QUALITY_RELEASE, made + dt.timedelta(hours=6), {"released": True})
    in_service = [pack for pack in packs if pack.put_into_service_at and _user_of(pack.operator)]
    for pack in in_service[:4]:
        csv = synthetic_cycles_csv(
            float(pack.model.rated_capacity_ah), float(pack.model.nominal_voltage_v), 40,
            pack.put_into_service_at + dt.timedelta(days=1), rng,
        )  # fmt: skip
        telemetry.ingest(pack, csv, actor=pack.operator, filename=f"{pack.identifier}-bms.csv", format="csv")
    _second_life(in_service, rng)
    _recycling(packs)
    return LifecycleEvent.objects.count()


def _second_life(in_service: list[Battery], rng: random.Random) -> None:
    """An EV pack retired from the road and repurposed for stationary storage by another operator."""
    lumen = Organisation.objects.filter(name__startswith="Lumen").first()
    candidates = [
        pack for pack in in_service if pack.operator != lumen and pack.model.category == BatteryCategory.EV
    ]
    if lumen is None or not candidates:
        return
    pack = candidates[-1]
    user = _user_of(pack.operator)
    retired = pack.put_into_service_at + dt.timedelta(days=rng.randint(500, 700))
    retired = min(retired, dt.datetime.now(dt.UTC) - dt.timedelta(days=30))
    _event(user, pack, EventType.INSPECTION, retired, {
        "passed": True, "findings": "Retired from vehicle service; no damage, capacity suits stationary use",
    })  # fmt: skip
    _event(user, pack, EventType.STATUS_CHANGE, retired + dt.timedelta(days=10), {
        "status": "Repurposed", "new_operator": str(lumen.pk), "application": "home storage",
        "reason": "second life after vehicle service",
    })  # fmt: skip


def _recycling(packs: list[Battery]) -> None:
    """An e-bike pack after an accident: collected, dismantled, its materials recovered."""
    recycler = Organisation.objects.filter(name__startswith="Urban Mine").first()
    bikes = [pack for pack in packs if pack.model.category == BatteryCategory.LMT and _user_of(pack.operator)]
    if recycler is None or not bikes:
        return
    pack = bikes[0]
    user, recycler_user = _user_of(pack.operator), _user_of(recycler)
    when = (pack.put_into_service_at or pack.manufactured_at) + dt.timedelta(days=200)
    _event(user, pack, EventType.NEGATIVE_EVENT, when, {
        "kind": "accident", "description": "Bike fall; pack housing cracked", "severity": "high",
    })  # fmt: skip
    _event(user, pack, EventType.COLLECTION, when + dt.timedelta(days=3), {
        "collector": str(recycler.pk), "site": "Urban Mine hub Rotterdam", "reason": "damaged",
    })  # fmt: skip
    _event(recycler_user, pack, EventType.DISMANTLING, when + dt.timedelta(days=20), {
        "steps": ["discharge to 0 V", "remove housing", "separate cells"],
        "safety_notes": "Cracked housing: handled as damaged lithium battery (ADR SP 376)",
    })  # fmt: skip
    _event(recycler_user, pack, EventType.MATERIAL_RECOVERY, when + dt.timedelta(days=40), {
        "process": "hydrometallurgical",
        "materials": [
            {"material": "cobalt", "mass_kg": 0.21, "recycling_efficiency_pct": 94.0},
            {"material": "nickel", "mass_kg": 0.63, "recycling_efficiency_pct": 95.5},
            {"material": "lithium", "mass_kg": 0.09, "recycling_efficiency_pct": 81.0},
            {"material": "copper", "mass_kg": 0.35, "recycling_efficiency_pct": 98.0},
        ],
    })  # fmt: skip
