"""Empirical capacity fade and a particle filter over its parameters.

Model (``power-law-fade``), capacity as a fraction of rated after ``k`` cycles counted from the first
observation (k = 1 there)::

    y(k) = q · (1 - alpha · (k / 100) ** beta)

``q`` is the initial capacity, ``alpha`` the fraction lost by cycle 100 and ``beta`` the shape (beta > 1
accelerating, beta < 1 decelerating). Three parameters with a meaning each, and the threshold crossing
has a closed form, so a forecast is one vectorised expression over the particles. On the NASA cells it
fits as well as the double exponential (residual RMS at most 0.007 Ah above it, docs/twins.md) whose
four parameters are not identifiable from half a life.

Regeneration after rest (capacity jumps up a few percent and decays back over a few cycles) is not
modelled as a state: the data carry no rest time in ``capacity_per_cycle``. It is absorbed by a
heavy-tailed likelihood (Student-t, nu = 4) and by tempering the likelihood with the residual
autocorrelation (``evidence_weight``: a jump spans several cycles, so consecutive residuals are not
independent evidence).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MODEL_NAME = "power-law-fade"
MODEL_VERSION = "1.0"
NOISE_MARGIN_SD = 8.0  # Gaussian tail beyond 8 sd: ~6e-16 per cycle
STUDENT_NU = 4.0
BETA_BOUNDS = (0.3, 4.0)
LOG_ALPHA_BOUNDS = (math.log(1e-4), math.log(5.0))


def fade_curve(k: np.ndarray, q: np.ndarray, log_alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """y(k) for each parameter set (broadcasts: parameters as columns, cycles as a row).

    alpha·(k/100)^beta as exp(log_alpha + beta·log(k/100)): one exp per element instead of a pow and
    an exp (a fleet sweep evaluates this on 500 particles x 400 future cycles per threshold)."""
    with np.errstate(divide="ignore"):
        log_k = np.log(np.maximum(k, 0.0) / 100.0)  # -inf at k = 0: exp(-inf) = 0, as 0^beta
    return q * (1.0 - np.exp(log_alpha + beta * log_k))


def crossing_cycle(threshold: float, q: np.ndarray, log_alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """The k at which y(k) = threshold (closed form); 0 where q is already at or below it."""
    ratio = np.clip(1.0 - threshold / q, 0.0, None)
    with np.errstate(over="ignore", divide="ignore"):
        k = 100.0 * np.power(ratio / np.exp(log_alpha), 1.0 / beta)
    return np.where(q <= threshold, 0.0, k)


@dataclass(frozen=True)
class FadeFit:
    q: float
    log_alpha: float
    beta: float
    residual_scale: float  # robust (MAD) scale of the residuals, fraction of rated
    lag1_autocorrelation: float


def fit_trajectory(cycles: Sequence[float], fraction: Sequence[float]) -> FadeFit:
    """Robust least squares (Cauchy loss, so regeneration jumps and odd first cycles do not steer it)."""
    from scipy.optimize import least_squares  # only the prior fit needs scipy

    k = np.asarray(cycles, dtype=float)
    k = k - k[0] + 1.0
    y = np.asarray(fraction, dtype=float)
    q0 = float(np.median(y[:3]))
    slope = max((q0 - float(np.median(y[-3:]))) / max(q0, 1e-9), 1e-3) * 100.0 / max(k[-1], 1.0)

    def residual(p: np.ndarray) -> np.ndarray:
        return fade_curve(k, p[0], p[1], p[2]) - y

    start = np.array([q0, math.log(slope), 1.0])
    lower = [0.1, LOG_ALPHA_BOUNDS[0], BETA_BOUNDS[0]]
    upper = [3.0, LOG_ALPHA_BOUNDS[1], BETA_BOUNDS[1]]
    fit = least_squares(residual, start, bounds=(lower, upper), loss="cauchy", f_scale=0.01)
    r = residual(fit.x)
    scale = 1.4826 * float(np.median(np.abs(r - np.median(r))))
    rho = float(np.corrcoef(r[:-1], r[1:])[0, 1]) if len(r) > 3 and np.std(r) > 0 else 0.0
    return FadeFit(float(fit.x[0]), float(fit.x[1]), float(fit.x[2]), scale, rho)


@dataclass(frozen=True)
class FadePrior:
    """Prior over (log alpha, beta) and the noise from training cells; ``q`` always comes from the data."""

    mean: tuple[float, float]  # (log alpha, beta)
    covariance: tuple[tuple[float, float], tuple[float, float]]
    log_sigma_mean: float  # noise scale (fraction of rated), log
    log_sigma_std: float
    evidence_weight: float  # likelihood tempering, 1 / (AR(1) variance inflation) of the residuals
    trained_on: tuple[str, ...]
    residual_rho: float = 0.0  # lag-1 autocorrelation of the residuals (AR(1) noise of the forecast)


# Minimum prior spread: with a handful of training cells the sample covariance is overconfident.
MIN_LOG_ALPHA_STD = 0.5
MIN_BETA_STD = 0.3


def fit_prior(trajectories: dict[str, tuple[Sequence[float], Sequence[float]]]) -> FadePrior:
    """Prior from training trajectories ``{name: (cycles, capacity as a fraction of rated)}``."""
    fits = [fit_trajectory(cycles, fraction) for cycles, fraction in trajectories.values()]
    params = np.array([[f.log_alpha, f.beta] for f in fits])
    mean = params.mean(axis=0)
    cov = np.cov(params.T) if len(fits) > 1 else np.zeros((2, 2))
    cov = np.atleast_2d(cov)
    floor = np.array([MIN_LOG_ALPHA_STD, MIN_BETA_STD]) ** 2
    diag = np.maximum(np.diag(cov), floor)
    scale = np.sqrt(diag / np.maximum(np.diag(cov), 1e-300))
    cov = cov * np.outer(scale, scale)  # widen the variances, keep the correlation
    sigmas = np.log([max(f.residual_scale, 1e-4) for f in fits])
    # The largest autocorrelation among the training cells, not the median: cells with regeneration
    # (B0005-B0007: 0.8-0.9) carry far less independent evidence per cycle than smooth short ones, and an
    # overconfident posterior is the worse error for a forecast interval.
    rho = float(np.clip(max(f.lag1_autocorrelation for f in fits), 0.0, 0.95))
    return FadePrior(
        mean=(float(mean[0]), float(mean[1])),
        covariance=((float(cov[0, 0]), float(cov[0, 1])), (float(cov[1, 0]), float(cov[1, 1]))),
        log_sigma_mean=float(np.mean(sigmas)),
        log_sigma_std=max(float(np.std(sigmas)), 0.5),
        evidence_weight=(1.0 - rho) / (1.0 + rho),
        trained_on=tuple(trajectories),
        residual_rho=rho,
    )


# fit_prior over all eight NASA cells (B0005/06/07 capacity files, B0025/29/30/45/47 raw files, capacity
# per good discharge over 2 Ah rated); tests/twins/test_rul.py checks it against the data. For production
# forecasts only: the accuracy report refits the prior without the scored cell.
DEFAULT_PRIOR = FadePrior(
    mean=(-1.331072, 0.781380),
    covariance=((0.25, -0.136937), (-0.136937, 0.109485)),
    log_sigma_mean=-4.793886,
    log_sigma_std=0.624296,
    evidence_weight=0.050157,
    trained_on=("B0005", "B0006", "B0007", "B0025", "B0029", "B0030", "B0045", "B0047"),
    residual_rho=0.904478,
)


@dataclass
class Particles:
    q: np.ndarray
    log_alpha: np.ndarray
    beta: np.ndarray
    log_sigma: np.ndarray
    log_weight: np.ndarray

    @property
    def weights(self) -> np.ndarray:
        w = np.exp(self.log_weight - self.log_weight.max())
        return w / w.sum()

    def stack(self) -> np.ndarray:
        return np.stack([self.q, self.log_alpha, self.beta, self.log_sigma])


def initial_particles(prior: FadePrior, q_center: float, count: int, rng: np.random.Generator) -> Particles:
    ab = rng.multivariate_normal(prior.mean, prior.covariance, size=count, method="cholesky")
    return Particles(
        q=q_center * (1.0 + 0.03 * rng.standard_normal(count)),
        log_alpha=np.clip(ab[:, 0], *LOG_ALPHA_BOUNDS),
        beta=np.clip(ab[:, 1], *BETA_BOUNDS),
        log_sigma=prior.log_sigma_mean + prior.log_sigma_std * rng.standard_normal(count),
        log_weight=np.zeros(count),
    )


def _student_logpdf(residual: np.ndarray, log_sigma: np.ndarray) -> np.ndarray:
    z = residual / np.exp(log_sigma)
    return -log_sigma - 0.5 * (STUDENT_NU + 1.0) * np.log1p(z * z / STUDENT_NU)


def _resample_move(particles: Particles, rng: np.random.Generator, shrink: float = 0.95) -> Particles:
    """Systematic resampling, then a Liu-West kernel (shrink towards the mean, add matching noise) so
    the cloud keeps its spread without drifting away from the posterior's first two moments."""
    n = particles.q.size
    weights = particles.weights
    positions = (rng.random() + np.arange(n)) / n
    index = np.minimum(np.searchsorted(np.cumsum(weights), positions), n - 1)
    theta = particles.stack()
    mean = theta @ weights
    centered = theta - mean[:, None]
    cov = (centered * weights) @ centered.T
    chosen = theta[:, index]
    moved = shrink * chosen + (1.0 - shrink) * mean[:, None]
    h2 = 1.0 - shrink * shrink
    jitter = np.linalg.cholesky(h2 * cov + 1e-12 * np.eye(4)) @ rng.standard_normal((4, n))
    moved = moved + jitter
    return Particles(
        q=np.clip(moved[0], 0.05, 5.0),
        log_alpha=np.clip(moved[1], *LOG_ALPHA_BOUNDS),
        beta=np.clip(moved[2], *BETA_BOUNDS),
        log_sigma=np.clip(moved[3], math.log(1e-4), math.log(0.5)),
        log_weight=np.zeros(n),
    )


