"""Seq2seq: shapes, teacher forcing vs free running, padding, bridges, and learning to reverse."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from rnnkit.architectures import (
    CELLS,
    Seq2Seq,
    scheduled_sampling,
    sequence_accuracy,
    sequence_cross_entropy,
    shift_right,
)

SRC_LENGTHS = [5, 3, 1]


def _model(cell="gru", attention="additive", bidirectional=True, **fields) -> Seq2Seq:
    return Seq2Seq(src_vocab_size=7, tgt_vocab_size=9, hidden_size=8, embedding_dim=6, cell=cell,
                   attention=attention, bidirectional=bidirectional, **fields)


def _src() -> torch.Tensor:
    src = torch.randint(3, 7, (3, 5))
    return src.masked_fill(torch.arange(5) >= torch.tensor(SRC_LENGTHS).unsqueeze(1), 0)


def _tgt_in() -> torch.Tensor:
    return shift_right(torch.randint(3, 9, (3, 4)), 1)


CONFIGS = [(a, bi) for a in (None, "dot", "general", "additive") for bi in (False, True) if (a, bi) != ("dot", True)]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize(("attention", "bidirectional"), CONFIGS)
def test_seq2seq_shapes(cell, attention, bidirectional):
    m = _model(cell, attention, bidirectional, num_layers=2)
    out = m(_src(), _tgt_in(), SRC_LENGTHS)
    assert out.logits.shape == (3, 4, 9)
    assert (out.attention is None) == (attention is None)
    if attention:
        assert out.attention.shape == (3, 4, 5)


def test_seq2seq_reads_feature_sources():
    m = Seq2Seq(input_size=3, tgt_vocab_size=9, hidden_size=8, attention="general")
    assert m(torch.randn(2, 6, 3), _tgt_in()[:2], [6, 2]).logits.shape == (2, 4, 9)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("attention", [None, "dot", "additive"])
def test_teacher_forced_forward_equals_decoding_step_by_step(cell, attention):
    m = _model(cell, attention, bidirectional=attention != "dot", num_layers=2)
    src, tgt_in = _src(), _tgt_in()
    out = m(src, tgt_in, SRC_LENGTHS)
    logits, weights = scheduled_sampling(m, m.encode(src, SRC_LENGTHS), tgt_in, 0.0)
    assert torch.allclose(out.logits, logits, atol=1e-5)
    if attention:
        assert torch.allclose(out.attention, weights, atol=1e-6)


@pytest.mark.parametrize("attention", [None, "additive"])
def test_free_running_forward_follows_its_own_greedy_predictions(attention):
    m = _model("lstm", attention).eval()
    src, tgt_in = _src(), _tgt_in()
    free = m(src, tgt_in, SRC_LENGTHS, sampling_prob=1.0).logits.argmax(-1)         # (B, T)
    greedy = m.generate(src, SRC_LENGTHS, max_length=tgt_in.shape[1])
    real = torch.arange(greedy.tokens.shape[1]) < greedy.lengths.unsqueeze(1)
    assert torch.equal(free[:, : greedy.tokens.shape[1]][real], greedy.tokens[real])


def test_teacher_forcing_and_free_running_differ_once_the_model_errs():
    m = _model().eval()
    src, tgt_in = _src(), _tgt_in()
    assert not torch.allclose(m(src, tgt_in, SRC_LENGTHS).logits, m(src, tgt_in, SRC_LENGTHS, sampling_prob=1.0).logits)


def test_configured_sampling_prob_applies_in_training_mode_only():
    m = _model(sampling_prob=1.0)
    src, tgt_in = _src(), _tgt_in()
    teacher = m(src, tgt_in, SRC_LENGTHS, sampling_prob=0.0).logits
    assert not torch.allclose(m.train()(src, tgt_in, SRC_LENGTHS).logits, teacher)
    assert torch.allclose(m.eval()(src, tgt_in, SRC_LENGTHS).logits, teacher, atol=1e-6)


@pytest.mark.parametrize("cell", CELLS)
def test_scheduled_sampling_keeps_one_recurrent_dropout_mask_per_sentence(cell):
    m = _model(cell, "general", num_layers=2, layer_options={"recurrent_dropout": 0.4}).train()
    src, tgt_in = _src(), _tgt_in()
    torch.manual_seed(5)
    teacher = m(src, tgt_in, SRC_LENGTHS, sampling_prob=0.0).logits
    torch.manual_seed(5)
    stepwise = m(src, tgt_in, SRC_LENGTHS, sampling_prob=1e-12).logits      # step by step, never sampling
    torch.testing.assert_close(stepwise, teacher, rtol=0, atol=1e-5)
    m(src, tgt_in, SRC_LENGTHS, sampling_prob=0.5).logits.sum().backward()


@pytest.mark.parametrize("attention", [None, "general"])
def test_padded_source_tokens_do_not_change_the_output(attention):
    m = _model(attention=attention)
    src, tgt_in = _src(), _tgt_in()
    other = src.masked_fill(torch.arange(5) >= torch.tensor(SRC_LENGTHS).unsqueeze(1), 6)
    a, b = m(src, tgt_in, SRC_LENGTHS), m(other, tgt_in, SRC_LENGTHS)
    assert torch.equal(a.logits, b.logits)


def test_attention_weights_skip_padded_source_steps_in_training_and_generation():
    m = _model(attention="additive").eval()
    src = _src()
    padded = torch.arange(5) >= torch.tensor(SRC_LENGTHS).unsqueeze(1)     # (B, S)
    for weights in (m(src, _tgt_in(), SRC_LENGTHS).attention, m.generate(src, SRC_LENGTHS, max_length=6).attention):
        assert torch.equal(weights.masked_select(padded.unsqueeze(1)), torch.zeros_like(weights.masked_select(
            padded.unsqueeze(1))))
    out = m.generate(src, SRC_LENGTHS, max_length=6)
    real = torch.arange(out.tokens.shape[1]) < out.lengths.unsqueeze(1)
    assert torch.allclose(out.attention.sum(-1)[real], torch.ones(int(real.sum())))


@pytest.mark.parametrize("cell", CELLS)
def test_bridges_map_encoder_states_to_decoder_states(cell):
    src = _src()
    linear = _model(cell, bidirectional=True, num_layers=2, bridge="linear").encode(src, SRC_LENGTHS).rnn
    h = linear[0] if cell == "lstm" else linear
    assert h.shape == (2, 3, 8)
    assert _model(cell, bridge="zeros").encode(src, SRC_LENGTHS).rnn is None
    m = _model(cell, bidirectional=False, bridge="copy")
    _, enc_state, _ = m.encoder(src, SRC_LENGTHS)
    copied = m.encode(src, SRC_LENGTHS).rnn
    for a, b in zip(enc_state if cell == "lstm" else (enc_state,), copied if cell == "lstm" else (copied,),
                    strict=True):
        assert torch.equal(a, b)


def reverse_batch(batch: int, gen: torch.Generator, vocab: int = 8, max_len: int = 5):
    """Rows of 2..max_len symbols 3..vocab-1 (0-padded) and targets = the reversal then END (2)."""
    lengths = torch.randint(2, max_len + 1, (batch,), generator=gen)
    src = torch.randint(3, vocab, (batch, max_len), generator=gen)
    src = src.masked_fill(torch.arange(max_len) >= lengths.unsqueeze(1), 0)
    tgt = torch.zeros(batch, max_len + 1, dtype=torch.long)
    for b, n in enumerate(lengths.tolist()):
        tgt[b, :n] = src[b, :n].flip(0)
        tgt[b, n] = 2
    return src, lengths, tgt, lengths + 1


@pytest.mark.parametrize("attention", ["dot", "additive"])
def test_seq2seq_with_attention_learns_to_reverse_sequences(attention):
    gen = torch.Generator().manual_seed(0)
    m = Seq2Seq(src_vocab_size=8, tgt_vocab_size=8, embedding_dim=16, hidden_size=32, cell="gru", attention=attention)
    opt = torch.optim.Adam(m.parameters(), lr=5e-3)
    for _ in range(300):
        src, lengths, tgt, tgt_lengths = reverse_batch(32, gen)
        loss = sequence_cross_entropy(m(src, shift_right(tgt, 1), lengths).logits, tgt, tgt_lengths)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
    m.eval()
    src, lengths, tgt, tgt_lengths = reverse_batch(300, torch.Generator().manual_seed(1))
    out = m.generate(src, lengths, max_length=tgt.shape[1])
    emitted = F.pad(out.tokens, (0, tgt.shape[1] - out.tokens.shape[1]))       # (B, T) as the targets
    token_accuracy = sequence_accuracy(F.one_hot(emitted, 8).float(), tgt, tgt_lengths).item()
    assert token_accuracy > 0.95
