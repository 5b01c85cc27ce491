"""Training windows for the RUL sequence model: features of a capacity history and the RUL it ended up with.

A *window* is a trajectory cut at some cycle plus a threshold: the input is the history up to the cut
(capacity as a fraction of rated), the target is the number of cycles from the cut to the first *measured*
capacity below the threshold (the accuracy report's definition), or a lower bound on it when the
trajectory ends first (censored). Cut points and thresholds are random, thresholds continuous, so one
trajectory yields many windows and the model learns "distance to the threshold" rather than three fixed
levels.

Features (``history_features``) depend on the history only, never on the threshold: the network embeds a
history once and reads any number of thresholds off it (and a structural monotonicity in the threshold
is possible, see ``network.py``). All of them are in fractions of rated and in cycles from the first
entry, so histories of different cells, rated capacities and lengths are comparable:

* ``tail``: the last ``TAIL`` cycles on a one-cycle grid (linear interpolation, so gaps in the cycle
  numbers do not matter), relative to the current level, plus a mask channel for grid points before the
  first entry. Shows the recent fade rate and regeneration jumps at the cycle scale.
* ``shape``: the whole history (smoothed over 5 entries) resampled at ``SHAPE_POINTS`` equally spaced
  cycles, relative to the current level: the overall shape (decelerating, linear, accelerating).
* ``scalars``: current level, initial level, fade so far, log of the history length, mean and recent fade
  rates, the level's residual scatter.

The current level is the local linear trend over the last ``LEVEL_WINDOW`` entries read at the last one
(a single capacity is too noisy to measure the distance to a threshold from).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

TAIL = 64
SHAPE_POINTS = 16
LEVEL_WINDOW = 10
SCALARS = 7
# RULs are learned up to this many cycles; the physics runs are at most a few hundred cycles x time warp.
MAX_RUL = 3000.0


@dataclass
class HistoryFeatures:
    tail: np.ndarray  # (n, TAIL, 2): capacity - level, mask
    shape: np.ndarray  # (n, SHAPE_POINTS)
    scalars: np.ndarray  # (n, SCALARS)
    level: np.ndarray  # (n,) current level, fraction of rated

    def __len__(self) -> int:
        return len(self.level)

    def select(self, index: np.ndarray) -> HistoryFeatures:
        return HistoryFeatures(self.tail[index], self.shape[index], self.scalars[index], self.level[index])


def _trend_at_last(k: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Level (linear trend at the last entry), slope per cycle and residual scatter."""
    if len(k) >= 3 and np.ptp(k) > 0:
        slope, intercept = np.polyfit(k, y, 1)
        residual = y - (slope * k + intercept)
        return float(slope * k[-1] + intercept), float(slope), float(np.std(residual))
    return float(np.mean(y)), 0.0, 0.0