def filter_history(
    cycles: np.ndarray,
    fraction: np.ndarray,
    prior: FadePrior,
    *,
    count: int,
    rng: np.random.Generator,
    batch: int = 8,
) -> tuple[Particles, float]:
    """Sequential importance resampling over the history, ``batch`` cycles per step (the parameters
    are static, so a batch's likelihood is exact; batching only sets how often we may resample).
    Returns the particles and the smallest effective sample size seen (a degeneracy diagnostic)."""
    k = cycles - cycles[0] + 1.0
    q_center = float(np.median(fraction[:3]))
    particles = initial_particles(prior, q_center, count, rng)
    weight, _ = evidence_weight(fraction, prior)
    min_ess = float(count)
    for start in range(0, len(k), batch):
        kk = k[start : start + batch][None, :]
        yy = fraction[start : start + batch][None, :]
        predicted = fade_curve(
            kk, particles.q[:, None], particles.log_alpha[:, None], particles.beta[:, None]
        )
        loglik = _student_logpdf(yy - predicted, particles.log_sigma[:, None]).sum(axis=1)
        particles.log_weight = particles.log_weight + weight * loglik
        weights = particles.weights
        ess = 1.0 / float(np.sum(weights * weights))
        min_ess = min(min_ess, ess)
        if ess < count / 2:
            particles = _resample_move(particles, rng)
    return particles, min_ess


