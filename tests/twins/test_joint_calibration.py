"""Calibrating one set of cell parameters to several discharges at once (``calibrate_discharges``)."""

from __future__ import annotations

import numpy as np
import pytest

from twins.physics.balance import electrode_balance
from twins.physics.calibration import _conditions_differ, calibrate_discharges
from twins.physics.discharge import Discharge, combined_errors, delivered_ah, mean_discharge_current
from twins.physics.model import CellParameters

pybamm = pytest.importorskip("pybamm")

TRUE_CELL = CellParameters(capacity_ah=1.85, contact_resistance_ohm=0.09, diffusivity_scale=0.5)


def _discharge(current_a: float, ambient_c: float = 25.0) -> Discharge:
    """A minute at rest, then a constant-current discharge of ``TRUE_CELL`` to 2.7 V."""
    from twins.physics.model import simulate_discharge

    time_s = np.arange(0.0, 60.0 + 8000.0 / current_a, 20.0 / current_a)
    current = np.where(time_s < 60.0, 0.0, -current_a)
    curve = simulate_discharge(TRUE_CELL, time_s, current, ambient_c, initial_voltage_v=4.19)
    below = np.flatnonzero(curve.voltage_v < 2.7)
    n = int(below[0]) if len(below) else len(curve.time_s)
    return Discharge.from_columns(
        curve.time_s[:n], curve.voltage_v[:n], current[:n], curve.temperature_c[:n], ambient_c
    )


def test_two_rates_fitted_jointly_pin_down_what_one_rate_trades_off():
    slow, fast = _discharge(1.0), _discharge(4.0, ambient_c=15.0)
    # A budget in simulations, not seconds: the same fit on any machine.
    fit = calibrate_discharges([fast, slow], budget_simulations=400, uncertainty=True)
    # Each discharge is reproduced from its own rest state, chamber and current.
    assert [entry["ambient_c"] for entry in fit.per_discharge] == [15.0, 25.0]
    for entry in fit.per_discharge:
        assert entry["coverage"] == 1.0
        assert entry["voltage_mape_pct"] < 0.5
    # The fit's errors are over every sample of both.
    counts = [len(fast.time_s), len(slow.time_s)]
    weighted = np.dot(counts, [e["voltage_mape_pct"] for e in fit.per_discharge]) / sum(counts)
    assert fit.voltage_mape_pct == pytest.approx(weighted)
    assert fit.voltage_mape_pct < fit.initial["voltage_mape_pct"]
    assert fit.message.startswith("warm start on the fullest discharge")
    assert "kinetics and transport on all discharges first" in fit.message  # two rates: they differ
    # One discharge trades the resistance against diffusion (the single-discharge service test shows
    # neither identified); the second rate separates them: both identified and near the truth.
    for name in ("contact_resistance_ohm", "diffusivity_scale"):
        assert fit.parameter_errors[name]["std_unit"] <= 0.1, name
    assert fit.params.contact_resistance_ohm == pytest.approx(TRUE_CELL.contact_resistance_ohm, rel=0.05)
    # The capacity between two open-circuit voltages (the electrode sizes trade against the balance).
    balance = electrode_balance()
    assert balance.capacity_between(fit.params, 4.2, 3.0) == pytest.approx(
        balance.capacity_between(TRUE_CELL, 4.2, 3.0), rel=0.01
    )


def test_errors_over_several_discharges_weigh_each_sample_once():
    first = {"voltage_mape_pct": 1.0, "temperature_mape_k_pct": 0.1, "temperature_mape_c_pct": 2.0,
             "voltage_rmse_v": 0.03, "temperature_rmse_k": 1.0, "coverage": 1.0}  # fmt: skip
    second = {"voltage_mape_pct": 4.0, "temperature_mape_k_pct": 0.4, "temperature_mape_c_pct": 8.0,
              "voltage_rmse_v": 0.06, "temperature_rmse_k": 2.0, "coverage": 0.8}  # fmt: skip
    combined = combined_errors([first, second], [300, 100])
    assert combined["voltage_mape_pct"] == pytest.approx(1.75)
    assert combined["temperature_mape_k_pct"] == pytest.approx(0.175)
    assert combined["voltage_rmse_v"] == pytest.approx(np.sqrt(0.75 * 0.03**2 + 0.25 * 0.06**2))
    assert combined["coverage"] == 0.8  # the least-covered discharge
    assert combined_errors([second], [100]) == second


