"""Per-channel standardisation of sequences, fitted on the training part only.

The mean and standard deviation of each channel (a sensor, a mel bin) are taken over every real time step
of the training sequences: padding does not exist yet when it is fitted, so it cannot leak in, and held-out
sequences are only ever transformed with those statistics. Used by the seqclass and asr tasks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ChannelScaler:
    """x -> (x - mean) / std per channel of (T, C) sequences; a constant channel is divided by 1."""

    mean: np.ndarray                  # (C,)
    std: np.ndarray                   # (C,)

    @classmethod
    def fit(cls, sequences: list[np.ndarray]) -> ChannelScaler:
        """Statistics over all steps of all given sequences (each (T_i, C))."""
        if not sequences:
            raise ValueError("cannot fit a scaler on zero sequences")
        steps = np.concatenate(sequences, axis=0).astype(np.float64)   # (sum T_i, C)
        std = steps.std(axis=0)
        return cls(steps.mean(axis=0), np.where(std < 1e-8, 1.0, std))

    def transform(self, x: np.ndarray) -> np.ndarray:
        """One (T, C) sequence, standardised (float32)."""
        return ((x - self.mean) / self.std).astype(np.float32)

    def transform_all(self, sequences: list[np.ndarray]) -> list[np.ndarray]:
        return [self.transform(x) for x in sequences]

    def inverse(self, x: np.ndarray) -> np.ndarray:
        return (x * self.std + self.mean).astype(np.float32)

    def state_dict(self) -> dict[str, list[float]]:
        """Plain lists, for a checkpoint's JSON meta."""
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_state_dict(cls, state: dict[str, list[float]]) -> ChannelScaler:
        return cls(np.asarray(state["mean"], dtype=np.float64), np.asarray(state["std"], dtype=np.float64))
