"""The health twin on one battery: SoH (capacity and resistance) and RUL, recorded as evidence."""

from __future__ import annotations

import functools
import hashlib
import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from lifecycle.choices import EventType
from lifecycle.provenance.canonical import canonical_bytes
from lifecycle.services import bulk, condition, events, records
from lifecycle.telemetry import CycleAggregate
from passport.models import Battery
from passport.services import content, hierarchy, registry
from twins.decisions import routing, value
from twins.health import fade
from twins.health import soh as soh_model
from twins.learned import forecast as learned
from twins.learned.combine import MODEL_NAME as ENSEMBLE_NAME
from twins.learned.combine import VERSION as ENSEMBLE_VERSION
from twins.learned.forecast import artifact_hash
from twins.models import TwinRun
from twins.services import forecasts, results
from twins.services.collector import collector_paused
from twins.services.life import LifeBasis, life_basis

logger = logging.getLogger(__name__)

MODEL = "health"
# 2.1: the particle filter power-law-fade 1.2 (AR(1) likelihood with a calibrated learning rate, one
# measured path per particle), the filters of a batch stepped together. 2.0: RUL is the ensemble of
# the particle filter and the learned sequence model, against the battery's life basis (passport
# design life or chemistry default). 1.1: RUL_PARTICLES particles, one filter run for all thresholds.
# 1.0: 1000 particles.
VERSION = "2.1"
INPUT_TYPES = (EventType.TELEMETRY, EventType.END_OF_LINE_TEST)
DAMAGE = ("accident", "thermal_event")
# Particles of the RUL filter on stored batteries. 500, not the accuracy report's 1000: the forecast
# is most of a fleet sweep's CPU, and 500 cut it to a third (31 -> 10 ms for the three thresholds of a
# benchmark cell; the 500 x 400 simulated future cycles stay in cache), while on the NASA cells
# (leave-one-out, docs/twins.md) the scores move only within Monte Carlo noise: mean |error| at the
# 50 % point 16.3 vs 18.1 cycles, 90 % coverage 9/9 and 17/18 for both, seed-to-seed spread of the
# median 1.5 vs 1.6 cycles.
RUL_PARTICLES = 500
# The share of life left is priced against a new battery's cycles down to this share of rated.
VALUE_LIFE_THRESHOLD = 0.7
# The NASA cells the SoH correction was fitted on: 2 Ah, referenced at 2 A (1C).
TRAINING_RATED_AH = 2.0


@functools.cache
def model_hash() -> str:
    """The model artefacts: the source of the health and learned packages (code and fitted priors) and
    the learned model's weights (their own SHA-256 is in every run's outputs too)."""
    digest = hashlib.sha256()
    for package in (Path(soh_model.__file__).parent, Path(forecasts.__file__).parent.parent / "learned"):
        for path in sorted(package.glob("*.py")):
            digest.update(f"{package.name}/{path.name}".encode() + b"\0" + path.read_bytes())
    digest.update(b"weights\0" + artifact_hash().encode())
    return digest.hexdigest()


def model_versions() -> dict:
    """Which models produced a run's numbers, as recorded in its outputs. The weights' hash is the one
    checked when the (cached) model was loaded: no file read per battery."""
    model = learned.load_model()
    return {
        "empirical": {"name": fade.MODEL_NAME, "version": fade.MODEL_VERSION},
        "learned": {"name": learned.MODEL_NAME, "version": model.version, "sha256": model.sha256},
        "ensemble": {"name": ENSEMBLE_NAME, "version": ENSEMBLE_VERSION},
    }


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


def _input_hash(battery: Battery, inputs: list[str], basis: LifeBasis) -> str:
    """The idempotency key's input part: the records read and the life basis they are judged against
    (a corrected design life in the passport is a new input)."""
    return hashlib.sha256(
        canonical_bytes(
            {
                "battery": battery.identifier,
                "model": MODEL,
                "version": VERSION,
                "inputs": inputs,
                "life_basis": basis.as_dict(),
            }
        )
    ).hexdigest()


