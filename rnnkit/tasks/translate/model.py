"""The translator: `rnnkit.architectures.Seq2Seq` built from the task's options, its loss and its decoders.

Encoder: source-word embeddings -> rnnkit LSTM/GRU/Elman, bidirectional by default. Decoder: a
left-to-right recurrent layer over the previous target word, started from the encoder's final states
through a tanh bridge; with attention ("general", "additive" or "dot") each decoder state looks at every
source position (Luong et al., 2015). Training is teacher-forced, with the batch's scheduled-sampling
rate; decoding is greedy search or beam search (`decode`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.architectures import Seq2Seq, beam_search, greedy_search, sequence_cross_entropy
from rnnkit.tasks.base import model_device
from rnnkit.tasks.translate.batches import PairBatch, pad
from rnnkit.tasks.translate.config import TranslateConfig
from rnnkit.tasks.translate.tokenizer import END, PAD, START


def build_translator(cfg: TranslateConfig, src_vocab: int, tgt_vocab: int, attention: str | None) -> Seq2Seq:
    options = {"engine": cfg.engine}
    if cfg.cell == "lstm":
        options["forget_bias"] = 1.0
    return Seq2Seq(cell=cfg.cell, hidden_size=cfg.hidden, num_layers=cfg.layers, dropout=cfg.dropout,
                   src_vocab_size=src_vocab, tgt_vocab_size=tgt_vocab, embedding_dim=cfg.embed,
                   bidirectional=cfg.bidirectional, attention=attention, bridge="linear",
                   start_token=START, end_token=END, pad_token=PAD, layer_options=options)


def batch_loss(model: nn.Module, batch: PairBatch) -> tuple[Tensor, Tensor]:
    """Summed cross-entropy over the real target tokens (END included), and their number."""
    out = model(batch.src, batch.tgt_in, batch.src_lengths, sampling_prob=batch.sampling_prob)
    loss = sequence_cross_entropy(out.logits.float(), batch.tgt, batch.tgt_lengths, reduction="sum")
    return loss, batch.tgt_lengths.sum()


@dataclass
class Hypothesis:
    """One decoded target: ids without END, the sum of their log-probabilities, attention (T, S) or None."""

    ids: list[int]
    score: float
    attention: np.ndarray | None


@torch.no_grad()
def decode(model: Seq2Seq, sources: list[np.ndarray], *, search: str = "greedy", beam_width: int = 1,
           max_length: int = 60, batch_size: int = 256, length_norm: float = 0.0) -> list[Hypothesis]:
    """Translate id sequences with greedy search or beam search (any width, 1 included); results in order."""
    if search not in ("greedy", "beam"):
        raise ValueError(f"search must be 'greedy' or 'beam', got {search!r}")
    was_training = model.training
    model.eval()
    device = model_device(model)
    order = np.argsort([len(s) for s in sources], kind="stable")
    results: list[Hypothesis | None] = [None] * len(sources)
    for start in range(0, len(sources), batch_size):
        idx = order[start: start + batch_size]
        src, lengths = pad([sources[i] for i in idx])
        st = model.encode(src.to(device), lengths.to(device))
        first = torch.full((len(idx),), START, dtype=torch.long, device=device)
        if search == "greedy":
            out = greedy_search(model, st, first, max_length=max_length, end_token=END, pad_token=PAD)
        else:
            out = beam_search(model, st, first, beam_width=beam_width, max_length=max_length, end_token=END,
                              pad_token=PAD, length_norm=length_norm)
        for k, i in enumerate(idx):
            n = int(out.lengths[k])
            ids = out.tokens[k, :n].tolist()
            ended = bool(ids) and ids[-1] == END
            attn = out.attention[k, :n, : int(lengths[k])].float().cpu().numpy() if out.attention is not None else None
            results[i] = Hypothesis(ids[:-1] if ended else ids, float(out.scores[k]), attn)
    model.train(was_training)
    return results
