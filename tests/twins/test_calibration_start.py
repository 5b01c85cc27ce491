"""A battery's calibration starts from its own earlier calibration, which becomes one of its inputs."""

from __future__ import annotations

import datetime as dt
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


@pytest.fixture
def sibling(operator_client, nasa_model):
    """Another cell of the measured cell's model, with the same 1 A discharge and no calibration yet."""
    from lifecycle.services import telemetry
    from passport.models import Battery
    from tests.lifecycle.conftest import register
    from tests.support.fixtures import cell_rows
    from tests.twins.conftest import START, simulated_discharge_csv

    row = {**cell_rows(1, prefix="SIB")[0], "model": "NASA-18650", "manufactured_at": "2007-01-01T00:00:00Z"}
    [registered] = register(operator_client, [row])
    battery = Battery.objects.select_related("model", "operator").get(pk=registered["id"])
    # The same discharge an hour later (one file is one battery's: the same bytes twice are refused).
    upload = simulated_discharge_csv(start=START + dt.timedelta(hours=1))
    telemetry.ingest(battery, upload, actor=battery.operator, filename="discharge.csv")
    return battery


@pytest.mark.django_db
def test_start_model_starts_a_first_calibration_from_another_battery_of_its_model(
    two_rate_cell, first_fit, sibling
):
    from twins.physics.calibration import carried_forward
    from twins.physics.model import CellParameters
    from twins.services import calibration, calibration_start
    from twins.services.reproduce import reproduce

    # The default start looks only at the battery's own calibrations: the sibling has none.
    default = calibration.calibrate_battery(sibling, cycle_index=1, budget_simulations=SIMULATIONS)
    assert default.outputs["start"]["from"] is None
    run = calibration.calibrate_battery(sibling, cycle_index=1, budget_simulations=SIMULATIONS, start="model")
    start = run.outputs["start"]
    assert start["from"]["twin_run"] == str(first_fit.pk)
    assert start["from"]["battery"] == two_rate_cell.identifier != sibling.identifier
    [before], [now] = first_fit.outputs["discharges"], run.outputs["discharges"]
    expected = carried_forward(
        CellParameters(**first_fit.outputs["parameters"]), before["delivered_ah"], now["delivered_ah"]
    )
    assert start["parameters"] == pytest.approx(expected.as_dict())
    # The other battery's calibration is an input of this one, so it is another run than the base start's.
    record = LifecycleEvent.objects.get(pk=run.record_id)
    assert record.payload["inputs"] == [now["record_hash"], first_fit.record.record_hash]
    assert run.pk != default.pk and run.input_hash != default.input_hash
    # Its start knew the cell the discharge was simulated from, the base set did not: with the same
    # budget, the fit from the other battery's ends closer (0.12 % against 0.20 %).
    assert run.outputs["fit"]["voltage_mape_pct"] < default.outputs["fit"]["voltage_mape_pct"]
    # A battery's own earlier calibration comes first, with either start.
    for start_name in ("previous", "model"):
        found = calibration_start.find_start(two_rate_cell, _cycles(two_rate_cell, 2), start_name)
        assert found == first_fit
    assert calibration_start.find_start(two_rate_cell, _cycles(two_rate_cell, 1), "previous") is None
    assert calibration_start.find_start(sibling, _cycles(sibling, 1), "base") is None
    # Reproduced from the same start: the other battery's calibration is found again.
    outcome = reproduce(run)
    assert outcome.reason == "" and outcome.differences == [] and outcome.reproduced is True


@pytest.mark.django_db
def test_a_job_with_start_model_fixes_the_other_batterys_calibration(first_fit, sibling, operator_client):
    from twins import calibration_tasks

    body = {"cycle": 1, "budget_simulations": 20, "start": "model"}
    job_id = operator_client.post(_path(sibling.pk), body, format="json").json()["id"]
    assert calibration_tasks.calibrate_physics.apply(args=[job_id]).get() == "succeeded"
    job = CalibrationJob.objects.select_related("twin_run").get(pk=job_id)
    assert job.request["start_from"] == str(first_fit.pk)
    assert job.twin_run.outputs["start"]["from"]["twin_run"] == str(first_fit.pk)


@pytest.mark.django_db
def test_the_model_start_prefers_a_good_fit_then_the_nearest_charge(two_rate_cell, first_fit, sibling):
    from twins.services import calibration, calibration_start

    def recorded_mape(run, mape):
        # The rule reads the recorded figures; a fit of the whole discharge to ``mape`` % is recorded.
        fit = {**run.outputs["fit"], "voltage_mape_pct": mape, "coverage": 1.0}
        TwinRun.objects.filter(pk=run.pk).update(outputs={**run.outputs, "fit": fit})
        run.refresh_from_db()

    # Two calibrations of the first cell: the 1 A discharge, which delivered the charge the sibling's 1 A
    # discharge did, and the 3 A one, which delivered less.
    fast = calibration.calibrate_battery(two_rate_cell, cycle_index=2, budget_simulations=SIMULATIONS)
    [slow_entry], [fast_entry] = first_fit.outputs["discharges"], fast.outputs["discharges"]
    assert fast_entry["discharge_ah"] < slow_entry["discharge_ah"] == _cycles(sibling, 1)[0].discharge_ah

    def find():
        return calibration_start.model_calibration(sibling, _cycles(sibling, 1))

    recorded_mape(first_fit, 0.5)
    recorded_mape(fast, 0.5)
    assert find() == first_fit  # both met 1 %: the nearer in charge
    recorded_mape(first_fit, 2.5)
    assert find() == fast  # only the farther one met 1 %: it
    recorded_mape(fast, 2.0)
    assert find() == first_fit  # neither met 1 %: the nearer in charge again
    recorded_mape(first_fit, 3.5)
    assert find() == fast  # the nearer one missed its curve: never a start, however near
    recorded_mape(fast, 3.5)
    assert find() is None


@pytest.mark.django_db
def test_another_models_calibration_is_neither_found_nor_accepted(two_rate_cell, first_fit, cells):
    from lifecycle.services import telemetry
    from passport.models import Battery
    from tests.twins.conftest import START, simulated_discharge_csv
    from twins.services import calibration, calibration_start

    other = Battery.objects.select_related("model").get(pk=cells[0]["id"])
    assert other.model_id != two_rate_cell.model_id
    assert calibration_start.find(other, str(first_fit.pk)) is None
    assert calibration_start.find(two_rate_cell, str(first_fit.pk)) == first_fit
    upload = simulated_discharge_csv(start=START + dt.timedelta(hours=2))
    telemetry.ingest(other, upload, actor=other.operator, filename="discharge.csv")
    assert calibration_start.find_start(other, _cycles(other, 1), "model") is None
    records_before = LifecycleEvent.objects.count()
    with pytest.raises(calibration.ValidationFailed) as refused:
        calibration.calibrate_battery(other, cycle_index=1, start_from=str(first_fit.pk))
    [error] = refused.value.errors
    assert error.path == "/start_from" and "of this battery or its model" in error.message
    assert LifecycleEvent.objects.count() == records_before
