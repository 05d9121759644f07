"""A set of utterances: log-mel features with their transcripts, speakers and names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class Utterances:
    """Parallel lists, one entry per utterance."""

    features: list[np.ndarray]        # (T_i, n_mels) float32 log-mel (standardised once the scaler ran)
    texts: list[str]                  # normalised transcripts
    speakers: list[str]               # who speaks (a voice, the transcript's speaker column, or "": unknown)
    names: list[str]                  # where it comes from: a file or a synthetic recipe

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, index: Sequence[int] | np.ndarray) -> Utterances:
        idx = [int(i) for i in index]
        return Utterances([self.features[i] for i in idx], [self.texts[i] for i in idx],
                          [self.speakers[i] for i in idx], [self.names[i] for i in idx])

    def with_features(self, features: list[np.ndarray]) -> Utterances:
        return Utterances(features, self.texts, self.speakers, self.names)

    @property
    def frames(self) -> np.ndarray:
        return np.asarray([len(f) for f in self.features], dtype=np.int64)

    def seconds(self, hop_ms: float) -> float:
        return float(self.frames.sum()) * hop_ms / 1000
