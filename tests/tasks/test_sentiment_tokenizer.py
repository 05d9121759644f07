"""sentiment tokens and batches: SentencePiece round trips, the stored model, bucketed resumable batches."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.tasks.sentiment.batches import TokenBatches
from rnnkit.tasks.sentiment.tokenizer import PAD, UNK, SubwordTokenizer

TEXTS = ["a gorgeous, witty film", "flat and lifeless", "the rock is destined to be a star",
         "an utterly charming comedy", "dull, dull, dull", "a film of quiet power"] * 20


@pytest.fixture(scope="module")
def cased():
    return SubwordTokenizer.train([t.capitalize() for t in TEXTS], vocab_size=60, lowercase=False)


@pytest.fixture(scope="module")
def folded():
    return SubwordTokenizer.train(TEXTS, vocab_size=60, lowercase=True)


def test_decode_inverts_encode_exactly_without_case_folding(cased):
    for text in ("A gorgeous, witty film", "Flat and lifeless", "The rock is a film"):
        assert cased.decode(cased.encode(text)) == text


def test_decode_gives_the_case_folded_text_with_single_spaces(folded):
    assert folded.decode(folded.encode("A   Gorgeous,  WITTY film")) == "a gorgeous, witty film"


def test_reserved_ids_are_padding_and_unknown(folded):
    assert folded.sp.id_to_piece(PAD) == "<pad>" and folded.sp.id_to_piece(UNK) == "<unk>"
    assert UNK in folded.encode("\u4e2d")                      # a character never seen in training


def test_stored_model_encodes_the_same(folded):
    again = SubwordTokenizer.from_meta(folded.to_meta())
    assert again.encode("a witty comedy of power") == folded.encode("a witty comedy of power")
    assert again.vocab_size == folded.vocab_size


def test_encode_all_cuts_long_texts_and_never_returns_an_empty_sequence(folded):
    ids = folded.encode_all(["a gorgeous, witty film", ""], max_length=3)
    assert len(ids[0]) == 3 and ids[1].tolist() == [UNK]


def test_batches_cover_every_sentence_once_per_epoch():
    ids = [np.arange(1, n + 2) for n in range(50)]
    source = TokenBatches(ids, np.arange(50) % 2, batch_size=8, seed=3)
    batches = list(source.epoch(0))
    assert len(batches) == len(source) == 7
    assert sorted(int(n) for b in batches for n in b.lengths) == list(range(1, 51))   # each length once


def test_resuming_mid_epoch_repeats_the_same_batches():
    ids = [np.arange(1, n % 9 + 2) for n in range(40)]
    source = TokenBatches(ids, np.arange(40) % 2, batch_size=4, seed=1, word_dropout=0.3)
    full = list(source.epoch(2))
    tail = list(source.epoch(2, start=6))
    assert all((a.x == b.x).all() and (a.labels == b.labels).all() for a, b in zip(full[6:], tail, strict=True))


def test_padding_follows_each_row_length():
    source = TokenBatches([np.array([5, 6, 7]), np.array([8])], np.array([0, 1]), batch_size=2, shuffle=False)
    batch = next(iter(source))
    assert batch.x.tolist() == [[5, 6, 7], [8, PAD, PAD]] and batch.lengths.tolist() == [3, 1]
