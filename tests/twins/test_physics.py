"""The PyBaMM physics twin: sensible simulations, calibration on real NASA data, identifiability."""

from __future__ import annotations

import numpy as np
import pytest

from twins.physics.balance import MIN_OCP_SLOPE, electrode_balance
from twins.physics.calibration import PHASES, calibrate, evaluate
from twins.physics.model import CellParameters, DischargeSimulator, simulate_discharge
from twins.physics.profile import clean_profile, held_durations, level_steady

pytest.importorskip("pybamm")


def _constant_discharge(amps: float, seconds: float, step_s: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    time_s = np.arange(0.0, seconds + step_s, step_s)
    current = np.full_like(time_s, -amps)
    current[0] = 0.0  # at rest before the load, as in the NASA files
    return time_s, current


def test_simulated_discharge_is_physical():
    time_s, current = _constant_discharge(4.0, 1500.0)
    curve = simulate_discharge(CellParameters(), time_s, current, ambient_c=24.0)
    assert curve.coverage == pytest.approx(1.0)
    assert np.all(np.diff(curve.voltage_v[1:]) < 1e-4)  # voltage only falls under constant load
    assert curve.voltage_v[1] < curve.voltage_v[0] - 0.05  # ohmic/kinetic drop at the step
    assert curve.temperature_c[-1] > 24.0 + 3.0  # 2C heats the cell above ambient


def test_cut_off_reports_coverage_instead_of_failing():
    # 4 A for 4000 s is 4.4 Ah from a 2 Ah cell: the model hits its cut-off part way.
    time_s, current = _constant_discharge(4.0, 4000.0)
    curve = simulate_discharge(CellParameters(capacity_ah=2.0), time_s, current, ambient_c=24.0)
    assert 0.2 < curve.coverage < 0.9
    assert len(curve.time_s) < len(time_s) and "stopped" in curve.message


@pytest.fixture(scope="module")
def b0029():
    from lifecycle.telemetry import read_nasa_mat
    from lifecycle.telemetry.frame import Step
    from tests.support.conformance import nasa_file

    frame = read_nasa_mat(nasa_file("B0029"))
    segments = frame.segments()
    found = []
    for info in frame.cycles:
        if info.step == Step.DISCHARGE and info.index in segments:
            a, b = segments[info.index]
            columns = (frame.time[a:b], frame.voltage_v[a:b], frame.current_a[a:b], frame.temperature_c[a:b])
            found.append((columns, info.ambient_temperature_c))
    fit, held = found[1], found[2]
    return calibrate(*fit[0], fit[1], budget_simulations=90), held


def test_calibration_on_nasa_discharge(b0029):
    calibration, (held_columns, held_ambient) = b0029
    # The benchmark (120 s) measures ~0.5 % / 0.11 % (K); 90 simulations reach ~0.56 %, and the thresholds
    # leave margin for solver differences between machines.
    assert calibration.coverage == pytest.approx(1.0)
    assert calibration.voltage_mape_pct < 1.5
    assert calibration.temperature_mape_k_pct < 0.3
    assert calibration.voltage_mape_pct < 0.5 * calibration.initial["voltage_mape_pct"]
    assert calibration.temperature_mape_k_pct < 0.5 * calibration.initial["temperature_mape_k_pct"]
    held = evaluate(calibration, *held_columns, held_ambient)
    assert held["voltage_mape_pct"] < 2.0 and held["temperature_mape_k_pct"] < 0.4
    # The fitted positive OCP stays a falling curve (the rest voltage maps to one state of charge): the
    # penalty is soft, so the slope may come closer to zero than MIN_OCP_SLOPE, but not reach it.
    assert electrode_balance().shape_violation(calibration.params.ocp_shape).max() < MIN_OCP_SLOPE
    # Where the time went: each part of the fit it reached, in order, the last at most the fit's time.
    phases = calibration.phases_s
    assert list(phases) == [p for p in PHASES if p in phases]
    assert {"first_run", "electrochemical", "final_run"} <= set(phases)
    assert list(phases.values()) == sorted(phases.values()) and phases["final_run"] <= calibration.wall_s


def test_known_parameters_are_recovered():
    truth = CellParameters(capacity_ah=1.8, contact_resistance_ohm=0.03, heat_transfer_w_m2k=20.0)
    time_s, current = _constant_discharge(4.0, 1400.0, step_s=20.0)
    sim = DischargeSimulator(time_s, current, 24.0, initial_c=24.0, initial_voltage_v=4.19)
    curve = sim.run(truth)
    t, (i,), _ = clean_profile(time_s, current)
    start = CellParameters(capacity_ah=2.2, contact_resistance_ohm=0.08, heat_transfer_w_m2k=8.0)
    fitted = calibrate(t, curve.voltage_v, i, curve.temperature_c, 24.0, start=start, budget_simulations=300,
                       fit_ambient=False)  # fmt: skip
    assert fitted.voltage_mape_pct < 0.2 and fitted.temperature_mape_k_pct < 0.05
    # The capacity between two open-circuit voltages and the heat transfer coefficient are identifiable
    # from one curve; the electrode sizes and the balance trade off against each other, and resistance
    # against the kinetic scale, so those are not asserted.
    balance = electrode_balance()
    assert balance.capacity_between(fitted.params, 4.2, 3.0) == pytest.approx(
        balance.capacity_between(truth, 4.2, 3.0), rel=0.05
    )
    assert fitted.params.heat_transfer_w_m2k == pytest.approx(20.0, rel=0.2)


def test_initial_state_follows_the_rest_voltage():
    balance = electrode_balance()
    full = balance.initial_state(CellParameters(), None)
    assert full == pytest.approx((0.9106, 0.2638), abs=1e-3)  # Chen2020's own balance at 4.2 V
    x, y = balance.initial_state(CellParameters(), 3.7)
    assert x < full[0] and y > full[1]  # part-discharged: less lithium in the negative, more in the positive


def test_dfn_runs_through_the_same_api():
    time_s, current = _constant_discharge(2.0, 1800.0, step_s=30.0)
    spme = simulate_discharge(CellParameters(), time_s, current, ambient_c=25.0)
    dfn = simulate_discharge(CellParameters(), time_s, current, ambient_c=25.0, model="DFN")
    assert dfn.coverage == pytest.approx(1.0) and len(dfn.voltage_v) == len(spme.voltage_v)
    # At 1C the SPMe is a close approximation of the DFN.
    assert np.max(np.abs(dfn.voltage_v - spme.voltage_v)) < 0.03
    assert abs(dfn.temperature_c[-1] - spme.temperature_c[-1]) < 0.5
    fitted = calibrate(time_s, dfn.voltage_v, current, dfn.temperature_c, 25.0, model="DFN", budget_s=10,
                       start=CellParameters(capacity_ah=1.9), fit_ambient=False)  # fmt: skip
    assert fitted.model == "DFN" and fitted.coverage == pytest.approx(1.0)
    assert fitted.voltage_mape_pct <= fitted.initial["voltage_mape_pct"]


def test_a_batch_of_trials_gives_what_each_trial_gives_alone():
    time_s, current = _constant_discharge(4.0, 1400.0, step_s=20.0)
    sim = DischargeSimulator(time_s, current, 24.0, initial_c=24.0, initial_voltage_v=4.19, threads=2)
    trials = [
        (CellParameters(contact_resistance_ohm=0.03), 0.0),
        (CellParameters(contact_resistance_ohm=0.06), 1.5),
        # Far too resistive: stops at the cut-off within seconds, without spoiling the others.
        (CellParameters(contact_resistance_ohm=0.5, reaction_rate_scale=0.01), 0.0),
        (CellParameters(contact_resistance_ohm=0.03), 0.0, 3.9),  # from another rest voltage
    ]
    batch = sim.run_many(trials)
    alone = [sim.run(*trial) for trial in trials]
    assert [curve.coverage for curve in batch] == [curve.coverage for curve in alone]
    assert batch[2].coverage < 0.1 and "stopped" in batch[2].message
    for together, single in zip(batch, alone, strict=True):
        np.testing.assert_array_equal(together.voltage_v, single.voltage_v)
        np.testing.assert_array_equal(together.temperature_c, single.temperature_c)
    # The warmer chamber and the lower start show up where they should.
    assert batch[1].temperature_c[-1] > batch[0].temperature_c[-1]
    assert batch[3].voltage_v[0] < batch[0].voltage_v[0] and batch[3].time_s[-1] < batch[0].time_s[-1]
    assert sim.n_runs == 2 * len(trials) and sim.run_many([]) == []


def test_solver_threads_come_from_the_setting(monkeypatch):
    from twins.physics.model import physics_threads

    monkeypatch.setenv("CELLPASS_PHYSICS_THREADS", "3")
    assert physics_threads() == 3
    monkeypatch.setenv("CELLPASS_PHYSICS_THREADS", "two")
    with pytest.raises(ValueError, match="CELLPASS_PHYSICS_THREADS must be a whole number, not 'two'"):
        physics_threads()
    monkeypatch.delenv("CELLPASS_PHYSICS_THREADS")
    assert physics_threads() >= 1


def test_across_life_positions_leave_each_fit_a_held_out_discharge():
    from benchmarks.physics_calibration import life_positions

    assert life_positions(72, 4) == [1, 24, 47, 70]
    assert life_positions(4, 4) == [1, 2]  # fewer distinct discharges than asked: each once
    for count in range(3, 80):
        positions = life_positions(count, 5)
        assert positions[0] == 1 and positions[-1] == count - 2


def test_steady_current_noise_is_levelled_and_keeps_its_charge():
    rng = np.random.default_rng(3)
    time_s = np.cumsum(rng.uniform(12.0, 14.0, 300))
    noise = rng.uniform(-0.003, 0.003, 299)
    current = np.concatenate(([0.0], -1.006 + noise[:249], noise[249:]))
    levelled = level_steady(time_s, current)
    assert levelled[0] == 0.0  # the rest before the load is its own run
    assert len(np.unique(levelled[1:250])) == 1 and levelled[1] == pytest.approx(-1.006, abs=0.003)
    assert len(np.unique(levelled[250:])) == 1 and abs(levelled[-1]) < 0.003
    held = held_durations(time_s)
    assert held.sum() == pytest.approx(time_s[-1] - time_s[0])
    assert np.dot(held, levelled) == pytest.approx(np.dot(held, current), rel=1e-12)


def test_pulses_and_steps_are_kept_as_measured():
    time_s = np.arange(0.0, 400.0, 10.0)
    pulses = np.where(np.arange(len(time_s)) % 2 == 0, -4.0, 0.0)  # NASA's 0.05 Hz square wave, sampled
    assert np.array_equal(level_steady(time_s, pulses), pulses)
    steps = np.where(time_s < 200.0, -1.0, -2.0)
    steps[5] = -1.015  # beyond the 10 mA band of a 1 A step: a step of its own
    assert np.array_equal(level_steady(time_s, steps), steps)


def test_the_closing_runs_are_priced_at_the_slowest_recent_lone_run_not_the_mean(monkeypatch):
    import twins.physics.model as model

    time_s, current = _constant_discharge(1.0, 600.0)
    sim = DischargeSimulator(time_s, current, 25.0)
    durations = iter([2.0, 0.1, 0.1, 0.1, 0.1, 0.5, 0.2])  # compile, far-off trials, then near the fit
    clock = {"now": 0.0}

    def solve(inputs):
        clock["now"] += next(durations)
        return [model.SimulatedCurve(time_s, time_s, time_s, 1.0) for _ in inputs]

    monkeypatch.setattr(sim, "_solve", solve)
    monkeypatch.setattr(model.time, "perf_counter", lambda: clock["now"])
    for _ in range(5):
        sim.run(CellParameters())
    assert sim.mean_run_s == pytest.approx(0.1) and sim.recent_run_s == pytest.approx(0.1)
    sim.run(CellParameters())
    sim.run(CellParameters())
    assert sim.mean_run_s == pytest.approx(1.1 / 6) and sim.recent_run_s == pytest.approx(0.5)


class _SteppedClock:
    """A wall clock that each simulation advances by ``run_s``; it expects 1 s a simulation, or
    ``batch_point_s`` a point of a batch (a lone point is 1 s all the same)."""

    def __init__(self, hard_stops: bool, run_s: float, batch_point_s: float = 1.0) -> None:
        self.hard_stops, self.run_s, self.batch_point_s, self.t = hard_stops, run_s, batch_point_s, 0.0

    def now(self) -> float:
        return self.t

    def batch(self, simulators, n: int) -> float:
        return float(n) if n == 1 else self.batch_point_s * n


@pytest.mark.parametrize("hard_stops", [True, False])
def test_a_batch_near_its_stage_end_runs_in_chunks_and_stops_there_on_a_wall_clock(hard_stops):
    from types import SimpleNamespace

    from twins.physics.fit import BudgetExhausted, Fit

    clock = _SteppedClock(hard_stops, run_s=3.0)  # the solves grind: 3 s each where 1 s was expected
    fit = Fit.__new__(Fit)  # no discharges needed: only the batching is under test
    fit.clock, fit.simulators = clock, [SimpleNamespace(threads=2)]
    batches = []

    def run_batch(points, retry=True):
        batches.append(list(points))
        clock.t += clock.run_s * len(points)
        return [[f"curve {point}"] for point in points]

    fit.run_batch = run_batch
    # Far from the stage's end: one batch, whatever the clock.
    assert [p for p, _ in fit.run_until(list(range(6)), until=100.0)] == list(range(6))
    assert batches == [list(range(6))]
    batches.clear()
    clock.t = 0.0
    got = []
    if hard_stops:
        # Near it (6 s expected, 11 s left: within twice that): two at a time, and no chunk starts after
        # the end. The points simulated before it are kept.
        with pytest.raises(BudgetExhausted):
            got.extend(p for p, _ in fit.run_until(list(range(6)), until=11.0))
        assert batches == [[0, 1], [2, 3]] and got == [0, 1, 2, 3] and clock.t == 12.0
        # Nor one that would not end by then (at 6 s, a chunk of 2 s does not fit in 7): nothing past it.
        batches.clear()
        clock.t, got = 0.0, []
        with pytest.raises(BudgetExhausted):
            got.extend(p for p, _ in fit.run_until(list(range(6)), until=7.0))
        assert batches == [[0, 1]] and got == [0, 1] and clock.t == 6.0
        # A lone point that would end past the end is not started either.
        batches.clear()
        clock.t = 6.0
        with pytest.raises(BudgetExhausted):
            list(fit.run_until([0], until=6.5))
        assert batches == []
    else:
        # Counted in simulations, a batch is one batch however long it takes: the same fit on any machine.
        got.extend(p for p, _ in fit.run_until(list(range(6)), until=11.0))
        assert batches == [list(range(6))] and got == list(range(6))


def _rosenbrock_stage(
    stop_on, *, batch_point_s: float = 1.0, chords=False, notes: list | None = None
) -> tuple[dict, _SteppedClock]:
    """A stage over two unit coordinates whose residuals are Rosenbrock's (many iterations to converge), on
    a clock that each lone simulation advances by 1 s and each point of a batch by ``batch_point_s``,
    stopped at ``stop_on(clock)``; no PyBaMM. ``chords`` and ``notes`` go to ``Fit.stage``."""
    from types import SimpleNamespace

    from twins.physics.fit import Fit, Trial

    clock = _SteppedClock(False, run_s=1.0, batch_point_s=batch_point_s)
    fit = Fit.__new__(Fit)
    fit.clock, fit.simulators = clock, [SimpleNamespace(threads=2)]
    fit.pack = lambda base, names: np.array([0.05, 0.95])
    fit.unpack = lambda base, names, x: Trial(np.array(x, dtype=float), ())
    fit.residuals = lambda point, curves, with_temperature: curves[0]

    def run_batch(points, retry=True):
        clock.t += clock.run_s if len(points) == 1 else clock.batch_point_s * len(points)
        return [[np.array([10 * (p.params[1] - p.params[0] ** 2), 1 - p.params[0]])] for p in points]

    fit.run_batch = run_batch
    start = Trial(np.array([0.05, 0.95]), ())
    notes = [] if notes is None else notes
    best = fit.stage(["a", "b"], start, False, stop_on(clock), n_starts=0, seed=0, notes=notes, chords=chords)
    return best, clock


def test_a_stage_reads_a_moving_stop_before_each_batch():
    """The stage reads a stop given as a function before each batch, not once at its start."""
    fixed, fixed_clock = _rosenbrock_stage(lambda clock: 10.0)
    assert 7.0 <= fixed_clock.t <= 11.0  # a batch (2-3 s here) that would pass the stop is not started
    # From 8 s on the stop reads 30 s: the stage goes on to it, and gets further down.
    moved, moved_clock = _rosenbrock_stage(lambda clock: lambda: 10.0 if clock.t < 8.0 else 30.0)
    assert 27.0 <= moved_clock.t <= 31.0 and moved["cost"] < fixed["cost"]


def test_broyden_update_meets_the_secant_condition_and_changes_nothing_across_the_step():
    from twins.physics.fit import broyden_update

    rng = np.random.default_rng(0)
    jacobian, step, change = rng.normal(size=(5, 3)), rng.normal(size=3), rng.normal(size=5)
    updated = broyden_update(jacobian, step, change)
    assert updated @ step == pytest.approx(change)  # it maps the step taken to the change seen
    across = np.cross(step, rng.normal(size=3))  # a direction orthogonal to the step
    assert updated @ across == pytest.approx(jacobian @ across)
    assert broyden_update(jacobian, np.zeros(3), change) is jacobian


def test_where_no_fresh_jacobian_fits_a_last_stage_steps_on_an_updated_one_up_to_its_stop():
    """Jacobians cost 12 s here (6 s a column), trial points 1 s: a stage that is the search's last goes on
    with trial points on a Broyden-updated Jacobian after the last fresh one, up to its stop, and gets
    further down than the same stage that ends at its last affordable Jacobian."""
    plain_notes, chord_notes = [], []
    stop_at_40 = lambda clock: 40.0  # noqa: E731
    plain, plain_clock = _rosenbrock_stage(stop_at_40, batch_point_s=6.0, notes=plain_notes)
    assert plain_clock.t <= 30.0  # the next Jacobian (12 s) would pass the stop: the stage ended there
    assert not any("Broyden" in note for note in plain_notes)
    chord, chord_clock = _rosenbrock_stage(stop_at_40, batch_point_s=6.0, chords=True, notes=chord_notes)
    assert 39.0 <= chord_clock.t <= 41.0 and chord["cost"] < plain["cost"]
    assert any("step(s) on a Broyden-updated Jacobian" in note for note in chord_notes)
    # Read when a Jacobian does not fit: a stage whose stop is not (yet) the last ends as before.
    unchanged, unchanged_clock = _rosenbrock_stage(stop_at_40, batch_point_s=6.0, chords=lambda: False)
    assert unchanged_clock.t == plain_clock.t and unchanged["cost"] == plain["cost"]


def test_the_electrochemistry_goes_on_only_where_no_polish_would_fit():
    from twins.physics.budget import ElectrochemicalStop

    stops = {}

    def stop_on(clock, polish_fits):
        stops[polish_fits] = ElectrochemicalStop(clock, 20.0, polish_fits, lambda: 40.0)
        return stops[polish_fits]

    # A polish fits after it: the stage stops at its planned 20 s, as it always did (a lone trial point
    # started before the stop may end 1 s after it: the end's reserve keeps time for it).
    always = lambda now: True  # noqa: E731
    _, clock = _rosenbrock_stage(lambda clock: stop_on(clock, always))
    assert 17.0 <= clock.t <= 21.0 and not stops[always].went_on()
    # A polish started after 15 s would not fit: at the planned stop the stage goes on to the end's reserve
    # (40 s here) instead of leaving the polish's time unused, and says so.
    early = lambda now: now < 15.0  # noqa: E731
    _, clock = _rosenbrock_stage(lambda clock: stop_on(clock, early))
    assert 37.0 <= clock.t <= 41.0 and stops[early].went_on()


def _closing_fit(now: float, hard_stops: bool = True):
    """A fit whose curves are their own residuals: just what ``_closing_run`` asks of one."""
    from types import SimpleNamespace

    runs = []

    def run(point, retry=True):
        runs.append((point, retry))
        return [point.params]  # the candidate's "curves": its residuals, set by the test

    return SimpleNamespace(
        clock=SimpleNamespace(now=lambda: now, hard_stops=hard_stops),
        closing_s=lambda: 2.0,
        run=run,
        runs=runs,
        offsets=[1.5],
        residuals=lambda point, curves, with_temperature: np.asarray(curves[0]),
    )


def test_the_closing_run_ends_in_time_or_is_not_made():
    from twins.physics.calibration import _closing_run
    from twins.physics.fit import Trial

    held = (Trial(np.array([0.02]), (4.2,)), [0.5], [np.array([0.02])])  # the best point simulated so far
    better, worse = Trial(np.array([0.01]), (4.2,)), Trial(np.array([0.03]), (4.2,))
    # Time for it (2 s expected, 3 s left): simulated, not solved again at the step limit on a wall
    # clock, and kept if it fits better, with its own chamber offsets.
    fit, notes = _closing_fit(now=7.0), []
    point, curves = _closing_run(fit, better, held, deadline=10.0, notes=notes)
    assert point is better and fit.runs == [(better, False)] and fit.offsets == [1.5] and notes == []
    # A worse one is simulated but the held point is returned, with the offsets it was simulated at.
    fit, notes = _closing_fit(now=7.0), []
    point, curves = _closing_run(fit, worse, held, deadline=10.0, notes=notes)
    assert point is held[0] and curves is held[2] and fit.offsets == [0.5] and len(fit.runs) == 1
    assert "did worse" in notes[0]
    # No time for it (2 s expected, 1 s left): not simulated at all; the held point and its own curves.
    fit, notes = _closing_fit(now=9.0), []
    point, curves = _closing_run(fit, better, held, deadline=10.0, notes=notes)
    assert point is held[0] and curves is held[2] and fit.runs == [] and fit.offsets == [0.5]
    assert notes == ["no time to simulate the last thermal fit: the best simulated point is returned"]
    # Counted in simulations the run may be solved again: the same fit on any machine.
    fit = _closing_fit(now=7.0, hard_stops=False)
    _closing_run(fit, better, held, deadline=10.0, notes=[])
    assert fit.runs == [(better, True)]


def test_chunks_next_to_the_fitted_point_are_priced_at_the_last_lone_runs_there():
    """The standard errors' Jacobian runs next to the fitted point: after a final run that ground, its
    chunks cost what that run cost, not the fit's cheaper average batch."""
    from types import SimpleNamespace

    from twins.physics.fit import BudgetExhausted, Fit

    clock = _SteppedClock(True, run_s=1.0)
    clock.closing = lambda simulators: 5.0  # the last lone run near the fit took 5 s
    fit = Fit.__new__(Fit)
    fit.clock, fit.simulators = clock, [SimpleNamespace(threads=2)]
    batches = []

    def run_batch(points, retry=True):
        batches.append(list(points))
        clock.t += clock.run_s
        return [[f"curve {point}"] for point in points]

    fit.run_batch = run_batch
    # 4 s left: a chunk of 2 at the mean (2 s) would start; priced next to the fit (5 s) it does not.
    with pytest.raises(BudgetExhausted):
        list(fit.run_until([0, 1, 2, 3], until=4.0, near_fit=True))
    assert batches == []
    assert [p for p, _ in fit.run_until([0, 1], until=4.0)] == [0, 1] and batches == [[0, 1]]


def test_a_jacobian_that_cannot_end_in_time_is_not_started():
    """Points of use only together (a Jacobian): nothing is run unless every chunk is expected to end
    in time, where chunks that each fit when started would use the reserve for nothing."""
    from types import SimpleNamespace

    from twins.physics.fit import BudgetExhausted, Fit

    clock = _SteppedClock(True, run_s=1.0)
    clock.closing = lambda simulators: 5.0  # the final run ground: 5 s a chunk next to the fit
    fit = Fit.__new__(Fit)
    fit.clock, fit.simulators = clock, [SimpleNamespace(threads=2)]
    batches = []

    def run_batch(points, retry=True):
        batches.append(list(points))
        clock.t += 5.0
        return [[f"curve {point}"] for point in points]

    fit.run_batch = run_batch
    # 12 s left, three chunks of 5 s: the first two would fit when started, the third would not.
    with pytest.raises(BudgetExhausted):
        list(fit.run_until(list(range(6)), until=12.0, near_fit=True, whole=True))
    assert batches == [] and clock.t == 0.0
    # Without ``whole`` the same points run until a chunk no longer fits (what a stage wants).
    with pytest.raises(BudgetExhausted):
        list(fit.run_until(list(range(6)), until=12.0, near_fit=True))
    assert batches == [[0, 1], [2, 3]]
    # With time for all three chunks, the Jacobian runs in them.
    batches.clear()
    clock.t = 0.0
    assert [p for p, _ in fit.run_until(list(range(6)), until=16.0, near_fit=True, whole=True)] == list(
        range(6)
    )
    assert batches == [[0, 1], [2, 3], [4, 5]]


@pytest.mark.parametrize("hard_stops", [True, False])
def test_standard_errors_are_not_made_from_a_run_cut_at_the_step_limit(hard_stops):
    from types import SimpleNamespace

    from twins.physics.fit import Fit, StepLimitReached, Trial

    clock = _SteppedClock(hard_stops, run_s=1.0)
    clock.closing = lambda simulators: 1.0
    fit = Fit.__new__(Fit)
    fit.clock, fit.simulators = clock, [SimpleNamespace(threads=2, max_steps=100)]
    fit.pack = lambda point, names: np.array([0.5, 0.5])
    fit.unpack = lambda point, names, u: Trial(np.array(u, dtype=float), ())
    fit.voltage_residuals = lambda curves: np.zeros(3)
    asked = []

    def run_batch(points, retry=True):
        asked.append(retry)
        clock.t += clock.run_s * len(points)
        # The second shifted point stops at the step limit, half way through the discharge.
        return [
            [SimpleNamespace(coverage=0.5 if p.params[1] != 0.5 else 1.0, solver_steps=100)] for p in points
        ]

    fit.run_batch = run_batch
    with pytest.raises(StepLimitReached):
        fit.standard_errors(Trial(np.array([0.5, 0.5]), ()), ["a", "b"])
    # On a wall clock the cut run is not solved again (a second capped solve at the very end of the
    # budget); counted in simulations it is, as before: the same fit on any machine.
    assert set(asked) == {not hard_stops}


def test_a_solve_stops_at_its_step_limit_and_returns_what_it_reached(monkeypatch):
    from twins.physics import model

    time_s, current = _constant_discharge(2.0, 1800.0, step_s=30.0)
    unlimited = DischargeSimulator(time_s, current, 25.0, initial_c=25.0, initial_voltage_v=4.19)
    full = unlimited.run(CellParameters())
    assert full.coverage == pytest.approx(1.0) and full.solver_steps > 100
    # One change of current (rest to load): the limit is the base plus one allowance.
    monkeypatch.setattr(model, "MAX_SOLVER_STEPS", 60)
    monkeypatch.setattr(model, "MAX_SOLVER_STEPS_PER_CHANGE", 20)
    limited = DischargeSimulator(time_s, current, 25.0, initial_c=25.0, initial_voltage_v=4.19)
    assert limited.max_steps == 80
    # Not solved again when the caller cannot wait for it (a fit's closing run on a wall clock).
    cut = limited.run_many([(CellParameters(), 0.0)], retry=False)[0]
    assert cut.solver_steps == 80 and 0.0 < cut.coverage < 1.0 and "again" not in cut.message
    assert limited._retry_sim is None
    batch = limited.run_many([(CellParameters(), 0.0), (CellParameters(capacity_ah=1.9), 0.0)])
    for curve in batch:
        # Cut, solved again at the tighter tolerance (which needs more steps still) and cut again.
        assert 0.0 < curve.coverage < 1.0 and curve.solver_steps == 80
        assert "step limit: 80 solver steps" in curve.message and curve.message.startswith("stopped at")
        assert "cut again at rtol 7e-06" in curve.message
        # What it reached is the full solve's, on the same times.
        assert len(curve.voltage_v) == len(curve.time_s) < len(full.time_s)
    np.testing.assert_allclose(batch[0].voltage_v, full.voltage_v[: len(batch[0].voltage_v)], atol=2e-4)


def test_a_solve_cut_at_the_step_limit_is_solved_again_and_kept_if_it_gets_further(monkeypatch):
    from twins.physics import model

    time_s, current = _constant_discharge(2.0, 1800.0, step_s=30.0)
    full = DischargeSimulator(time_s, current, 25.0, initial_c=25.0, initial_voltage_v=4.19).run(
        CellParameters()
    )
    monkeypatch.setattr(model, "MAX_SOLVER_STEPS", 60)
    monkeypatch.setattr(model, "MAX_SOLVER_STEPS_PER_CHANGE", 20)
    # A looser retry needs fewer steps than the limit: the second solve reaches the end.
    monkeypatch.setattr(model, "RETRY_RTOL", 1e-3)
    curve = DischargeSimulator(time_s, current, 25.0, initial_c=25.0, initial_voltage_v=4.19).run(
        CellParameters()
    )
    assert curve.coverage == pytest.approx(1.0) and curve.solver_steps < 80
    assert curve.message == "final time; solved again at rtol 0.001 after the step limit"
    np.testing.assert_allclose(curve.voltage_v, full.voltage_v, atol=1e-3)


def test_a_solve_that_grinds_through_an_emptied_electrolyte_is_cut_and_solved_again():
    """Parameters a B0045 DFN fit tried: the positive electrode's electrolyte runs empty near the end of
    the 4 °C discharge and, unbounded, this solve took 178,936 steps (67 s) on the CI machine; cut at the
    step limit and solved again at the tighter tolerance it takes ~1,200. Whether a parameter set grinds
    is chaotic, so on another CPU either solve may or may not."""
    from lifecycle.telemetry import read_nasa_mat
    from lifecycle.telemetry.frame import Step
    from tests.support.conformance import nasa_file

    frame = read_nasa_mat(nasa_file("B0045"))
    segments = frame.segments()
    cycles = [info for info in frame.cycles if info.step == Step.DISCHARGE and info.index in segments]
    a, b = segments[cycles[1].index]
    start_c, start_v = float(frame.temperature_c[a]), float(frame.voltage_v[a])
    sim = DischargeSimulator(
        frame.time[a:b], frame.current_a[a:b], 4.0, initial_c=start_c, initial_voltage_v=start_v, model="DFN",
        threads=1,
    )  # fmt: skip
    params = CellParameters(
        capacity_ah=2.118405884183654, contact_resistance_ohm=0.012281379764037675,
        diffusivity_scale=0.11160984943376802, positive_diffusivity_ratio=7.830753143603128,
        electrolyte_transport_scale=0.17261377420599663, reaction_rate_scale=0.20524849961705052,
        heat_transfer_w_m2k=11.973167223778391, heat_capacity_scale=1.728095644063945,
        negative_ratio=0.643811365259385, negative_sto_full=0.863273206436338,
        ocp_shape_1=-0.07172819838725034, ocp_shape_2=-0.1192148822621649, ocp_shape_3=-0.15466926340470366,
    )  # fmt: skip
    started = sim.n_runs
    curve = sim.run(params, -2.2498403334480486)
    assert sim.n_runs == started + 1 and curve.solver_steps <= sim.max_steps == 10_400
    if curve.coverage < 1.0:
        assert "step limit" in curve.message and "cut again" in curve.message and curve.coverage > 0.5


def test_a_later_discharge_starts_from_the_earlier_fit_at_the_charge_it_delivers():
    from twins.physics.calibration import carried_forward
    from twins.physics.discharge import Discharge, delivered_ah
    from twins.physics.parameter_space import bounds_for

    time_s, current = _constant_discharge(1.0, 3600.0)  # 1 A for an hour: 1.0 Ah
    flat = np.full_like(time_s, 3.7)
    later = Discharge.from_columns(time_s, flat, current, flat * 0 + 20.0, 20.0)
    assert delivered_ah(later) == pytest.approx(1.0, rel=0.01)
    earlier = CellParameters(capacity_ah=2.1, contact_resistance_ohm=0.03, diffusivity_scale=0.1)
    start = carried_forward(earlier, 1.25, delivered_ah(later))
    # The cell delivered 20 % less: the capacity follows, everything else carries over.
    assert start.capacity_ah == pytest.approx(2.1 * delivered_ah(later) / 1.25)
    assert start.contact_resistance_ohm == 0.03 and start.diffusivity_scale == 0.1
    # Never outside the capacity's bounds, and nothing to scale by: the earlier fit as it was.
    low = bounds_for(2.0)["capacity_ah"].low
    assert carried_forward(earlier, 100.0, delivered_ah(later)).capacity_ah == pytest.approx(low)
    assert carried_forward(earlier, 0.0, delivered_ah(later)) == earlier