def _smooth(y: np.ndarray, width: int = 5) -> np.ndarray:
    if len(y) < width:
        return y
    padded = np.pad(y, (width // 2, width // 2), mode="edge")
    return np.convolve(padded, np.ones(width) / width, mode="valid")


def single_history_features(cycles: np.ndarray, fraction: np.ndarray) -> tuple[np.ndarray, ...]:
    """(tail, shape, scalars, level) of one history; ``cycles`` increasing, ``fraction`` of rated."""
    k = cycles - cycles[0] + 1.0
    last = k[-1]
    recent = slice(max(0, len(k) - LEVEL_WINDOW), len(k))
    level, _, scatter = _trend_at_last(k[recent], fraction[recent])
    grid = last - np.arange(TAIL - 1, -1, -1, dtype=float)
    inside = grid >= 1.0
    tail = np.stack([np.interp(grid, k, fraction) - level, inside.astype(float)], axis=1)
    tail[~inside, 0] = 0.0
    shape_grid = np.linspace(1.0, last, SHAPE_POINTS)
    shape = np.interp(shape_grid, k, _smooth(fraction)) - level
    initial = float(np.median(fraction[:3]))
    window20 = slice(max(0, len(k) - 20), len(k))
    _, recent_slope, _ = _trend_at_last(k[window20], fraction[window20])
    scalars = np.array(
        [
            level,
            initial,
            initial - level,
            math.log(last),
            100.0 * (initial - level) / last,  # mean fade per 100 cycles
            -100.0 * recent_slope,  # recent fade per 100 cycles
            100.0 * scatter,
        ]
    )
    return tail, shape, scalars, level


def history_features(histories: Sequence[tuple[np.ndarray, np.ndarray]]) -> HistoryFeatures:
    """Features of many histories ``[(cycles, fraction of rated)]`` (each at least 2 entries)."""
    parts = [single_history_features(np.asarray(c, float), np.asarray(y, float)) for c, y in histories]
    if not parts:
        return HistoryFeatures(
            np.zeros((0, TAIL, 2), np.float32),
            np.zeros((0, SHAPE_POINTS), np.float32),
            np.zeros((0, SCALARS), np.float32),
            np.zeros(0, np.float32),
        )
    return HistoryFeatures(
        np.stack([p[0] for p in parts]).astype(np.float32),
        np.stack([p[1] for p in parts]).astype(np.float32),
        np.stack([p[2] for p in parts]).astype(np.float32),
        np.array([p[3] for p in parts], dtype=np.float32),
    )


@dataclass
class Trajectory:
    """A whole capacity series (fraction of rated) to cut windows from."""

    name: str
    cycles: np.ndarray
    fraction: np.ndarray
    source: str  # 'physics' | 'nasa'


@dataclass
class Windows:
    features: HistoryFeatures
    threshold: np.ndarray  # (n,) fraction of rated
    rul: np.ndarray  # (n,) cycles from the cut to the first measured crossing, or the censoring bound
    censored: np.ndarray  # (n,) bool: the trajectory ended before crossing; rul is a lower bound
    source: list[str]

    def __len__(self) -> int:
        return len(self.rul)

    @staticmethod
    def concatenate(parts: Iterable[Windows]) -> Windows:
        parts = [p for p in parts if len(p)]
        return Windows(
            HistoryFeatures(
                np.concatenate([p.features.tail for p in parts]),
                np.concatenate([p.features.shape for p in parts]),
                np.concatenate([p.features.scalars for p in parts]),
                np.concatenate([p.features.level for p in parts]),
            ),
            np.concatenate([p.threshold for p in parts]),
            np.concatenate([p.rul for p in parts]),
            np.concatenate([p.censored for p in parts]),
            [s for p in parts for s in p.source],
        )


def first_crossing(fraction: np.ndarray, threshold: float) -> int | None:
    """Index of the first measured value below ``threshold`` (None: never)."""
    below = np.flatnonzero(fraction < threshold)
    return int(below[0]) if below.size else None


def sample_windows(
    trajectories: Sequence[Trajectory],
    per_trajectory: int,
    rng: np.random.Generator,
    *,
    min_history: int = 5,
    distance: tuple[float, float] = (-0.02, 0.40),
    threshold_bounds: tuple[float, float] = (0.25, 0.98),
) -> Windows:
    """Random (cut, threshold) windows. The threshold is drawn as a distance below the level at the cut
    (uniform over ``distance``, fraction of rated), so near and far thresholds are equally represented;
    windows whose measured capacity already crossed the threshold at or before the cut are dropped (the
    report never scores them), windows whose trajectory ends first are kept as censored."""
    histories, thresholds, ruls, censored, sources = [], [], [], [], []
    for trajectory in trajectories:
        k, y = trajectory.cycles, trajectory.fraction
        n = len(k)
        if n <= min_history:
            continue
        attempts = 0
        made = 0
        while made < per_trajectory and attempts < 4 * per_trajectory:
            attempts += 1
            cut = int(rng.integers(min_history - 1, n - 1))
            recent = slice(max(0, cut + 1 - LEVEL_WINDOW), cut + 1)
            level, _, _ = _trend_at_last(k[recent], y[recent])
            threshold = float(np.clip(level - rng.uniform(*distance), *threshold_bounds))
            crossing = first_crossing(y, threshold)
            if crossing is not None and crossing <= cut:
                continue
            if crossing is None:
                bound = float(k[-1] - k[cut])
                if bound < 1.0:
                    continue
                ruls.append(min(bound, MAX_RUL))
                censored.append(True)
            else:
                ruls.append(min(float(k[crossing] - k[cut]), MAX_RUL))
                censored.append(ruls[-1] >= MAX_RUL)
            histories.append((k[: cut + 1], y[: cut + 1]))
            thresholds.append(threshold)
            sources.append(trajectory.source)
            made += 1
    return Windows(
        history_features(histories),
        np.array(thresholds, dtype=np.float32),
        np.array(ruls, dtype=np.float32),
        np.array(censored, dtype=bool),
        sources,
    )


# --- augmentation of the physics trajectories ----------------------------------------------------------


def augment_physics(
    capacity_ah: np.ndarray, rated_ah: float, rng: np.random.Generator, name: str
) -> Trajectory:
    """What the physics lacks and real cells have: a spread of initial capacities and fade speeds, noise,
    and regeneration after rests.

    * level: the whole series scaled so it starts at U(0.80, 1.02) of rated (the simulated cells all start
      at ~0.91 of their nominal capacity);
    * time warp: the cycle axis stretched by a log-uniform factor in [0.4, 2.5] (equivalent to another
      degradation rate scale; the shape is kept);
    * measurement noise: Gaussian, std U(0.001, 0.01) of rated;
    * regeneration: at rests every U(8, 40) cycles the capacity jumps up by U(0, 0.025) of rated and the
      excess decays over U(2, 8) cycles (what NASA B0005-B0007 show after their rest periods).
    """
    fraction = capacity_ah / rated_ah
    fraction = fraction * rng.uniform(0.80, 1.02) / fraction[0]
    warp = math.exp(rng.uniform(math.log(0.4), math.log(2.5)))
    length = max(int(len(fraction) * warp), 6)
    source_k = np.arange(1, len(fraction) + 1, dtype=float)
    k = np.arange(1, length + 1, dtype=float)
    y = np.interp(1.0 + (k - 1.0) / warp, source_k, fraction)
    regeneration = np.zeros(length)
    period = rng.uniform(8, 40)
    position = rng.uniform(2, period)
    while position < length:
        start = int(position)
        amplitude, decay = rng.uniform(0.0, 0.025), rng.uniform(2.0, 8.0)
        regeneration[start:] += amplitude * np.exp(-(k[start:] - k[start]) / decay)
        position += period * rng.uniform(0.6, 1.4)
    y = y + regeneration + rng.normal(0.0, rng.uniform(0.001, 0.01), length)
    return Trajectory(name, k, y, "physics")


def physics_trajectories(
    raw: Sequence[tuple[np.ndarray, float]], copies: int, rng: np.random.Generator
) -> list[Trajectory]:
    """``copies`` augmented versions of each simulated (capacity Ah, rated Ah) trajectory."""
    return [
        augment_physics(capacity, rated, rng, f"physics-{i}-{c}")
        for i, (capacity, rated) in enumerate(raw)
        for c in range(copies)
    ]


def real_trajectories(cells: dict[str, tuple[np.ndarray, np.ndarray]], rated_ah: float) -> list[Trajectory]:
    """NASA cells ``{name: (discharge count, capacity Ah)}`` as trajectories (no augmentation)."""
    return [
        Trajectory(name, np.asarray(cycles, float), np.asarray(capacity, float) / rated_ah, "nasa")
        for name, (cycles, capacity) in sorted(cells.items())
    ]
