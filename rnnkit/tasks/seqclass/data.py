"""Labelled multichannel series for sequence classification: the container and the embedded UEA sets.

A dataset is a list of float arrays, one per series, each (T_i, C) with its own length T_i, plus an
integer label per series and the class names. The embedded defaults come from the UCR/UEA archive as
bundled inside the sktime wheel, so they load without a network:
    japanese_vowels  12 LPC-cepstrum channels of a spoken /ae/, 9 speakers, length 7-29, 270 + 370
    basic_motions    3-axis accelerometer + gyroscope of a smartwatch, 4 activities, length 100, 40 + 40
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.training.errors import DataError

CREDITS = {
    "japanese_vowels": "JapaneseVowels: Kudo, Toyama & Shimbo (1999), UCI / UEA time-series archive "
                       "(Bagnall et al. 2018), as bundled with sktime (BSD-3); free use with citation",
    "basic_motions": "BasicMotions: UEA multivariate time-series archive (Bagnall et al. 2018), "
                     "as bundled with sktime (BSD-3); free use with citation",
}
UEA_NAMES = {"japanese_vowels": "JapaneseVowels", "basic_motions": "BasicMotions"}


@dataclass
class LabelledSeries:
    """Series (each (T_i, C) float32), integer labels in [0, len(classes)), and the class names."""

    series: list[np.ndarray]
    labels: np.ndarray                  # (N,) int64
    classes: tuple[str, ...]            # label i is classes[i]
    channels: tuple[str, ...]           # channel names, C of them

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels, dtype=np.int64)
        if len(self.series) != len(self.labels):
            raise ValueError(f"expected one label per series, got {len(self.series)} series and "
                             f"{len(self.labels)} labels")
        for i, s in enumerate(self.series):
            if s.ndim != 2 or s.shape[1] != len(self.channels) or s.shape[0] == 0:
                raise ValueError(f"series {i} must have shape (T>0, {len(self.channels)}), got {s.shape}")
        if len(self.labels) and (self.labels.min() < 0 or self.labels.max() >= len(self.classes)):
            raise ValueError(f"labels must lie in [0, {len(self.classes)}), got [{self.labels.min()}, "
                             f"{self.labels.max()}]")

    def __len__(self) -> int:
        return len(self.series)

    @property
    def lengths(self) -> np.ndarray:
        """(N,) steps per series."""
        return np.array([len(s) for s in self.series], dtype=np.int64)

    def subset(self, index: np.ndarray) -> LabelledSeries:
        """The rows at `index`, same classes and channels."""
        return LabelledSeries([self.series[i] for i in index], self.labels[index], self.classes, self.channels)


def load_uea(name: str, split: str) -> tuple[list[np.ndarray], list[str], tuple[str, ...]]:
    """One split ("train" | "test") of a bundled UEA set: raw series (T_i, C), string labels, channel names."""
    if name not in UEA_NAMES:
        raise DataError(f"unknown embedded dataset {name!r}; choose one of {', '.join(UEA_NAMES)} or a CSV path")
    from sktime.datasets import load_UCR_UEA_dataset  # optional dependency, imported when needed

    X, y = load_UCR_UEA_dataset(UEA_NAMES[name], split=split, return_X_y=True, return_type="nested_univ")
    channels = tuple(str(c) for c in X.columns)
    series = [np.stack([np.asarray(X.iloc[i, c], dtype=np.float32) for c in range(X.shape[1])], axis=1)
              for i in range(X.shape[0])]   # each (T_i, C)
    return series, [str(v) for v in y], channels


def embedded(name: str) -> tuple[LabelledSeries, LabelledSeries]:
    """The official train and test splits of an embedded set, with one shared class list."""
    tr_series, tr_labels, channels = load_uea(name, "train")
    te_series, te_labels, _ = load_uea(name, "test")
    classes = tuple(sorted(set(tr_labels) | set(te_labels), key=_natural_key))
    index = {c: i for i, c in enumerate(classes)}
    return (LabelledSeries(tr_series, np.array([index[c] for c in tr_labels]), classes, channels),
            LabelledSeries(te_series, np.array([index[c] for c in te_labels]), classes, channels))


def _natural_key(label: str) -> tuple:
    """Sort "2" before "10" when labels are numbers, alphabetically otherwise."""
    return (0, float(label), label) if _is_number(label) else (1, 0.0, label)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def stratified_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (kept, held_out): about `fraction` of each class held out, at least one row per class kept."""
    rng = np.random.default_rng(seed)
    kept, held = [], []
    for c in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == c))
        n = min(round(fraction * len(rows)), len(rows) - 1)
        held.extend(rows[:n])
        kept.extend(rows[n:])
    return np.sort(np.array(kept, dtype=np.int64)), np.sort(np.array(held, dtype=np.int64))
