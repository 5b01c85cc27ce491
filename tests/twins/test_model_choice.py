"""The calibration's own choice of model (``model="auto"``): the DFN for steady current, else the SPMe."""

from __future__ import annotations

import numpy as np
import pytest

from twins.physics.discharge import Discharge
from twins.physics.model_choice import DFN_MAX_CURRENT_CHANGES, choose_model, current_changes

pytest.importorskip("pybamm")


def _discharge(current_a: np.ndarray, step_s: float = 10.0) -> Discharge:
    time_s = np.arange(len(current_a)) * step_s
    voltage = np.linspace(4.2, 3.0, len(current_a))
    return Discharge.from_columns(time_s, voltage, current_a, np.full(len(current_a), 25.0), 25.0)


def _steady(n: int = 300, seed: int = 0) -> Discharge:
    # NASA's constant current as logged: 1.003-1.009 A, a rest before and after.
    noise = np.random.default_rng(seed).uniform(-0.003, 0.003, n)
    current = np.concatenate(([0.0], -1.006 + noise, np.zeros(20)))
    return _discharge(current)


def _pulsed(n: int = 300) -> Discharge:
    return _discharge(np.where(np.arange(n) % 2 == 0, -4.0, 0.0))  # NASA's 0.05 Hz square wave, sampled


def test_measurement_noise_is_not_a_change_of_current():
    assert current_changes(_steady()) == 2  # on, off


def test_a_steady_profile_gets_the_dfn_and_a_pulsed_one_the_spme():
    steady = choose_model([_steady()])
    assert steady.model == "DFN" and "steady" in steady.reason and "at most 2 changes" in steady.reason
    pulsed = choose_model([_pulsed()])
    assert pulsed.model == "SPMe" and "299 changes" in pulsed.reason


def test_a_joint_fit_takes_the_spme_if_any_discharge_is_dynamic():
    assert choose_model([_steady(), _steady(seed=1)]).model == "DFN"
    assert choose_model([_steady(), _pulsed()]).model == "SPMe"


def test_the_threshold_is_inclusive():
    steps = np.repeat([-1.0, -2.0] * 20, 5)[: 5 * (DFN_MAX_CURRENT_CHANGES + 1)]
    at_limit = _discharge(steps)
    assert current_changes(at_limit) == DFN_MAX_CURRENT_CHANGES
    assert choose_model([at_limit]).model == "DFN"
    over = _discharge(np.repeat([-1.0, -2.0] * 20, 5)[: 5 * (DFN_MAX_CURRENT_CHANGES + 2)])
    assert choose_model([over]).model == "SPMe"


def test_an_auto_calibration_names_the_model_it_fitted():
    from twins.physics.calibration import calibrate_discharges

    fit = calibrate_discharges([_steady(120)], model="auto", budget_simulations=12)
    assert fit.model == "DFN" and fit.message.startswith("model chosen: DFN")