@dataclass
class Evidence:
    """What the twin reads about a battery besides the battery itself."""

    aggregates: list[CycleAggregate]
    initial_resistance_ohm: float | None
    damage: list[str]  # record hashes of accidents and thermal events
    components: list[routing.ComponentHealth]
    basis: LifeBasis


def bases_of(batteries: Iterable[Battery]) -> dict[uuid.UUID, LifeBasis]:
    """Each battery's life basis, from its passport's technical properties (one query for all)."""
    batteries = list(batteries)
    properties = content.technical_properties(batteries)
    return {
        battery.pk: life_basis(battery.model.chemistry, battery.model.category, properties[battery.pk])
        for battery in batteries
    }


def evidence_of(battery: Battery) -> Evidence:
    """One battery's evidence, read through the lifecycle and passport services."""
    return Evidence(
        aggregates=condition.aggregates(battery),
        initial_resistance_ohm=condition.initial_resistance_ohm(battery),
        damage=events.has_negative_events(battery, DAMAGE),
        components=components_health(battery),
        basis=bases_of([battery])[battery.pk],
    )


def evidence_of_many(
    batteries: Iterable[Battery], bases: dict[uuid.UUID, LifeBasis] | None = None
) -> dict[uuid.UUID, Evidence]:
    """``evidence_of`` for a batch with one query per kind of evidence (not one per battery); ``bases``
    when the caller has read them already."""
    batteries = list(batteries)
    ids = [battery.pk for battery in batteries]
    if not ids:
        return {}
    aggregates = condition.aggregates_by_battery(ids)
    resistances = condition.initial_resistances_ohm(ids)
    damage = events.negative_events_by_battery(ids, DAMAGE)
    children = registry.installed_components(ids)
    newest = _newest_soh([child.pk for kids in children.values() for child in kids])
    if bases is None:
        bases = bases_of(batteries)
    return {
        pk: Evidence(
            aggregates=aggregates[pk],
            initial_resistance_ohm=resistances.get(pk),
            damage=damage[pk],
            components=_component_health(children[pk], newest),
            basis=bases[pk],
        )
        for pk in ids
    }


def evaluate(battery: Battery, evidence: Evidence | None = None) -> dict:
    """The twin's outputs for ``battery`` from its recorded aggregates (no side effects).

    ``evidence`` is what ``evidence_of(battery)`` would read (a batch passes it in, read at once).
    """
    [outputs] = evaluate_many([(battery, evidence or evidence_of(battery))])
    return outputs


def evaluate_many(items: list[tuple[Battery, Evidence]]) -> list[dict]:
    """``evaluate`` for a batch: the learned model and the ensembles run once for all of it."""
    partial = [_health(battery, evidence) for battery, evidence in items]
    predicted = forecasts.rul_of_many(
        [forecast_input for _, forecast_input in partial], particles=RUL_PARTICLES
    )
    results = []
    for (battery, evidence), (outputs, forecast_input), rul in zip(items, partial, predicted, strict=True):
        outputs["rul"] = {
            f"{threshold:.0%}": forecasts.plain(forecast) for threshold, forecast in rul.items()
        }
        if forecast_input.cycles_per_day is None:
            outputs["warnings"].append(
                f"no calendar forecast: the history spans less than {forecasts.MIN_DAYS_FOR_RATE:g} day"
            )
        outputs.update(_decide(battery, outputs, evidence))
        results.append(outputs)
    return results


def _health(battery: Battery, evidence: Evidence) -> tuple[dict, forecasts.ForecastInput]:
    """SoH, usage and the life basis; and what the RUL forecast of the batch needs."""
    aggregates = evidence.aggregates
    rated = float(battery.model.rated_capacity_ah)
    discharges = soh_model.good_discharges(aggregates)
    capacity = soh_model.capacity_soh(
        aggregates,
        rated,
        reference_current_a=rated,
        correction=rate_normalised_correction(rated),
        points=discharges,
    )
    outputs: dict = {"soh_capacity": forecasts.plain(capacity)}
    resistance = evidence.initial_resistance_ohm
    outputs["soh_resistance"] = (
        forecasts.plain(soh_model.resistance_soh(aggregates, resistance))
        if resistance
        else {"insufficient_data": True, "missing": ["initial internal resistance (end-of-line test record)"]}
    )
    outputs["usage"] = {
        "full_cycles": round(sum(a.discharge_ah for a in aggregates) / rated, 3) if rated else None,
        "throughput_kwh": round(sum(a.discharge_wh for a in aggregates) / 1000, 4),
    }
    basis = evidence.basis
    outputs["life_basis"] = basis.as_dict()
    outputs["models"] = model_versions()
    outputs["warnings"] = list(basis.warnings)
    history = [(point.ordinal, point.capacity_ah) for point in discharges]
    return outputs, forecasts.ForecastInput(
        history, rated, basis, forecasts.cycles_per_day(_discharge_times(aggregates))
    )


