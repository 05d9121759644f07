"""The acoustic models: a stacked bidirectional recurrent encoder with a CTC head, and the frame-wise
baseline without recurrence. Both map features (B, T, F) with lengths to per-step log-probabilities over
the blank and the characters, (B, T', V) with T' = ceil(T / subsample).

Time subsampling stacks `subsample` consecutive frames into one step (3 x 10 ms frames -> one 30 ms step
of 3F features): the recurrence runs a third as many steps, and CTC still has more steps than characters.

CTC (Graves et al., 2006) sums the probability of every alignment of the transcript to the steps (blanks
between and around characters, characters repeated over consecutive steps) and minimises
-log p(transcript | audio); `torch.nn.functional.ctc_loss` computes it with the forward-backward algorithm.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.architectures.factory import make_rnn
from rnnkit.tasks.asr.alphabet import BLANK
from rnnkit.tasks.asr.batches import AudioBatch, collate, eval_order


def stack_frames(x: Tensor, lengths: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """(B, T, F), lengths -> (B, ceil(T / k), k * F), ceil(lengths / k); the tail is zero-padded."""
    if k == 1:
        return x, lengths
    B, T, F_ = x.shape
    x = F.pad(x, (0, 0, 0, (-T) % k))
    return x.reshape(B, -1, k * F_), torch.div(lengths + k - 1, k, rounding_mode="floor")


def min_ctc_steps(ids: list[int]) -> int:
    """Fewest steps a CTC alignment of `ids` needs: one per character, plus a blank between repeats."""
    return len(ids) + sum(a == b for a, b in itertools.pairwise(ids))


class CTCEncoder(nn.Module):
    """features -> frame stacking -> rnnkit LSTM/GRU/RNN (stacked, bidirectional) -> linear -> log-softmax."""

    def __init__(self, n_features: int, n_symbols: int, *, cell: str = "lstm", hidden: int = 160, layers: int = 3,
                 dropout: float = 0.2, subsample: int = 3, bidirectional: bool = True, engine: str = "auto") -> None:
        super().__init__()
        self.subsample = subsample
        extra = {"forget_bias": 1.0} if cell == "lstm" else {}
        self.rnn = make_rnn(cell, n_features * subsample, hidden, layers, dropout=dropout,
                            bidirectional=bidirectional, engine=engine, **extra)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden * (2 if bidirectional else 1), n_symbols)

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        x, lengths = stack_frames(x, lengths, self.subsample)              # (B, T', kF)
        out, _ = self.rnn(x, lengths=lengths)                              # (B, T', D*H)
        return self.head(self.drop(out)).float().log_softmax(-1), lengths  # (B, T', V)


class FrameMLP(nn.Module):
    """The baseline without recurrence: each step's symbol from a fixed window of +-`context` steps."""

    def __init__(self, n_features: int, n_symbols: int, *, hidden: int = 256, subsample: int = 3, context: int = 4,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.subsample, self.context = subsample, context
        width = n_features * subsample * (2 * context + 1)
        self.net = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, n_symbols))

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        x, lengths = stack_frames(x, lengths, self.subsample)              # (B, T', kF)
        c = self.context
        win = F.pad(x, (0, 0, c, c)).unfold(1, 2 * c + 1, 1)               # (B, T', kF, 2c+1)
        return self.net(win.transpose(2, 3).flatten(2)).float().log_softmax(-1), lengths


def ctc_loss_sum(model: nn.Module, batch: AudioBatch) -> tuple[Tensor, Tensor]:
    """Summed CTC loss (nats) of the batch and its number of target characters (the stepper's mean is per
    character). Impossible alignments (fewer steps than `min_ctc_steps`) count zero instead of infinity."""
    log_probs, lengths = model(batch.x, batch.lengths)
    loss = F.ctc_loss(log_probs.transpose(0, 1), batch.targets, lengths, batch.target_lengths, blank=BLANK,
                      reduction="sum", zero_infinity=True)
    return loss, batch.target_lengths.sum()


@torch.no_grad()
def posteriors(model: nn.Module, features: list[np.ndarray], batch_size: int = 64) -> list[np.ndarray]:
    """Per utterance, the model's log-probabilities (T'_i, V) as float32 NumPy arrays, in input order."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out: list[np.ndarray | None] = [None] * len(features)
    for idx in eval_order(features, batch_size):
        batch = collate([features[i] for i in idx]).to(device)
        log_probs, lengths = model(batch.x, batch.lengths)
        for row, i in enumerate(idx):
            out[i] = log_probs[row, : int(lengths[row])].cpu().numpy()
    model.train(was_training)
    return out
