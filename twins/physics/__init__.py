"""PyBaMM physics twin of a cell: simulate measured discharges, calibrate to them, synthesise aging.

Pure Python (PyBaMM, SciPy, NumPy): no Django models, no database. See docs/physics.md.
"""

from twins.physics.calibration import Calibration, calibrate, evaluate
from twins.physics.model import CellParameters, DischargeSimulator, SimulatedCurve, simulate_discharge

__all__ = [
    "Calibration",
    "CellParameters",
    "DischargeSimulator",
    "SimulatedCurve",
    "calibrate",
    "evaluate",
    "simulate_discharge",
]