def _discharge_times(aggregates: list[CycleAggregate]) -> list[tuple[int, float]]:
    """(discharge number, start epoch seconds) of every discharge, the clock of the calendar rate."""
    times = []
    for aggregate in aggregates:
        if aggregate.kind == "discharge":
            times.append((len(times) + 1, aggregate.started_at))
    return times


def _number(section: dict, key: str) -> float | None:
    return None if section.get("insufficient_data") else section.get(key)


def components_health(battery: Battery) -> list[routing.ComponentHealth]:
    """Latest capacity SoH of each component currently installed in ``battery``."""
    children = [node["battery"] for node in hierarchy.components_at(battery)["components"]]
    return _component_health(children, _newest_soh([child.pk for child in children]))


def _newest_soh(battery_ids: list) -> dict:
    """The capacity SoH of each battery's latest run (None when that run had too little data)."""
    newest: dict = {}
    if not battery_ids:
        return newest
    runs = TwinRun.objects.filter(battery__in=battery_ids, model=MODEL).order_by("battery_id", "-created_at")
    for battery_id, soh in runs.values_list("battery_id", "soh"):
        newest.setdefault(battery_id, soh)
    return newest


def _component_health(children: list[Battery], newest: dict) -> list[routing.ComponentHealth]:
    return [
        routing.ComponentHealth(child.identifier, newest[child.pk])
        for child in children
        if newest.get(child.pk) is not None
    ]


def _decide(battery: Battery, outputs: dict, evidence: Evidence) -> dict:
    soh = _number(outputs["soh_capacity"], "value")
    primary = next(iter(outputs["rul"].values()))
    seventy = outputs["rul"].get("70%", primary)
    decided = routing.route(
        soh=soh,
        rul_cycles=_number(seventy, "median_cycles"),
        resistance_soh=_number(outputs["soh_resistance"], "value"),
        damaged=bool(evidence.damage),
        components=evidence.components,
        evidence=list(evidence.damage),
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
        expected_cycles_new=evidence.basis.cycles_to(VALUE_LIFE_THRESHOLD),
        chemistry=model.chemistry,
        application=application,
    )
    return {"route": decided.as_dict(), "residual_value": worth.as_dict()}


def assess(battery: Battery) -> TwinRun:
    """Run the twin once per distinct input: a repeat (or a redelivered task) returns the stored run."""
    [run] = assess_many([battery])
    return run


def assess_many(batteries: list[Battery]) -> list[TwinRun]:
    """Assess a batch with one transaction for all new results (a fleet sweep's unit of work)."""
    return assess_ids([battery.pk for battery in batteries])


def assess_ids(battery_ids: Iterable) -> list[TwinRun]:
    """Assess the batteries with these ids (unknown ids are skipped, repeats assessed once), in order.

    Reads are batched: the batteries, their input record hashes, the runs already stored for those
    inputs and the evidence of the rest take one query each, not one per battery. New results are
    stored in one transaction (one ``records.append``). If another worker stored one of these runs
    meanwhile, the batch falls back to one transaction per battery, so each result is still stored
    exactly once. The garbage collector is held off for the batch (``collector_paused``).
    """
    with collector_paused():
        return _assess_ids(battery_ids)


