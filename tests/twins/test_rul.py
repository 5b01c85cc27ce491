"""RUL forecasts on synthetic fade trajectories with known truth, determinism and insufficient data;
the default prior against the NASA data (skipped without ../shared)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from tests.support.conformance import nasa_file
from twins.health import DEFAULT_PRIOR, InsufficientData, RulForecast, rul_forecast
from twins.health.fade import crossing_cycle

RATED = 2.0


def trajectory(n: int, q=0.95, alpha=0.25, beta=1.2, noise=0.004, seed=1) -> list[tuple[int, float]]:
    k = np.arange(1, n + 1, dtype=float)
    fraction = q * (1 - alpha * (k / 100) ** beta)
    fraction += np.random.default_rng(seed).normal(0, noise, n)
    return [(int(c), float(f * RATED)) for c, f in zip(k, fraction, strict=True)]


def true_crossing(threshold, q=0.95, alpha=0.25, beta=1.2) -> float:
    return float(crossing_cycle(threshold, np.array(q), np.array(math.log(alpha)), np.array(beta)))


@pytest.mark.parametrize("threshold", [0.8, 0.7])
def test_forecast_recovers_a_known_power_law(threshold):
    history = trajectory(50)
    forecast = rul_forecast(history, RATED, threshold=threshold)
    assert isinstance(forecast, RulForecast)
    truth = true_crossing(threshold) - 50
    assert forecast.lower_cycles <= truth <= forecast.upper_cycles
    # 30 %: with 50 cycles of history the shape beta=1.2 is barely identified and the prior (centred
    # on 0.78, from the NASA cells) pulls the median late (+14 cycles at 0.7, see docs/twins.md).
    assert forecast.median_cycles == pytest.approx(truth, abs=max(0.3 * truth, 5))
    assert forecast.model == "power-law-fade" and forecast.version
    assert forecast.threshold == threshold


def test_a_faster_fade_gives_a_shorter_life():
    slow = rul_forecast(trajectory(60, alpha=0.15), RATED)
    fast = rul_forecast(trajectory(60, alpha=0.35), RATED)
    assert fast.median_cycles < slow.median_cycles / 1.5


def test_forecast_is_deterministic_given_the_seed():
    history = trajectory(100)
    first, second = rul_forecast(history, RATED, seed=3), rul_forecast(history, RATED, seed=3)
    assert first == second
    other = rul_forecast(history, RATED, seed=4)
    assert other.median_cycles == pytest.approx(first.median_cycles, abs=3)


def test_days_from_cycles_per_day():
    forecast = rul_forecast(trajectory(50), RATED, cycles_per_day=2.0)
    assert forecast.median_days == pytest.approx(forecast.median_cycles / 2)
    assert forecast.lower_days <= forecast.median_days <= forecast.upper_days
    assert rul_forecast(trajectory(50), RATED).median_days is None


def test_insufficient_history_is_not_a_number():
    assert isinstance(rul_forecast(trajectory(4), RATED), InsufficientData)
    assert isinstance(rul_forecast([], RATED), InsufficientData)
    duplicated = trajectory(10)
    duplicated[5] = duplicated[4]
    assert isinstance(rul_forecast(duplicated, RATED), InsufficientData)


def test_already_below_threshold_says_so():
    forecast = rul_forecast(trajectory(150, alpha=0.4), RATED, threshold=0.7)
    assert forecast.median_cycles == pytest.approx(0, abs=2)
    assert any("already below" in w for w in forecast.warnings)


def test_bad_arguments():
    with pytest.raises(ValueError):
        rul_forecast(trajectory(10), RATED, threshold=70)
    with pytest.raises(ValueError):
        rul_forecast(trajectory(10), 0.0)


def test_default_prior_is_the_fit_on_the_nasa_cells():
    nasa_file("B0047")
    from twins.health.evaluation import (
        LEARNING_RATES,
        TARGET_COVERAGE,
        calibrate_learning_rate,
        load_cells,
        prior_for,
    )

    cells = load_cells()
    fitted = prior_for(cells, sorted(cells))
    assert fitted.trained_on == DEFAULT_PRIOR.trained_on
    assert np.allclose(fitted.mean, DEFAULT_PRIOR.mean, atol=1e-4)
    assert np.allclose(fitted.covariance, DEFAULT_PRIOR.covariance, atol=1e-4)
    assert fitted.residual_rho == pytest.approx(DEFAULT_PRIOR.residual_rho, abs=1e-4)
    rate, coverage = calibrate_learning_rate(cells, sorted(cells))
    assert rate == DEFAULT_PRIOR.learning_rate
    # The rate is the first (largest) one tried whose intervals cover 90 % of the training forecasts.
    assert list(coverage) == [r for r in LEARNING_RATES if r >= rate]
    assert coverage[rate] >= TARGET_COVERAGE > max(share for r, share in coverage.items() if r != rate)


def test_the_learning_rate_widens_the_interval_and_the_exact_posterior_is_the_narrowest():
    history = trajectory(60, noise=0.01)
    widths = {
        rate: (lambda f: f.upper_cycles - f.lower_cycles)(
            rul_forecast(history, RATED, threshold=0.7, prior=replace(DEFAULT_PRIOR, learning_rate=rate))
        )
        for rate in (1.0, 0.25)
    }
    assert widths[0.25] > widths[1.0]


def _reference_crossings(trend: np.ndarray, sd: float, rho: float, threshold: float, rng) -> np.ndarray:
    """The definition, simulated the plain way: AR(1) noise from the first future cycle over the whole
    window, first cycle whose measurement is below the threshold (the window's end + 1 if none)."""
    count, span = trend.shape
    noise = np.empty((count, span))
    noise[:, 0] = rng.standard_normal(count) * sd
    for n in range(1, span):
        noise[:, n] = rho * noise[:, n - 1] + rng.standard_normal(count) * sd * math.sqrt(1 - rho * rho)
    below = trend + noise < threshold
    return np.where(below.any(axis=1), np.argmax(below, axis=1) + 1.0, span + 1.0)


@pytest.mark.parametrize(("alpha", "beta", "sigma", "rho"), [(0.25, 1.2, 0.01, 0.9), (0.1, 0.8, 0.02, 0.5)])
def test_measured_crossings_follow_the_plain_simulation(alpha, beta, sigma, rho):
    """Starting paths where the trend enters the noise margin and stopping them once they have crossed
    changes nothing that a plain simulation of the whole window would give (in distribution)."""
    from twins.health.fade import STUDENT_NU, Particles, fade_curve, first_measured_crossings

    count, last, horizon = 20_000, 40.0, 400
    particles = Particles(
        q=np.full(count, 0.98),
        log_alpha=np.full(count, math.log(alpha)),
        beta=np.full(count, beta),
        log_sigma=np.full(count, math.log(sigma / math.sqrt(STUDENT_NU / (STUDENT_NU - 2)))),
        log_weight=np.zeros(count),
    )
    thresholds = (0.8, 0.7)
    fast = first_measured_crossings(particles, thresholds, last, rho, np.random.default_rng(1), horizon)
    for threshold in thresholds:
        crossing = float(crossing_cycle(threshold, np.array(0.98), np.array(math.log(alpha)), np.array(beta)))
        span = int(min(crossing - last + 1, horizon))
        k = last + np.arange(1, span + 1, dtype=float)
        trend = np.broadcast_to(fade_curve(k, 0.98, math.log(alpha), beta), (count, span))
        plain = _reference_crossings(trend, sigma, rho, threshold, np.random.default_rng(2))
        plain = np.where(plain > span, max(crossing - last, span), plain)
        assert np.all(fast[threshold] <= max(crossing - last, span))
        for q in (0.05, 0.25, 0.5, 0.75, 0.95):
            assert np.quantile(fast[threshold], q) == pytest.approx(np.quantile(plain, q), abs=1.5)
        assert fast[threshold].mean() == pytest.approx(plain.mean(), rel=0.01)
    assert np.all(fast[0.8] <= fast[0.7])
