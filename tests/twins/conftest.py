"""Fixtures of the twin suites."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pytest

from passport.models import Battery

# The lifecycle suite's batteries (a NASA 18650 cell and plain cells) serve the twin tests too.
from tests.lifecycle.conftest import cells, module_with_cells, nasa_cell, nasa_model  # noqa: F401
from twins.physics.model import CellParameters

# The cell the test discharge is simulated with: not the calibration's start (the base set at the
# delivered capacity), so the fit has something to find.
TRUE_CELL = CellParameters(capacity_ah=1.85, contact_resistance_ohm=0.09, diffusivity_scale=0.5)
START = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)


def simulated_discharge_csv(
    params: CellParameters = TRUE_CELL, current_a: float = 1.0, *, cycle: int = 1, start: dt.datetime = START
) -> bytes:
    """A 1 A constant-current discharge of ``params`` from full at 25 °C down to 2.7 V, as an upload."""
    from twins.physics.model import simulate_discharge

    time_s = np.arange(0.0, 8000.0 / current_a, 20.0 / current_a)
    curve = simulate_discharge(params, time_s, np.full(len(time_s), -current_a), 25.0, initial_voltage_v=4.19)
    keep = curve.voltage_v >= 2.7
    out = io.StringIO()
    out.write("time,cycle,step,voltage[V],current[A],temperature[degC]\n")
    for t, v, temp in zip(curve.time_s[keep], curve.voltage_v[keep], curve.temperature_c[keep], strict=True):
        instant = (start + dt.timedelta(seconds=float(t))).isoformat()
        out.write(f"{instant},{cycle},discharge,{v:.5f},{-current_a:.4f},{temp:.3f}\n")
    return out.getvalue().encode()


@pytest.fixture
def measured_cell(nasa_cell):  # noqa: F811  (the fixture imported above)
    from lifecycle.services import telemetry

    battery = Battery.objects.select_related("model", "operator").get(pk=nasa_cell["id"])
    telemetry.ingest(battery, simulated_discharge_csv(), actor=battery.operator, filename="discharge.csv")
    return battery


@pytest.fixture
def two_rate_cell(measured_cell):
    """The measured cell with a second upload: cycle 2, the same cell discharged at 3 A a day later."""
    from lifecycle.services import telemetry

    later = START + dt.timedelta(days=1)
    upload = simulated_discharge_csv(current_a=3.0, cycle=2, start=later)
    telemetry.ingest(measured_cell, upload, actor=measured_cell.operator, filename="discharge-3a.csv")
    return measured_cell


@pytest.fixture
def eager(settings):
    from config.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False
