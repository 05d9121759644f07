"""Teacher-forcing batches of (image, caption) pairs, reshuffled per epoch, restartable at any batch."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from rnnkit.tasks.caption.data import CaptionSet
from rnnkit.tasks.caption.vocab import Vocabulary


@dataclass(frozen=True)
class CaptionBatch:
    images: Tensor     # (B, C, H, W)
    inputs: Tensor     # (B, T) [<s>, y_1, ..., y_{T-1}], <pad> after each row's end
    targets: Tensor    # (B, T) [y_1, ..., y_T = </s>], <pad> after
    lengths: Tensor    # (B,) target tokens per row, </s> included

    def to(self, device: torch.device | str) -> CaptionBatch:
        return CaptionBatch(self.images.to(device), self.inputs.to(device), self.targets.to(device),
                            self.lengths.to(device))


def pad_captions(ids: list[list[int]], start: int, pad: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    """Token id lists (each ending in </s>) -> inputs (B, T), targets (B, T), lengths (B,)."""
    T = max(len(s) for s in ids)
    targets = torch.full((len(ids), T), pad, dtype=torch.long)
    for i, s in enumerate(ids):
        targets[i, :len(s)] = torch.as_tensor(s)
    inputs = torch.cat([torch.full((len(ids), 1), start, dtype=torch.long), targets[:, :-1]], 1)
    return inputs, targets, torch.as_tensor([len(s) for s in ids])


class CaptionBatches:
    """Every (image, reference) pair once per pass, in a seeded order (the trainer's `BatchSource`).

    An epoch makes enough passes (each reshuffled) to hold at least `epoch_size` pairs, so that one
    number of epochs suits a 3,000-icon set and a 24,000-image set alike; `epoch_size=0` is one pass.
    """

    def __init__(self, data: CaptionSet, vocab: Vocabulary, batch_size: int, seed: int = 0,
                 epoch_size: int = 0) -> None:
        self.images = torch.from_numpy(data.images)
        index, captions = data.pairs()
        self.index = torch.from_numpy(index)
        self.ids = [vocab.encode(c) for c in captions]
        self.batch_size, self.seed, self.start = batch_size, seed, vocab.start
        self.passes = max(1, -(-epoch_size // len(self.ids)))

    def __len__(self) -> int:
        return -(-len(self.ids) * self.passes // self.batch_size)

    def epoch(self, index: int, start: int = 0) -> Iterator[CaptionBatch]:
        """The batches of epoch `index` from batch `start` on (the order depends only on seed and index)."""
        order = np.concatenate([np.random.default_rng([self.seed, index, p]).permutation(len(self.ids))
                                for p in range(self.passes)])
        for b in range(start, len(self)):
            rows = order[b * self.batch_size:(b + 1) * self.batch_size]
            inputs, targets, lengths = pad_captions([self.ids[r] for r in rows], self.start)
            yield CaptionBatch(self.images[self.index[rows]], inputs, targets, lengths)
