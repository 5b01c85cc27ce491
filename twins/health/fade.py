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
modelled as a state: the data carry no rest time in ``capacity_per_cycle``. The residuals around the
trend are AR(1) noise (``residual_autocorrelation``), and the likelihood is that of the AR(1)
innovations, each Student-t (nu = 4): a regeneration jump is one large innovation (the heavy tail)
followed by the AR(1) decay back to the trend, and consecutive residuals are not counted as
independent evidence. Versions before 1.2 tempered an independent-residual likelihood by the AR(1)
variance inflation instead, which left the forecast tied to the prior's shape (docs/twins.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MODEL_NAME = "power-law-fade"
# 1.2: the likelihood of the AR(1) innovations instead of a tempered independent one. 1.1: one simulated
# measurement path per particle for all thresholds, started where the trend enters the noise margin
# (``first_measured_crossings``); the likelihood in single precision.
MODEL_VERSION = "1.2"
# A measurement this many noise deviations below its trend: the simulation skips cycles where the trend
# is further above a threshold. Gaussian tail beyond 5 sd: 2.9e-7 per cycle, so by the union bound
# under 1.2e-4 that a skipped stretch of the 400-cycle window would have held a crossing (tested
# against a plain simulation of the whole window: tests/twins/test_rul.py).
NOISE_MARGIN_SD = 5.0
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
    trained_on: tuple[str, ...]
    residual_rho: float = 0.0  # lag-1 autocorrelation of the residuals (AR(1) noise of the forecast)
    # Generalised-Bayes learning rate: the power of the likelihood. The power law is a three-parameter
    # idealisation of a cell's fade (knees, regeneration), and a misspecified model's exact posterior
    # is overconfident; the rate is calibrated on training cells so that the 90 % intervals cover
    # (``twins.health.evaluation.calibrate_learning_rate``).
    learning_rate: float = 1.0


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
        trained_on=tuple(trajectories),
        residual_rho=rho,
    )


