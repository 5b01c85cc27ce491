"""The health twin on stored batteries: results as lifecycle records, once per input, via API and tasks."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import numpy as np
import pytest

from lifecycle.choices import EventType
from lifecycle.models import LifecycleEvent
from lifecycle.provenance.verifier import verify_bundle
from lifecycle.services import bundles, telemetry
from passport.models import Battery
from tests.support.conformance import nasa_file
from twins.models import TwinRun
from twins.services import health

pytestmark = pytest.mark.django_db


@pytest.fixture
def aged_cell(nasa_cell):
    battery = Battery.objects.select_related("model", "operator").get(pk=nasa_cell["id"])
    telemetry.ingest(battery, nasa_file("B0025"), actor=battery.operator, filename="B0025.mat")
    return battery


def test_assessment_is_a_chained_record_and_runs_once_per_input(aged_cell):
    run = health.assess(aged_cell)
    soh = run.outputs["soh_capacity"]
    assert 0.8 < soh["value"] < 1.0 and soh["std"] > 0
    assert set(run.outputs["rul"]) >= {"70%", "60%"}
    record = LifecycleEvent.objects.get(pk=run.record_id)
    assert record.type == EventType.TWIN_RESULT
    assert record.payload["model_hash"] == health.model_hash() and record.payload["outputs"] == run.outputs
    telemetry_hashes = list(
        LifecycleEvent.objects.filter(battery=aged_cell, type=EventType.TELEMETRY).values_list(
            "record_hash", flat=True
        )
    )
    assert record.payload["inputs"] == telemetry_hashes
    # Same inputs: the stored run, no second record.
    again = health.assess(aged_cell)
    assert again.pk == run.pk
    assert (
        TwinRun.objects.count() == 1
        and LifecycleEvent.objects.filter(type=EventType.TWIN_RESULT).count() == 1
    )
    assert verify_bundle(bundles.for_battery(aged_cell)).ok


def test_new_telemetry_gives_a_new_run(aged_cell):
    first = health.assess(aged_cell)
    telemetry.ingest(aged_cell, nasa_file("B0029"), actor=aged_cell.operator, filename="B0029.mat")
    second = health.assess(aged_cell)
    assert second.pk != first.pk and second.input_hash != first.input_hash


def test_too_little_history_says_what_is_missing(cells):
    battery = Battery.objects.select_related("model", "operator").get(pk=cells[0]["id"])
    run = health.assess(battery)
    assert run.outputs["soh_capacity"]["insufficient_data"] is True
    assert run.outputs["soh_capacity"]["missing"]
    assert all(forecast.get("insufficient_data") for forecast in run.outputs["rul"].values())
    assert "end-of-line" in run.outputs["soh_resistance"]["missing"][0]


def test_health_endpoint_follows_the_history_readers(
    aged_cell, operator_client, legitimate_interest_client, public_client
):
    path = f"/api/batteries/{aged_cell.pk}/health/"
    assert legitimate_interest_client.get(path).status_code == 404  # not run yet
    health.assess(aged_cell)
    body = legitimate_interest_client.get(path).json()
    assert body["model"] == health.MODEL and "soh_capacity" in body["outputs"]
    assert operator_client.get(path).status_code == 200
    assert public_client.get(path).status_code == 403


def test_ingest_queues_the_twin_after_commit(nasa_cell, monkeypatch, django_capture_on_commit_callbacks):
    from twins import tasks

    queued = []
    monkeypatch.setattr(tasks.assess_batteries, "delay", lambda ids: queued.append(ids))
    battery = Battery.objects.select_related("model", "operator").get(pk=nasa_cell["id"])
    with django_capture_on_commit_callbacks(execute=True):
        telemetry.ingest(battery, nasa_file("B0025"), actor=battery.operator)
    assert queued == [[str(battery.pk)]]


def test_fleet_sweep_task_assesses_in_batches(aged_cell, settings):
    from twins import tasks

    settings.CELERY_TASK_ALWAYS_EAGER = True
    from config.celery import app

    app.conf.task_always_eager = True
    try:
        assert tasks.fleet_sweep.apply(kwargs={"batch_size": 10}).get() == 1
    finally:
        app.conf.task_always_eager = False
    assert TwinRun.objects.filter(battery=aged_cell).count() == 1


def test_search_finds_batteries_by_latest_health(aged_cell, cells, legitimate_interest_client, public_client):
    health.assess(aged_cell)
    health.assess(Battery.objects.get(pk=cells[0]["id"]))  # no data: soh is null, never matches a range
    run = TwinRun.objects.get(battery=aged_cell)
    hits = legitimate_interest_client.get(
        "/api/health/search/", {"soh_min": run.soh - 0.01, "chemistry": "LCO"}
    )
    assert [hit["identifier"] for hit in hits.json()["results"]] == [aged_cell.identifier]
    assert hits.json()["results"][0]["residual_value"]["eur_per_kwh"] > 0
    none = legitimate_interest_client.get("/api/health/search/", {"soh_min": run.soh + 0.01})
    assert none.json()["count"] == 0
    bad = legitimate_interest_client.get("/api/health/search/", {"soh_min": "high"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["path"] == "/soh_min"
    assert public_client.get("/api/health/search/").status_code == 403


def test_warranty_claim_cites_its_evidence(aged_cell, operator_client, other_operator_client):
    path = f"/api/batteries/{aged_cell.pk}/warranty-claims/"
    terms = {"years": 30, "soh_floor": 0.95, "max_cycles": 5000}
    assert operator_client.post(path, terms, format="json").status_code == 409  # no twin run yet
    run = health.assess(aged_cell)
    Battery.objects.filter(pk=aged_cell.pk).update(put_into_service_at=aged_cell.manufactured_at)
    decision = operator_client.post(path, terms, format="json").json()
    assert decision["covered"] is True and decision["claim_valid"] is (run.soh + 2 * run.soh_std < 0.95)
    assert decision["evidence"][0] == run.record.record_hash
    assert other_operator_client.post(path, terms, format="json").status_code == 403
    bad = operator_client.post(path, {"years": 8, "soh_floor": 7}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["path"] == "/soh_floor"


def test_outputs_carry_route_value_and_usage(aged_cell):
    outputs = health.assess(aged_cell).outputs
    assert outputs["route"]["route"] in {"reuse", "stationary-energy", "stationary-power", "recycling"}
    assert outputs["route"]["reasons"]
    assert outputs["residual_value"]["assumptions"]["chemistry_family"] == "LCO"
    assert outputs["usage"]["full_cycles"] > 10


def test_pack_view_lists_installed_components_with_their_health(
    aged_cell, module_model, operator_client, legitimate_interest_client
):
    from passport.services import hierarchy, registration

    [module] = registration.register_one(
        aged_cell.operator,
        {
            "serial_number": "M-NASA",
            "model": module_model.model_number,
            "manufactured_at": "2007-01-01T00:00:00Z",
        },
    ).batteries
    hierarchy.install(module, aged_cell, position="S1", at=aged_cell.manufactured_at)
    run = health.assess(aged_cell)
    body = legitimate_interest_client.get(f"/api/batteries/{module.pk}/health/components/").json()
    assert body["components"] == [{"identifier": aged_cell.identifier, "soh": run.soh}]
    assert body["spread"]["count"] == 1 and body["weak_components"] == []


# --- batches: the fleet sweep's path ------------------------------------------------------------------


@pytest.fixture
def fleet(manufacturer, cell_model, module_model):
    """Six cells with 50-200 cycles each (the benchmark's fleet), an accident on the fifth, and a
    module holding the first three."""
    from benchmarks.fleet_sweep import seed_fleet
    from lifecycle.payloads import clean_payload
    from lifecycle.services import records
    from passport.services import hierarchy, registration

    ids = seed_fleet(manufacturer, cell_model, 6, prefix="F", seed=3)
    cells = sorted(
        Battery.objects.select_related("model", "operator").filter(pk__in=ids), key=lambda b: ids.index(b.pk)
    )
    payload, _ = clean_payload(EventType.NEGATIVE_EVENT, {"kind": "accident", "description": "crash test"})
    at = cells[4].manufactured_at + dt.timedelta(days=300)
    records.append([records.Draft(cells[4], EventType.NEGATIVE_EVENT, manufacturer, at, payload)])
    row = {
        "serial_number": "M-F1",
        "model": module_model.model_number,
        "manufactured_at": "2024-01-01T00:00:00Z",
    }
    [module] = registration.register_one(manufacturer, row).batteries
    for position, cell in zip(("S1", "S2", "S3"), cells[:3], strict=True):
        hierarchy.install(module, cell, position=position, at=cell.manufactured_at)
    return cells, Battery.objects.select_related("model", "operator").get(pk=module.pk)


def assert_close(got, expected, path="", rel=1e-5):
    """Equal structure and strings, numbers within ``rel``."""
    if isinstance(expected, dict):
        assert isinstance(got, dict) and got.keys() == expected.keys(), path
        for key in expected:
            assert_close(got[key], expected[key], f"{path}/{key}", rel)
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected), path
        for index, (a, b) in enumerate(zip(got, expected, strict=True)):
            assert_close(a, b, f"{path}/{index}", rel)
    elif isinstance(expected, float) and not isinstance(expected, bool):
        assert got == pytest.approx(expected, rel=rel, abs=1e-9), path
    else:
        assert got == expected, path


def test_a_batch_gives_what_one_battery_at_a_time_gives(fleet):
    from lifecycle.services import records

    cells, module = fleet
    health.assess_many(cells[:3])  # the module's components have a health now
    batch = [*cells, module]
    evidence = health.evidence_of_many(batch)
    for battery in batch:
        assert evidence[battery.pk] == health.evidence_of(battery)
        assert health.evaluate(battery, evidence[battery.pk]) == health.evaluate(battery)
    assert [c.identifier for c in evidence[module.pk].components] == [c.identifier for c in cells[:3]]
    assert evidence[cells[4].pk].damage and not evidence[cells[3].pk].damage
    runs = health.assess_ids([battery.pk for battery in batch])
    assert [run.battery_id for run in runs] == [battery.pk for battery in batch]
    for battery, run in zip(batch, runs, strict=True):
        inputs = records.hashes_of(battery, health.INPUT_TYPES)
        assert run.input_hash == health._input_hash(battery, inputs, health.bases_of([battery])[battery.pk])
        # The learned model's batched forward pass differs from a batch of one in the last float32 bits.
        assert_close(json.loads(json.dumps(run.outputs)), json.loads(json.dumps(health.evaluate(battery))))
        assert run.record.payload["inputs"] == inputs
    assert runs[4].route == "recycling"  # the accident is on record
    assert TwinRun.objects.count() == len(batch)
    # The same batch again (a redelivered task): the stored runs, nothing new.
    again = health.assess_ids([str(battery.pk) for battery in reversed(batch)])
    assert [run.pk for run in again] == [run.pk for run in reversed(runs)]
    assert LifecycleEvent.objects.filter(type=EventType.TWIN_RESULT).count() == len(batch)


def test_a_batch_reads_and_writes_with_a_fixed_number_of_queries(fleet):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cells, _ = fleet
    with CaptureQueriesContext(connection) as two:
        health.assess_ids([cells[0].pk, cells[1].pk])
    with CaptureQueriesContext(connection) as four:
        health.assess_ids([battery.pk for battery in cells[2:]])
    assert len(four.captured_queries) == len(two.captured_queries)
    with CaptureQueriesContext(connection) as stored:
        # all stored: four reads (batteries, input hashes, passport design life, stored runs), no writes
        health.assess_ids([battery.pk for battery in cells])
    assert len(stored.captured_queries) == 4


def test_unknown_and_repeated_ids_in_a_batch(fleet):
    cells, _ = fleet
    runs = health.assess_ids([cells[0].pk, uuid.uuid4(), str(cells[0].pk), cells[1].pk])
    assert [run.battery_id for run in runs] == [cells[0].pk, cells[1].pk]


def _noisy_history(rng, cycles: int) -> list[tuple[int, float]]:
    k = np.arange(1, cycles + 1)
    capacity = 2.0 * 0.98 * (1 - rng.uniform(0.1, 0.4) * (k / 100) ** rng.uniform(0.7, 1.5))
    return list(zip(k.tolist(), (capacity + rng.normal(0, 0.01, cycles)).tolist(), strict=True))


def test_one_filter_run_serves_every_threshold_on_one_measured_path():
    from twins.health.rul import rul_forecast, rul_forecasts

    rng = np.random.default_rng(7)
    for cycles, seed, particles in ((4, 0, 1000), (30, 1, 500), (90, 2, 1000), (160, 3, 300)):
        history = _noisy_history(rng, cycles)
        shared = rul_forecasts(history, 2.0, thresholds=(0.8, 0.7, 0.6), seed=seed, particles=particles)
        assert list(shared) == [0.8, 0.7, 0.6]
        # The order the thresholds are asked in changes nothing.
        assert (
            rul_forecasts(history, 2.0, thresholds=(0.6, 0.7, 0.8), seed=seed, particles=particles) == shared
        )
        if cycles < 5:
            assert all(forecast.missing for forecast in shared.values())
            continue
        # One measured path per particle: its 80 % crossing never follows its 70 % one, so neither do
        # the quantiles.
        for high, low in ((0.8, 0.7), (0.7, 0.6)):
            for bound in ("lower_cycles", "median_cycles", "upper_cycles"):
                assert getattr(shared[high], bound) <= getattr(shared[low], bound)
        # A threshold asked alone draws another path: the same forecast within Monte Carlo noise.
        for threshold, forecast in shared.items():
            alone = rul_forecast(history, 2.0, threshold=threshold, seed=seed, particles=particles)
            assert alone.median_cycles == pytest.approx(forecast.median_cycles, rel=0.15, abs=3)
    with pytest.raises(ValueError):
        rul_forecasts(history, 2.0, thresholds=(0.7, 70))


def test_a_batch_of_filters_gives_each_battery_its_own_forecast_number_for_number():
    from twins.chemistry import PROFILES, chemistry_prior
    from twins.health.rul import ForecastRequest, rul_forecasts, rul_forecasts_many

    rng = np.random.default_rng(11)
    requests = [
        ForecastRequest(_noisy_history(rng, 40), 2.0),
        ForecastRequest(_noisy_history(rng, 3), 2.0),  # too short: insufficient data, the rest unharmed
        ForecastRequest(_noisy_history(rng, 170), 2.0, (0.75, 0.6), 1.5, chemistry_prior(PROFILES["NMC"])),
        ForecastRequest(_noisy_history(rng, 9), 2.0, (0.7,), None, chemistry_prior(PROFILES["LFP"])),
    ]
    batch = rul_forecasts_many(requests, particles=400, seed=5)
    for request, forecasts in zip(requests, batch, strict=True):
        alone = rul_forecasts(
            request.capacity_per_cycle,
            request.rated_capacity_ah,
            thresholds=request.thresholds,
            particles=400,
            seed=5,
            cycles_per_day=request.cycles_per_day,
            prior=request.prior,
        )
        assert forecasts == alone
    assert batch[2][0.75].median_days == pytest.approx(batch[2][0.75].median_cycles / 1.5)
    # A different neighbour in the batch changes nothing either.
    assert rul_forecasts_many(requests[2:], particles=400, seed=5) == batch[2:]


def test_a_run_stored_meanwhile_by_another_worker_is_not_stored_again(fleet, monkeypatch):
    cells, _ = fleet
    [first] = health.assess_ids([cells[0].pk])
    # The other worker's commit lands after this batch looked for stored runs: it sees none.
    monkeypatch.setattr(health, "_stored_runs", lambda keys: {})
    runs = health.assess_ids([cells[0].pk, cells[1].pk])
    assert runs[0].pk == first.pk and runs[1].battery_id == cells[1].pk
    assert TwinRun.objects.filter(battery__in=cells[:2]).count() == 2
    assert LifecycleEvent.objects.filter(type=EventType.TWIN_RESULT).count() == 2
    assert health.assess(cells[0]).pk == first.pk  # alone: the single-battery fallback
