"""The captioner's decoding and training batches: beam width 1 is greedy, padding never counts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.architectures import beam_search
from rnnkit.tasks.caption.batches import CaptionBatches, pad_captions
from rnnkit.tasks.caption.digits import DigitCaptionsConfig, load_digit_captions
from rnnkit.tasks.caption.model import Captioner, CaptionerConfig
from rnnkit.tasks.caption.task import Caption, caption_loss
from rnnkit.tasks.caption.vocab import Vocabulary
from rnnkit.tasks.vision.encoder import EncoderConfig


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    data = load_digit_captions(DigitCaptionsConfig(train_size=64, valid_size=8, test_size=24))
    vocab = Vocabulary.build(c for refs in data.train.references for c in refs)
    model = Captioner(data.train.shape, len(vocab), CaptionerConfig(
        hidden_size=24, embedding_dim=8, encoder=EncoderConfig(channels=(4, 8), feature_size=16))).eval()
    meta = {"vocab": vocab.itos, "max_length": 12}
    return data, vocab, model, meta


def test_beam_width_1_equals_greedy_at_task_level(setup):
    data, vocab, model, meta = setup
    images = data.test.images
    greedy = Caption().captions(model, meta, images, beam=1)
    decoder = model.decoder
    with torch.no_grad():
        x = torch.from_numpy(images)
        state = decoder.initial_state(model.encoder(x))
        start = torch.full((len(images),), vocab.start, dtype=torch.long)
        beam1 = beam_search(decoder, state, start, beam_width=1, max_length=12, end_token=vocab.end)
    assert [vocab.decode(r) for r in beam1.tokens.tolist()] == greedy
    assert len(set(greedy)) > 1                       # the untrained model still says different things


def test_beam_search_keeps_the_likeliest_of_its_hypotheses(setup):
    data, _, model, _ = setup
    out = model.generate(torch.from_numpy(data.test.images), beam_width=3, max_length=12)
    assert out.beams.shape[:2] == (len(data.test), 3)
    assert torch.all(out.beam_scores[:, 0] >= out.beam_scores[:, 1])
    assert torch.allclose(out.scores, out.beam_scores[:, 0])


def test_generate_restores_training_mode(setup):
    data, _, model, _ = setup
    model.train()
    model.generate(torch.from_numpy(data.test.images[:2]), beam_width=2)
    assert model.training
    model.eval()


def test_caption_loss_is_the_sum_of_per_caption_losses(setup):
    data, vocab, model, _ = setup
    batch = next(iter(CaptionBatches(data.train, vocab, batch_size=6).epoch(0)))
    total, count = caption_loss(model, batch)
    singles = [caption_loss(model, type(batch)(batch.images[i:i + 1], batch.inputs[i:i + 1, :n],
                                               batch.targets[i:i + 1, :n], batch.lengths[i:i + 1]))[0]
               for i, n in enumerate(batch.lengths.tolist())]
    assert count == batch.lengths.sum()
    assert torch.allclose(total, torch.stack(singles).sum(), atol=1e-4)


def test_pad_captions_shifts_targets_right_behind_the_start_token():
    inputs, targets, lengths = pad_captions([[5, 6, 2], [7, 2]], start=1)
    assert targets.tolist() == [[5, 6, 2], [7, 2, 0]]
    assert inputs.tolist() == [[1, 5, 6], [1, 7, 2]]
    assert lengths.tolist() == [3, 2]


def test_caption_batches_restart_at_any_batch_in_the_same_order(setup):
    data, vocab, _, _ = setup
    batches = CaptionBatches(data.train, vocab, batch_size=10, seed=3)
    full = list(batches.epoch(2))
    tail = list(batches.epoch(2, start=4))
    assert len(full) == len(batches) == 7
    assert all(torch.equal(a.targets, b.targets) for a, b in zip(full[4:], tail, strict=True))
    first = np.concatenate([b.images.numpy() for b in batches.epoch(0)])
    assert not np.array_equal(first, np.concatenate([b.images.numpy() for b in full]))   # reshuffled per epoch
