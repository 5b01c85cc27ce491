"""RUL forecasts from the learned sequence model, with the same interface and rules as ``rul_forecast``.

``learned_rul_forecast`` takes the same (cycle number, capacity Ah) history, returns the same
``RulForecast`` (cycles from the last observed cycle to the first measured capacity below
``threshold`` x rated; median and the 5 %/95 % quantiles) or ``InsufficientData`` (fewer than 5
capacities, or cycle numbers not strictly increasing). ``learned_rul_forecasts`` does a whole fleet and
several thresholds in one forward pass.

The shipped weights (``artifacts/rul_sequence.pt``) are loaded lazily, once per process, from the package
directory only (``torch.load(weights_only=True)``: tensors, no code, nothing downloaded), and their
SHA-256 is checked against ``artifacts/rul_sequence.json`` on load.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from twins.health.rul import HORIZON_CYCLES, THRESHOLDS, RulForecast, clean_history
from twins.health.soh import InsufficientData
from twins.learned.combine import mixture_quantiles
from twins.learned.dataset import history_features
from twins.learned.network import (
    METADATA_PATH,
    VERSION,
    WEIGHTS_PATH,
    RulSequenceBag,
    RulSequenceNet,
    file_sha256,
    load_state,
)

MODEL_NAME = "rul-sequence"
# The training windows put thresholds up to 0.40 of rated below the current level (dataset.py).
TRAINED_DISTANCE = 0.40


@dataclass(frozen=True)
class RulSequenceModel:
    """The networks (a bag of members, or one) with what a forecast must record about them."""

    net: RulSequenceBag | RulSequenceNet
    version: str = VERSION
    sha256: str = ""
    trained_on: tuple[str, ...] = field(default_factory=tuple)


def artifact_metadata() -> dict:
    return json.loads(METADATA_PATH.read_text())


def artifact_hash() -> str:
    """SHA-256 of the shipped weights file (what a twin run records as the model hash)."""
    return file_sha256(WEIGHTS_PATH)


@functools.cache
def load_model() -> RulSequenceModel:
    """The shipped model (cached). Refuses weights whose hash is not the one in the metadata."""
    metadata = artifact_metadata()
    digest = artifact_hash()
    if digest != metadata["sha256"]:
        raise RuntimeError(f"{WEIGHTS_PATH.name}: sha256 {digest} is not the recorded {metadata['sha256']}")
    torch.set_num_threads(1)  # a few thousand multiply-adds per history: threads only add overhead
    net = RulSequenceBag(metadata["members"])
    net.load_state_dict(load_state(WEIGHTS_PATH))
    net.eval()
    return RulSequenceModel(net, metadata["version"], digest, tuple(metadata["real_data"]["cells"]))


def _check_arguments(rated: float, thresholds: Sequence[float], cycles_per_day: float | None) -> None:
    if rated <= 0:
        raise ValueError("rated_capacity_ah must be positive")
    if any(not 0 < t < 1 for t in thresholds):
        raise ValueError("threshold is a fraction of rated, between 0 and 1")
    if cycles_per_day is not None and cycles_per_day <= 0:
        raise ValueError("cycles_per_day must be positive")


def learned_rul_forecasts(
    histories: Sequence[Sequence[tuple[int, float]]],
    rated: Sequence[float],
    thresholds: tuple[float, ...] = THRESHOLDS,
    *,
    cycles_per_day: Sequence[float | None] | None = None,
    model: RulSequenceModel | RulSequenceBag | RulSequenceNet | None = None,
) -> list[dict[float, RulForecast | InsufficientData]]:
    """Forecasts for many batteries and thresholds: one forward pass for the whole batch.

    ``histories[i]`` is battery i's (cycle number, capacity Ah), ``rated[i]`` its rated capacity;
    ``cycles_per_day[i]`` (optional) adds the ``*_days`` fields. Returns, per battery, a dict threshold
    -> forecast, or ``InsufficientData`` for every threshold of a battery with too short a history.
    """
    if len(histories) != len(rated):
        raise ValueError("one rated capacity per history")
    per_day = list(cycles_per_day) if cycles_per_day is not None else [None] * len(histories)
    if len(per_day) != len(histories):
        raise ValueError("one cycles_per_day per history")
    for capacity, days in zip(rated, per_day, strict=True):
        _check_arguments(capacity, thresholds, days)
    if model is None:
        model = load_model()
    elif isinstance(model, RulSequenceBag | RulSequenceNet):
        model = RulSequenceModel(model)
    cleaned = [clean_history(h, r) for h, r in zip(histories, rated, strict=True)]
    valid = [i for i, c in enumerate(cleaned) if not isinstance(c, str)]
    results: list[dict[float, RulForecast | InsufficientData]] = [
        {t: InsufficientData([c]) for t in thresholds} if isinstance(c, str) else {} for c in cleaned
    ]
    if not valid:
        return results
    features = history_features([cleaned[i] for i in valid])
    threshold_row = np.array(thresholds, dtype=np.float32)
    distance = features.level[:, None] - threshold_row[None, :]
    with torch.no_grad():
        quantiles = model.net(
            torch.from_numpy(features.tail),
            torch.from_numpy(features.shape),
            torch.from_numpy(features.scalars),
            torch.from_numpy(distance),
        ).numpy()
    if quantiles.ndim == 4:  # a bag: (histories, thresholds, members, 3) -> the members' mixture
        quantiles = mixture_quantiles(quantiles)
    remaining = np.clip(np.expm1(quantiles.astype(float)), 0.0, HORIZON_CYCLES)
    for row, i in enumerate(valid):
        cycles, fraction = cleaned[i]
        for column, threshold in enumerate(thresholds):
            lower, median, upper = remaining[row, column]
            warnings = []
            if fraction[-1] < threshold:
                warnings.append(f"the last measured capacity is already below {threshold:.0%} of rated")
            if upper >= HORIZON_CYCLES:
                warnings.append(f"the upper bound is beyond the {HORIZON_CYCLES}-cycle horizon")
            if distance[row, column] > TRAINED_DISTANCE:
                warnings.append(
                    f"the threshold is {distance[row, column]:.2f} of rated below the current level; the "
                    f"model was trained up to {TRAINED_DISTANCE:.2f}: extrapolated"
                )
            forecast = RulForecast(
                median_cycles=float(median),
                lower_cycles=float(lower),
                upper_cycles=float(upper),
                threshold=float(threshold),
                model=MODEL_NAME,
                version=model.version,
                last_cycle=float(cycles[-1]),
                warnings=warnings,
            )
            if per_day[i] is not None:
                forecast.median_days = float(median) / per_day[i]
                forecast.lower_days = float(lower) / per_day[i]
                forecast.upper_days = float(upper) / per_day[i]
            results[i][threshold] = forecast
    return results


def learned_rul_forecast(
    capacity_per_cycle: Sequence[tuple[int, float]],
    rated_capacity_ah: float,
    *,
    threshold: float = 0.7,
    cycles_per_day: float | None = None,
    model: RulSequenceModel | RulSequenceBag | RulSequenceNet | None = None,
) -> RulForecast | InsufficientData:
    """Cycles until the measured capacity falls below ``threshold`` x rated, with a 90 % interval.

    Same arguments, units and insufficient-data rules as ``twins.health.rul.rul_forecast`` (cycle
    numbers in the caller's unit, clock from the first entry); deterministic (no sampling).
    """
    return learned_rul_forecasts(
        [capacity_per_cycle],
        [rated_capacity_ah],
        (threshold,),
        cycles_per_day=[cycles_per_day],
        model=model,
    )[0][threshold]
