"""One-to-many: conditioning, teacher forcing vs step-by-step, generation, and learning a tiny captioning task."""

from __future__ import annotations

import pytest
import torch

from rnnkit.architectures import CELLS, OneToMany, scheduled_sampling, sequence_cross_entropy, shift_right

CONDITIONS = ["init", "input", "both"]


def _model(cell="lstm", condition="init", **fields) -> OneToMany:
    return OneToMany(feature_size=4, vocab_size=9, hidden_size=8, embedding_dim=6, cell=cell, condition=condition,
                     **fields)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("condition", CONDITIONS)
def test_one_to_many_shapes(cell, condition):
    m = _model(cell, condition, num_layers=2).eval()
    feats = torch.randn(3, 4)
    assert m(feats, torch.randint(0, 9, (3, 5)), [5, 2, 1]).shape == (3, 5, 9)
    greedy, beam = m.generate(feats, max_length=6), m.generate(feats, max_length=6, beam_width=3)
    assert greedy.tokens.shape[0] == 3 and greedy.tokens.shape[1] <= 6
    assert beam.beams.shape[:2] == (3, 3) and beam.tokens.shape[1] <= 6
    assert (greedy.lengths <= 6).all() and greedy.attention is None


@pytest.mark.parametrize("condition", CONDITIONS)
def test_the_vector_conditions_every_output(condition):
    m = _model(condition=condition)
    tokens = torch.randint(0, 9, (1, 5)).expand(2, 5)
    logits = m(torch.randn(2, 4), tokens)
    assert not torch.allclose(logits[0], logits[1])


def test_init_condition_sets_the_initial_state_and_input_condition_does_not():
    feats = torch.randn(2, 4)
    h, c = _model(condition="init", num_layers=2).initial_state(feats).rnn
    assert h.shape == (2, 2, 8) and c.shape == (2, 2, 8)
    state = _model(condition="input").initial_state(feats)
    assert state.rnn is None and torch.equal(state.features, feats)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("condition", CONDITIONS)
def test_one_to_many_teacher_forced_forward_equals_decoding_step_by_step(cell, condition):
    m = _model(cell, condition, num_layers=2)
    feats, tokens = torch.randn(3, 4), torch.randint(0, 9, (3, 5))
    logits, attention = scheduled_sampling(m, m.initial_state(feats), tokens, 0.0)
    assert torch.allclose(m(feats, tokens), logits, atol=1e-5) and attention is None


def test_scheduled_sampling_keeps_one_recurrent_dropout_mask_per_caption():
    m = _model("gru", "both", num_layers=2, layer_options={"recurrent_dropout": 0.4}).train()
    feats, tokens = torch.randn(3, 4), torch.randint(0, 9, (3, 5))
    torch.manual_seed(5)
    teacher = m(feats, tokens, sampling_prob=0.0)
    torch.manual_seed(5)
    torch.testing.assert_close(m(feats, tokens, sampling_prob=1e-12), teacher, rtol=0, atol=1e-5)


def test_one_to_many_learns_to_caption_a_class_vector():
    """Feature = one-hot class k of 4; caption = [3 + k, 3 + k, END]."""
    m = OneToMany(feature_size=4, vocab_size=7, hidden_size=16, embedding_dim=8, cell="gru")
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    k = torch.arange(4).repeat(8)
    feats = torch.eye(4)[k]
    captions = torch.stack([3 + k, 3 + k, torch.full_like(k, 2)], 1)    # (32, 3)
    for _ in range(100):
        loss = sequence_cross_entropy(m(feats, shift_right(captions, 1)), captions)
        opt.zero_grad()
        loss.backward()
        opt.step()
    m.eval()
    out = m.generate(torch.eye(4), max_length=5, beam_width=2)
    assert out.tokens.tolist() == [[3 + i, 3 + i, 2] for i in range(4)]
