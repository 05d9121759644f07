"""Token sequences to padded batches with lengths, the form `ManyToOne` reads.

Training batches are shuffled and bucketed: each pool of 20 batches' worth of shuffled sentences is
sorted by length before it is cut into batches, and the batches are then shuffled, so a batch holds
sentences of similar length and little time is spent on padding. The order depends only on
(seed, epoch), which lets the trainer resume in the middle of an epoch. `word_dropout` replaces each
training token by the unknown piece with that probability (Iyyer et al., 2015), a regulariser.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import Tensor

from rnnkit.tasks.sentiment.tokenizer import PAD, UNK

POOL = 20   # batches per length-sorted pool


@dataclass(frozen=True)
class TokenBatch:
    """x (B, T) token ids padded with PAD, lengths (B,), labels (B,)."""

    x: Tensor
    lengths: Tensor
    labels: Tensor

    def to(self, device: torch.device | str) -> TokenBatch:
        return replace(self, x=self.x.to(device), lengths=self.lengths.to(device), labels=self.labels.to(device))


def pad(seqs: list[np.ndarray]) -> tuple[Tensor, Tensor]:
    """Id sequences -> (B, T_max) int64 padded with PAD, and lengths (B,)."""
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    x = torch.full((len(seqs), int(lengths.max())), PAD, dtype=torch.long)
    for i, s in enumerate(seqs):
        x[i, : len(s)] = torch.from_numpy(s)
    return x, lengths


class TokenBatches:
    """The trainer's batch source over (ids, label) pairs; see the module docstring."""

    def __init__(self, ids: list[np.ndarray], labels: np.ndarray, batch_size: int, *, shuffle: bool = True,
                 seed: int = 0, word_dropout: float = 0.0) -> None:
        if not ids:
            raise ValueError("no sentences to batch")
        self.ids, self.labels = ids, np.asarray(labels, dtype=np.int64)
        self.batch_size, self.shuffle, self.seed, self.word_dropout = batch_size, shuffle, seed, word_dropout

    def __len__(self) -> int:
        return -(-len(self.ids) // self.batch_size)

    def order(self, epoch: int) -> list[np.ndarray]:
        """The batches of an epoch as index arrays."""
        n, bs = len(self.ids), self.batch_size
        if not self.shuffle:
            return [np.arange(i, min(i + bs, n)) for i in range(0, n, bs)]
        rng = np.random.default_rng([self.seed, epoch])
        perm = rng.permutation(n)
        batches = []
        for p in range(0, n, bs * POOL):
            pool = perm[p: p + bs * POOL]
            pool = pool[np.argsort([len(self.ids[i]) for i in pool], kind="stable")]
            batches += [pool[i: i + bs] for i in range(0, len(pool), bs)]
        return [batches[i] for i in rng.permutation(len(batches))]

    def epoch(self, index: int = 0, start: int = 0) -> Iterator[TokenBatch]:
        for b, idx in enumerate(self.order(index)):
            if b < start:
                continue
            rows = [self.ids[i] for i in idx]
            if self.word_dropout:
                rng = np.random.default_rng([self.seed, index, 1, b])    # per batch: the same on resume
                rows = [np.where(rng.random(len(r)) < self.word_dropout, UNK, r) for r in rows]
            x, lengths = pad(rows)
            yield TokenBatch(x, lengths, torch.from_numpy(self.labels[idx]))

    def __iter__(self) -> Iterator[TokenBatch]:
        return self.epoch()
