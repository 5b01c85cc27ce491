"""The learned RUL model (twins/learned): same interface and rules as the empirical forecast, structural
properties of its quantiles, the batched path, the shipped artefact, training, and the ensemble."""

from __future__ import annotations

import itertools
import math
import socket

import numpy as np
import pytest

from twins.health import InsufficientData, RulForecast, rul_forecast
from twins.learned import (
    artifact_hash,
    combine,
    learned_rul_forecast,
    learned_rul_forecasts,
    load_model,
)
from twins.learned.dataset import Trajectory, sample_windows
from twins.learned.forecast import artifact_metadata
from twins.learned.network import PRETRAINED_PATH, WEIGHTS_PATH, RulSequenceNet, file_sha256
from twins.learned.train import fit

RATED = 2.0


def trajectory(n: int, q=0.95, alpha=0.25, beta=1.2, noise=0.004, seed=1) -> list[tuple[int, float]]:
    k = np.arange(1, n + 1, dtype=float)
    fraction = q * (1 - alpha * (k / 100) ** beta)
    fraction += np.random.default_rng(seed).normal(0, noise, n)
    return [(int(c), float(f * RATED)) for c, f in zip(k, fraction, strict=True)]


def test_insufficient_history_is_not_a_number():
    assert isinstance(learned_rul_forecast(trajectory(4), RATED), InsufficientData)
    assert isinstance(learned_rul_forecast([], RATED), InsufficientData)
    duplicated = trajectory(10)
    duplicated[5] = duplicated[4]
    assert isinstance(learned_rul_forecast(duplicated, RATED), InsufficientData)
    # Missing or zero capacities do not count towards the five.
    gappy = [(k, c if k % 2 else float("nan")) for k, c in trajectory(8)]
    assert isinstance(learned_rul_forecast(gappy, RATED), InsufficientData)
    batch = learned_rul_forecasts([trajectory(3), trajectory(40)], [RATED, RATED], (0.8, 0.7))
    assert all(isinstance(f, InsufficientData) for f in batch[0].values())
    assert all(isinstance(f, RulForecast) for f in batch[1].values())


def test_bad_arguments():
    with pytest.raises(ValueError):
        learned_rul_forecast(trajectory(10), RATED, threshold=70)
    with pytest.raises(ValueError):
        learned_rul_forecast(trajectory(10), 0.0)
    with pytest.raises(ValueError):
        learned_rul_forecast(trajectory(10), RATED, cycles_per_day=0)


def test_forecast_is_a_rul_forecast_and_deterministic():
    history = trajectory(60)
    first = learned_rul_forecast(history, RATED, threshold=0.7, cycles_per_day=2.0)
    assert isinstance(first, RulForecast)
    assert first.model == "rul-sequence" and first.version == artifact_metadata()["version"]
    assert first.threshold == 0.7 and first.last_cycle == 60
    assert first.median_days == pytest.approx(first.median_cycles / 2)
    assert first == learned_rul_forecast(history, RATED, threshold=0.7, cycles_per_day=2.0)


@pytest.mark.parametrize("n", [5, 12, 40, 150])
def test_interval_ordered_and_monotone_in_threshold(n):
    history = trajectory(n, alpha=0.3)
    thresholds = tuple(np.round(np.arange(0.95, 0.29, -0.05), 2))
    forecasts = learned_rul_forecasts([history], [RATED], thresholds)[0]
    medians = []
    for threshold in thresholds:
        f = forecasts[threshold]
        assert 0 <= f.lower_cycles <= f.median_cycles <= f.upper_cycles
        medians.append(f.median_cycles)
    # thresholds descend: a lower threshold never gives a shorter median (nor shorter bounds)
    assert all(b >= a for a, b in itertools.pairwise(medians))
    uppers = [forecasts[t].upper_cycles for t in thresholds]
    assert all(b >= a for a, b in itertools.pairwise(uppers))


def test_a_faster_fade_gives_a_shorter_life():
    flat = learned_rul_forecast(trajectory(60, alpha=0.03), RATED, threshold=0.7)
    slow = learned_rul_forecast(trajectory(60, alpha=0.15), RATED, threshold=0.7)
    fast = learned_rul_forecast(trajectory(60, alpha=0.35), RATED, threshold=0.7)
    assert fast.median_cycles < slow.median_cycles < flat.median_cycles
    assert fast.median_cycles < flat.median_cycles / 3


def test_already_below_threshold_says_so():
    forecast = learned_rul_forecast(trajectory(150, alpha=0.4), RATED, threshold=0.7)
    assert forecast.median_cycles < 10
    assert any("already below" in w for w in forecast.warnings)


