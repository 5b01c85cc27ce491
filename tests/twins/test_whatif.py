"""What-if runs: the physics (fade rates, RUL scaling), synthetic aging, and the API job around them."""

from __future__ import annotations

import numpy as np
import pytest

from passport.models import Battery
from tests.support.conformance import nasa_file
from twins.models import WhatIfRun
from twins.physics.model import CellParameters
from twins.physics.synthetic import aging_trajectories
from twins.physics.whatif import CurrentRul, Protocol, what_if

pytest.importorskip("pybamm")

CELL = CellParameters(capacity_ah=2.0)


@pytest.fixture(scope="module")
def slow_and_fast_charge():
    """0.5C and 2C charging with plating, eight cycles each (the file's only long simulations)."""
    return (
        aging_trajectories(CELL, 8, 0.5, 1.0, plating=True),
        aging_trajectories(CELL, 8, 2.0, 1.0, plating=True),
    )


def test_aging_trajectories_fade_and_fast_charging_with_plating_fades_faster(slow_and_fast_charge):
    slow, fast = slow_and_fast_charge
    for trajectory in (slow, fast):
        assert trajectory.complete and not trajectory.message
        assert len(trajectory.capacity_ah) == 8
        # From cycle 2 (the first starts from the rest state): capacity only falls, losses only grow.
        assert np.all(np.diff(trajectory.capacity_ah[1:]) < 0)
        assert np.all(np.diff(trajectory.lost_ah) > 0)
    per_cycle = [np.polyfit(np.arange(2, 9), t.lost_ah[1:], 1)[0] for t in (slow, fast)]
    assert per_cycle[1] > 1.1 * per_cycle[0]
    assert fast.capacity_ah[-1] < slow.capacity_ah[-1]


def test_what_if_scales_the_rul_by_the_fade_ratio():
    protocols = [Protocol("1C charge", 1.0), Protocol("2C charge", 2.0)]
    current = CurrentRul(median_cycles=400, lower_cycles=250, upper_cycles=700, threshold=0.7)
    result = what_if(CELL, protocols, "1C charge", current, cycles=10)
    base, fast = result["protocols"]
    assert result["model"] == "physics.whatif" and result["physics"]["pybamm"]
    assert base["relative_rate"] == pytest.approx(1.0)
    assert base["rul"]["median_cycles"] == pytest.approx(400)
    assert fast["fade_per_cycle"] > base["fade_per_cycle"] > 0
    assert fast["relative_rate"] > 1.1
    assert fast["rul"]["median_cycles"] == pytest.approx(400 / fast["relative_rate"])
    for outcome in result["protocols"]:
        rul = outcome["rul"]
        assert rul["lower_cycles"] <= rul["median_cycles"] <= rul["upper_cycles"]
        assert outcome["cycles_simulated"] == 10 and outcome["warnings"] == []
        assert outcome["settings"]["charge_c_rate"] in (1.0, 2.0)
    assert result["runtime_s"] > 0 and result["assumptions"]


def test_what_if_without_a_forecast_reports_rates_but_no_rul():
    result = what_if(
        CELL, [Protocol("1C", 1.0)], "1C", None, cycles=10, plating=False, missing=["a health twin run"]
    )
    [outcome] = result["protocols"]
    assert outcome["relative_rate"] == pytest.approx(1.0) and outcome["fade_per_cycle"] > 0
    assert outcome["rul"] == {"insufficient_data": True, "missing": ["a health twin run"]}
    assert result["current_rul"]["insufficient_data"] is True


def test_what_if_refuses_an_unknown_baseline():
    with pytest.raises(ValueError, match="baseline"):
        what_if(CELL, [Protocol("1C", 1.0)], "2C", None, cycles=10)


# --- the API and the job ---------------------------------------------------------------------------

QUICK = {"name": "1C", "charge_c_rate": 1.0, "discharge_c_rate": 1.0, "ambient_c": 25}
# The SPM without plating: 10 cycles in about a second.
QUICK_BODY = {"protocols": [QUICK], "baseline": "1C", "threshold": 0.7, "cycles": 10, "plating": False}


def _path(battery_id) -> str:
    return f"/api/batteries/{battery_id}/what-if/"


def _body(**changes) -> dict:
    return {**QUICK_BODY, **changes}


def _protocol(**changes) -> dict:
    return {**QUICK, **changes}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body, path",
    [
        (_body(protocols=[_protocol(charge_c_rate=0)]), "/protocols/0/charge_c_rate"),
        (_body(protocols=[_protocol(charge_c_rate=5.5)]), "/protocols/0/charge_c_rate"),
        (_body(protocols=[_protocol(discharge_c_rate=-1)]), "/protocols/0/discharge_c_rate"),
        (_body(protocols=[_protocol(ambient_c=61)]), "/protocols/0/ambient_c"),
        (_body(protocols=[_protocol(ambient_c=-21)]), "/protocols/0/ambient_c"),
        (_body(protocols=[_protocol(charge_rate=2)]), "/protocols/0/charge_rate"),
        (_body(protocols=[]), "/protocols"),
        (_body(protocols=[_protocol(name=f"p{i}") for i in range(5)]), "/protocols"),
        (_body(protocols=[QUICK, _protocol(charge_c_rate=2.0)]), "/protocols/1/name"),
        (_body(baseline="2C"), "/baseline"),
        (_body(threshold=1.0), "/threshold"),
        (_body(threshold=0), "/threshold"),
        (_body(cycles=9), "/cycles"),
        (_body(cycles=101), "/cycles"),
    ],
)
def test_bad_fields_are_named_and_nothing_is_written(nasa_cell, operator_client, body, path):
    response = operator_client.post(_path(nasa_cell["id"]), body, format="json")
    assert response.status_code == 400, response.json()
    assert path in [error["path"] for error in response.json()["errors"]]
    assert WhatIfRun.objects.count() == 0


