"""Forecast windows: what the networks see at a forecast origin, and the rolling origins of a backtest.

At origin o (the first step to forecast) a window holds
    past    z[o-L : o] - level          (L,)   the scaled context, relative to its last value
    future  z[o : o+H] - level          (H,)   the targets (unknown when forecasting)
    known   [covariates, season phase]  (L+H, F) inputs known in advance over the whole window
    level   z[o-1]                              added back to every output
Subtracting the level makes the networks forecast changes rather than absolute levels, so a trend that
carries the test part above anything seen in training does not push the inputs out of range.
The season phase is (sin, cos) of 2*pi*t/season for the absolute step number t (months since 1970-01
for monthly data, half-hours since 1970-01-01 for half-hourly data), so the model knows where in the
cycle each step lies, whatever the first row of a file.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import Tensor


@dataclass(frozen=True)
class Windows:
    """A batch of windows (see the module docstring); tensors float32."""

    past: Tensor        # (B, L)
    future: Tensor      # (B, H), NaN where unknown
    known: Tensor       # (B, L+H, F)
    level: Tensor       # (B,)

    def to(self, device: torch.device | str) -> Windows:
        return replace(self, past=self.past.to(device), future=self.future.to(device), known=self.known.to(device),
                       level=self.level.to(device))

    def __len__(self) -> int:
        return self.past.shape[0]

    def select(self, index: np.ndarray | Tensor) -> Windows:
        index = torch.as_tensor(index, dtype=torch.long)
        return Windows(self.past[index], self.future[index], self.known[index], self.level[index])


def known_features(covariates: np.ndarray, season: int, steps: np.ndarray) -> np.ndarray:
    """(N, F) inputs known in advance: the scaled covariates, then (sin, cos) of the season phase of each
    absolute step number in `steps` (N,)."""
    n = len(covariates)
    cols = [covariates.reshape(n, -1)]
    if season > 1:
        angle = 2 * np.pi * (np.asarray(steps) % season) / season
        cols.append(np.stack([np.sin(angle), np.cos(angle)], axis=1))
    return np.concatenate(cols, axis=1)


def make_windows(z: np.ndarray, known: np.ndarray, origins: np.ndarray, context: int, horizon: int) -> Windows:
    """Windows at the given origins of a scaled series z (N,); targets past the end of z are NaN."""
    origins = np.asarray(origins, dtype=np.int64)
    if len(origins) == 0:
        raise ValueError("no forecast origins")
    if origins.min() < context:
        raise ValueError(f"origin {origins.min()} has fewer than context={context} steps before it")
    if origins.max() + horizon > len(known):
        raise ValueError(f"origin {origins.max()} + horizon {horizon} runs past the known inputs ({len(known)} steps)")
    padded = np.concatenate([z, np.full(max(0, origins.max() + horizon - len(z)), np.nan)])
    span = np.arange(-context, horizon)                       # (L+H,) offsets from the origin
    values = padded[origins[:, None] + span[None, :]]          # (B, L+H)
    level = padded[origins - 1]                               # (B,)
    rel = values - level[:, None]
    return Windows(torch.tensor(rel[:, :context], dtype=torch.float32),
                   torch.tensor(rel[:, context:], dtype=torch.float32),
                   torch.tensor(known[origins[:, None] + span[None, :]], dtype=torch.float32),
                   torch.tensor(level, dtype=torch.float32))


def rolling_origins(start: int, stop: int, horizon: int, step: int) -> np.ndarray:
    """Origins start, start+step, ... with a whole horizon before `stop` (the rolling-origin backtest)."""
    if step < 1:
        raise ValueError(f"origin step must be >= 1, got {step}")
    last = stop - horizon
    if last < start:
        raise ValueError(f"no origin fits: the part [{start}, {stop}) is shorter than the horizon {horizon}")
    return np.arange(start, last + 1, step, dtype=np.int64)


class WindowBatches:
    """The trainer's batch source: shuffled batches of training windows, order fixed by (seed, epoch)."""

    def __init__(self, windows: Windows, batch_size: int, seed: int = 0) -> None:
        self.windows, self.batch_size, self.seed = windows, batch_size, seed

    def __len__(self) -> int:
        return -(-len(self.windows) // self.batch_size)

    def epoch(self, index: int = 0, start: int = 0):
        order = np.random.default_rng([self.seed, index]).permutation(len(self.windows))
        for b in range(start, len(self)):
            yield self.windows.select(order[b * self.batch_size: (b + 1) * self.batch_size])

    def __iter__(self):
        return self.epoch()
