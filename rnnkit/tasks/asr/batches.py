"""Utterances to padded batches: features (B, T, F) with lengths, and the CTC targets (B, S) with theirs.

Every tensor has the batch on dim 0, so data-parallel training (`rnnkit.training.sharding.RowShard`)
can give each rank its own rows of a batch.

Training batches group utterances of similar length (sorted within pools of 50 batches, then the batch
order shuffled), so little compute goes to padding; the order is fixed by (seed, epoch), so a resumed run
sees the same batches. SpecAugment masks, when on, are drawn from the same seeded generator.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import Tensor

from rnnkit.tasks.asr.features import SpecAugment

POOL = 50                             # batches per length-sorted pool


@dataclass(frozen=True)
class AudioBatch:
    x: Tensor                         # (B, T, F) features, zero after each row's end
    lengths: Tensor                   # (B,) frames
    targets: Tensor                   # (B, S) character ids, 0 after each row's L_i (S = max L_i)
    target_lengths: Tensor            # (B,) L_i

    def to(self, device: torch.device | str) -> AudioBatch:
        return replace(self, x=self.x.to(device), lengths=self.lengths.to(device),
                       targets=self.targets.to(device), target_lengths=self.target_lengths.to(device))


def collate(features: list[np.ndarray], targets: list[list[int]] | None = None) -> AudioBatch:
    lengths = torch.tensor([len(f) for f in features], dtype=torch.long)
    x = torch.zeros(len(features), int(lengths.max()), features[0].shape[1])
    for i, f in enumerate(features):
        x[i, : len(f)] = torch.from_numpy(np.ascontiguousarray(f, dtype=np.float32))
    targets = targets or [[] for _ in features]
    target_lengths = torch.tensor([len(t) for t in targets], dtype=torch.long)
    y = torch.zeros(len(targets), int(target_lengths.max()), dtype=torch.long)
    for i, t in enumerate(targets):
        y[i, : len(t)] = torch.tensor(t, dtype=torch.long)
    return AudioBatch(x, lengths, y, target_lengths)


class UtteranceBatches:
    """The trainer's batch source (see the module docstring)."""

    def __init__(self, features: list[np.ndarray], targets: list[list[int]], batch_size: int, *, seed: int = 0,
                 augment: SpecAugment | None = None) -> None:
        if not features:
            raise ValueError("no utterances to batch")
        self.features, self.targets, self.batch_size = features, targets, batch_size
        self.seed, self.augment = seed, augment
        self.lengths = np.asarray([len(f) for f in features])

    def __len__(self) -> int:
        return -(-len(self.features) // self.batch_size)

    def order(self, epoch: int) -> list[np.ndarray]:
        """The batches of an epoch, as index arrays."""
        rng = np.random.default_rng([self.seed, epoch])
        perm = rng.permutation(len(self.features))
        batches = []
        pool = POOL * self.batch_size
        for start in range(0, len(perm), pool):
            chunk = perm[start:start + pool]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches += [chunk[i:i + self.batch_size] for i in range(0, len(chunk), self.batch_size)]
        return [batches[i] for i in rng.permutation(len(batches))]

    def epoch(self, index: int = 0, start: int = 0) -> Iterator[AudioBatch]:
        rng = np.random.default_rng([self.seed, index, 1])
        for b, idx in enumerate(self.order(index)):
            masks = [np.random.default_rng(rng.integers(2**63)) for _ in idx]   # drawn even when skipped
            if b < start:
                continue
            feats = [self.features[i] for i in idx]
            if self.augment is not None:
                feats = [self.augment(f, r) for f, r in zip(feats, masks, strict=True)]
            yield collate(feats, [self.targets[i] for i in idx])

    def __iter__(self) -> Iterator[AudioBatch]:
        return self.epoch()


def eval_order(features: list[np.ndarray], batch_size: int) -> list[np.ndarray]:
    """Held-out batches: indices sorted by length, so a batch holds little padding."""
    order = np.argsort([len(f) for f in features], kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
