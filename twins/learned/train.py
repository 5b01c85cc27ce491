"""Training of the RUL sequence model; ``python -m twins.learned.train`` regenerates the shipped artefact.

Two stages, both seeded and single-threaded (bit-for-bit repeatable on one machine; torch does not
promise identical floating point across CPUs or versions, which is why the artefact records its hash):

1. **Pretraining on physics only** (``pretrain``): one network on windows from the PyBaMM trajectories
   in ``artifacts/physics_trajectories.npz`` (``synthetic_data.py``), each trajectory augmented
   ``PHYSICS_COPIES`` times (``dataset.augment_physics``). No NASA data. Saved as
   ``rul_sequence_pretrained.pt``; the accuracy report starts every fold from it.
2. **Fine-tuning on real cells** (``fine_tune``): one copy of the pretrained network per real cell,
   each fine-tuned on the windows of all the real cells but that one, with ``REPLAY_SHARE`` physics
   windows mixed in (so ranges the few real cells do not cover, e.g. histories longer than 170 cycles,
   keep what the physics taught). Then the interval offset (``calibrate_offset``): each member forecasts
   the windows of the cell it did not see, and the offset is the 90 % quantile of how far the truth fell
   outside its interval (conformalised quantile regression, cells weighted equally).
   The shipped ``rul_sequence.pt`` is fine-tuned on all eight NASA cells (eight members; read from
   ../shared at train time, never copied into the repo); the accuracy report does the same with the
   seven training cells of each fold (``train_fold``), so the scored cell is in no member and not in
   the calibration.
"""

from __future__ import annotations

import argparse
import json
import time
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from twins.learned.dataset import Windows, physics_trajectories, real_trajectories, sample_windows
from twins.learned.network import (
    ARTIFACTS,
    METADATA_PATH,
    PRETRAINED_PATH,
    VERSION,
    WEIGHTS_PATH,
    RulSequenceBag,
    RulSequenceNet,
    file_sha256,
    load_state,
    pinball_loss,
)
from twins.learned.synthetic_data import DATASET_PATH, content_sha256, load_trajectories

SEED = 20260102
RATED_AH = 2.0  # the NASA cells

PHYSICS_COPIES = 4
PHYSICS_WINDOWS_PER_TRAJECTORY = 40
# Replay during fine-tuning needs a few hundred physics windows per member: a smaller, fresh draw.
REPLAY_COPIES = 1
REPLAY_WINDOWS_PER_TRAJECTORY = 8
PRETRAIN_STEPS = 3000
REAL_WINDOWS_PER_CELL = 400
FINE_TUNE_STEPS = 400
COVERAGE = 0.9  # the interval the offset is calibrated for
REPLAY_SHARE = 0.1  # share of physics windows in the fine-tuning mix
BATCH = 256
FINE_TUNE_BATCH = 128  # keeps the report's per-fold fine-tuning of all members within budget
LEARNING_RATE = 2e-3
FINE_TUNE_LEARNING_RATE = 2e-3
WEIGHT_DECAY = 1e-4


def _tensors(windows: Windows) -> dict[str, torch.Tensor]:
    return {
        "tail": torch.from_numpy(windows.features.tail),
        "shape": torch.from_numpy(windows.features.shape),
        "scalars": torch.from_numpy(windows.features.scalars),
        "distance": torch.from_numpy(windows.features.level - windows.threshold).unsqueeze(-1),
        "target": torch.log1p(torch.from_numpy(windows.rul)),
        "censored": torch.from_numpy(windows.censored),
    }


def fit(
    net: RulSequenceNet,
    windows: Windows,
    *,
    steps: int,
    seed: int,
    learning_rate: float = LEARNING_RATE,
    batch: int = BATCH,
) -> list[float]:
    """AdamW on the pinball loss with cosine decay; returns the loss of every step."""
    torch.manual_seed(seed)
    data = _tensors(windows)
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.AdamW(net.parameters(), lr=learning_rate, weight_decay=WEIGHT_DECAY)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=max(steps, 1))
    net.train()
    losses = []
    for _ in range(steps):
        index = torch.randint(0, len(windows), (min(batch, len(windows)),), generator=generator)
        predicted = net(
            data["tail"][index], data["shape"][index], data["scalars"][index], data["distance"][index]
        )
        loss = pinball_loss(predicted[:, 0, :], data["target"][index], data["censored"][index])
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        losses.append(float(loss.detach()))
    net.eval()
    return losses


