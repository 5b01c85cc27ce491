"""PyBaMM physics twin of a cell: simulate measured discharges, calibrate to them, synthesise aging.

Pure Python (PyBaMM, SciPy, NumPy): no Django models, no database. See docs/physics.md.
"""

from twins.physics.calibration import Calibration, calibrate, calibrate_discharges, evaluate
from twins.physics.discharge import Discharge
from twins.physics.model import CellParameters, DischargeSimulator, SimulatedCurve, simulate_discharge

__all__ = [
    "Calibration",
    "CellParameters",
    "Discharge",
    "DischargeSimulator",
    "SimulatedCurve",
    "calibrate",
    "calibrate_discharges",
    "evaluate",
    "simulate_discharge",
]
