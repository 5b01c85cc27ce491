"""A battery's own physics twin: calibration to a stored discharge, recorded once, used by what-if runs."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest

from lifecycle.choices import EventType
from lifecycle.models import LifecycleEvent, TelemetryBatch
from passport.models import Battery
from tests.twins.conftest import START
from twins.models import CalibrationJob, TwinRun
from twins.physics.model import CellParameters
from twins.physics.parameter_space import BOUNDS, ELECTROCHEMICAL
from twins.physics.uncertainty import standard_errors

pybamm = pytest.importorskip("pybamm")

BUDGET_S = 15.0  # through the API, whose budgets are wall-clock
# Direct fits are bounded by simulations: the same fit on a loaded CI machine as on an idle one.
SIMULATIONS = 200
JOINT_SIMULATIONS = 300


@pytest.mark.django_db
def test_calibration_fits_the_stored_discharge_and_is_recorded_once(measured_cell):
    from twins.services import calibration, health

    run = calibration.calibrate_battery(measured_cell, budget_simulations=SIMULATIONS)
    outputs = run.outputs
    assert run.model == "physics-calibration" and run.model_version == calibration.VERSION
    assert len(run.model_hash) == 64 and run.soh is None and run.rul_cycles is None
    # The discharge was made by the model itself: the fit reproduces it closely and beats the start.
    assert outputs["fit"]["coverage"] == 1.0
    assert outputs["fit"]["voltage_mape_pct"] < 0.5
    assert outputs["fit"]["voltage_mape_pct"] < outputs["uncalibrated"]["voltage_mape_pct"]
    # Every electrochemical parameter has a standard error and an interval around its value. One
    # discharge at one rate does not pin down eleven parameters (the fit trades capacity against the
    # electrode balance, resistance against diffusion and the OCP shape): the errors must say so.
    assert set(outputs["parameter_errors"]) == set(ELECTROCHEMICAL)
    for name, error in outputs["parameter_errors"].items():
        assert error["low"] <= outputs["parameters"][name] <= error["high"], name
        assert error["std_unit"] >= 0
    unidentified = set(ELECTROCHEMICAL) - set(outputs["identified_parameters"])
    assert {"contact_resistance_ohm", "diffusivity_scale"} <= unidentified
    # Its evidence: the upload's lifecycle record; and it is a lifecycle record itself.
    upload = TelemetryBatch.objects.select_related("event").get(battery=measured_cell)
    assert outputs["discharge"]["record_hash"] == upload.event.record_hash
    assert outputs["discharge"]["cycle"] == 1 and outputs["ambient_assumed"] is True
    # The upload starts under load: its first voltage is not a rest voltage, so the rest voltage is fitted
    # (the cell was simulated from 4.19 V), and the result says so.
    [warning] = outputs["warnings"]
    assert warning.startswith("cycle 1 starts under load (-1.00 A): its rest voltage was not recorded")
    [entry] = outputs["discharges"]
    assert entry["starts_under_load"] is True and entry["rest_voltage_fitted"] is True
    assert entry["rest_voltage_v"] == pytest.approx(4.19, abs=0.05)
    assert entry["rest_voltage_std_v"] > 0  # the rest voltage is among the uncertainty's coordinates
    record = LifecycleEvent.objects.get(pk=run.record_id)
    assert record.type == EventType.TWIN_RESULT and record.payload["inputs"] == [upload.event.record_hash]
    assert record.payload["outputs"]["parameters"] == outputs["parameters"]
    # The same request on the same records is the same run: no second fit, no second record.
    records_before = LifecycleEvent.objects.count()
    again = calibration.calibrate_battery(measured_cell, budget_simulations=SIMULATIONS)
    assert again.pk == run.pk and LifecycleEvent.objects.count() == records_before
    # It is not a health result: the health twin's latest run and the fleet search ignore it.
    assert health.latest(measured_cell) is None
    assert calibration.latest(measured_cell).pk == run.pk


def _path(battery_id) -> str:
    return f"/api/batteries/{battery_id}/physics-calibration/"


@pytest.mark.django_db
def test_the_api_queues_a_job_whose_result_readers_can_fetch(
    measured_cell, operator_client, legitimate_interest_client, public_client, eager,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    assert operator_client.get(_path(measured_cell.pk)).status_code == 404
    body = {"budget_simulations": SIMULATIONS}
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(_path(measured_cell.pk), body, format="json")
    assert response.status_code == 202, response.json()
    job = response.json()
    assert job["status"] == "queued" and response["Location"] == job["url"]
    assert job["request"] == {
        "model": "auto",
        "budget_simulations": SIMULATIONS,
        "cycle": 1,
        "start": "previous",
    }
    polled = legitimate_interest_client.get(job["url"]).json()
    assert polled["status"] == "succeeded", polled["error"]
    outputs = polled["result"]["outputs"]
    assert outputs["fit"]["voltage_mape_pct"] < 0.5
    # The default: the model chosen from the current profile, a constant-current discharge here.
    assert outputs["physics_model_requested"] == "auto" and outputs["physics_model"] == "DFN"
    assert outputs["message"].startswith("model chosen: DFN (a steady current profile")
    # A budget in simulations: anyone with the code and the records gets this fit again.
    assert outputs["reproducible"] is True and outputs["budget_simulations"] == SIMULATIONS
    assert "budget_s" not in outputs
    latest = legitimate_interest_client.get(_path(measured_cell.pk)).json()
    assert latest["record"] == polled["result"]["record"] and latest["model"] == "physics-calibration"
    assert public_client.get(_path(measured_cell.pk)).status_code == 403
    assert public_client.get(job["url"]).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"model": "P2D"}, "/model"),
        ({"budget_s": 5}, "/budget_s"),
        ({"budget_s": 601}, "/budget_s"),
        ({"budget_simulations": 10}, "/budget_simulations"),
        ({"budget_simulations": 2001}, "/budget_simulations"),
        ({"budget_simulations": 100, "budget_s": 60}, "/budget_simulations"),
        ({"cycle": -1}, "/cycle"),
        ({"cycle": 99}, "/cycle"),
        ({"cycles": 1}, "/cycles"),
    ],
)
def test_bad_requests_name_the_field_and_write_nothing(measured_cell, operator_client, body, path):
    response = operator_client.post(_path(measured_cell.pk), body, format="json")
    assert response.status_code == 400
    assert path in {error["path"] for error in response.json()["errors"]}, response.json()
    assert not CalibrationJob.objects.exists() and not TwinRun.objects.exists()


@pytest.mark.django_db
def test_a_battery_without_telemetry_is_told_to_upload_first(nasa_cell, operator_client):
    response = operator_client.post(_path(nasa_cell["id"]), {}, format="json")
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["path"] == "/cycle" and "upload telemetry first" in error["message"]


@pytest.mark.django_db
def test_modules_and_cells_outside_the_model_are_refused(
    module_with_cells, cells, manufacturer, operator_client
):
    from decimal import Decimal

    from passport.choices import BatteryKind
    from tests.lifecycle.conftest import register
    from tests.support.fixtures import cell_rows, make_model

    make_model(manufacturer, "LFP-280", BatteryKind.CELL, chemistry="LFP", rated_capacity_ah=Decimal("280"))
    [prismatic] = register(operator_client, [{**cell_rows(1, prefix="P")[0], "model": "LFP-280"}])
    module, _ = module_with_cells
    for battery_id, says in ((module["id"], "module"), (prismatic["id"], "rated 280 Ah")):
        response = operator_client.post(_path(battery_id), {}, format="json")
        assert response.status_code == 400
        [error] = response.json()["errors"]
        assert error["path"] == "/battery" and says in error["message"]
    # A 5 Ah cell (the base set's own size) is in range: it only lacks a measured discharge.
    [error] = operator_client.post(_path(cells[0]["id"]), {}, format="json").json()["errors"]
    assert error["path"] == "/cycle"
    assert not CalibrationJob.objects.exists()


@pytest.mark.django_db
def test_only_the_operator_asks_for_a_calibration(
    measured_cell, legitimate_interest_client, other_operator_client, public_client
):
    for client in (legitimate_interest_client, other_operator_client, public_client):
        assert client.post(_path(measured_cell.pk), {}, format="json").status_code == 403
    assert not CalibrationJob.objects.exists()


@pytest.mark.django_db
def test_what_if_runs_simulate_the_calibrated_cell_if_the_fit_is_usable(measured_cell):
    from twins.services import calibration, whatif

    params, note, used = whatif.cell_parameters(measured_cell)
    assert used is None and "not calibrated" in note and "no physics calibration" in note
    run = calibration.calibrate_battery(measured_cell, budget_simulations=SIMULATIONS)
    params, note, used = whatif.cell_parameters(measured_cell)
    assert used.pk == run.pk and note.startswith("calibrated to the battery's discharge cycle 1")
    assert dataclasses.asdict(params) == run.outputs["parameters"]
    # A calibration that missed its curve is not used, and the note says why.
    TwinRun.objects.filter(pk=run.pk).update(
        outputs={**run.outputs, "fit": {**run.outputs["fit"], "voltage_mape_pct": 4.0}}
    )
    params, note, used = whatif.cell_parameters(measured_cell)
    assert used is None and params == CellParameters(capacity_ah=2.0) and "missed its discharge" in note


@pytest.mark.django_db
def test_a_redelivered_job_does_not_calibrate_twice(measured_cell, operator_client, monkeypatch):
    from twins import calibration_tasks
    from twins.services import calibration

    job_id = operator_client.post(_path(measured_cell.pk), {"budget_s": BUDGET_S}, format="json").json()["id"]
    assert calibration_tasks.calibrate_physics.apply(args=[job_id]).get() == "succeeded"
    job = CalibrationJob.objects.get(pk=job_id)
    # A wall-clock budget fits further on a faster machine: not reproducible.
    assert job.twin_run.outputs["reproducible"] is False
    monkeypatch.setattr(calibration, "calibrate_battery", lambda *a, **k: pytest.fail("ran twice"))
    assert calibration_tasks.calibrate_physics.apply(args=[job_id]).get() == "succeeded"
    assert CalibrationJob.objects.get(pk=job_id).twin_run_id == job.twin_run_id
    # A job whose worker died mid-run (found "running") runs again and finds the stored result.
    monkeypatch.undo()
    CalibrationJob.objects.filter(pk=job_id).update(status="running")
    records_before = LifecycleEvent.objects.count()
    assert calibration_tasks.calibrate_physics.apply(args=[job_id]).get() == "succeeded"
    assert CalibrationJob.objects.get(pk=job_id).twin_run_id == job.twin_run_id
    assert LifecycleEvent.objects.count() == records_before


def test_the_worker_registers_the_task():
    from config.celery import app

    app.loader.import_default_modules()
    assert "twins.calibrate_physics" in app.tasks


def test_standard_errors_match_least_squares_theory_on_a_linear_model():
    """Residuals linear in the unit coordinates with independent noise: the covariance is s^2 (A^T A)^-1."""
    names = ["contact_resistance_ohm", "diffusivity_scale"]
    rng = np.random.default_rng(3)
    design = rng.normal(size=(400, 2))
    noise = rng.normal(scale=0.01, size=400)
    at = CellParameters(contact_resistance_ohm=0.05, diffusivity_scale=2.0)
    u0 = np.array([BOUNDS[name].to_unit(getattr(at, name)) for name in names])

    def residuals_of(params: CellParameters) -> np.ndarray:
        u = np.array([BOUNDS[name].to_unit(getattr(params, name)) for name in names])
        return design @ (u - u0) + noise

    errors = standard_errors(residuals_of, at, names)
    rho = np.corrcoef(noise[:-1], noise[1:])[0, 1]
    n_eff = 400 * (1 - max(rho, 0)) / (1 + max(rho, 0))
    variance = np.sum(noise**2) / (n_eff - 2) * 400 / n_eff
    expected = np.sqrt(np.diag(variance * np.linalg.inv(design.T @ design)))
    for name, std in zip(names, expected, strict=True):
        assert errors[name]["std_unit"] == pytest.approx(std, rel=1e-3)
        assert errors[name]["value"] == pytest.approx(getattr(at, name))
        assert errors[name]["low"] < errors[name]["value"] < errors[name]["high"]
    # Correlated residuals (a smooth misfit, as along a discharge curve) widen the intervals.
    smooth = np.convolve(noise, np.ones(20) / 20, mode="same") * 5
    widened = standard_errors(lambda p: residuals_of(p) - noise + smooth, at, names)
    independent = np.sqrt(np.sum(smooth**2) / 398 * np.diag(np.linalg.inv(design.T @ design)))
    assert widened[names[0]]["std_unit"] > 2 * independent[0]


@pytest.mark.django_db
def test_a_series_string_fails_the_job_with_the_reason(nasa_cell, operator_client):
    """A cell-rated battery whose upload is a string of cells (12 V): refused at run time, by name."""
    from lifecycle.services import telemetry
    from twins.services import calibration

    battery = Battery.objects.select_related("model", "operator").get(pk=nasa_cell["id"])
    lines = ["time,cycle,step,voltage[V],current[A],temperature[degC]"]
    for k in range(40):
        instant = (START + dt.timedelta(seconds=30 * k)).isoformat()
        lines.append(f"{instant},3,discharge,{12.4 - 0.05 * k:.3f},-1.0,25.0")
    telemetry.ingest(battery, "\n".join(lines).encode(), actor=battery.operator, filename="string.csv")
    job_id = operator_client.post(_path(battery.pk), {}, format="json").json()["id"]
    job = calibration.run(job_id)
    assert job.status == "failed" and job.error.startswith("/cycle: cycle 3 reaches 12.4 V")
    assert not TwinRun.objects.exists()


@pytest.mark.django_db
def test_the_demo_cell_gets_a_1c_and_a_2c_discharge_that_a_5_ah_calibration_fits(cells):
    """The demo's calibration cell: a 5 Ah cell (the base set's own size, bounds scaled to its rating)."""
    from lifecycle.services import curves
    from twins.services import calibration
    from twins.services import demo as twins_demo

    battery = Battery.objects.select_related("model", "operator").get(pk=cells[0]["id"])
    assert twins_demo.seed_cell_discharge(battery) is True
    assert twins_demo.seed_cell_discharge(battery) is False  # once
    cycles = curves.discharge_cycles(battery)
    assert [cycle.cycle_index for cycle in cycles] == [1, 2]
    for cycle, amps in zip(cycles, (5.0, 10.0), strict=True):
        curve = curves.curve_of(battery, cycle)
        resting = curve.current_a == 0
        assert curve.current_a[0] == 0  # it starts at rest: the fit's initial state is its rest voltage
        assert resting.any() and (curve.current_a[~resting] == pytest.approx(-amps))
        assert curve.voltage_v[~resting][-1] < curve.voltage_v[0] < 4.2  # discharged, then relaxing up
        assert curve.voltage_v[-1] > curve.voltage_v[~resting][-1]
        assert cycle.discharge_ah == pytest.approx(0.83 * 5.0, rel=0.02)  # the same charge at both rates
        # A 5 Ah cell in a 25 °C chamber warms by kelvins, not to the 56 °C the 2 Ah can's mass gave at 1C.
        assert 25.0 < curve.temperature_c.max() < (35.0 if amps == 5.0 else 55.0)
    run = calibration.calibrate_battery(battery, cycle_index=1, budget_simulations=SIMULATIONS)
    fit, start = run.outputs["fit"], run.outputs["uncalibrated"]
    # The discharge stops at ~15 % state of charge: the fit starts at the rating, not the delivered charge.
    assert run.outputs["partial_discharge"] is True
    assert fit["coverage"] == 1.0 and fit["voltage_mape_pct"] < min(2.0, start["voltage_mape_pct"] / 10)
    # It started from rest, so the fit finds the cell's capacity (above a 2 Ah cell's bound of 4 Ah).
    assert run.outputs["parameters"]["capacity_ah"] == pytest.approx(0.97 * 5.0, rel=0.15)
    assert run.outputs["warnings"] == []


@pytest.mark.django_db
def test_a_joint_calibration_fits_two_stored_discharges_and_cites_both_uploads(two_rate_cell):
    from twins.services import calibration, whatif

    run = calibration.calibrate_battery(
        two_rate_cell, cycle_indices=[1, 2], budget_simulations=JOINT_SIMULATIONS
    )
    outputs = run.outputs
    assert [entry["cycle"] for entry in outputs["discharges"]] == [1, 2]
    assert outputs["budget_simulations"] == JOINT_SIMULATIONS and "budget_s" not in outputs
    for entry in outputs["discharges"]:
        assert entry["fit"]["coverage"] == 1.0 and entry["fit"]["voltage_mape_pct"] < 1.0
    assert outputs["fit"]["voltage_mape_pct"] < outputs["uncalibrated"]["voltage_mape_pct"]
    # Its evidence: both uploads' lifecycle records.
    uploads = TelemetryBatch.objects.select_related("event").filter(battery=two_rate_cell).order_by("pk")
    hashes = [upload.event.record_hash for upload in uploads]
    assert len(set(hashes)) == 2
    assert [entry["record_hash"] for entry in outputs["discharges"]] == hashes
    assert LifecycleEvent.objects.get(pk=run.record_id).payload["inputs"] == hashes
    # Asked again: the same run, no second fit.
    assert (
        calibration.calibrate_battery(
            two_rate_cell, cycle_indices=[1, 2], budget_simulations=JOINT_SIMULATIONS
        ).pk
        == run.pk
    )
    _, note, used = whatif.cell_parameters(two_rate_cell)
    assert used.pk == run.pk and note.startswith("calibrated to the battery's discharge cycles 1, 2")


@pytest.mark.django_db
def test_the_api_queues_a_joint_calibration(
    two_rate_cell, operator_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = operator_client.post(_path(two_rate_cell.pk), {"cycles": [2, 1]}, format="json")
    assert response.status_code == 202, response.json()
    assert response.json()["request"] == {
        "model": "auto",
        "budget_s": 120.0,
        "cycles": [2, 1],
        "start": "previous",
    }
    assert len(callbacks) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"cycles": [1]}, "/cycles"),
        ({"cycles": [1, 2, 1, 2, 1]}, "/cycles"),
        ({"cycles": [1, 1]}, "/cycles/1"),
        ({"cycles": [1, 99]}, "/cycles/1"),
        ({"cycles": [1, -2]}, "/cycles/1"),
        ({"cycle": 1, "cycles": [1, 2]}, "/cycles"),
    ],
)
def test_bad_joint_requests_name_the_entry_and_write_nothing(two_rate_cell, operator_client, body, path):
    response = operator_client.post(_path(two_rate_cell.pk), body, format="json")
    assert response.status_code == 400
    assert path in {error["path"] for error in response.json()["errors"]}, response.json()
    assert not CalibrationJob.objects.exists() and not TwinRun.objects.exists()
