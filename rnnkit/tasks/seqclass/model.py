"""The sequence classifier: rnnkit's `ManyToOne` over normalised channels, and its loss and predictions."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.architectures import ManyToOne
from rnnkit.tasks.seqclass.batches import SeriesBatch, pad


def build_model(channels: int, classes: int, *, cell: str, hidden_size: int, num_layers: int,
                bidirectional: bool, pooling: str, dropout: float, engine: str = "auto") -> ManyToOne:
    """(B, T, C) series with lengths -> (B, K) class logits; pooling over real steps only."""
    return ManyToOne(input_size=channels, output_size=classes, cell=cell, hidden_size=hidden_size,
                     num_layers=num_layers, bidirectional=bidirectional, pooling=pooling, dropout=dropout,
                     layer_options={"engine": engine})


def loss_sum(model: ManyToOne, batch: SeriesBatch) -> tuple[Tensor, int]:
    """Summed cross-entropy of a batch and its row count (what `FullBPTT` averages)."""
    logits = model(batch.x, batch.lengths)                               # (B, K)
    return F.cross_entropy(logits, batch.labels, reduction="sum"), len(batch.labels)


@torch.no_grad()
def predict_proba(model: ManyToOne, series: list[np.ndarray], batch_size: int = 256) -> np.ndarray:
    """(N, K) class probabilities for normalised series, in eval mode."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(series), batch_size):
        x, lengths = pad(series[start: start + batch_size])
        out.append(model(x.to(device), lengths.to(device)).softmax(-1).cpu().numpy())
    return np.concatenate(out)
