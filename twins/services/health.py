"""The health twin on one battery: SoH (capacity and resistance) and RUL, recorded as evidence."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import asdict
from pathlib import Path

from django.db import IntegrityError, transaction
from django.utils import timezone

from lifecycle.choices import EventType
from lifecycle.provenance.canonical import canonical_bytes
from lifecycle.services import condition, events, records
from passport.choices import BatteryCategory
from passport.models import Battery
from passport.services import hierarchy
from twins.decisions import routing, value
from twins.health import rul as rul_model
from twins.health import soh as soh_model
from twins.models import TwinRun

MODEL = "health.empirical"
VERSION = "1.0"
INPUT_TYPES = (EventType.TELEMETRY, EventType.END_OF_LINE_TEST)
# End of first life: 80 % for automotive; second-life applications run down to 70 % and 60 %.
FIRST_LIFE_THRESHOLD = {BatteryCategory.EV: 0.8}
SECOND_LIFE_THRESHOLDS = (0.7, 0.6)
DAMAGE = ("accident", "thermal_event")
# Cycle life of a new battery to price the share of life left (typical EV warranty basis); the
# battery model's own figure is not a registry field yet.
EXPECTED_CYCLES_NEW = 1500
# The NASA cells the SoH correction was fitted on: 2 Ah, referenced at 2 A (1C).
TRAINING_RATED_AH = 2.0


@functools.cache
def model_hash() -> str:
    """The model artefact is its code and fitted priors: hash the package's source files."""
    digest = hashlib.sha256()
    for path in sorted((Path(soh_model.__file__).parent).glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def rate_normalised_correction(rated_capacity_ah: float) -> soh_model.CapacityCorrection:
    """The temperature/rate correction was fitted on 2 Ah cells in amperes; a battery of another size
    sees the same effect at the same C-rate, so its per-ampere rate coefficient scales by 2 Ah / rated
    (and 1C is the reference current)."""
    base = soh_model.DEFAULT_CORRECTION
    scale = TRAINING_RATED_AH / rated_capacity_ah
    (vtt, vtr), (_, vrr) = base.covariance
    return soh_model.CapacityCorrection(
        base.temperature_coeff_per_c,
        base.rate_coeff_per_a * scale,
        ((vtt, vtr * scale), (vtr * scale, vrr * scale * scale)),
        base.reference_temperature_c,
        rated_capacity_ah,
        base.trained_on,
    )


def _input_hash(battery: Battery, inputs: list[str]) -> str:
    return hashlib.sha256(
        canonical_bytes({"battery": battery.identifier, "model": MODEL, "version": VERSION, "inputs": inputs})
    ).hexdigest()


def _plain(result) -> dict:
    if isinstance(result, soh_model.InsufficientData):
        return {"insufficient_data": True, "missing": list(result.missing)}
    return {key: value for key, value in asdict(result).items() if value is not None}


def evaluate(battery: Battery) -> dict:
    """The twin's outputs for ``battery`` from its recorded aggregates (no side effects)."""
    aggregates = condition.aggregates(battery)
    rated = float(battery.model.rated_capacity_ah)
    capacity = soh_model.capacity_soh(
        aggregates, rated, reference_current_a=rated, correction=rate_normalised_correction(rated)
    )
    outputs: dict = {"soh_capacity": _plain(capacity)}
    resistance = condition.initial_resistance_ohm(battery)
    outputs["soh_resistance"] = (
        _plain(soh_model.resistance_soh(aggregates, resistance))
        if resistance
        else {"insufficient_data": True, "missing": ["initial internal resistance (end-of-line test record)"]}
    )
    history = [(point.ordinal, point.capacity_ah) for point in soh_model.good_discharges(aggregates)]
    thresholds = (FIRST_LIFE_THRESHOLD.get(battery.model.category, 0.7), *SECOND_LIFE_THRESHOLDS)
    outputs["rul"] = {
        f"{threshold:.0%}": _plain(rul_model.rul_forecast(history, rated, threshold=threshold))
        for threshold in dict.fromkeys(thresholds)
    }
    outputs["usage"] = {
        "full_cycles": round(sum(a.discharge_ah for a in aggregates) / rated, 3) if rated else None,
        "throughput_kwh": round(sum(a.discharge_wh for a in aggregates) / 1000, 4),
    }
    outputs.update(_decide(battery, outputs))
    return outputs


def _number(section: dict, key: str) -> float | None:
    return None if section.get("insufficient_data") else section.get(key)


def components_health(battery: Battery) -> list[routing.ComponentHealth]:
    """Latest capacity SoH of each component currently installed in ``battery``."""
    children = [node["battery"] for node in hierarchy.components_at(battery)["components"]]
    newest: dict = {}
    runs = TwinRun.objects.filter(battery__in=children, model=MODEL).order_by("battery_id", "-created_at")
    for battery_id, soh in runs.values_list("battery_id", "soh"):
        newest.setdefault(battery_id, soh)
    return [
        routing.ComponentHealth(child.identifier, newest[child.pk])
        for child in children
        if newest.get(child.pk) is not None
    ]


def _decide(battery: Battery, outputs: dict) -> dict:
    soh = _number(outputs["soh_capacity"], "value")
    primary = next(iter(outputs["rul"].values()))
    seventy = outputs["rul"].get("70%", primary)
    damage = events.has_negative_events(battery, DAMAGE)
    decided = routing.route(
        soh=soh,
        rul_cycles=_number(seventy, "median_cycles"),
        resistance_soh=_number(outputs["soh_resistance"], "value"),
        damaged=bool(damage),
        components=components_health(battery),
        evidence=damage,
    )
    model = battery.model
    energy = float(model.rated_energy_kwh) if model.rated_energy_kwh else float(
        model.rated_capacity_ah * model.nominal_voltage_v
    ) / 1000  # fmt: skip
    application = decided.route if decided.route in value.SECOND_LIFE_DISCOUNT else "recycling"
    worth = value.residual_value(
        rated_energy_kwh=energy,
        soh=soh or 0.0,
        remaining_cycles=_number(seventy, "median_cycles"),
        expected_cycles_new=EXPECTED_CYCLES_NEW,
        chemistry=model.chemistry,
        application=application,
    )
    return {"route": decided.as_dict(), "residual_value": worth.as_dict()}


def assess(battery: Battery) -> TwinRun:
    """Run the twin once per distinct input: a repeat (or a redelivered task) returns the stored run."""
    [run] = assess_many([battery])
    return run


def _pending(battery: Battery) -> tuple[Battery, list[str], str, TwinRun | None]:
    inputs = records.hashes_of(battery, INPUT_TYPES)
    key = _input_hash(battery, inputs)
    existing = TwinRun.objects.filter(
        battery=battery, model=MODEL, model_version=VERSION, input_hash=key
    ).first()
    return battery, inputs, key, existing


def assess_many(batteries: list[Battery]) -> list[TwinRun]:
    """Assess a batch with one transaction for all new results (a fleet sweep's unit of work).

    If another worker stored one of these runs meanwhile, the batch falls back to one transaction
    per battery so each result is still stored exactly once.
    """
    ids = [battery.pk for battery in batteries]
    loaded = {b.pk: b for b in Battery.objects.filter(pk__in=ids).select_related("model", "operator")}
    planned = [_pending(loaded[pk]) for pk in ids]
    todo = [
        (battery, inputs, key, evaluate(battery))
        for battery, inputs, key, existing in planned
        if not existing
    ]
    try:
        with transaction.atomic():
            created = iter(_store(todo))
    except IntegrityError:
        if len(todo) == 1:
            battery, _, key, _ = todo[0]
            created = iter(
                [TwinRun.objects.get(battery=battery, model=MODEL, model_version=VERSION, input_hash=key)]
            )
        else:
            created = iter([assess(battery) for battery, _, _, _ in todo])
    return [existing if existing is not None else next(created) for _, _, _, existing in planned]


def _store(todo: list[tuple[Battery, list[str], str, dict]]) -> list[TwinRun]:
    if not todo:
        return []
    now = timezone.now()
    drafts = [
        records.Draft(
            battery=battery,
            type=EventType.TWIN_RESULT,
            actor=battery.operator,
            occurred_at=now,
            payload={
                "model": MODEL,
                "version": VERSION,
                "model_hash": model_hash(),
                "inputs": inputs,
                "outputs": outputs,
            },
        )
        for battery, inputs, _, outputs in todo
    ]
    events_ = records.append(drafts)
    runs = []
    for (battery, _, key, outputs), event in zip(todo, events_, strict=True):
        primary = next(iter(outputs["rul"].values()))
        runs.append(
            TwinRun(
                battery=battery,
                model=MODEL,
                model_version=VERSION,
                model_hash=model_hash(),
                input_hash=key,
                outputs=outputs,
                record=event,
                soh=_number(outputs["soh_capacity"], "value"),
                soh_std=_number(outputs["soh_capacity"], "std"),
                rul_cycles=_number(primary, "median_cycles"),
                rul_threshold=_number(primary, "threshold"),
                route=outputs["route"]["route"],
            )
        )
    return TwinRun.objects.bulk_create(runs)


def latest(battery: Battery) -> TwinRun | None:
    return TwinRun.objects.filter(battery=battery, model=MODEL).order_by("-created_at").first()
