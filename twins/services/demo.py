"""The twins' part of the demo: one cell with a measured discharge, so its physics twin can be calibrated.

The discharge is made by the physics twin itself (the base set aged a little: 3 % less capacity and more
resistance; its thermal mass scaled to its size), a 1C discharge to ~15 % state of charge followed by a
rest, as a cycler would record it.
"""

from __future__ import annotations

import datetime as dt
import io

import numpy as np

from lifecycle.services import curves, telemetry
from passport.models import Battery

SAMPLE_S = 30.0
DISCHARGE_S = 3000.0
REST_S = 1200.0


def discharge_csv(rated_capacity_ah: float, start: dt.datetime) -> bytes:
    """A 1C discharge for DISCHARGE_S and a rest for REST_S, simulated, as a CSV upload."""
    from twins.physics.model import CellParameters, simulate_discharge

    # The model's thermal part is an 18650 can (a 2 Ah cell's); a bigger cell has more thermal mass and
    # surface, else a 5 Ah cell at 1C would heat to 56 °C where a real one warms by a few kelvin.
    cell = CellParameters(
        capacity_ah=0.97 * rated_capacity_ah,
        contact_resistance_ohm=0.03,
        heat_capacity_scale=rated_capacity_ah / 2.0,
        heat_transfer_w_m2k=50.0,
    )
    time_s = np.arange(0.0, DISCHARGE_S + REST_S, SAMPLE_S)
    current = np.where(time_s < DISCHARGE_S, -rated_capacity_ah, 0.0)
    curve = simulate_discharge(cell, time_s, current, 25.0, initial_voltage_v=4.18)
    out = io.StringIO()
    out.write("time,cycle,step,voltage[V],current[A],temperature[degC]\n")
    for t, i, v, temp in zip(curve.time_s, current, curve.voltage_v, curve.temperature_c, strict=False):
        instant = (start + dt.timedelta(seconds=float(t))).isoformat()
        out.write(f"{instant},1,{'discharge' if i < 0 else 'rest'},{v:.4f},{i:.3f},{temp:.2f}\n")
    return out.getvalue().encode()


def seed_cell_discharge(battery: Battery) -> bool:
    """Upload the demo discharge for ``battery`` once; False if it already has a discharge."""
    if curves.discharge_cycles(battery):
        return False
    start = (battery.put_into_service_at or battery.manufactured_at) + dt.timedelta(days=2)
    csv = discharge_csv(float(battery.model.rated_capacity_ah), start)
    telemetry.ingest(battery, csv, actor=battery.operator, filename=f"{battery.identifier}-discharge.csv")
    return True