@pytest.mark.django_db
def test_public_and_other_operators_are_refused(nasa_cell, public_client, other_operator_client):
    for client in (public_client, other_operator_client):
        assert client.post(_path(nasa_cell["id"]), QUICK_BODY, format="json").status_code == 403
    assert WhatIfRun.objects.count() == 0


@pytest.mark.django_db
def test_job_runs_and_says_what_is_missing_without_a_health_twin(
    nasa_cell, operator_client, legitimate_interest_client, public_client, eager,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(_path(nasa_cell["id"]), QUICK_BODY, format="json")
    assert response.status_code == 202, response.json()
    job = response.json()
    assert job["status"] == "queued" and response["Location"] == job["url"]
    assert job["url"].endswith(f"/api/what-if/{job['id']}/")
    polled = legitimate_interest_client.get(f"/api/what-if/{job['id']}/").json()
    assert polled["status"] == "succeeded", polled["error"]
    result = polled["result"]
    assert result["current_rul"]["insufficient_data"] is True
    assert "health twin" in result["current_rul"]["missing"][0]
    [outcome] = result["protocols"]
    assert outcome["fade_per_cycle"] > 0 and outcome["rul"]["insufficient_data"] is True
    assert polled["request"]["cycles"] == 10 and polled["finished_at"]
    assert public_client.get(f"/api/what-if/{job['id']}/").status_code == 403


@pytest.fixture
def assessed_cell(nasa_cell):
    from lifecycle.services import telemetry
    from twins.services import health

    battery = Battery.objects.select_related("model", "operator").get(pk=nasa_cell["id"])
    telemetry.ingest(battery, nasa_file("B0025"), actor=battery.operator, filename="B0025.mat")
    return battery, health.assess(battery)


@pytest.mark.django_db
def test_job_scales_the_latest_forecast_and_runs_once(assessed_cell, legitimate_interest_client, monkeypatch):
    from twins import whatif_tasks
    from twins.services import whatif as service

    battery, twin = assessed_cell
    response = legitimate_interest_client.post(_path(battery.pk), QUICK_BODY, format="json")
    assert response.status_code == 202
    job_id = response.json()["id"]
    assert whatif_tasks.run_what_if.apply(args=[job_id]).get() == "succeeded"
    job = WhatIfRun.objects.get(pk=job_id)
    forecast = twin.outputs["rul"]["70%"]
    assert job.twin_run_id == twin.pk and job.result["health_twin"]["run"] == str(twin.pk)
    [outcome] = job.result["protocols"]
    assert outcome["rul"]["median_cycles"] == pytest.approx(forecast["median_cycles"])
    assert outcome["rul"]["lower_cycles"] <= outcome["rul"]["median_cycles"] <= outcome["rul"]["upper_cycles"]
    assert job.result["physics"]["cell_source"].startswith("base parameter set")
    # A redelivered message finds the job done: no second simulation, the result unchanged.
    monkeypatch.setattr(service, "evaluate", lambda *args: pytest.fail("ran twice"))
    assert whatif_tasks.run_what_if.apply(args=[job_id]).get() == "succeeded"
    assert WhatIfRun.objects.get(pk=job_id).result == job.result


@pytest.mark.django_db
def test_a_threshold_without_a_forecast_is_insufficient_data(assessed_cell):
    from twins.services import whatif as service

    _, twin = assessed_cell
    rul, missing = service.current_rul(twin, 0.75)
    assert rul is None and "75%" in missing[0] and "70%" in missing[0]
    rul, missing = service.current_rul(twin, 0.7)
    assert rul is not None and rul.lower_cycles <= rul.median_cycles <= rul.upper_cycles and not missing


@pytest.mark.django_db
def test_a_failing_simulation_fails_the_job_with_its_error(nasa_cell, operator_client, monkeypatch):
    from twins.services import whatif as service

    def broken(*args):
        raise RuntimeError("solver gave up")

    monkeypatch.setattr(service, "evaluate", broken)
    job_id = operator_client.post(_path(nasa_cell["id"]), QUICK_BODY, format="json").json()["id"]
    job = service.run(job_id)
    assert job.status == "failed" and "solver gave up" in job.error and job.result is None
    assert operator_client.get(f"/api/what-if/{job_id}/").json()["status"] == "failed"


def test_the_worker_registers_the_task():
    """Autodiscovery only imports twins.tasks; TwinsConfig.ready imports the what-if task for workers."""
    from config.celery import app

    app.loader.import_default_modules()
    assert "twins.run_what_if" in app.tasks
