"""Many-to-many aligned: tagger and language model shapes, causality, state carrying, masked losses."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from rnnkit.architectures import (
    CELLS,
    LanguageModel,
    ManyToMany,
    detach_state,
    sequence_accuracy,
    sequence_cross_entropy,
)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_tagger_shapes(cell, bidirectional):
    m = ManyToMany(input_size=3, output_size=5, hidden_size=4, cell=cell, bidirectional=bidirectional, num_layers=2)
    out, state = m(torch.randn(2, 6, 3), lengths=[6, 2])
    assert out.shape == (2, 6, 5)
    h = state[0] if cell == "lstm" else state
    assert h.shape == (4 if bidirectional else 2, 2, 4)


def test_tagger_reads_tokens():
    m = ManyToMany(vocab_size=9, output_size=4, hidden_size=4)
    assert m(torch.randint(0, 9, (2, 5)))[0].shape == (2, 5, 4)


def test_unidirectional_tagger_output_does_not_depend_on_future_steps():
    m = ManyToMany(input_size=3, output_size=5, hidden_size=4)
    x = torch.randn(2, 6, 3)
    y = x.clone()
    y[:, 4:] = torch.randn(2, 2, 3)
    assert torch.equal(m(x)[0][:, :4], m(y)[0][:, :4])


def test_bidirectional_tagger_real_steps_ignore_padding():
    m = ManyToMany(input_size=3, output_size=5, hidden_size=4, bidirectional=True)
    x = torch.randn(2, 6, 3)
    y = x.clone()
    y[1, 3:] = 100.0
    assert torch.equal(m(x, lengths=[6, 3])[0][1, :3], m(y, lengths=[6, 3])[0][1, :3])


@pytest.mark.parametrize("cell", CELLS)
def test_language_model_shapes(cell):
    lm = LanguageModel(vocab_size=13, hidden_size=8, cell=cell, num_layers=2)
    logits, state = lm(torch.randint(0, 13, (3, 7)))
    assert logits.shape == (3, 7, 13)
    assert (state[0] if cell == "lstm" else state).shape == (2, 3, 8)


def test_language_model_tied_weights_share_one_matrix():
    lm = LanguageModel(vocab_size=13, hidden_size=8, tie_weights=True)
    assert lm.head.weight is lm.embedding.weight
    assert sum(p.numel() for p in lm.parameters()) < sum(
        p.numel() for p in LanguageModel(vocab_size=13, hidden_size=8).parameters())


@pytest.mark.parametrize("cell", CELLS)
def test_language_model_carried_state_equals_one_long_run(cell):
    lm = LanguageModel(vocab_size=13, hidden_size=8, cell=cell)
    tokens = torch.randint(0, 13, (2, 9))
    whole, _ = lm(tokens)
    first, state = lm(tokens[:, :4])
    second, _ = lm(tokens[:, 4:], detach_state(state))
    assert torch.allclose(torch.cat([first, second], 1), whole, atol=1e-6)


def test_language_model_state_with_lengths_is_taken_at_each_rows_last_token():
    lm = LanguageModel(vocab_size=13, hidden_size=8, cell="gru")
    tokens = torch.randint(0, 13, (2, 6))
    _, state = lm(tokens, lengths=[6, 3])
    _, alone = lm(tokens[1:, :3])
    assert torch.allclose(state[:, 1], alone[:, 0], atol=1e-6)


def test_language_model_loss_ignores_tokens_past_each_rows_length():
    lm = LanguageModel(vocab_size=13, hidden_size=8)
    tokens = torch.randint(1, 13, (2, 6))
    other = tokens.clone()
    other[1, 3:] = 0
    a, _ = lm.loss(tokens, lengths=[6, 3])
    b, _ = lm.loss(other, lengths=[6, 3])
    assert torch.equal(a, b)


def test_language_model_generate_keeps_the_prompt_and_adds_tokens():
    lm = LanguageModel(vocab_size=13, hidden_size=8).eval()
    prompt = torch.randint(0, 13, (2, 3))
    out = lm.generate(prompt, 5, greedy=True)
    assert out.shape == (2, 8) and torch.equal(out[:, :3], prompt)
    assert torch.equal(out, lm.generate(prompt, 5, greedy=True))


def test_sequence_cross_entropy_averages_over_real_steps_only():
    logits, targets = torch.randn(2, 5, 7), torch.randint(0, 7, (2, 5))
    lengths = [5, 2]
    expected = F.cross_entropy(torch.cat([logits[0], logits[1, :2]]), torch.cat([targets[0], targets[1, :2]]))
    assert torch.allclose(sequence_cross_entropy(logits, targets, lengths), expected)
    per_step = sequence_cross_entropy(logits, targets, lengths, reduction="none")
    assert per_step.shape == (2, 5) and torch.equal(per_step[1, 2:], torch.zeros(3))


def test_sequence_cross_entropy_gives_no_gradient_to_padded_steps():
    logits = torch.randn(2, 5, 7, requires_grad=True)
    sequence_cross_entropy(logits, torch.randint(0, 7, (2, 5)), [5, 2]).backward()
    assert torch.equal(logits.grad[1, 2:], torch.zeros(3, 7))


def test_sequence_cross_entropy_skips_ignore_index():
    logits, targets = torch.randn(1, 4, 7), torch.tensor([[3, 0, 5, 0]])
    expected = F.cross_entropy(logits[0, [0, 2]], targets[0, [0, 2]])
    assert torch.allclose(sequence_cross_entropy(logits, targets, ignore_index=0), expected)


def test_sequence_accuracy_counts_real_steps_only():
    targets = torch.tensor([[1, 2, 3], [1, 0, 0]])
    logits = F.one_hot(torch.tensor([[1, 2, 0], [1, 2, 2]]), 4).float()
    assert sequence_accuracy(logits, targets, [3, 1]).item() == pytest.approx(3 / 4)


def test_many_to_many_takes_the_state_second_like_the_layers_and_refuses_positional_lengths():
    m = ManyToMany(input_size=3, output_size=2, hidden_size=4, cell="gru")
    x = torch.randn(2, 6, 3)
    whole, _ = m(x)
    first, state = m(x[:, :4])
    second, _ = m(x[:, 4:], state)                 # model(x, state): what TBPTT calls
    torch.testing.assert_close(torch.cat([first, second], 1), whole)
    with pytest.raises(TypeError, match=r"pass lengths by keyword"):
        m(x, [6, 3])
