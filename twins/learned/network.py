"""The RUL sequence network: a 1-D convolution over the recent capacity history, quantiles of log(1 + RUL)
out; and the bag of such networks that is the shipped model.

One network (``RulSequenceNet``, ~14 k parameters, 56 kB):

* three strided 1-D convolutions (kernel 5, 8-16 channels) over the last ``dataset.TAIL`` cycles
  (capacity minus the current level, and a mask), flattened so the position (recent or old) is kept;
* a linear layer over the whole-history shape and the scalar features (``dataset.history_features``);
* a two-layer MLP over both: the history's embedding ``z``. It never sees the threshold;
* a head that reads the 5 %, 50 % and 95 % quantiles of log(1 + RUL) at the *distance to the threshold*
  ``d = level - threshold`` (fraction of rated). Each quantile is
  ``c(z) + a(z)·log(0.005 + softplus_100(d)) + Σ_j w_j(z)·sigmoid((d - d_j)/0.04)`` with ``a, w_j >= 0``
  (softplus), i.e. a non-decreasing function of ``d``, and the three are sorted (each order statistic of
  non-decreasing functions is non-decreasing). So by construction a lower threshold never gives a shorter
  RUL at any of the three quantiles, and lower <= median <= upper. The log term carries the first-order
  physics (RUL ∝ distance / fade rate, additive in log space); the sigmoids bend it.

A convolution rather than a GRU: the same accuracy on the training windows at a third of the CPU time
per training step (the recurrence is sequential over 64 steps), which is what makes per-fold
fine-tuning of several members affordable in the accuracy report.

Why quantiles of log(1 + RUL) and not a parametric distribution: the errors of a RUL forecast are
skewed (a cell can stop fading but cannot un-cross), the spread grows with the RUL, and the report and
the ``RulForecast`` need exactly three quantiles. Pinball loss on them needs no distributional
assumption and handles censored windows (a trajectory that ended before crossing: only predictions
below the bound are penalised).

The model (``RulSequenceBag``) is one such network per real training cell, each fine-tuned on all real
cells but that one (``train.py``); the forecast is the mixture of their distributions (``combine.py``).
Quantile regression on the windows of a handful of cells learns the scatter *within* those cells, not how
differently the next cell may behave: so each member's interval is widened by ``width_offset``
(log(1 + cycles), added below the 5 % and above the 95 % quantile), calibrated on the cell that member
did not see (conformalised quantile regression with out-of-bag members, ``train.calibrate_offset``).
A constant shift keeps every quantile non-decreasing in the distance, so the mixture stays monotone in
the threshold.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch import nn

from twins.learned.dataset import SCALARS, SHAPE_POINTS, TAIL

VERSION = "1.0"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
WEIGHTS_PATH = ARTIFACTS / "rul_sequence.pt"  # shipped: physics pretraining + all eight NASA cells
PRETRAINED_PATH = ARTIFACTS / "rul_sequence_pretrained.pt"  # physics only (the report's starting point)
METADATA_PATH = ARTIFACTS / "rul_sequence.json"

HIDDEN = 32
EMBEDDING = 48
QUANTILES = (0.05, 0.5, 0.95)
BASIS_CENTRES = tuple(round(-0.02 + 0.05 * j, 3) for j in range(10))  # -0.02 .. 0.43 of rated
BASIS_WIDTH = 0.04


class RulSequenceNet(nn.Module):
    def __init__(self, hidden: int = HIDDEN, embedding: int = EMBEDDING):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv1d(2, 8, kernel_size=5, stride=2, padding=2),
            nn.GELU(),
            nn.Conv1d(8, 16, kernel_size=5, stride=2, padding=2),
            nn.GELU(),
            nn.Conv1d(16, 16, kernel_size=5, stride=2, padding=2),
            nn.GELU(),
            nn.Flatten(),
            nn.Linear(16 * (TAIL // 8), hidden),
            nn.GELU(),
        )
        self.summary = nn.Linear(SHAPE_POINTS + SCALARS, hidden)
        self.trunk = nn.Sequential(
            nn.Linear(2 * hidden, embedding), nn.GELU(), nn.Linear(embedding, embedding), nn.GELU()
        )
        self.terms = 2 + len(BASIS_CENTRES)  # constant, log coefficient, sigmoid weights
        self.head = nn.Linear(embedding, len(QUANTILES) * self.terms)
        self.register_buffer("centres", torch.tensor(BASIS_CENTRES, dtype=torch.float32))
        # Input scale: capacity deviations are a few hundredths of rated, the scalars O(0.1-5).
        self.deviation_scale = 20.0

    def embed(self, tail: torch.Tensor, shape: torch.Tensor, scalars: torch.Tensor) -> torch.Tensor:
        """(n, TAIL, 2), (n, SHAPE_POINTS), (n, SCALARS) -> (n, embedding); threshold-free."""
        scaled = torch.cat([tail[..., :1] * self.deviation_scale, tail[..., 1:]], dim=-1)
        encoded = self.encoder(scaled.transpose(1, 2))
        summary = torch.tanh(self.summary(torch.cat([shape * self.deviation_scale, scalars], dim=-1)))
        return self.trunk(torch.cat([encoded, summary], dim=-1))

    def quantiles(self, embedding: torch.Tensor, distance: torch.Tensor) -> torch.Tensor:
        """Quantiles of log(1 + RUL): embedding (n, e), distance (n, t) -> (n, t, 3), sorted, each
        non-decreasing in distance."""
        n = embedding.shape[0]
        terms = self.head(embedding).view(n, 1, len(QUANTILES), self.terms)
        d = distance.unsqueeze(-1)  # (n, t, 1)
        log_term = torch.log(0.005 + nn.functional.softplus(d, beta=100.0))
        basis = torch.sigmoid((d - self.centres) / BASIS_WIDTH)  # (n, t, B)
        constant = terms[..., 0]
        log_coeff = nn.functional.softplus(terms[..., 1])
        weights = nn.functional.softplus(terms[..., 2:])  # (n, 1, 3, B)
        value = constant + log_coeff * log_term + (weights * basis.unsqueeze(2)).sum(-1)
        return torch.sort(value, dim=-1).values

    def forward(
        self, tail: torch.Tensor, shape: torch.Tensor, scalars: torch.Tensor, distance: torch.Tensor
    ) -> torch.Tensor:
        return self.quantiles(self.embed(tail, shape, scalars), distance)


class RulSequenceBag(nn.Module):
    """``members`` networks; ``forward`` gives every member's quantiles widened by ``width_offset``,
    (n, t, members, 3)."""

    def __init__(self, members: int):
        super().__init__()
        self.members = nn.ModuleList(RulSequenceNet() for _ in range(members))
        self.register_buffer("width_offset", torch.zeros(()))

    def forward(
        self, tail: torch.Tensor, shape: torch.Tensor, scalars: torch.Tensor, distance: torch.Tensor
    ) -> torch.Tensor:
        quantiles = torch.stack([m(tail, shape, scalars, distance) for m in self.members], dim=2)
        widen = torch.stack([-self.width_offset, torch.zeros_like(self.width_offset), self.width_offset])
        return quantiles + widen


def pinball_loss(predicted: torch.Tensor, target: torch.Tensor, censored: torch.Tensor) -> torch.Tensor:
    """Mean pinball loss over the three quantiles; ``predicted`` (n, 3), ``target`` (n,) log(1 + RUL).

    A censored target is a lower bound: a prediction at or above it may be right whatever it is, so only
    predictions below it are penalised (the one-sided loss of censored quantile regression)."""
    q = torch.tensor(QUANTILES, dtype=predicted.dtype)
    error = target.unsqueeze(-1) - predicted
    loss = torch.maximum(q * error, (q - 1.0) * error)
    loss = torch.where(censored.unsqueeze(-1) & (error <= 0), torch.zeros_like(loss), loss)
    return loss.mean()


def load_state(path: Path) -> dict[str, torch.Tensor]:
    """A state_dict from disk: tensors only (``weights_only``: no pickled code runs), on the CPU."""
    return torch.load(path, map_location="cpu", weights_only=True)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
