"""A measured current profile as the solver takes it: clean time, steady steps levelled, a held current.

Real files repeat time stamps, carry NaN rows, log a constant current with sample-to-sample noise and
sample a pulsed profile once per pulse; each function here turns one of those into what a DAE solver can
integrate cheaply and faithfully (``twins.physics.model.DischargeSimulator`` uses them all).
"""

from __future__ import annotations

import numpy as np

# Each sample's current is held for the half interval either side of it (see ``current_knots``).
EDGE_S = 0.05
# A run of samples whose current stays this close to the run's mean is one steady step (``level_steady``):
# 10 mA or 1 % of the current, whichever is larger.
STEADY_ABS_A = 0.01
STEADY_REL = 0.01


def clean_profile(
    time_s: np.ndarray, *columns: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, ...], np.ndarray]:
    """Time from zero, strictly increasing, finite; returns (time, columns, kept-index).

    Real files repeat time stamps, carry NaN rows and start at an epoch: all of that is dropped or
    shifted here so the interpolant and the solver never see it.
    """
    time_s = np.asarray(time_s, dtype=float)
    ok = np.isfinite(time_s)
    for column in columns:
        ok &= np.isfinite(np.asarray(column, dtype=float))
    index = np.flatnonzero(ok)
    t = time_s[index]
    if len(t):
        keep = np.concatenate(([True], np.diff(t) > 0))
        # A sample earlier than its predecessor is dropped too (running max keeps time increasing).
        keep &= t >= np.maximum.accumulate(t)
        index, t = index[keep], t[keep]
        t = t - t[0]
    return t, tuple(np.asarray(c, dtype=float)[index] for c in columns), index


def held_durations(time_s: np.ndarray) -> np.ndarray:
    """How long each sample's value is held: from half-way to its predecessor to half-way to its successor
    (the first from the start, the last to the end). They sum to the profile's duration."""
    if len(time_s) < 2:
        return np.ones(len(time_s))
    mids = 0.5 * (time_s[1:] + time_s[:-1])
    return np.diff(np.concatenate(([time_s[0]], mids, [time_s[-1]])))


def level_steady(time_s: np.ndarray, current_a: np.ndarray) -> np.ndarray:
    """The current with each steady run of samples replaced by the run's mean over its held durations.

    A NASA constant-current step reads 1.003-1.009 A from sample to sample. Held sample by sample, that
    noise is a step change every ~13 s, and the DAE solver shortens its step at each one: levelling it
    halves a DFN solve (1.5 s instead of 3 s on B0045's discharge) for a sub-millivolt change in voltage.
    A run ends where a sample leaves the band (``STEADY_ABS_A`` or ``STEADY_REL`` of the run's mean), so
    pulses, steps and the rest after a discharge stay as measured, and the charge of every run is kept.
    """
    current = np.asarray(current_a, dtype=float)
    if len(current) < 2:
        return current.copy()
    weights = held_durations(np.asarray(time_s, dtype=float))
    levelled = np.empty_like(current)
    start, charge, duration = 0, current[0] * weights[0], weights[0]
    for k in range(1, len(current) + 1):
        mean = charge / duration if duration > 0 else current[start]
        if k < len(current) and abs(current[k] - mean) <= max(STEADY_ABS_A, STEADY_REL * abs(mean)):
            charge += current[k] * weights[k]
            duration += weights[k]
            continue
        levelled[start:k] = mean
        if k < len(current):
            start, charge, duration = k, current[k] * weights[k], weights[k]
    return levelled


def changes_of(levelled_current_a: np.ndarray) -> int:
    """How often a levelled current (``level_steady``) changes from one sample to the next."""
    return int(np.count_nonzero(np.diff(levelled_current_a)))


def current_knots(time_s: np.ndarray, current_a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A piecewise-constant current: each sample's value held from half-way to its neighbours.

    NASA's pulsed discharges (B0025-B0028: 4 A, 0.05 Hz, 50 % duty) are sampled every ~10 s, i.e. once
    per pulse or pause. Linear interpolation would turn that square wave into a triangle wave; holding
    each sample over its own interval keeps the square wave (right charge, right duty) and puts each
    voltage sample in mid-pulse, which is the best guess of where it was taken. For constant-current
    steps it is the same as linear interpolation apart from where the step edges sit. The edges are
    ramps of 2*EDGE_S seconds so the interpolant stays continuous for the DAE solver.
    """
    if len(time_s) < 2:
        value = float(current_a[0]) if len(current_a) else 0.0
        return np.array([0.0, 1.0]), np.array([value, value])
    mids = 0.5 * (time_s[1:] + time_s[:-1])
    gaps = np.diff(time_s)
    edge = np.minimum(EDGE_S, 0.25 * gaps)
    t = np.empty(2 * len(mids) + 2)
    i = np.empty_like(t)
    t[0], i[0] = time_s[0], current_a[0]
    t[1:-1:2], i[1:-1:2] = mids - edge, current_a[:-1]
    t[2:-1:2], i[2:-1:2] = mids + edge, current_a[1:]
    t[-1], i[-1] = time_s[-1], current_a[-1]
    return t, i
