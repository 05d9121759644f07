"""Variable-length series to padded batches with lengths, the form rnnkit's recurrent layers read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import Tensor


@dataclass(frozen=True)
class SeriesBatch:
    """A padded batch: x (B, T, C) zero after each row's end, lengths (B,), labels (B,)."""

    x: Tensor
    lengths: Tensor
    labels: Tensor

    def to(self, device: torch.device | str) -> SeriesBatch:
        return replace(self, x=self.x.to(device), lengths=self.lengths.to(device), labels=self.labels.to(device))


def pad(series: list[np.ndarray]) -> tuple[Tensor, Tensor]:
    """Series (T_i, C) -> padded (B, T_max, C) float32 with zeros after each row's end, and lengths (B,)."""
    lengths = torch.tensor([len(s) for s in series], dtype=torch.long)
    x = torch.zeros(len(series), int(lengths.max()), series[0].shape[1])
    for i, s in enumerate(series):
        x[i, : len(s)] = torch.from_numpy(np.ascontiguousarray(s, dtype=np.float32))
    return x, lengths


class SeriesBatches:
    """The trainer's batch source: shuffled padded batches, the order fixed by (seed, epoch) for resumption.

    `noise` adds Gaussian jitter of that standard deviation to the (normalised) training inputs, a mild
    augmentation for the small UEA training sets; it is drawn from the same seeded generator.
    """

    def __init__(self, series: list[np.ndarray], labels: np.ndarray, batch_size: int, *, shuffle: bool = True,
                 seed: int = 0, noise: float = 0.0) -> None:
        if not series:
            raise ValueError("no series to batch")
        self.series, self.labels = series, np.asarray(labels)
        self.batch_size, self.shuffle, self.seed, self.noise = batch_size, shuffle, seed, noise

    def __len__(self) -> int:
        return -(-len(self.series) // self.batch_size)

    def epoch(self, index: int = 0, start: int = 0) -> Iterator[SeriesBatch]:
        rng = np.random.default_rng([self.seed, index])
        order = rng.permutation(len(self.series)) if self.shuffle else np.arange(len(self.series))
        for b in range(len(self)):
            idx = order[b * self.batch_size: (b + 1) * self.batch_size]
            jitter = [rng.normal(0.0, self.noise, self.series[i].shape) for i in idx] if self.noise else None
            if b < start:
                continue                    # the draws above keep the generator in step when resuming
            rows = [self.series[i] + jitter[k] if jitter else self.series[i] for k, i in enumerate(idx)]
            x, lengths = pad(rows)
            yield SeriesBatch(x, lengths, torch.as_tensor(self.labels[idx], dtype=torch.long))

    def __iter__(self) -> Iterator[SeriesBatch]:
        return self.epoch()
