"""Remaining useful life: cycles (and days) until capacity falls to a threshold share of rated.

A particle filter over the parameters of the fade model (``twins.health.fade``) is run over the
history; for each particle the first *measured* crossing of the threshold is simulated (trend + AR(1)
noise, ``fade.first_measured_crossings``), and the forecast is the weighted 5 / 50 / 95 % quantiles of
(crossing - last observed cycle). Deterministic for a given seed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from twins.health.fade import (
    DEFAULT_PRIOR,
    MODEL_NAME,
    MODEL_VERSION,
    FadePrior,
    Particles,
    filter_histories,
    first_measured_crossings,
    residual_autocorrelation,
)
from twins.health.soh import InsufficientData

THRESHOLDS = (0.8, 0.7, 0.6)
MIN_HISTORY = 5
# Forecasts beyond this many cycles are reported as this horizon with a warning (a flat history makes
# the crossing of some particles arbitrarily far).
HORIZON_CYCLES = 10_000
# Cycles ahead whose measured capacity is simulated at most (fade.first_measured_crossings).
CROSSING_HORIZON = 400


@dataclass
class RulForecast:
    median_cycles: float
    lower_cycles: float  # 5 % quantile: the 90 % interval is [lower, upper]
    upper_cycles: float  # 95 % quantile
    threshold: float  # fraction of rated
    model: str
    version: str
    last_cycle: float
    median_days: float | None = None
    lower_days: float | None = None
    upper_days: float | None = None
    particles: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def end_of_life_cycle(self) -> float:
        return self.last_cycle + self.median_cycles


def _weighted_quantiles(values: np.ndarray, weights: np.ndarray, quantiles: Sequence[float]) -> np.ndarray:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    cumulative /= cumulative[-1]
    return values[order][np.minimum(np.searchsorted(cumulative, quantiles), len(values) - 1)]


def clean_history(
    capacity_per_cycle: Sequence[tuple[int, float]], rated_capacity_ah: float
) -> tuple[np.ndarray, np.ndarray] | str:
    """(cycle numbers, capacity as a fraction of rated) of the usable entries, or what is missing:
    the rules every RUL model applies (at least ``MIN_HISTORY`` finite positive capacities, cycle
    numbers strictly increasing)."""
    history = [
        (float(k), float(c)) for k, c in capacity_per_cycle if c is not None and math.isfinite(c) and c > 0
    ]
    if len(history) < MIN_HISTORY:
        return f"at least {MIN_HISTORY} cycles with a capacity (have {len(history)})"
    data = np.array(history)
    if np.any(np.diff(data[:, 0]) <= 0):
        return "cycle numbers strictly increasing"
    return data[:, 0], data[:, 1] / rated_capacity_ah


def rul_forecast(
    capacity_per_cycle: Sequence[tuple[int, float]],
    rated_capacity_ah: float,
    *,
    threshold: float = 0.7,
    particles: int = 1000,
    seed: int = 0,
    cycles_per_day: float | None = None,
    prior: FadePrior | None = None,
) -> RulForecast | InsufficientData:
    """Cycles until the capacity trend reaches ``threshold`` x rated, with a 90 % interval.

    ``capacity_per_cycle`` is (cycle number, capacity Ah) from the beginning of life, cycle numbers
    increasing (the model's clock starts at the first entry). Cycle numbers are whatever unit the caller
    counts (the accuracy report uses the count of discharges); the forecast is in the same unit.
    """
    return rul_forecasts(
        capacity_per_cycle,
        rated_capacity_ah,
        thresholds=(threshold,),
        particles=particles,
        seed=seed,
        cycles_per_day=cycles_per_day,
        prior=prior,
    )[threshold]


def rul_forecasts(
    capacity_per_cycle: Sequence[tuple[int, float]],
    rated_capacity_ah: float,
    *,
    thresholds: Sequence[float] = THRESHOLDS,
    particles: int = 1000,
    seed: int = 0,
    cycles_per_day: float | None = None,
    prior: FadePrior | None = None,
) -> dict[float, RulForecast | InsufficientData]:
    """``rul_forecast`` for several thresholds from one particle filter run over the history.

    The filter's posterior does not depend on the threshold, and each particle's simulated
    measurement path serves every threshold (``fade.first_measured_crossings``), so a lower
    threshold is never forecast to come first for any particle. Deterministic for a given seed and
    set of thresholds, whatever their order; a single-threshold call draws a different (equally
    valid) path, so its numbers agree only within Monte Carlo noise.
    """
    [forecasts] = rul_forecasts_many(
        [ForecastRequest(capacity_per_cycle, rated_capacity_ah, tuple(thresholds), cycles_per_day, prior)],
        particles=particles,
        seed=seed,
    )
    return forecasts


@dataclass(frozen=True)
class ForecastRequest:
    """One battery's input to ``rul_forecasts_many`` (the arguments of ``rul_forecasts``)."""

    capacity_per_cycle: Sequence[tuple[int, float]]
    rated_capacity_ah: float
    thresholds: tuple[float, ...] = THRESHOLDS
    cycles_per_day: float | None = None
    prior: FadePrior | None = None


def rul_forecasts_many(
    requests: Sequence[ForecastRequest], *, particles: int = 1000, seed: int = 0
) -> list[dict[float, RulForecast | InsufficientData]]:
    """``rul_forecasts`` for a batch: the particle filters of all batteries step together
    (``fade.filter_histories``), and each battery's forecast equals, number for number, what
    ``rul_forecasts`` gives it alone (each has its own generator, seeded with ``seed``)."""
    for request in requests:
        if request.rated_capacity_ah <= 0:
            raise ValueError("rated_capacity_ah must be positive")
        if not all(0 < threshold < 1 for threshold in request.thresholds):
            raise ValueError("threshold is a fraction of rated, between 0 and 1")
        if request.cycles_per_day is not None and request.cycles_per_day <= 0:
            raise ValueError("cycles_per_day must be positive")
    results: list[dict[float, RulForecast | InsufficientData]] = []
    usable: list[tuple[int, np.ndarray, np.ndarray]] = []
    for index, request in enumerate(requests):
        cleaned = clean_history(request.capacity_per_cycle, request.rated_capacity_ah)
        if isinstance(cleaned, str):
            results.append({threshold: InsufficientData([cleaned]) for threshold in request.thresholds})
        else:
            results.append({})
            usable.append((index, *cleaned))
    priors = [requests[index].prior or DEFAULT_PRIOR for index, _, _ in usable]
    rngs = [np.random.default_rng(seed) for _ in usable]
    clouds = filter_histories(
        [(cycles, fraction) for _, cycles, fraction in usable], priors, count=particles, rngs=rngs
    )
    for (index, cycles, fraction), prior, rng, (cloud, min_ess) in zip(
        usable, priors, rngs, clouds, strict=True
    ):
        results[index] = _forecasts(requests[index], cycles, fraction, prior, rng, cloud, min_ess, particles)
    return results


def _forecasts(
    request: ForecastRequest,
    cycles: np.ndarray,
    fraction: np.ndarray,
    prior: FadePrior,
    rng: np.random.Generator,
    cloud: Particles,
    min_ess: float,
    particles: int,
) -> dict[float, RulForecast | InsufficientData]:
    """The forecasts of one battery from its filtered particles."""
    last = cycles[-1] - cycles[0] + 1.0
    rho = residual_autocorrelation(fraction, prior)
    crossings = first_measured_crossings(cloud, request.thresholds, last, rho, rng, CROSSING_HORIZON)
    weights = cloud.weights
    per_day = request.cycles_per_day
    forecasts: dict[float, RulForecast | InsufficientData] = {}
    for threshold in request.thresholds:
        if threshold in forecasts:
            continue
        remaining = np.clip(crossings[threshold], 0.0, HORIZON_CYCLES)
        lower, median, upper = _weighted_quantiles(remaining, weights, (0.05, 0.5, 0.95))
        warnings = []
        if fraction[-1] < threshold:
            warnings.append(f"the last measured capacity is already below {threshold:.0%} of rated")
        if upper >= HORIZON_CYCLES:
            warnings.append(f"the upper bound is beyond the {HORIZON_CYCLES}-cycle horizon")
        if min_ess < particles / 20:
            warnings.append(f"particle degeneracy: effective sample size fell to {min_ess:.0f}")
        forecast = RulForecast(
            median_cycles=float(median),
            lower_cycles=float(lower),
            upper_cycles=float(upper),
            threshold=threshold,
            model=MODEL_NAME,
            version=MODEL_VERSION,
            last_cycle=float(cycles[-1]),
            particles=particles,
            warnings=warnings,
        )
        if per_day is not None:
            forecast.median_days = float(median) / per_day
            forecast.lower_days = float(lower) / per_day
            forecast.upper_days = float(upper) / per_day
        forecasts[threshold] = forecast
    return forecasts
