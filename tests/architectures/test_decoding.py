"""Greedy and beam search: conventions, beam width 1 == greedy, beam beats greedy, length normalisation."""

from __future__ import annotations

import pytest
import torch

from rnnkit.architectures import OneToMany, Seq2Seq, beam_search, greedy_search, shift_right

PAD, START, END, A, B = range(5)


class MarkovDecoder:
    """A decoder whose next-token distribution depends only on the previous token (a fixed table)."""

    def __init__(self, table: dict[int, dict[int, float]], vocab: int = 5) -> None:
        probs = torch.full((vocab, vocab), 1e-6)
        for prev, row in table.items():
            for tok, p in row.items():
                probs[prev, tok] = p
        self.logits = probs.log()

    def decode_step(self, tokens, state):
        return self.logits[tokens], tokens, None      # the state is just the previous token

    def reorder_state(self, state, index):
        return state.index_select(0, index)


def _start(batch: int = 1) -> torch.Tensor:
    return torch.full((batch,), START, dtype=torch.long)


# Greedy takes A (0.6) and then has no good continuation; B (0.4) is followed by END almost surely.
TRAP = {START: {A: 0.6, B: 0.4}, A: {END: 0.34, A: 0.33, B: 0.33}, B: {END: 0.99, A: 0.01}}
# END straight away (0.55) beats A END (0.45 * 0.9) on the raw sum, but not per token.
SHORT = {START: {END: 0.55, A: 0.45}, A: {END: 0.9}}


def test_beam_search_finds_a_higher_scoring_sequence_than_greedy():
    dec = MarkovDecoder(TRAP)
    greedy = greedy_search(dec, _start(), _start(), max_length=5, end_token=END)
    beam = beam_search(dec, _start(), _start(), beam_width=2, max_length=5, end_token=END)
    assert greedy.tokens[0, :2].tolist() == [A, END]
    assert beam.tokens[0].tolist() == [B, END]
    assert beam.scores[0] > greedy.scores[0]
    assert beam.scores[0].item() == pytest.approx(torch.tensor([0.4, 0.99]).log().sum().item(), abs=1e-4)


def test_beam_search_returns_every_beam_best_first():
    beam = beam_search(MarkovDecoder(TRAP), _start(), _start(), beam_width=3, max_length=5, end_token=END)
    assert beam.beams.shape[:2] == (1, 3)
    assert torch.equal(beam.beams[:, 0], beam.tokens)
    assert (beam.beam_scores[0, :-1] >= beam.beam_scores[0, 1:]).all()


def test_length_normalisation_prefers_the_better_per_token_hypothesis():
    dec = MarkovDecoder(SHORT)
    raw = beam_search(dec, _start(), _start(), beam_width=2, max_length=5, end_token=END)
    normed = beam_search(dec, _start(), _start(), beam_width=2, max_length=5, end_token=END, length_norm=1.0)
    assert raw.tokens[0, :1].tolist() == [END] and raw.lengths.item() == 1
    assert normed.tokens[0].tolist() == [A, END] and normed.lengths.item() == 2


def test_greedy_search_pads_after_the_end_token_and_stops_when_every_row_ended():
    dec = MarkovDecoder({START: {A: 0.9, END: 0.1}, A: {A: 0.3, END: 0.7}, B: {END: 0.99, A: 0.01}})
    start = torch.tensor([B, START])       # row 0 ends at once, row 1 after A
    out = greedy_search(dec, start, start, max_length=6, end_token=END, pad_token=PAD)
    assert out.tokens.tolist() == [[END, PAD], [A, END]]
    assert out.lengths.tolist() == [1, 2]
    assert torch.allclose(out.scores, torch.tensor([0.99, 0.9 * 0.7]).log(), atol=1e-4)


def test_search_without_end_token_runs_to_max_length():
    dec = MarkovDecoder(TRAP)
    assert greedy_search(dec, _start(2), _start(2), max_length=4).tokens.shape == (2, 4)
    assert beam_search(dec, _start(2), _start(2), beam_width=3, max_length=4).tokens.shape == (2, 4)


@pytest.mark.parametrize("attention", [None, "dot", "general", "additive"])
@pytest.mark.parametrize("cell", ["lstm", "gru", "elman"])
def test_beam_width_one_equals_greedy_for_seq2seq(cell, attention):
    torch.manual_seed(1)
    m = Seq2Seq(src_vocab_size=7, tgt_vocab_size=9, hidden_size=8, cell=cell, attention=attention,
                bidirectional=attention != "dot").eval()
    src, lengths = torch.randint(0, 7, (4, 5)), [5, 3, 1, 0]
    start = torch.full((4,), 1, dtype=torch.long)
    greedy = greedy_search(m, m.encode(src, lengths), start, max_length=8, end_token=2)
    beam = beam_search(m, m.encode(src, lengths), start, beam_width=1, max_length=8, end_token=2)
    assert torch.equal(greedy.tokens, beam.tokens)
    assert torch.equal(greedy.lengths, beam.lengths)
    assert torch.equal(greedy.scores, beam.scores)
    if attention is None:
        assert greedy.attention is None and beam.attention is None
    else:
        assert torch.equal(greedy.attention, beam.attention)


@pytest.mark.parametrize("condition", ["init", "input", "both"])
def test_beam_width_one_equals_greedy_for_one_to_many(condition):
    m = OneToMany(feature_size=4, vocab_size=9, hidden_size=8, condition=condition, num_layers=2).eval()
    feats = torch.randn(5, 4)
    state = m.initial_state(feats)
    start = torch.full((5,), 1, dtype=torch.long)
    greedy = greedy_search(m, state, start, max_length=8, end_token=2)
    beam = beam_search(m, state, start, beam_width=1, max_length=8, end_token=2)
    assert torch.equal(greedy.tokens, beam.tokens) and torch.equal(greedy.scores, beam.scores)


def test_beam_search_on_a_batch_equals_each_row_alone():
    m = Seq2Seq(src_vocab_size=7, tgt_vocab_size=9, hidden_size=8, attention="additive").eval()
    src, lengths = torch.randint(0, 7, (3, 5)), [5, 2, 4]
    batch = m.generate(src, lengths, max_length=6, beam_width=3)
    for b in range(3):
        alone = m.generate(src[b : b + 1, : lengths[b]], max_length=6, beam_width=3)
        n = int(alone.lengths[0])
        assert torch.equal(batch.tokens[b, :n], alone.tokens[0, :n])
        assert torch.allclose(batch.scores[b], alone.scores[0], atol=1e-5)
        assert torch.allclose(batch.attention[b, :n, : lengths[b]], alone.attention[0, :n], atol=1e-5)


def test_beam_search_scores_equal_the_sum_of_token_log_probabilities():
    m = OneToMany(feature_size=4, vocab_size=9, hidden_size=8).eval()
    feats = torch.randn(2, 4)
    out = m.generate(feats, max_length=6, beam_width=3)
    logp = m(feats, shift_right(out.tokens, 1)).log_softmax(-1)           # teacher-forced on the result
    picked = logp.gather(2, out.tokens.unsqueeze(-1)).squeeze(-1)         # (B, T)
    real = torch.arange(out.tokens.shape[1]) < out.lengths.unsqueeze(1)
    assert torch.allclose((picked * real).sum(1), out.scores, atol=1e-5)


def test_shift_right_prepends_the_start_token():
    assert shift_right(torch.tensor([[5, 6, 2]]), 1).tolist() == [[1, 5, 6]]