# fit_prior over all eight NASA cells (B0005/06/07 capacity files, B0025/29/30/45/47 raw files, capacity
# per good discharge over 2 Ah rated) and the learning rate calibrated on them; tests/twins/test_rul.py
# checks both against the data. For production forecasts only: the accuracy report refits the prior
# and recalibrates the rate without the scored cell.
DEFAULT_PRIOR = FadePrior(
    mean=(-1.331072, 0.781380),
    covariance=((0.25, -0.136937), (-0.136937, 0.109485)),
    log_sigma_mean=-4.793886,
    log_sigma_std=0.624296,
    trained_on=("B0005", "B0006", "B0007", "B0025", "B0029", "B0030", "B0045", "B0047"),
    residual_rho=0.904478,
    learning_rate=0.25,
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


def _resample_move(
    theta: np.ndarray, weights: np.ndarray, rngs: Sequence[np.random.Generator], shrink: float = 0.95
) -> np.ndarray:
    """Systematic resampling, then a Liu-West kernel (shrink towards the mean, add matching noise) so
    each cloud keeps its spread without drifting away from its posterior's first two moments.

    ``theta`` is batteries x 4 parameters x particles, ``weights`` batteries x particles (normalised);
    each battery draws from its own generator, so its result does not depend on the others in the
    batch (every operation works on one battery's row with the same shapes)."""
    n = theta.shape[2]
    chosen = np.empty_like(theta)
    noise = np.empty_like(theta)
    cumulative = np.cumsum(weights, axis=1)
    for row, rng in enumerate(rngs):
        positions = (rng.random() + np.arange(n)) / n
        index = np.minimum(np.searchsorted(cumulative[row], positions), n - 1)
        chosen[row] = theta[row][:, index]
        noise[row] = rng.standard_normal((4, n))
    mean = np.matmul(theta, weights[:, :, None])  # batteries x 4 x 1
    centered = theta - mean
    cov = np.matmul(centered * weights[:, None, :], np.swapaxes(centered, 1, 2))
    h2 = 1.0 - shrink * shrink
    jitter = np.matmul(np.linalg.cholesky(h2 * cov + 1e-12 * np.eye(4)), noise)
    moved = shrink * chosen + (1.0 - shrink) * mean + jitter
    moved[:, 0] = np.clip(moved[:, 0], 0.05, 5.0)
    moved[:, 1] = np.clip(moved[:, 1], *LOG_ALPHA_BOUNDS)
    moved[:, 2] = np.clip(moved[:, 2], *BETA_BOUNDS)
    moved[:, 3] = np.clip(moved[:, 3], math.log(1e-4), math.log(0.5))
    return moved


def _normalised(log_weight: np.ndarray) -> np.ndarray:
    weights = np.exp(log_weight - log_weight.max(axis=-1, keepdims=True))
    return weights / weights.sum(axis=-1, keepdims=True)


def filter_history(
    cycles: np.ndarray,
    fraction: np.ndarray,
    prior: FadePrior,
    *,
    count: int,
    rng: np.random.Generator,
    batch: int = 8,
) -> tuple[Particles, float]:
    """``filter_histories`` for one battery."""
    [result] = filter_histories([(cycles, fraction)], [prior], count=count, rngs=[rng], batch=batch)
    return result


def filter_histories(
    histories: Sequence[tuple[np.ndarray, np.ndarray]],
    priors: Sequence[FadePrior],
    *,
    count: int,
    rngs: Sequence[np.random.Generator],
    batch: int = 8,
) -> list[tuple[Particles, float]]:
    """Sequential importance resampling over each history (cycle numbers, capacity as a fraction of
    rated), ``batch`` cycles per step (the parameters are static, so a batch's likelihood is exact;
    batching only sets how often we may resample). Per battery: the particles, and the smallest
    effective sample size seen (a degeneracy diagnostic).

    All batteries step together, as arrays of batteries x particles (a fleet sweep's batch of 100
    filters costs one battery's Python overhead), yet each battery's answer is what it would get
    alone: it draws from its own generator in the same order, and every step works on whole rows of
    the same shape (histories are padded to a multiple of ``batch`` with cycles that weigh nothing).
    """
    if not histories:
        return []
    lengths = np.array([len(cycles) for cycles, _ in histories])
    width = int(-(-lengths.max() // batch) * batch)
    log_k = np.zeros((len(histories), width))
    observed = np.zeros((len(histories), width))
    counted = np.zeros((len(histories), width), dtype=bool)
    clouds = []
    rho = np.empty(len(histories))
    rate = np.array([prior.learning_rate for prior in priors])[:, None]
    for row, ((cycles, fraction), prior, rng) in enumerate(zip(histories, priors, rngs, strict=True)):
        n = len(cycles)
        log_k[row, :n] = np.log((cycles - cycles[0] + 1.0) / 100.0)
        observed[row, :n] = fraction
        counted[row, :n] = True
        clouds.append(initial_particles(prior, float(np.median(fraction[:3])), count, rng))
        rho[row] = residual_autocorrelation(fraction, prior)
    theta = np.stack(
        [cloud.stack() for cloud in clouds]
    )  # batteries x (q, log alpha, beta, log sigma) x particles
    log_weight = np.zeros((len(histories), count))
    min_ess = np.full(len(histories), float(count))
    # The likelihood in single precision: numpy's float32 exp and log are vectorised (several times
    # faster than float64 here) and the log-weights it adds to stay in double precision; its rounding
    # (1e-7 relative) is far below the noise the weights are about.
    log_k32, observed32 = log_k.astype(np.float32), observed.astype(np.float32)
    half_nu = 0.5 * (STUDENT_NU + 1.0)
    rho32 = rho.astype(np.float32)[:, None, None]
    # Innovation scale relative to the residuals' own (stationary) scale sigma; the first residual of a
    # history has no predecessor and is a draw from the stationary distribution itself.
    innovation = np.sqrt(1.0 - rho * rho)
    for start in range(0, width, batch):
        live = np.flatnonzero(lengths > start)
        step = slice(start, start + batch)
        # The step's residuals and the one before it (recomputed: resampling moves the parameters).
        columns = slice(max(start - 1, 0), start + batch)
        q, log_alpha, beta = (theta[live, i, :, None].astype(np.float32) for i in range(3))
        precision = np.exp(-theta[live, 3, :, None]).astype(np.float32)
        predicted = q * (1.0 - np.exp(log_alpha + beta * log_k32[live, None, columns]))
        residual = observed32[live, None, columns] - predicted
        scale = np.repeat(innovation[live, None], batch, axis=1)
        if start == 0:
            shocks = residual.copy()
            shocks[:, :, 1:] -= rho32[live] * residual[:, :, :-1]
            scale[:, 0] = 1.0
        else:
            shocks = residual[:, :, 1:] - rho32[live] * residual[:, :, :-1]
        z = shocks * precision / scale[:, None, :].astype(np.float32)
        spread = np.log(1.0 + z * z / np.float32(STUDENT_NU))
        mask = counted[live, step]
        spread = np.where(mask[:, None, :], spread, np.float32(0.0)).sum(axis=2, dtype=np.float64)
        log_scale = np.where(mask, np.log(scale), 0.0).sum(axis=1)[:, None]
        loglik = -theta[live, 3] * mask.sum(axis=1)[:, None] - log_scale - half_nu * spread
        log_weight[live] += rate[live] * loglik
        weights = _normalised(log_weight[live])
        ess = 1.0 / np.sum(weights * weights, axis=1)
        min_ess[live] = np.minimum(min_ess[live], ess)
        low = ess < count / 2
        if low.any():
            rows = live[low]
            theta[rows] = _resample_move(theta[rows], weights[low], [rngs[row] for row in rows])
            log_weight[rows] = 0.0
    return [
        (Particles(*theta[row], log_weight=log_weight[row].copy()), float(min_ess[row]))
        for row in range(len(histories))
    ]


ONE = np.ones(1, dtype=np.float32)
# Cycles simulated per step of the measured-crossing simulation: a particle leaves the simulation as
# soon as its path has crossed every threshold it needs, so most of the window is never drawn.
CROSSING_CHUNK = 32


def first_measured_crossings(
    particles: Particles,
    thresholds: Sequence[float],
    last: float,
    rho: float,
    rng: np.random.Generator,
    horizon: int = 400,
) -> dict[float, np.ndarray]:
    """Per threshold and particle, the first future cycle whose *measured* capacity (trend + AR(1)
    noise with the particle's scale) is below the threshold, in cycles after ``last``.

    End of life is defined on measurements, which scatter around the trend, so the first measured
    crossing comes earlier than the trend's own crossing; simulating the noise puts that in the
    forecast and its interval. Per threshold the window is the cycles up to the latest trend crossing
    of any particle, at most ``horizon``; a particle not measured below the threshold inside it gets
    its trend crossing (the noise matters little to where a far crossing lands compared to the
    parameter spread).

    Only the part of a path that can decide an answer is simulated. While a particle's trend is more
    than ``NOISE_MARGIN_SD`` noise deviations above a threshold (the trend only falls), no measurement
    can fall below it, so its path starts at the cycle where its trend enters that margin, with the
    noise drawn from the AR(1) process's stationary distribution (the noise is stationary and
    independent of the trend, so this is the same process as simulating it from the last observed
    cycle). From there it is drawn ``CROSSING_CHUNK`` cycles at a time and ends when the particle has
    crossed every threshold it needs; one path serves the thresholds in turn (so a particle's 70 %
    crossing never precedes its 80 % one), jumping ahead with a fresh stationary start when the next
    threshold's margin is still cycles away.
    """
    from scipy.signal import lfilter  # AR(1) recursion in C; a Python loop over cycles costs ~3 ms

    levels = sorted(set(thresholds), reverse=True)
    # Student-t(nu) scale sigma has standard deviation sigma·sqrt(nu / (nu - 2)).
    sd = np.exp(particles.log_sigma) * math.sqrt(STUDENT_NU / (STUDENT_NU - 2.0))
    margin = NOISE_MARGIN_SD * sd
    q, log_alpha, beta = particles.q, particles.log_alpha, particles.beta
    results, spans, needs, entries = {}, [], [], []
    for threshold in levels:
        trend = crossing_cycle(threshold, q, log_alpha, beta) - last
        span = int(min(max(float(np.max(np.where(np.isfinite(trend), trend, 0.0))), 1.0) + 1, horizon))
        end = fade_curve(np.array([last + span], dtype=float), q, log_alpha, beta)
        results[threshold] = np.maximum(trend, float(span))
        spans.append(span)
        needs.append((end - threshold) <= margin)
        # Cycles after ``last`` whose trend is still above threshold + margin: nothing to simulate.
        entries.append(
            np.floor(np.clip(crossing_cycle(threshold + margin, q, log_alpha, beta) - last, 0, span))
        )
    window = np.array(spans, dtype=float)[:, None]
    pending = np.array(needs)  # thresholds x particles: crossing still to be looked for
    active = np.flatnonzero(pending.any(axis=0))
    pending, entry = pending[:, active], np.array(entries)[:, active]
    position = np.where(pending, entry, np.inf).min(axis=0)  # cycles after ``last`` already passed
    fresh = np.ones(active.size, dtype=bool)  # starts a path: its first value is stationary
    state = np.zeros((active.size, 1), dtype=np.float32)  # the AR(1) state: rho x the last noise value
    innovation = np.float32(math.sqrt(1.0 - rho * rho))
    recursion = np.array([1.0, -rho], dtype=np.float32)
    steps = np.arange(1, CROSSING_CHUNK + 1, dtype=float)[None, :]
    q32, log_alpha32, beta32, sd32 = (values.astype(np.float32) for values in (q, log_alpha, beta, sd))
    while active.size:
        # The trend in single precision (vectorised log and exp, as in the filter's likelihood).
        log_k = np.log(((last + position[:, None] + steps) / 100.0).astype(np.float32))
        mean = q32[active, None] * (1.0 - np.exp(log_alpha32[active, None] + beta32[active, None] * log_k))
        shocks = rng.standard_normal((active.size, CROSSING_CHUNK), dtype=np.float32)
        shocks *= sd32[active, None]
        shocks[:, 1:] *= innovation
        shocks[~fresh, 0] *= innovation
        state[fresh] = 0.0
        noise, state = lfilter(ONE, recursion, shocks, axis=1, zi=state)
        lowest = np.minimum.accumulate(mean + noise, axis=1)
        for row, threshold in enumerate(levels):
            undecided = pending[row]
            if not undecided.any():
                continue
            first = position + (lowest >= threshold).sum(axis=1) + 1.0
            found = undecided & (lowest[:, -1] < threshold) & (first <= window[row])
            results[threshold][active[found]] = first[found]
            pending[row] = undecided & ~found & (position + CROSSING_CHUNK < window[row])
        position = position + CROSSING_CHUNK
        keep = pending.any(axis=0)
        active, pending, entry, state, position = (
            active[keep],
            pending[:, keep],
            entry[:, keep],
            state[keep],
            position[keep],
        )
        # The next threshold's margin may be cycles away: jump there and start a fresh path.
        ahead = np.where(pending, entry, np.inf).min(axis=0) if active.size else position
        fresh = ahead > position
        position = np.maximum(position, ahead)
    return results


MIN_OWN_AUTOCORRELATION = 20


def residual_autocorrelation(fraction: np.ndarray, prior: FadePrior) -> float:
    """rho, the lag-1 autocorrelation of the AR(1) residuals around the trend.

    The history's own when it has at least 20 cycles: for AR(1) residuals around a smooth trend, the
    first differences have lag-1 autocorrelation -(1 - rho) / 2, so rho = 1 + 2·r1(diff) (the trend only
    shifts the differences' mean, removed first). Shorter histories use the training cells' (largest,
    so conservative) figure.
    """
    if len(fraction) < MIN_OWN_AUTOCORRELATION:
        return prior.residual_rho
    d = np.diff(fraction)
    d = d - d.mean()
    denominator = float(d @ d)
    r1 = float(d[:-1] @ d[1:]) / denominator if denominator > 0 else -0.5
    return float(np.clip(1.0 + 2.0 * r1, 0.0, 0.95))
