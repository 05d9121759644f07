"""Batches of clips for the trainer: reshuffled per epoch (seeded), restartable at any batch."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from rnnkit.tasks.video.data import ClipSet


@dataclass(frozen=True)
class ClipBatch:
    clips: Tensor              # (B, T, C, H, W)
    labels: Tensor             # (B,)
    lengths: Tensor | None     # (B,) real frames, or None when every clip has all T frames

    def to(self, device: torch.device | str) -> ClipBatch:
        return ClipBatch(self.clips.to(device), self.labels.to(device),
                         None if self.lengths is None else self.lengths.to(device))


def clip_lengths(data: ClipSet, rows: np.ndarray | slice) -> Tensor | None:
    """The lengths of the selected clips, or None if all are full length (the faster path)."""
    lengths = data.lengths[rows]
    return None if (lengths == data.clips.shape[1]).all() else torch.from_numpy(np.asarray(lengths))


class ClipBatches:
    """Every training clip once per epoch, in an order that depends only on (seed, epoch)."""

    def __init__(self, data: ClipSet, batch_size: int, seed: int = 0) -> None:
        self.data, self.batch_size, self.seed = data, batch_size, seed
        self.clips, self.labels = torch.from_numpy(data.clips), torch.from_numpy(data.labels)

    def __len__(self) -> int:
        return -(-len(self.data) // self.batch_size)

    def epoch(self, index: int, start: int = 0) -> Iterator[ClipBatch]:
        order = np.random.default_rng([self.seed, index]).permutation(len(self.data))
        for b in range(start, len(self)):
            rows = order[b * self.batch_size:(b + 1) * self.batch_size]
            yield ClipBatch(self.clips[rows], self.labels[rows], clip_lengths(self.data, rows))
