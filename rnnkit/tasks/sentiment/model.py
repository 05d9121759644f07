"""The classifier: subword embeddings -> rnnkit LSTM/GRU/Elman encoder -> length-aware pooling -> logits.

It is `rnnkit.architectures.ManyToOne` built from the task's options: padding id 0 keeps a zero
embedding, the encoder reads each sentence up to its own length (in both directions when
bidirectional), and pooling ("last", "mean" or "max") looks at real steps only, so padding never
changes a prediction. LSTMs start with a forget-gate bias of 1 (Jozefowicz et al., 2015).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.architectures import ManyToOne
from rnnkit.tasks.base import model_device
from rnnkit.tasks.sentiment.batches import TokenBatch, pad
from rnnkit.tasks.sentiment.config import SentimentConfig
from rnnkit.tasks.sentiment.tokenizer import PAD


def build_classifier(cfg: SentimentConfig, vocab_size: int, num_classes: int) -> ManyToOne:
    options = {"engine": cfg.engine}
    if cfg.cell == "lstm":
        options["forget_bias"] = 1.0
    return ManyToOne(cell=cfg.cell, hidden_size=cfg.hidden, num_layers=cfg.layers, dropout=cfg.dropout,
                     vocab_size=vocab_size, embedding_dim=cfg.embed, padding_idx=PAD, pooling=cfg.pooling,
                     bidirectional=cfg.bidirectional, output_size=num_classes, layer_options=options)


def batch_loss(model: nn.Module, batch: TokenBatch) -> tuple[Tensor, int]:
    """Summed cross-entropy over the batch's sentences, and their number (for `FullBPTT`)."""
    logits = model(batch.x, batch.lengths)                      # (B, K)
    return F.cross_entropy(logits.float(), batch.labels, reduction="sum"), len(batch.labels)


@torch.no_grad()
def predict_proba(model: nn.Module, ids: list[np.ndarray], batch_size: int = 256) -> np.ndarray:
    """Class probabilities (N, K) for id sequences; evaluated in length-sorted batches, returned in order."""
    was_training = model.training
    model.eval()
    device = model_device(model)
    order = np.argsort([len(s) for s in ids], kind="stable")
    out = [None] * len(ids)
    for start in range(0, len(ids), batch_size):
        idx = order[start: start + batch_size]
        x, lengths = pad([ids[i] for i in idx])
        probs = model(x.to(device), lengths.to(device)).float().softmax(-1).cpu().numpy()
        for k, i in enumerate(idx):
            out[i] = probs[k]
    model.train(was_training)
    return np.stack(out)
