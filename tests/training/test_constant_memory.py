"""Measurement: TBPTT over a 1,000,000-step stream trains in constant memory (run with -s to see the numbers).

    .venv/bin/python -m pytest -s -m slow tests/training/test_constant_memory.py
"""

from __future__ import annotations

import time

import pytest
import torch
from torch import nn

import rnnkit
from rnnkit.training import TBPTT, Callback, ContiguousStream, CSVLogger, TrainConfig, Trainer
from rnnkit.training.diagnostics import current_rss_mib

STEPS = 1_000_000


class TinyLM(nn.Module):
    def __init__(self, vocab: int = 8, hidden: int = 16) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, 8)
        self.rnn = rnnkit.LSTM(8, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x, state=None):
        out, state = self.rnn(self.embed(x), state)
        return self.head(out), state


def ce(logits, y):
    return nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="sum"), y.numel()


class RSS(Callback):
    """Samples the resident set size (now, and the peak of the update) at fixed fractions of the stream."""

    def __init__(self, total: int, marks=(0.01, 0.1, 0.25, 0.5, 0.75, 1.0)) -> None:
        self.at = {max(int(total * m), 1) for m in marks}
        self.samples: list[tuple[int, float, float, float]] = []
        self.start = time.perf_counter()

    def on_update(self, trainer, row):
        if row["step"] in self.at:
            self.samples.append((row["step"], current_rss_mib(), row["peak_mem_mb"],
                                 time.perf_counter() - self.start))


@pytest.mark.slow
@pytest.mark.parametrize(("k1", "k2"), [(100, 100), (50, 200)])
def test_tbptt_over_a_million_steps_in_constant_memory(tmp_path, k1, k2):
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, 8, (STEPS + 1,), generator=g)
    tokens[1::3] = (tokens[0::3][: len(tokens[1::3])] + 1) % 8           # something learnable
    stream = ContiguousStream.language_model(tokens, 1, k1, name="stream", drop_last=True)
    cfg = TrainConfig(epochs=1, k1=k1, k2=k2, lr=3e-3, progress=False, tensorboard=False, plots=False,
                      threads=1)
    rss = RSS(len(stream))
    state = Trainer(TinyLM(), cfg, stream, TBPTT(k1, k2, ce), callbacks=[CSVLogger(tmp_path), rss]).fit()
    steps = state.step * k1
    print(f"\nTBPTT(k1={k1}, k2={k2}), batch 1, {steps:,} time steps in {state.step:,} updates:")
    print(f"  {'update':>8} {'time step':>10} {'RSS now MiB':>12} {'peak of update MiB':>19} {'seconds':>8}")
    for step, now, peak, sec in rss.samples:
        print(f"  {step:>8,} {step * k1:>10,} {now:>12.1f} {peak:>19.1f} {sec:>8.1f}")
    assert steps == STEPS
    first, last = rss.samples[1], rss.samples[-1]                     # from 10% of the stream to its end
    assert last[1] - first[1] < 16, rss.samples
