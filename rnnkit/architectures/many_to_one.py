"""Many-to-one: read a whole sequence, emit one output (sequence classification or regression).

The recurrent layer turns the sequence into per-step features; a pooling step reduces them to one
vector per row, and a linear head maps that to logits (classification) or values (regression).
Pooling respects `lengths`, so padding never changes the result:
    "last": the final hidden state h_n of the top layer, taken at each row's last real step. When
            bidirectional, [forward h at the last real step; backward h at step 0], the two states that
            have each read the whole row.
    "mean": the average output over real steps only.
    "max":  the element-wise maximum output over real steps only (zeros for an empty row).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from rnnkit.architectures.config import (
    RecurrentConfig,
    check_bool,
    check_choice,
    check_exactly_one,
    check_int,
    check_optional_int,
    resolve_config,
)
from rnnkit.architectures.factory import last_layer_hidden, rnn_from_config
from rnnkit.architectures.inputs import SequenceInput, lengths_tensor, step_mask

POOLINGS = ("last", "mean", "max")


@dataclass(kw_only=True)
class ManyToOneConfig(RecurrentConfig):
    """A sequence classifier/regressor: input -> recurrent layer -> pooling -> linear head."""

    output_size: int                    # classes (logits) or regression targets
    input_size: int | None = None       # features per step, for float input (B, T, I)
    vocab_size: int | None = None       # token input (B, T) through an embedding instead
    embedding_dim: int = 32             # embedding width (token input only)
    padding_idx: int | None = None      # token id whose embedding stays zero (token input only)
    pooling: str = "last"               # "last" | "mean" | "max", all length-aware
    bidirectional: bool = False         # read each row both ways; pooled features double

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int("output_size", self.output_size)
        check_exactly_one(("vocab_size", "input_size"), (self.vocab_size, self.input_size))
        check_optional_int("input_size", self.input_size)
        check_optional_int("vocab_size", self.vocab_size)
        check_int("embedding_dim", self.embedding_dim)
        check_choice("pooling", self.pooling, POOLINGS)
        check_bool("bidirectional", self.bidirectional)


class ManyToOne(nn.Module):
    """Sequence -> one vector of logits or values. Batch-first: (B, T, I) or (B, T) tokens -> (B, O)."""

    def __init__(self, config: ManyToOneConfig | None = None, **fields) -> None:
        super().__init__()
        self.config = config = resolve_config(ManyToOneConfig, config, fields)
        self.input = SequenceInput(config.vocab_size, config.embedding_dim, config.input_size, config.padding_idx)
        self.rnn = rnn_from_config(config, self.input.output_size, config.bidirectional)
        self.num_directions = 2 if config.bidirectional else 1
        self.feature_size = self.rnn.output_size * self.num_directions
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(self.feature_size, config.output_size)

    def forward(self, x: Tensor, lengths: Tensor | list[int] | None = None) -> Tensor:
        """x: (B, T, I) features or (B, T) token ids; lengths: (B,) real steps per row -> (B, O)."""
        return self.head(self.drop(self.features(x, lengths)))   # (B, O)

    def features(self, x: Tensor, lengths: Tensor | list[int] | None = None) -> Tensor:
        """The pooled sequence representation the head reads: (B, D*H)."""
        e = self.input(x)                                 # (B, T, E)
        lengths = lengths_tensor(lengths, e)              # (B,) or None
        out, state = self.rnn(e, lengths=lengths)         # out (B, T, D*H), zero at padded steps
        return pool(out, state, lengths, self.config.pooling, self.num_directions)


def pool(out: Tensor, state, lengths: Tensor | None, pooling: str, num_directions: int) -> Tensor:
    """Reduce per-step outputs (B, T, F) to (B, F) over real steps only (see the module docstring)."""
    if pooling == "last":
        return last_layer_hidden(state, num_directions)   # (B, D*H)
    mask = step_mask(lengths, out).unsqueeze(-1)          # (B, T, 1)
    if pooling == "mean":
        count = mask.sum(1).clamp(min=1).to(out.dtype)    # (B, 1); an empty row averages to 0
        return out.masked_fill(~mask, 0.0).sum(1) / count
    low = torch.finfo(out.dtype).min
    best = out.masked_fill(~mask, low).max(1).values      # (B, F)
    return best.masked_fill(~mask.any(1), 0.0)            # an empty row has no maximum: 0
