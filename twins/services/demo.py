"""The twins' part of the demo: one cell with measured discharges, so its physics twin can be calibrated.

The discharges are made by the physics twin itself (the base set aged a little: 3 % less capacity and more
resistance; its thermal mass scaled to its size): a 1C and, a day later, a 2C discharge, each to ~15 %
state of charge between a minute's rest before (the rest voltage the fit starts from) and 20 minutes
after, as a cycler would record them. Either calibrates the cell; both together pin down more of it.
"""

from __future__ import annotations

import datetime as dt
import io

import numpy as np

from lifecycle.services import curves, telemetry
from passport.models import Battery

SAMPLE_S = 30.0  # at 1C; a faster discharge is sampled proportionally faster
LEAD_REST_S = 60.0
DISCHARGE_S = 3000.0  # at 1C; a faster discharge takes out the same charge in proportionally less time
REST_S = 1200.0
# (cycle index as uploaded, C-rate)
DISCHARGES = ((1, 1.0), (2, 2.0))


def discharge_csv(rated_capacity_ah: float, start: dt.datetime, c_rate: float = 1.0, cycle: int = 1) -> bytes:
    """A rest, a discharge at ``c_rate`` to ~15 % state of charge and a rest, simulated, as an upload."""
    from twins.physics.model import CellParameters, simulate_discharge

    # The model's thermal part is an 18650 can (a 2 Ah cell's); a bigger cell has more thermal mass and
    # surface, else a 5 Ah cell at 1C would heat to 56 °C where a real one warms by a few kelvin.
    cell = CellParameters(
        capacity_ah=0.97 * rated_capacity_ah,
        contact_resistance_ohm=0.03,
        heat_capacity_scale=rated_capacity_ah / 2.0,
        heat_transfer_w_m2k=50.0,
    )
    discharge_s = DISCHARGE_S / c_rate
    time_s = np.arange(0.0, LEAD_REST_S + discharge_s + REST_S, SAMPLE_S / c_rate)
    discharging = (time_s >= LEAD_REST_S) & (time_s < LEAD_REST_S + discharge_s)
    current = np.where(discharging, -c_rate * rated_capacity_ah, 0.0)
    curve = simulate_discharge(cell, time_s, current, 25.0, initial_voltage_v=4.18)
    out = io.StringIO()
    out.write("time,cycle,step,voltage[V],current[A],temperature[degC]\n")
    for t, i, v, temp in zip(curve.time_s, current, curve.voltage_v, curve.temperature_c, strict=False):
        instant = (start + dt.timedelta(seconds=float(t))).isoformat()
        out.write(f"{instant},{cycle},{'discharge' if i < 0 else 'rest'},{v:.4f},{i:.3f},{temp:.2f}\n")
    return out.getvalue().encode()


def seed_cell_discharge(battery: Battery) -> bool:
    """Upload the demo discharges for ``battery`` once; False if it already has a discharge."""
    if curves.discharge_cycles(battery):
        return False
    first_day = (battery.put_into_service_at or battery.manufactured_at) + dt.timedelta(days=2)
    rated = float(battery.model.rated_capacity_ah)
    for day, (cycle, c_rate) in enumerate(DISCHARGES):
        csv = discharge_csv(rated, first_day + dt.timedelta(days=day), c_rate, cycle)
        name = f"{battery.identifier}-discharge-{c_rate:g}C.csv"
        telemetry.ingest(battery, csv, actor=battery.operator, filename=name)
    return True
