"""The input end of a sequence model: token ids through an embedding, or feature vectors as they are.

Models that read sequences accept either (B, T) int64 token ids (when built with a vocabulary) or
(B, T, I) float features; `SequenceInput` checks which it got and turns lengths into a tensor once,
so a wrong input fails here with a clear message instead of inside an embedding or a matrix multiply.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit import validation as V
from rnnkit.layers.lengths import as_lengths


class SequenceInput(nn.Module):
    """Token ids (B, T) -> embeddings (B, T, E), or features (B, T, I) passed through."""

    def __init__(self, vocab_size: int | None, embedding_dim: int, input_size: int | None,
                 padding_idx: int | None = None) -> None:
        super().__init__()
        self.vocab_size, self.input_size = vocab_size, input_size
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx) if vocab_size else None
        self.output_size = embedding_dim if vocab_size else input_size

    def forward(self, x: Tensor) -> Tensor:
        """(B, T) tokens or (B, T, I) features -> (B, T, E or I)."""
        V.check_tensor("input", x)
        if self.embedding is not None:
            check_tokens("input", x, self.vocab_size, rank=2, layout="(batch, seq) of token ids")
            return self.embedding(x)
        V.check_rank("input", x, (3,), "(batch, seq, input_size) of features")
        if not x.is_floating_point():
            raise TypeError(f"input must be floating-point features (this model has no vocabulary), got {x.dtype}")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"input must have input_size={self.input_size} features in its last dimension, "
                             f"got shape {tuple(x.shape)}")
        return x


def check_tokens(name: str, x: Tensor, vocab_size: int, rank: int, layout: str) -> None:
    """Require an integer tensor of the given rank with ids in [0, vocab_size)."""
    V.check_tensor(name, x)
    V.check_rank(name, x, (rank,), layout)
    if x.dtype not in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        raise TypeError(f"{name} must hold integer token ids, got dtype {x.dtype}")
    if x.numel() and (int(x.min()) < 0 or int(x.max()) >= vocab_size):
        raise ValueError(f"{name} token ids must lie in [0, {vocab_size}), got ids in "
                         f"[{int(x.min())}, {int(x.max())}]")


def lengths_tensor(lengths: Tensor | list[int] | None, x: Tensor) -> Tensor | None:
    """Validated (B,) int64 lengths on x's device for a batch-first x: (B, T, ...), or None."""
    if lengths is None:
        return None
    return as_lengths(lengths, x.shape[0], x.shape[1], x.device)


def step_mask(lengths: Tensor | None, x: Tensor) -> Tensor:
    """(B, T) bool mask of real steps of a batch-first x (all True without lengths)."""
    B, T = x.shape[0], x.shape[1]
    if lengths is None:
        return torch.ones(B, T, dtype=torch.bool, device=x.device)
    return torch.arange(T, device=x.device) < lengths.unsqueeze(1)