def physics_windows(
    seed: int,
    path: Path = DATASET_PATH,
    *,
    copies: int = PHYSICS_COPIES,
    per_trajectory: int = PHYSICS_WINDOWS_PER_TRAJECTORY,
) -> Windows:
    rng = np.random.default_rng(seed)
    raw = [(t.capacity_ah, t.rated_ah) for t in load_trajectories(path)]
    return sample_windows(physics_trajectories(raw, copies, rng), per_trajectory, rng)


def replay_windows(seed: int, path: Path = DATASET_PATH) -> Windows:
    """The physics windows mixed into fine-tuning."""
    return physics_windows(seed, path, copies=REPLAY_COPIES, per_trajectory=REPLAY_WINDOWS_PER_TRAJECTORY)


def nasa_windows(cells: dict[str, tuple[np.ndarray, np.ndarray]], seed: int) -> dict[str, Windows]:
    """Windows per real cell; each cell's draw depends on the seed and its name only, so a cell gives the
    same windows in every fold."""
    result = {}
    for trajectory in real_trajectories(cells, RATED_AH):
        rng = np.random.default_rng([seed, zlib.crc32(trajectory.name.encode())])
        result[trajectory.name] = sample_windows([trajectory], REAL_WINDOWS_PER_CELL, rng)
    return result


def _deterministic() -> None:
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


def pretrain(seed: int = SEED, *, steps: int = PRETRAIN_STEPS, path: Path = DATASET_PATH) -> RulSequenceNet:
    """Stage 1: physics windows only."""
    _deterministic()
    torch.manual_seed(seed)
    net = RulSequenceNet()
    fit(net, physics_windows(seed, path), steps=steps, seed=seed)
    return net


def member_cells(names: Sequence[str]) -> list[list[str]]:
    """The cells each member is fine-tuned on: all but one (leave one cell out)."""
    names = sorted(names)
    if len(names) < 2:
        raise ValueError("fine-tuning needs at least two real cells (one member per left-out cell)")
    return [[n for n in names if n != left_out] for left_out in names]


def calibrate_offset(bag: RulSequenceBag, left_out: Sequence[str], real: dict[str, Windows]) -> float:
    """Conformalised quantile regression with out-of-bag members: member i forecasts the uncensored
    windows of ``left_out[i]``; the score is how far log(1 + true RUL) lies outside the member's
    [5 %, 95 %] interval (negative inside); the offset is the ``COVERAGE`` quantile of the scores with
    every cell weighted equally, never below 0 (intervals are widened, never narrowed)."""
    scores, weights = [], []
    with torch.no_grad():
        for member, name in zip(bag.members, left_out, strict=True):
            windows = real[name]
            known = ~windows.censored
            if not known.any():
                continue
            data = _tensors(_subset(windows, np.flatnonzero(known)))
            predicted = member(data["tail"], data["shape"], data["scalars"], data["distance"])[:, 0, :]
            lower, upper = predicted[:, 0], predicted[:, 2]
            score = torch.maximum(lower - data["target"], data["target"] - upper).numpy()
            scores.append(score)
            weights.append(np.full(score.size, 1.0 / score.size))
    if not scores:
        return 0.0
    score, weight = np.concatenate(scores), np.concatenate(weights)
    order = np.argsort(score)
    cumulative = np.cumsum(weight[order]) / weight.sum()
    quantile = score[order][min(np.searchsorted(cumulative, COVERAGE), score.size - 1)]
    return max(float(quantile), 0.0)


def fine_tune(
    pretrained: dict[str, torch.Tensor],
    cells: dict[str, tuple[np.ndarray, np.ndarray]],
    seed: int = SEED,
    *,
    steps: int = FINE_TUNE_STEPS,
    replay: Windows | None = None,
    real: dict[str, Windows] | None = None,
) -> tuple[RulSequenceBag, list[list[str]]]:
    """Stage 2: one member per cell of ``cells`` ({name: (discharge count, Ah)}), fine-tuned from the
    pretrained weights on the windows of the other cells mixed with physics windows; then the interval
    offset from each member's forecasts of its left-out cell. Returns the bag and each member's cells.
    ``replay`` (``replay_windows(seed + 2)``) and ``real`` (``nasa_windows(cells, seed + 1)``, a superset
    is fine: windows are per cell) may be passed in when several folds share them."""
    _deterministic()
    real = real if real is not None else nasa_windows(cells, seed + 1)
    replay = replay if replay is not None else replay_windows(seed + 2)
    subsets = member_cells(list(cells))
    left_out = sorted(cells)
    bag = RulSequenceBag(len(subsets))
    for index, (member, subset) in enumerate(zip(bag.members, subsets, strict=True)):
        member.load_state_dict(pretrained)
        chosen_real = Windows.concatenate(real[name] for name in subset)
        count = min(round(len(chosen_real) * REPLAY_SHARE / (1.0 - REPLAY_SHARE)), len(replay))
        chosen = np.random.default_rng([seed, 3, index]).choice(len(replay), size=count, replace=False)
        mixed = Windows.concatenate([chosen_real, _subset(replay, np.sort(chosen))])
        fit(
            member,
            mixed,
            steps=steps,
            seed=seed + 4 + index,
            learning_rate=FINE_TUNE_LEARNING_RATE,
            batch=FINE_TUNE_BATCH,
        )
    bag.width_offset.fill_(calibrate_offset(bag, left_out, real))
    bag.eval()
    return bag, subsets


