"""The small pieces every experiment shares: seeding, a sequence model with a head, and a training loop.

Experiments deliberately do not use `rnnkit.training`: each runs its own tiny, seeded loop through
`fit`, so that a claim's result depends only on the cells and layers it is about.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import Tensor, nn

import rnnkit

CELLS = ("elman", "lstm", "gru")
CELL_LABELS = {"elman": "Elman (tanh)", "lstm": "LSTM", "gru": "GRU"}
CELL_COLORS = {"elman": "tab:red", "lstm": "tab:blue", "gru": "tab:green"}


@contextlib.contextmanager
def seeded(seed: int, threads: int = 1) -> Iterator[None]:
    """Seed torch, numpy and random, and run on `threads` CPU threads (restored afterwards).

    One thread keeps float results, and so verdicts, identical from machine to machine.
    """
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)
    try:
        yield
    finally:
        torch.set_num_threads(old_threads)


def generator(seed: int) -> torch.Generator:
    """A private torch RNG for data, so a model's initialisation does not shift the data stream."""
    return torch.Generator().manual_seed(seed)


def make_layer(cell: str, input_size: int, hidden_size: int, **options) -> nn.Module:
    """An rnnkit sequence layer (batch_first) for a cell name in `CELLS`."""
    if cell == "elman":
        return rnnkit.RNN(input_size, hidden_size, batch_first=True, **options)
    if cell == "lstm":
        return rnnkit.LSTM(input_size, hidden_size, batch_first=True, **options)
    if cell == "gru":
        return rnnkit.GRU(input_size, hidden_size, batch_first=True, **options)
    raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")


class SeqModel(nn.Module):
    """A recurrent layer and a linear read-out, either at every step or only at the last one.

    forward(x: (B, T, I)) -> (B, T, O) with `every_step=True`, else (B, O).
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, output_size: int,
                 every_step: bool = False, **options) -> None:
        super().__init__()
        self.cell, self.every_step = cell, every_step
        self.rnn = make_layer(cell, input_size, hidden_size, **options)
        width = hidden_size * (2 if options.get("bidirectional") else 1)
        self.head = nn.Linear(width, output_size)

    def forward(self, x: Tensor) -> Tensor:
        out, _ = self.rnn(x)                  # (B, T, D*H)
        return self.head(out if self.every_step else out[:, -1])


@torch.no_grad()
def chrono_init_(layer: nn.Module, max_lag: int, gen: torch.Generator) -> None:
    """Chrono initialisation (Tallec & Ollivier, 2018) of a one-layer LSTM or GRU for lags up to `max_lag`.

    LSTM: forget-gate bias b_f = log(u), input-gate bias b_i = -b_f, u ~ U(1, max_lag - 1), so the units'
    initial memory time constants spread over [1, max_lag]. GRU: the update gate z (which keeps h_{t-1})
    gets the same b_z = log(u). The whole bias sits in b_ih; b_hh's slices are zeroed.
    """
    H = layer.hidden_size
    b = torch.log(1 + torch.rand(H, generator=gen) * max(max_lag - 2, 0))
    if layer.mode == "lstm":                        # gate order i, f, g, o
        layer.bias_ih_l0[:2 * H] = torch.cat([-b, b])
        layer.bias_hh_l0[:2 * H] = 0.0
    elif layer.mode == "gru":                       # gate order r, z, n
        layer.bias_ih_l0[H:2 * H] = b
        layer.bias_hh_l0[H:2 * H] = 0.0
    else:
        raise ValueError(f"chrono initialisation needs gates (LSTM or GRU), got mode {layer.mode!r}")


def fit(
    model: nn.Module, batch: Callable[[], tuple[Tensor, Tensor]], steps: int, lr: float = 1e-2,
    clip: float | None = 1.0, loss_fn: Callable[[Tensor, Tensor], Tensor] | None = None,
    stop_loss: float | None = None,
) -> list[float]:
    """Train with Adam for `steps` updates on fresh batches from `batch()`; return the loss of each update.

    `batch()` returns (input, target); a tuple input is unpacked into the model's arguments.
    `loss_fn(output, target)` defaults to cross-entropy over the last dimension. Gradients are clipped to
    norm `clip` (None: no clipping). With `stop_loss`, training stops early once the mean loss over the
    last 20 updates falls below it. A non-finite loss ends training (the curve then ends with it).
    """
    loss_fn = loss_fn or cross_entropy
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses: list[float] = []
    model.train()
    for _ in range(steps):
        x, y = batch()
        loss = loss_fn(model(*x) if isinstance(x, tuple) else model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        losses.append(float(loss.detach()))
        if not np.isfinite(losses[-1]):
            break
        if stop_loss is not None and len(losses) >= 20 and float(np.mean(losses[-20:])) < stop_loss:
            break
    model.eval()
    return losses


def cross_entropy(logits: Tensor, target: Tensor) -> Tensor:
    """Cross-entropy for (B, C) or (B, T, C) logits against (B,) or (B, T) class indices."""
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))


@torch.no_grad()
def accuracy(model: nn.Module, batch: Callable[[], tuple[Tensor, Tensor]], batches: int = 4) -> float:
    """Mean argmax accuracy over `batches` fresh batches."""
    model.eval()
    hits = total = 0
    for _ in range(batches):
        x, y = batch()
        pred = model(x).argmax(-1)
        hits += int((pred == y).sum())
        total += y.numel()
    return hits / total


def smooth(values: list[float], window: int = 10) -> list[float]:
    """A trailing moving average, for plotting loss curves."""
    out, acc = [], []
    for v in values:
        acc.append(v)
        acc = acc[-window:]
        out.append(float(np.mean(acc)))
    return out
