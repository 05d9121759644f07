"""asr model and batches: output shapes per subsampled step, padding-independence, CTC loss, resumable batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.tasks.asr.batches import UtteranceBatches, collate
from rnnkit.tasks.asr.features import SpecAugment
from rnnkit.tasks.asr.model import CTCEncoder, FrameMLP, ctc_loss_sum, posteriors


def utterances(n: int = 6, n_mels: int = 8, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(int(rng.integers(20, 40)), n_mels)).astype(np.float32) for _ in range(n)]


@pytest.mark.parametrize(("cell", "bidirectional", "subsample"), [("gru", True, 3), ("lstm", True, 1),
                                                                  ("elman", False, 4)])
def test_the_encoder_gives_log_probabilities_per_subsampled_step(cell, bidirectional, subsample):
    model = CTCEncoder(8, 5, cell=cell, hidden=6, layers=2, dropout=0.0, subsample=subsample,
                       bidirectional=bidirectional)
    batch = collate(utterances())
    log_probs, lengths = model(batch.x, batch.lengths)
    assert log_probs.shape == (6, -(-int(batch.lengths.max()) // subsample), 5)
    assert lengths.tolist() == [-(-n // subsample) for n in batch.lengths.tolist()]
    torch.testing.assert_close(log_probs.exp().sum(-1), torch.ones(log_probs.shape[:2]))


@pytest.mark.parametrize("model", [CTCEncoder(8, 5, hidden=6, layers=2, dropout=0.0),
                                   FrameMLP(8, 5, hidden=6, context=2, dropout=0.0)], ids=["encoder", "frame_mlp"])
def test_an_utterance_gets_the_same_posteriors_alone_and_in_a_padded_batch(model):
    feats = utterances()
    together = posteriors(model, feats, batch_size=6)
    alone = [posteriors(model, [f])[0] for f in feats]
    for a, b in zip(together, alone, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_the_ctc_loss_is_summed_over_the_batch_and_counts_characters():
    model = CTCEncoder(8, 5, hidden=6, layers=1, dropout=0.0)
    batch = collate(utterances(2), [[1, 2, 3], [4, 4]])
    loss, count = ctc_loss_sum(model, batch)
    assert int(count) == 5 and torch.isfinite(loss) and loss > 0
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_a_resumed_epoch_continues_with_the_same_batches():
    feats = utterances(20)
    source = UtteranceBatches(feats, [[1]] * 20, 4, seed=3, augment=SpecAugment())
    full = list(source.epoch(2))
    resumed = list(source.epoch(2, start=2))
    assert len(full) == len(source) == 5 and len(resumed) == 3
    for a, b in zip(full[2:], resumed, strict=True):
        assert torch.equal(a.x, b.x) and torch.equal(a.lengths, b.lengths)


def test_batches_group_similar_lengths_and_cover_every_utterance_once():
    feats = utterances(40)
    source = UtteranceBatches(feats, [[1]] * 40, 8, seed=0)
    order = source.order(0)
    assert sorted(np.concatenate(order).tolist()) == list(range(40))
    spread = [np.ptp([len(feats[i]) for i in idx]) for idx in order]
    assert max(spread) <= 8                                    # lengths 20-39 sorted into 5 batches of 8
