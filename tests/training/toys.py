"""Tiny stateful models and streams shared by the training tests."""

from __future__ import annotations

import torch
from torch import nn

import rnnkit
from rnnkit.training.streams import ContiguousStream

CELLS = {"elman": rnnkit.RNN, "lstm": rnnkit.LSTM, "gru": rnnkit.GRU}


class ToyStateful(nn.Module):
    """x (B, T, I) -> y_hat (B, T, O), the torch.nn-style state carried in and out."""

    def __init__(self, cell: str = "lstm", inputs: int = 3, hidden: int = 5, outputs: int = 2, layers: int = 1,
                 dropout: float = 0.0, dtype=torch.float64, engine: str = "auto") -> None:
        super().__init__()
        self.rnn = CELLS[cell](inputs, hidden, layers, batch_first=True, dropout=dropout, dtype=dtype, engine=engine)
        self.head = nn.Linear(hidden, outputs, dtype=dtype)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, state=None):
        out, state = self.rnn(x, state)
        return self.head(self.drop(out)), state


def mse_sum(out, y):
    """Summed squared error and the number of targets (one per row and step)."""
    return ((out - y) ** 2).sum(), y.shape[0] * y.shape[1]


def toy_stream(B: int = 2, N: int = 24, T: int = 4, dtype=torch.float64, starts=None, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B * N, 3, generator=g, dtype=dtype)
    y = torch.randn(B * N, 2, generator=g, dtype=dtype)
    return ContiguousStream(x, y, B, T, starts=starts, drop_last=True, name="toy")