def test_what_orders_discharges_for_the_warm_start_and_what_is_refused():
    time_s = np.arange(5.0) * 900.0
    rest_then_2a = Discharge.from_columns(time_s, np.full(5, 3.7), [0, -2, -2, -2, 0], np.full(5, 25.0), 25)
    assert mean_discharge_current(rest_then_2a) == 2.0
    assert delivered_ah(rest_then_2a) == pytest.approx(1.5)  # 2 A over three 15-minute steps
    # Only discharges at different rates or chambers have the kinetics fitted on all of them first.
    rest_then_3a = Discharge.from_columns(time_s, np.full(5, 3.7), [0, -3, -3, -3, 0], np.full(5, 25.0), 25)
    colder = Discharge.from_columns(time_s, np.full(5, 3.7), [0, -2, -2, -2, 0], np.full(5, 15.0), 15)
    assert not _conditions_differ([rest_then_2a, rest_then_2a])
    assert _conditions_differ([rest_then_2a, rest_then_3a]) and _conditions_differ([rest_then_2a, colder])
    with pytest.raises(ValueError, match="at least two samples"):
        Discharge.from_columns([0.0], [3.7], [-1.0], [25.0], 25.0)
    with pytest.raises(ValueError, match="at least one discharge"):
        calibrate_discharges([])


def test_a_discharge_logged_under_load_has_its_rest_voltage_fitted():
    """A field log that starts mid-load: its first voltage is 0.19 V below the rest voltage. Taken as the
    rest voltage, the model starts at too low a charge and the fit bends other parameters to make up; fitted
    as one more unknown, the cell and its rest voltage are both recovered."""
    loaded = _discharge(1.0)
    under_load = np.flatnonzero(loaded.current_a < 0)
    columns = (loaded.time_s, loaded.voltage_v, loaded.current_a, loaded.temperature_c)
    log = Discharge.from_columns(*(column[under_load] for column in columns), 25.0, at_rest=False)
    assert 4.19 - log.voltage_v[0] > 0.15
    fit = calibrate_discharges([log], budget_simulations=300)
    [entry] = fit.per_discharge
    assert entry["rest_voltage_fitted"] is True
    assert entry["rest_voltage_v"] == pytest.approx(4.19, abs=0.03)
    assert fit.voltage_mape_pct < 0.1 and fit.coverage == 1.0
    assert fit.params.contact_resistance_ohm == pytest.approx(TRUE_CELL.contact_resistance_ohm, rel=0.3)
    # A discharge from rest keeps its first voltage.
    at_rest = calibrate_discharges([_discharge(4.0)], budget_simulations=20)
    assert at_rest.per_discharge[0]["rest_voltage_fitted"] is False
    assert at_rest.per_discharge[0]["rest_voltage_v"] == pytest.approx(4.19, abs=1e-3)


def test_a_budget_in_simulations_makes_the_same_fit_on_any_machine(monkeypatch):
    discharge = _discharge(4.0)
    # Another machine may run the batches on another number of solver threads: the same fit.
    monkeypatch.setenv("CELLPASS_PHYSICS_THREADS", "2")
    first = calibrate_discharges([discharge], budget_simulations=60)
    monkeypatch.setenv("CELLPASS_PHYSICS_THREADS", "1")
    second = calibrate_discharges([discharge], budget_simulations=60)
    assert first.params == second.params and first.voltage_mape_pct == second.voltage_mape_pct
    assert first.voltage_mape_pct < first.initial["voltage_mape_pct"]
    # A lone simulation counts 1, a batch of n counts n/2: never more simulations than twice the budget.
    assert 60 <= first.n_simulations <= 2 * 60 + 20


def test_a_wall_clock_ceiling_ends_a_budget_in_simulations_and_says_so():
    """A service's job must end: a budget in simulations too large for the machine stops at the ceiling
    with the best fit so far, marked as machine-dependent."""
    discharge = _discharge(4.0)
    fit = calibrate_discharges([discharge], budget_simulations=100_000, wall_ceiling_s=2.0)
    assert fit.cut_short is True and fit.message.startswith("wall-clock ceiling of 2 s reached")
    assert fit.wall_s < 60 and fit.n_simulations < 2_000
    assert fit.voltage_mape_pct <= fit.initial["voltage_mape_pct"] and fit.coverage > 0
    within = calibrate_discharges([discharge], budget_simulations=20, wall_ceiling_s=600.0)
    assert within.cut_short is False and "ceiling" not in within.message


def test_a_fit_cut_short_before_any_stage_returns_its_start_not_a_worse_guess():
    """Cut short at once, only the thermal step has run, on the few minutes the start simulated. Its guess
    is not simulated (no time is left) and made the voltage worse on this discharge (45.1 % against
    44.8 %) when it was: the start comes back, with the errors of its own run."""
    fit = calibrate_discharges([_discharge(4.0)], budget_simulations=100_000, wall_ceiling_s=0.01)
    assert fit.cut_short is True and fit.n_simulations == 1
    assert fit.voltage_mape_pct == pytest.approx(fit.initial["voltage_mape_pct"], rel=1e-9)
    assert "no time to simulate the last thermal fit: the best simulated point is returned" in fit.message
