"""Mixtures of RUL forecasts: the ensemble of the empirical and the learned model (``combine``), and the
bag of learned networks (``mixture_quantiles``).

A forecast gives three quantiles (5, 50, 95 %) of the RUL. Each is read as a distribution of
y = log(1 + RUL) through a standard score that is piecewise linear in y: -1.645 at the 5 % quantile,
0 at the median, +1.645 at the 95 % quantile (so between them it is a normal on either side of the
median with the scale that reproduces the quantile, a split normal that keeps the skew), and beyond the
5/95 % quantiles it continues with a fixed scale of ``TAIL_SCALE`` per unit. CDF = Φ(score). The fixed
tail scale is what makes the distribution *stochastically increasing* in each of the three quantiles (a
tail scale tied to the interval would make the far tail move the wrong way when the median rises), so a
mixture of forecasts that are each later for a lower threshold is later too: monotonicity in the
threshold survives the mixing. Mixture quantiles are found by bisection on a fixed bracket (which keeps
that ordering exact).

The ensemble (``combine``) is the equal-weight mixture (linear opinion pool) of the empirical and the
learned distributions. Why a mixture and not quantile averaging: the two models fail differently (the
particle filter extrapolates one fade law, the network matches the history to the shapes it was trained
on), and when they disagree the truth is usually near one of them; a mixture keeps both hypotheses in its
interval (wider where they disagree), where averaged quantiles would give a confident interval between
them. The median lies between the two medians. Equal weights: eight cells are too few to learn weights
without scoring on the cells the weights are judged on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr

from twins.health.rul import RulForecast

MODEL_NAME = "rul-ensemble"
VERSION = "1.0"
_Z95 = 1.6448536269514722
TAIL_SCALE = 0.3  # log(1 + cycles) per unit of standard score beyond the 5/95 % quantiles
_MIN_SPREAD = 1e-6  # a zero-width half interval is a step, not a division by zero
_BRACKET = (-1.0, 12.0)  # log(1 + cycles): up to ~160 000 cycles, beyond any horizon
_BISECTIONS = 60


@dataclass
class EnsembleForecast(RulForecast):
    """A ``RulForecast`` that keeps the forecasts it combines (``components``, by model name)."""

    components: dict[str, RulForecast] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)


def _score(y: np.ndarray, lower: np.ndarray, median: np.ndarray, upper: np.ndarray) -> np.ndarray:
    below = np.maximum(median - lower, _MIN_SPREAD)
    above = np.maximum(upper - median, _MIN_SPREAD)
    return np.where(
        y < lower,
        -_Z95 + (y - lower) / TAIL_SCALE,
        np.where(
            y < median,
            -_Z95 + _Z95 * (y - lower) / below,
            np.where(y < upper, _Z95 * (y - median) / above, _Z95 + (y - upper) / TAIL_SCALE),
        ),
    )


def mixture_quantiles(quantiles: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """The 5/50/95 % quantiles of a mixture. ``quantiles`` (..., members, 3): each member's 5/50/95 %
    quantiles of log(1 + RUL); ``weights`` (members,), equal by default. Returns (..., 3) in the same
    units. One member gives back its own quantiles."""
    quantiles = np.asarray(quantiles, dtype=float)
    members = quantiles.shape[-2]
    weights = np.full(members, 1.0 / members) if weights is None else np.asarray(weights, float)
    weights = weights / weights.sum()
    lower, median, upper = (quantiles[..., i][..., None, :] for i in range(3))  # (..., 1, members)
    targets = np.array([0.05, 0.5, 0.95])
    low = np.full((*quantiles.shape[:-2], 3), _BRACKET[0])
    high = np.full_like(low, _BRACKET[1])
    for _ in range(_BISECTIONS):
        middle = 0.5 * (low + high)
        cdf = (ndtr(_score(middle[..., None], lower, median, upper)) * weights).sum(-1)
        go_up = cdf < targets
        low = np.where(go_up, middle, low)
        high = np.where(go_up, high, middle)
    return 0.5 * (low + high)


def combine(empirical: RulForecast, learned: RulForecast, *, weight_learned: float = 0.5) -> EnsembleForecast:
    """The mixture forecast; both inputs must be for the same threshold and the same last cycle."""
    return combine_many([(empirical, learned)], weight_learned=weight_learned)[0]


def combine_many(
    pairs: Sequence[tuple[RulForecast, RulForecast]], *, weight_learned: float = 0.5
) -> list[EnsembleForecast]:
    """``combine`` for many (empirical, learned) pairs with one vectorised bisection (a fleet's worth of
    forecasts costs about what one does)."""
    if not 0.0 <= weight_learned <= 1.0:
        raise ValueError("weight_learned is between 0 and 1")
    for empirical, learned in pairs:
        if not math.isclose(empirical.threshold, learned.threshold):
            raise ValueError("forecasts for different thresholds")
        if not math.isclose(empirical.last_cycle, learned.last_cycle):
            raise ValueError("forecasts from different histories (last cycle differs)")
    if not pairs:
        return []
    weights = np.array([1.0 - weight_learned, weight_learned])
    stacked = np.log1p([[[f.lower_cycles, f.median_cycles, f.upper_cycles] for f in pair] for pair in pairs])
    mixed = np.maximum(np.expm1(mixture_quantiles(stacked, weights)), 0.0)
    return [
        _ensemble(empirical, learned, weights, row)
        for (empirical, learned), row in zip(pairs, mixed, strict=True)
    ]


def _ensemble(
    empirical: RulForecast, learned: RulForecast, weights: np.ndarray, quantiles: np.ndarray
) -> EnsembleForecast:
    lower, median, upper = (float(v) for v in quantiles)
    forecasts = (empirical, learned)
    warnings = [f"{f.model}: {w}" for f in forecasts for w in f.warnings]
    outside = [
        f.model
        for f, other in ((empirical, learned), (learned, empirical))
        if not other.lower_cycles <= f.median_cycles <= other.upper_cycles
    ]
    if outside:
        warnings.append(
            f"the models disagree: the median of {' and '.join(outside)} is outside the other's 90 % interval"
        )
    forecast = EnsembleForecast(
        median_cycles=median,
        lower_cycles=lower,
        upper_cycles=upper,
        threshold=empirical.threshold,
        model=MODEL_NAME,
        version=VERSION,
        last_cycle=empirical.last_cycle,
        particles=empirical.particles,
        warnings=warnings,
        components={empirical.model: empirical, learned.model: learned},
        weights={empirical.model: float(weights[0]), learned.model: float(weights[1])},
    )
    per_day = _cycles_per_day(empirical) or _cycles_per_day(learned)
    if per_day:
        forecast.median_days = median / per_day
        forecast.lower_days = lower / per_day
        forecast.upper_days = upper / per_day
    return forecast


def _cycles_per_day(forecast: RulForecast) -> float | None:
    """The rate the days were computed with (any non-zero quantile tells it)."""
    for cycles, days in (
        (forecast.median_cycles, forecast.median_days),
        (forecast.upper_cycles, forecast.upper_days),
        (forecast.lower_cycles, forecast.lower_days),
    ):
        if days and cycles > 0:
            return cycles / days
    return None
