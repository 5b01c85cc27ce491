"""A battery's calibration starts from its own earlier calibration, which becomes one of its inputs."""

from __future__ import annotations

import uuid

import pytest

from lifecycle.models import LifecycleEvent
from twins.models import CalibrationJob, TwinRun

pybamm = pytest.importorskip("pybamm")

# Enough for the synthetic cell's first discharge to fit within the usable 3 % (it fits to < 0.5 %).
SIMULATIONS = 40


def _path(battery_id) -> str:
    return f"/api/batteries/{battery_id}/physics-calibration/"


@pytest.fixture
def first_fit(two_rate_cell):
    """The 1 A discharge (cycle 1) calibrated: the earlier calibration a fit of cycle 2 starts from."""
    from twins.services import calibration

    run = calibration.calibrate_battery(two_rate_cell, cycle_index=1, budget_simulations=SIMULATIONS)
    assert run.outputs["start"] == {"from": None, "parameters": None}  # nothing before cycle 1: the base set
    assert run.outputs["fit"]["voltage_mape_pct"] < 3.0
    return run


@pytest.mark.django_db
def test_a_later_discharge_starts_from_the_earlier_calibration_and_cites_it(two_rate_cell, first_fit):
    from twins.physics.calibration import carried_forward
    from twins.physics.model import CellParameters
    from twins.services import calibration

    chained = calibration.calibrate_battery(two_rate_cell, cycle_index=2, budget_simulations=SIMULATIONS)
    start = chained.outputs["start"]
    assert start["from"]["twin_run"] == str(first_fit.pk) and start["from"]["cycles"] == [1]
    assert start["from"]["record_hash"] == first_fit.record.record_hash
    # The earlier fit, its capacity scaled by the charge the two discharges delivered (the 3 A discharge
    # reaches the cut-off earlier).
    [before], [now] = first_fit.outputs["discharges"], chained.outputs["discharges"]
    assert now["delivered_ah"] < before["delivered_ah"]
    expected = carried_forward(
        CellParameters(**first_fit.outputs["parameters"]), before["delivered_ah"], now["delivered_ah"]
    )
    assert start["parameters"] == pytest.approx(expected.as_dict())
    # Its inputs: the 3 A upload and the calibration it started from.
    record = LifecycleEvent.objects.get(pk=chained.record_id)
    assert record.payload["inputs"] == [now["record_hash"], first_fit.record.record_hash]
    # The same discharge from the base set is another input, so another run; the earlier fit knew the cell.
    cold = calibration.calibrate_battery(
        two_rate_cell, cycle_index=2, budget_simulations=SIMULATIONS, start="base"
    )
    assert cold.pk != chained.pk and cold.input_hash != chained.input_hash
    assert cold.outputs["start"]["from"] is None
    assert LifecycleEvent.objects.get(pk=cold.record_id).payload["inputs"] == [now["record_hash"]]
    chained_start = chained.outputs["uncalibrated"]["voltage_mape_pct"]
    assert chained_start < cold.outputs["uncalibrated"]["voltage_mape_pct"]
    # Asked again, each is the stored run; cycle 1 has nothing before it and keeps its own.
    again = {"budget_simulations": SIMULATIONS}
    assert calibration.calibrate_battery(two_rate_cell, cycle_index=2, **again) == chained
    assert calibration.calibrate_battery(two_rate_cell, cycle_index=1, **again) == first_fit


