"""Re-running a recorded calibration: a budget in simulations gives the same outputs, and a changed
record, other code or a wall-clock budget are reported, not glossed over."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from tests.twins.test_physics_calibration_service import SIMULATIONS
from twins.models import TwinRun

pybamm = pytest.importorskip("pybamm")


@pytest.mark.django_db
def test_a_recorded_calibration_reproduces_and_a_changed_output_is_named(measured_cell, capsys):
    from twins.services import calibration
    from twins.services.reproduce import reproduce

    run = calibration.calibrate_battery(measured_cell, budget_simulations=SIMULATIONS)
    outcome = reproduce(run)
    assert outcome.reason == "" and outcome.differences == [] and outcome.reproduced is True
    assert outcome.wall_s > 0
    # The record says one thing, the fit gives another: the command names where and fails.
    recorded = run.outputs["parameters"]["capacity_ah"]
    changed = {**run.outputs, "parameters": {**run.outputs["parameters"], "capacity_ah": recorded * 1.01}}
    TwinRun.objects.filter(pk=run.pk).update(outputs=changed)
    with pytest.raises(CommandError, match="does NOT reproduce"):
        call_command("reproduce_calibration", str(run.pk))
    printed = capsys.readouterr().out
    assert f"/parameters/capacity_ah: {recorded * 1.01!r} recorded, {recorded!r} again" in printed
    assert printed.count("✗") == 1  # nothing else differs


@pytest.mark.django_db
def test_what_cannot_be_reproduced_says_why_without_fitting(measured_cell, monkeypatch):
    from twins.services import calibration
    from twins.services.reproduce import reproduce

    run = calibration.calibrate_battery(measured_cell, budget_simulations=20)
    monkeypatch.setattr(calibration, "fit_outputs", lambda *a, **k: pytest.fail("fitted"))
    wall_clock = {key: value for key, value in run.outputs.items() if key != "budget_simulations"}
    TwinRun.objects.filter(pk=run.pk).update(outputs={**wall_clock, "budget_s": 60.0, "reproducible": False})
    run.refresh_from_db()
    assert "bounded by wall-clock time" in reproduce(run).reason
    cut = {**run.outputs, "budget_simulations": 20, "reproducible": False}
    TwinRun.objects.filter(pk=run.pk).update(outputs=cut)
    run.refresh_from_db()
    assert "cut short by the wall-clock ceiling" in reproduce(run).reason
    TwinRun.objects.filter(pk=run.pk).update(outputs={**cut, "reproducible": True}, model_hash="0" * 64)
    run.refresh_from_db()
    outcome = reproduce(run)
    assert outcome.reproduced is False and "fitted with physics code 000000000000" in outcome.reason
    with pytest.raises(CommandError, match="physics code 000000000000"):
        call_command("reproduce_calibration", str(run.pk))
    with pytest.raises(CommandError, match="no twin run not-an-id"):
        call_command("reproduce_calibration", "not-an-id")
