"""Source/target id sequences to padded batches, and the scheduled-sampling rate of each batch.

Training batches are shuffled and bucketed by source length (pools of 20 batches are sorted before
being cut, the batches then shuffled), so little time goes to padding; the order depends only on
(seed, epoch), so the trainer can resume mid-epoch. Each batch carries the probability with which the
decoder is fed its own previous prediction instead of the true token (scheduled sampling, Bengio et
al., 2015): it rises linearly from 0 at the first update to `sampling` at the last, so training starts
with pure teacher forcing and ends close to how the model is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import Tensor

from rnnkit.architectures import shift_right
from rnnkit.tasks.translate.tokenizer import PAD, START

POOL = 20   # batches per length-sorted pool


@dataclass(frozen=True)
class PairBatch:
    """src (B, S) and tgt (B, T) ids padded with PAD (tgt ends with END), their lengths, and the sampling rate."""

    src: Tensor
    src_lengths: Tensor
    tgt: Tensor
    tgt_lengths: Tensor
    sampling_prob: float = 0.0

    @property
    def tgt_in(self) -> Tensor:
        """Teacher-forcing decoder inputs: [START, y_1, ..., y_{T-1}]."""
        return shift_right(self.tgt, START)

    def to(self, device: torch.device | str) -> PairBatch:
        return replace(self, src=self.src.to(device), src_lengths=self.src_lengths.to(device),
                       tgt=self.tgt.to(device), tgt_lengths=self.tgt_lengths.to(device))


def pad(seqs: list[np.ndarray]) -> tuple[Tensor, Tensor]:
    """Id sequences -> (B, T_max) int64 padded with PAD, and lengths (B,)."""
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    x = torch.full((len(seqs), max(int(lengths.max()), 1)), PAD, dtype=torch.long)
    for i, s in enumerate(seqs):
        x[i, : len(s)] = torch.as_tensor(s, dtype=torch.long)
    return x, lengths


def make_batch(src: list[np.ndarray], tgt: list[np.ndarray], sampling_prob: float = 0.0) -> PairBatch:
    s, s_len = pad(src)
    t, t_len = pad(tgt)
    return PairBatch(s, s_len, t, t_len, sampling_prob)


class PairBatches:
    """The trainer's batch source over (source ids, target ids + END); see the module docstring."""

    def __init__(self, src: list[np.ndarray], tgt: list[np.ndarray], batch_size: int, *, seed: int = 0,
                 sampling: float = 0.0, epochs: int = 1) -> None:
        if not src or len(src) != len(tgt):
            raise ValueError(f"expected equally many, non-zero sources and targets, got {len(src)} and {len(tgt)}")
        self.src, self.tgt, self.batch_size, self.seed = src, tgt, batch_size, seed
        self.sampling, self.epochs = sampling, epochs

    def __len__(self) -> int:
        return -(-len(self.src) // self.batch_size)

    def order(self, epoch: int) -> list[np.ndarray]:
        n, bs = len(self.src), self.batch_size
        rng = np.random.default_rng([self.seed, epoch])
        perm = rng.permutation(n)
        batches = []
        for p in range(0, n, bs * POOL):
            pool = perm[p: p + bs * POOL]
            pool = pool[np.argsort([len(self.src[i]) for i in pool], kind="stable")]
            batches += [pool[i: i + bs] for i in range(0, len(pool), bs)]
        return [batches[i] for i in rng.permutation(len(batches))]

    def sampling_prob(self, epoch: int, b: int) -> float:
        """Linear ramp from 0 to `sampling` over all updates of the planned epochs."""
        total = max(self.epochs * len(self) - 1, 1)
        return self.sampling * min(1.0, (epoch * len(self) + b) / total)

    def epoch(self, index: int = 0, start: int = 0) -> Iterator[PairBatch]:
        for b, idx in enumerate(self.order(index)):
            if b >= start:
                yield make_batch([self.src[i] for i in idx], [self.tgt[i] for i in idx], self.sampling_prob(index, b))

    def __iter__(self) -> Iterator[PairBatch]:
        return self.epoch()
