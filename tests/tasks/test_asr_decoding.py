"""asr decoding and metrics: CTC greedy and prefix beam search on hand-made posteriors, jiwer error rates."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from rnnkit.tasks.asr.alphabet import BLANK, Alphabet
from rnnkit.tasks.asr.decoding import greedy_decode, prefix_beam_search
from rnnkit.tasks.asr.metrics import error_rates
from rnnkit.tasks.asr.model import min_ctc_steps
from rnnkit.training.errors import DataError

ABC = Alphabet("ehrt ")


def posteriors(path: str, alphabet: Alphabet = ABC, peak: float = 0.9) -> np.ndarray:
    """(T, V) log-probabilities whose argmax spells `path` ('_' is the blank), `peak` on the argmax."""
    V = alphabet.size
    p = np.full((len(path), V), (1 - peak) / (V - 1))
    for t, ch in enumerate(path):
        p[t, BLANK if ch == "_" else alphabet.index[ch]] = peak
    return np.log(p)


def test_greedy_merges_repeats_and_drops_blanks():
    assert ABC.decode(greedy_decode(posteriors("_tt_h_rre__e_"))) == "three"


def test_greedy_keeps_a_repeated_character_that_a_blank_separates():
    assert ABC.decode(greedy_decode(posteriors("ee_e"))) == "ee"
    assert ABC.decode(greedy_decode(posteriors("eee"))) == "e"


def test_greedy_of_all_blanks_is_empty():
    assert greedy_decode(posteriors("____")) == []


def test_beam_width_1_equals_greedy_on_hand_made_posteriors():
    for path in ("_tt_h_rre__e_", "ee_e", "t h e_e", "____", "r"):
        lp = posteriors(path)
        assert prefix_beam_search(lp, beam=1, prune=0)[0] == greedy_decode(lp)


def test_beam_width_1_equals_greedy_on_any_posteriors():
    rng = np.random.default_rng(0)
    for k in range(300):
        T, V = 25, ABC.size
        p = rng.dirichlet(np.full(V, 0.3 if k % 2 else 3.0), T)     # peaked and nearly flat posteriors
        lp = np.log(p)
        assert prefix_beam_search(lp, beam=1, prune=0)[0] == greedy_decode(lp)
        assert prefix_beam_search(lp, beam=1)[0] == greedy_decode(lp)


def test_beam_width_1_keeps_greedys_tie_break():
    lp = np.log(np.full((4, 3), 1 / 3))          # every symbol ties: argmax takes the blank each step
    assert prefix_beam_search(lp, beam=1)[0] == greedy_decode(lp) == []


def _collapse(path) -> tuple[int, ...]:
    return tuple(s for k, s in enumerate(path) if s != BLANK and (k == 0 or path[k - 1] != s))


def _most_probable_labelling(lp: np.ndarray) -> tuple[int, ...]:
    """Brute force: sum p(path) over all V^T paths per labelling."""
    totals: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(lp.shape[1]), repeat=lp.shape[0]):
        key = _collapse(path)
        totals[key] = totals.get(key, 0.0) + math.exp(sum(lp[t, s] for t, s in enumerate(path)))
    return max(totals, key=totals.get)


def test_a_wide_beam_finds_the_most_probable_labelling():
    rng = np.random.default_rng(1)
    for _ in range(60):
        logits = rng.normal(size=(5, 3)) * 2
        lp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
        assert tuple(prefix_beam_search(lp, beam=64, prune=0)[0]) == _most_probable_labelling(lp)


def test_the_beam_beats_greedy_where_many_alignments_outweigh_the_best_path():
    # Each step: blank 0.4, "a" 0.35, "b" 0.25. Best path: all blanks -> "" with p = 0.4^2 = 0.16.
    # "a" has three alignments (a_, _a, aa): 0.14 + 0.14 + 0.1225 = 0.4025.
    lp = np.log(np.array([[0.4, 0.35, 0.25]] * 2))
    assert greedy_decode(lp) == []
    ids, logp = prefix_beam_search(lp, beam=4, prune=0)
    assert ids == [1] and logp == pytest.approx(math.log(0.4025))


def test_min_ctc_steps_counts_a_blank_between_repeated_characters():
    assert min_ctc_steps(ABC.encode("three", "t")) == 6
    assert min_ctc_steps(ABC.encode("the", "t")) == 3


def test_alphabet_normalises_case_and_spaces_and_rejects_other_characters():
    assert ABC.check("  The   Tree ", "x") == "the tree"
    with pytest.raises(DataError, match=r"x: transcript 'the 3' has character\(s\) outside the alphabet: '3'"):
        ABC.check("The 3", "x")


def test_error_rates_are_corpus_level_edit_rates():
    m = error_rates(["one two three", "four"], ["one too three", ""])
    assert m["wer"] == pytest.approx(2 / 4)            # one substitution, one deletion, over 4 words
    assert m["cer"] == pytest.approx((1 + 4) / 17)     # "two"->"too" one character; "four" deleted
    assert m["ser"] == 1.0