@pytest.mark.django_db
def test_an_earlier_calibration_that_missed_its_curve_is_not_a_start(two_rate_cell, first_fit, monkeypatch):
    from twins.services import calibration, calibration_start

    missed = {**first_fit.outputs, "fit": {**first_fit.outputs["fit"], "voltage_mape_pct": 3.5}}
    TwinRun.objects.filter(pk=first_fit.pk).update(outputs=missed)
    assert calibration_start.previous_calibration(two_rate_cell, _cycles(two_rate_cell, 2)) is None
    run = calibration.calibrate_battery(two_rate_cell, cycle_index=2, budget_simulations=20)
    assert run.outputs["start"]["from"] is None
    # Named as the start anyway, it is refused with the reason, and nothing is fitted or written.
    monkeypatch.setattr(calibration, "fit_outputs", lambda *a, **k: pytest.fail("fitted"))
    records_before = LifecycleEvent.objects.count()
    with pytest.raises(calibration.ValidationFailed) as refused:
        calibration.calibrate_battery(two_rate_cell, cycle_index=2, start_from=str(first_fit.pk))
    [error] = refused.value.errors
    assert error.path == "/start_from" and "voltage MAPE 3.5 %" in error.message
    with pytest.raises(calibration.ValidationFailed) as unknown:
        calibration.calibrate_battery(two_rate_cell, cycle_index=2, start_from="not-an-id")
    assert [e.path for e in unknown.value.errors] == ["/start_from"]
    assert "no physics calibration not-an-id" in unknown.value.errors[0].message
    assert LifecycleEvent.objects.count() == records_before


@pytest.mark.django_db
def test_a_job_fixes_its_start_when_it_first_runs(two_rate_cell, first_fit, operator_client):
    from twins import calibration_tasks

    body = {"cycle": 2, "budget_simulations": 20}
    job_id = operator_client.post(_path(two_rate_cell.pk), body, format="json").json()["id"]
    assert CalibrationJob.objects.get(pk=job_id).request == {**body, "model": "auto", "start": "previous"}
    assert calibration_tasks.calibrate_physics.apply(args=[job_id]).get() == "succeeded"
    job = CalibrationJob.objects.select_related("twin_run").get(pk=job_id)
    assert job.request["start_from"] == str(first_fit.pk)
    assert job.twin_run.outputs["start"]["from"]["twin_run"] == str(first_fit.pk)
    # A job that first ran before any earlier calibration existed keeps its base start when it runs again
    # (its worker died): same input, same result, however many calibrations were stored meanwhile.
    CalibrationJob.objects.filter(pk=job_id).update(
        status="running", request={**job.request, "start_from": None}
    )
    assert calibration_tasks.calibrate_physics.apply(args=[job_id]).get() == "succeeded"
    rerun = CalibrationJob.objects.select_related("twin_run").get(pk=job_id)
    assert rerun.twin_run.outputs["start"]["from"] is None and rerun.twin_run_id != job.twin_run_id


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"start": "warm"}, "is not a valid choice"),
        ({"start": "base", "start_from": str(uuid.UUID(int=1))}, "start base fits from the base set"),
        ({"start_from": str(uuid.UUID(int=1))}, f"no physics calibration {uuid.UUID(int=1)}"),
    ],
)
def test_bad_starts_name_the_field_and_write_nothing(two_rate_cell, operator_client, body, message):
    field = "/" + next(iter(body)) if "start_from" not in body else "/start_from"
    response = operator_client.post(_path(two_rate_cell.pk), {"cycle": 2, **body}, format="json")
    assert response.status_code == 400, response.json()
    errors = response.json()["errors"]
    assert any(error["path"] == field and message in error["message"] for error in errors), errors
    assert not CalibrationJob.objects.exists()


@pytest.mark.django_db
def test_a_chained_calibration_reproduces_from_the_same_start(two_rate_cell, first_fit):
    from twins.services import calibration
    from twins.services.reproduce import reproduce

    chained = calibration.calibrate_battery(two_rate_cell, cycle_index=2, budget_simulations=SIMULATIONS)
    outcome = reproduce(chained)
    assert outcome.reason == "" and outcome.differences == [] and outcome.reproduced is True
    # The recorded start is not the calibration there now: refused, not fitted from somewhere else.
    moved = {**chained.outputs["start"]["from"], "record_hash": "0" * 64}
    TwinRun.objects.filter(pk=chained.pk).update(
        outputs={**chained.outputs, "start": {**chained.outputs["start"], "from": moved}}
    )
    chained.refresh_from_db()
    assert "the calibration it started from" in reproduce(chained).reason


def _cycles(battery, index: int):
    from lifecycle.services import curves

    return [curves.find_discharge(battery, index)]