def future_trend(particles: Particles, last: float, span: int) -> np.ndarray:
    """Each particle's trend over the ``span`` cycles after ``last`` (particles x span)."""
    k = last + np.arange(1, span + 1, dtype=float)[None, :]
    return fade_curve(k, particles.q[:, None], particles.log_alpha[:, None], particles.beta[:, None])


def first_measured_crossing(
    particles: Particles,
    threshold: float,
    last: float,
    rho: float,
    rng: np.random.Generator,
    horizon: int = 400,
    future: np.ndarray | None = None,
) -> np.ndarray:
    """Per particle, the first future cycle whose *measured* capacity (trend + AR(1) noise with the
    particle's scale) is below ``threshold``, in cycles after ``last``.

    End of life is defined on measurements, which scatter around the trend, so the first measured
    crossing comes earlier than the trend's own crossing; simulating the noise puts that in the
    forecast and its interval. Beyond ``horizon`` cycles the trend crossing is used (the noise matters
    little to where a far crossing lands compared to the parameter spread). ``future`` is
    ``future_trend(particles, last, horizon)`` when the caller has it (several thresholds).
    """
    trend = crossing_cycle(threshold, particles.q, particles.log_alpha, particles.beta) - last
    span = int(min(max(float(np.max(np.where(np.isfinite(trend), trend, 0.0))), 1.0) + 1, horizon))
    # Student-t(nu) scale sigma has standard deviation sigma·sqrt(nu / (nu - 2)).
    sd = np.exp(particles.log_sigma) * math.sqrt(STUDENT_NU / (STUDENT_NU - 2.0))
    # A particle whose trend is still more than NOISE_MARGIN_SD noise deviations above the threshold at
    # the end of the window (the trend only falls) cannot be measured below it inside the window: its
    # answer is its trend crossing, without simulating 400 noisy cycles. Long-lived batteries (a
    # 1500-cycle pack with a short history) are all such particles; when every particle is near, the
    # draws are exactly those of simulating all of them.
    end = fade_curve(np.array([last + span], dtype=float), particles.q, particles.log_alpha, particles.beta)
    near = (end - threshold) <= NOISE_MARGIN_SD * sd
    result = np.maximum(trend, float(span))
    if not near.any():
        return result
    if future is not None and future.shape[1] >= span:  # the trends, computed once for all thresholds
        mean = future[near, :span]
    else:
        mean = future_trend(particles, last, span)[near]
    from scipy.signal import lfilter  # AR(1) recursion in C; a Python loop over cycles costs ~3 ms

    count = int(near.sum())
    scale = sd[near, None]
    shocks = rng.standard_normal((count, span)) * scale * math.sqrt(1.0 - rho * rho)
    shocks[:, 0] = rng.standard_normal(count) * scale[:, 0]  # stationary start
    noise = lfilter([1.0], [1.0, -rho], shocks, axis=1)
    below = (mean + noise) < threshold
    hit = below.any(axis=1)
    first = np.argmax(below, axis=1) + 1.0
    result[near] = np.where(hit, first, result[near])
    return result


MIN_OWN_AUTOCORRELATION = 20


def evidence_weight(fraction: np.ndarray, prior: FadePrior) -> tuple[float, float]:
    """Likelihood tempering (1 - rho) / (1 + rho) and the rho it comes from.

    rho is the history's own lag-1 residual autocorrelation when it has at least 20 cycles: for AR(1)
    residuals around a smooth trend, the first differences have lag-1 autocorrelation -(1 - rho) / 2,
    so rho = 1 + 2·r1(diff) (the trend only shifts the differences' mean, removed first). A cell with
    regeneration jumps gets little weight per cycle, a smooth one its full evidence. Shorter histories
    use the training cells' (conservative) figure.
    """
    if len(fraction) < MIN_OWN_AUTOCORRELATION:
        rho = prior.residual_rho
    else:
        d = np.diff(fraction)
        d = d - d.mean()
        denominator = float(d @ d)
        r1 = float(d[:-1] @ d[1:]) / denominator if denominator > 0 else -0.5
        rho = float(np.clip(1.0 + 2.0 * r1, 0.0, 0.95))
    return (1.0 - rho) / (1.0 + rho), rho