def test_batched_equals_single():
    histories = [trajectory(n, alpha=a, seed=s) for n, a, s in ((8, 0.2, 1), (60, 0.3, 2), (140, 0.1, 3))]
    rated = [RATED, 2.5, RATED]
    batch = learned_rul_forecasts(histories, rated, (0.8, 0.6), cycles_per_day=[1.0, None, 3.0])
    for history, capacity, per_day, result in zip(histories, rated, [1.0, None, 3.0], batch, strict=True):
        for threshold in (0.8, 0.6):
            single = learned_rul_forecast(history, capacity, threshold=threshold, cycles_per_day=per_day)
            got = result[threshold]
            assert got.median_cycles == pytest.approx(single.median_cycles, rel=1e-5, abs=1e-4)
            assert got.lower_cycles == pytest.approx(single.lower_cycles, rel=1e-5, abs=1e-4)
            assert got.upper_cycles == pytest.approx(single.upper_cycles, rel=1e-5, abs=1e-4)
            assert got.median_days == (None if per_day is None else pytest.approx(single.median_days))


def test_shipped_artefact_matches_its_metadata():
    metadata = artifact_metadata()
    assert artifact_hash() == metadata["sha256"] == file_sha256(WEIGHTS_PATH)
    assert file_sha256(PRETRAINED_PATH) == metadata["pretrained_sha256"]
    assert WEIGHTS_PATH.stat().st_size < 1_000_000
    assert load_model().sha256 == metadata["sha256"]
    assert metadata["seed"] is not None and metadata["version"]
    assert len(metadata["real_data"]["cells"]) == 8


def test_loading_does_no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the model tried to open a socket")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    load_model.cache_clear()
    try:
        model = load_model()
        assert isinstance(learned_rul_forecast(trajectory(30), RATED, model=model), RulForecast)
    finally:
        load_model.cache_clear()


def test_a_short_training_run_lowers_the_loss():
    rng = np.random.default_rng(0)
    trajectories = []
    for i in range(12):
        k = np.arange(1, 151, dtype=float)
        y = 0.95 * (1 - rng.uniform(0.1, 0.5) * (k / 100) ** rng.uniform(0.7, 1.5))
        trajectories.append(Trajectory(f"t{i}", k, y + rng.normal(0, 0.003, k.size), "physics"))
    windows = sample_windows(trajectories, 20, rng)
    assert len(windows) > 100 and np.all(windows.rul >= 1)
    net = RulSequenceNet()
    losses = fit(net, windows, steps=60, seed=0, batch=64)
    assert np.mean(losses[-10:]) < 0.7 * np.mean(losses[:10])


def test_combine_is_a_mixture_of_both():
    history = trajectory(60)
    empirical = rul_forecast(history, RATED, threshold=0.7, particles=300, cycles_per_day=2.0)
    learned = learned_rul_forecast(history, RATED, threshold=0.7, cycles_per_day=2.0)
    ensemble = combine(empirical, learned)
    assert ensemble.model == "rul-ensemble" and ensemble.version
    assert isinstance(ensemble, RulForecast)
    assert ensemble.components == {"power-law-fade": empirical, "rul-sequence": learned}
    # A 50/50 mixture: its quantiles lie between the inputs' corresponding quantiles.
    for attribute in ("lower_cycles", "median_cycles", "upper_cycles"):
        a, b = getattr(empirical, attribute), getattr(learned, attribute)
        assert min(a, b) - 0.5 <= getattr(ensemble, attribute) <= max(a, b) + 0.5
    assert ensemble.lower_cycles <= ensemble.median_cycles <= ensemble.upper_cycles
    assert ensemble.median_days == pytest.approx(ensemble.median_cycles / 2)
    same = combine(empirical, empirical)
    assert same.median_cycles == pytest.approx(empirical.median_cycles, rel=0.02, abs=0.5)
    assert same.upper_cycles == pytest.approx(empirical.upper_cycles, rel=0.02, abs=0.5)


def test_combine_refuses_mismatched_forecasts():
    history = trajectory(60)
    learned = learned_rul_forecast(history, RATED, threshold=0.7)
    with pytest.raises(ValueError):
        combine(learned_rul_forecast(history, RATED, threshold=0.8), learned)
    with pytest.raises(ValueError):
        combine(learned_rul_forecast(history[:-1], RATED, threshold=0.7), learned)


def test_forecast_time_is_small():
    import time

    history = trajectory(150)
    learned_rul_forecast(history, RATED)
    start = time.perf_counter()
    for _ in range(20):
        learned_rul_forecast(history, RATED)
    assert (time.perf_counter() - start) / 20 < 0.05
    assert math.isfinite(learned_rul_forecast(history, RATED).median_cycles)


def test_physics_training_set_is_what_the_generator_makes():
    """The cached physics set is reproducible from the repo: re-simulating the start of one trajectory
    with the current physics twin gives the stored capacities (float32 storage)."""
    pytest.importorskip("pybamm")
    from twins.learned.synthetic_data import DATASET_PATH, draw_protocols, load_trajectories, simulate

    with np.load(DATASET_PATH) as data:
        first = int(data["protocol_index"][0])
    stored = load_trajectories()[0].capacity_ah
    fresh = simulate(draw_protocols()[first], max_cycles=12)
    assert len(fresh) == 11  # the first cycle (from the initial full state) is dropped
    np.testing.assert_allclose(fresh, stored[: len(fresh)], atol=1e-5)