def _subset(windows: Windows, index: np.ndarray) -> Windows:
    return Windows(
        windows.features.select(index),
        windows.threshold[index],
        windows.rul[index],
        windows.censored[index],
        [windows.source[i] for i in index],
    )


def train_fold(
    cells: dict[str, tuple[np.ndarray, np.ndarray]],
    training: Sequence[str],
    *,
    seed: int = SEED,
    steps: int = FINE_TUNE_STEPS,
    replay: Windows | None = None,
) -> tuple[RulSequenceBag, list[list[str]]]:
    """The report's per-fold model: the shipped physics-only pretrained weights, fine-tuned on the
    ``training`` cells only (the scored cell is never among them)."""
    return fine_tune(
        load_state(PRETRAINED_PATH), {n: cells[n] for n in training}, seed, steps=steps, replay=replay
    )


def nasa_cells() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    from twins.health.evaluation import load_cells

    return {name: (cell.cycles, cell.capacity_ah) for name, cell in load_cells().items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train the RUL sequence model and write the artefact.")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    net = pretrain(args.seed)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pretrained = {k: v.clone() for k, v in net.state_dict().items()}
    torch.save(pretrained, PRETRAINED_PATH)
    print(f"pretrained on physics in {time.perf_counter() - start:.0f} s")
    cells = nasa_cells()
    if len(cells) < 8:
        raise SystemExit("the eight NASA cells are needed under ../shared/data/nasa-pcoe")
    bag, subsets = fine_tune(pretrained, cells, args.seed)
    torch.save(bag.state_dict(), WEIGHTS_PATH)
    with np.load(DATASET_PATH) as data:
        physics_count, physics_cycles = len(data["lengths"]), int(data["lengths"].sum())
    metadata = {
        "model": "rul-sequence",
        "version": VERSION,
        "seed": args.seed,
        "weights": WEIGHTS_PATH.name,
        "sha256": file_sha256(WEIGHTS_PATH),
        "members": len(subsets),
        "width_offset": round(float(bag.width_offset), 6),
        "pretrained_weights": PRETRAINED_PATH.name,
        "pretrained_sha256": file_sha256(PRETRAINED_PATH),
        "physics_data": {
            "file": DATASET_PATH.name,
            "content_sha256": content_sha256(DATASET_PATH),
            "trajectories": physics_count,
            "cycles": physics_cycles,
            "generator": "python -m twins.learned.synthetic_data (PyBaMM SPM/SPMe, SEI solvent-diffusion or "
            "reaction limited, some plating and pore clogging; degradation rates scaled so cells reach "
            "60-80 % of rated in a few hundred cycles)",
            "augmentation": f"{PHYSICS_COPIES} copies each: level, time warp, noise, regeneration jumps",
        },
        "real_data": {
            "source": "NASA PCoE battery data set (../shared/data/nasa-pcoe), capacity per discharge / 2 Ah",
            "cells": sorted(cells),
            "member_cells": subsets,  # member i leaves out cells[i]
            "windows_per_cell": REAL_WINDOWS_PER_CELL,
        },
        "training": {
            "pretrain_steps": PRETRAIN_STEPS,
            "fine_tune_steps": FINE_TUNE_STEPS,
            "replay_share": REPLAY_SHARE,
            "coverage": COVERAGE,
            "batch": BATCH,
            "fine_tune_batch": FINE_TUNE_BATCH,
            "learning_rate": LEARNING_RATE,
            "fine_tune_learning_rate": FINE_TUNE_LEARNING_RATE,
            "torch": torch.__version__,
        },
        "note": "the accuracy report does not use these final weights: it fine-tunes the pretrained "
        "(physics-only) weights per fold without the scored cell",
    }
    METADATA_PATH.write_text(json.dumps(metadata, indent=2) + "\n")
    print(
        f"wrote {WEIGHTS_PATH} ({WEIGHTS_PATH.stat().st_size} bytes) in {time.perf_counter() - start:.0f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