def _assess_ids(battery_ids: Iterable) -> list[TwinRun]:
    started = time.perf_counter()
    ids = list(dict.fromkeys(_as_uuid(pk) for pk in battery_ids))
    loaded = registry.batteries_by_ids(ids)
    batteries = [loaded[pk] for pk in ids if pk in loaded]
    inputs = records.hashes_by_battery([battery.pk for battery in batteries], INPUT_TYPES)
    bases = bases_of(batteries)
    keys = {battery.pk: _input_hash(battery, inputs[battery.pk], bases[battery.pk]) for battery in batteries}
    existing = _stored_runs(keys)
    pending = [battery for battery in batteries if battery.pk not in existing]
    evidence = evidence_of_many(pending, bases)
    read = time.perf_counter()
    outputs = evaluate_many([(battery, evidence[battery.pk]) for battery in pending])
    todo = [
        (battery, inputs[battery.pk], keys[battery.pk], result)
        for battery, result in zip(pending, outputs, strict=True)
    ]
    evaluated = time.perf_counter()
    created = _store_once(todo) if todo else {}
    logger.info(
        "health twin: %d batteries, %d new; read %.3f s, evaluate %.3f s, store %.3f s",
        len(batteries),
        len(todo),
        read - started,
        evaluated - read,
        time.perf_counter() - evaluated,
    )
    return [existing.get(battery.pk) or created[battery.pk] for battery in batteries]


def _store_once(todo: list[tuple[Battery, list[str], str, dict]]) -> dict[uuid.UUID, TwinRun]:
    """Store new results in one transaction; if another worker stored one of them meanwhile (the
    unique key refuses it), one transaction per battery instead, each finding or storing its run."""
    try:
        with transaction.atomic():
            return dict(zip((battery.pk for battery, *_ in todo), _store(todo), strict=True))
    except IntegrityError:
        if len(todo) > 1:
            return {battery.pk: assess(battery) for battery, *_ in todo}
        battery, _, key, _ = todo[0]
        return {
            battery.pk: TwinRun.objects.get(
                battery=battery, model=MODEL, model_version=VERSION, input_hash=key
            )
        }


def _as_uuid(pk: object) -> uuid.UUID:
    return pk if isinstance(pk, uuid.UUID) else uuid.UUID(str(pk))


def _stored_runs(keys: dict[uuid.UUID, str]) -> dict[uuid.UUID, TwinRun]:
    """The runs already stored for these (battery, input hash) pairs, by battery id."""
    if not keys:
        return {}
    runs = TwinRun.objects.filter(
        battery_id__in=list(keys), model=MODEL, model_version=VERSION, input_hash__in=set(keys.values())
    )
    return {run.battery_id: run for run in runs if keys.get(run.battery_id) == run.input_hash}


def _store(todo: list[tuple[Battery, list[str], str, dict]]) -> list[TwinRun]:
    if not todo:
        return []
    now = timezone.now()
    drafts = [
        results.record_draft(
            battery,
            model=MODEL,
            version=VERSION,
            model_hash=model_hash(),
            inputs=inputs,
            outputs=outputs,
            at=now,
        )
        for battery, inputs, _, outputs in todo
    ]
    events_ = records.append(drafts)
    runs = []
    now = timezone.now()
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
                created_at=now,
            )
        )
    if connection.vendor != "postgresql":
        return TwinRun.objects.bulk_create(runs)
    # COPY: bulk_create sends the outputs as an array of JSON texts that the client quotes value by
    # value (a third of a batch's store time). The unique key still refuses a second result, raised as
    # Django's IntegrityError so ``_store_once`` handles it the same way.
    with connection.wrap_database_errors:
        bulk.copy_rows(
            TwinRun._meta.db_table,
            [TwinRun._meta.get_field(name).column for name in _RUN_COLUMNS],
            ([_copy_value(getattr(run, name)) for name in _RUN_COLUMNS] for run in runs),
        )
    return runs


_RUN_COLUMNS = (
    "id", "battery_id", "model", "model_version", "model_hash", "input_hash", "outputs", "soh", "soh_std",
    "rul_cycles", "rul_threshold", "route", "record_id", "created_at",
)  # fmt: skip


def _copy_value(value: object) -> object:
    return Jsonb(value) if isinstance(value, dict) else value


def latest(battery: Battery) -> TwinRun | None:
    return results.latest_run(battery, MODEL)
