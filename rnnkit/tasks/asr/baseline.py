"""Baselines measured in the same run, on the same held-out utterances as the model.

* `frame_mlp`: CTC with no recurrence - a two-layer MLP reads a fixed window of +-`context` stacked
  frames (about +-120 ms by default) at each step, trained on the same features and batches with the
  same trainer; what recurrence adds is the difference to the model.
* `constant`: one fixed answer for every utterance, the training transcript closest (least total
  character edits) to the others: the error level of a system that does not listen.
"""

from __future__ import annotations

import numpy as np
from rapidfuzz.distance import Levenshtein

from rnnkit.tasks.asr.batches import UtteranceBatches
from rnnkit.tasks.asr.model import FrameMLP, ctc_loss_sum
from rnnkit.training.bptt import FullBPTT
from rnnkit.training.config import TrainConfig
from rnnkit.training.trainer import Trainer


def train_frame_mlp(features: list[np.ndarray], targets: list[list[int]], n_symbols: int, *, subsample: int,
                    context: int, hidden: int, epochs: int, batch_size: int, seed: int, device: str = "auto",
                    threads: int | None = None) -> FrameMLP:
    """The frame-wise baseline, trained here with the generic trainer (no evaluation, nothing on disk). It runs
    on a forked random state, so the model trained after it starts from the same weights as without it."""
    import torch

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = FrameMLP(features[0].shape[1], n_symbols, hidden=hidden, subsample=subsample, context=context)
        cfg = TrainConfig(epochs=epochs, batch_size=batch_size, bptt="full", lr=2e-3, schedule="cosine", seed=seed,
                          device=device, threads=threads, progress=False, tensorboard=False, plots=False,
                          checkpoint_every=10**9)
        Trainer(model, cfg, UtteranceBatches(features, targets, batch_size, seed=seed),
                FullBPTT(ctc_loss_sum), distributed=False).fit()   # rank 0 alone trains it
    return model.eval()


def constant_transcript(texts: list[str], sample: int = 300, seed: int = 0) -> str:
    """The medoid of (a sample of) the training transcripts under character edit distance."""
    rng = np.random.default_rng(seed)
    pool = sorted(set(texts))
    if len(pool) > sample:
        pool = [pool[i] for i in sorted(rng.choice(len(pool), sample, replace=False))]
    costs = [sum(Levenshtein.distance(a, b) for b in pool) for a in pool]
    return pool[int(np.argmin(costs))]
