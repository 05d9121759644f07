"""Per-channel standardisation fitted on the training series only.

The mean and standard deviation of each channel are taken over every real time step of the training
series (padding does not exist yet at this point, so it cannot leak in). The test series are only ever
transformed with those statistics, so nothing about the test split reaches the model through scaling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ChannelScaler:
    """x -> (x - mean) / std per channel; `fit` on train, `transform` anything."""

    mean: np.ndarray | None = None       # (C,)
    std: np.ndarray | None = None        # (C,), never below `eps`
    eps: float = 1e-8                    # a constant channel is divided by 1 instead of by ~0

    @classmethod
    def fit(cls, series: list[np.ndarray]) -> ChannelScaler:
        """Statistics over all steps of all given series (each (T_i, C))."""
        if not series:
            raise ValueError("cannot fit a scaler on zero series")
        steps = np.concatenate(series, axis=0).astype(np.float64)   # (sum T_i, C)
        std = steps.std(axis=0)
        return cls(steps.mean(axis=0), np.where(std < 1e-8, 1.0, std))

    def transform(self, series: list[np.ndarray]) -> list[np.ndarray]:
        if self.mean is None or self.std is None:
            raise RuntimeError("ChannelScaler.transform called before fit")
        return [((s - self.mean) / self.std).astype(np.float32) for s in series]

    def inverse(self, series: list[np.ndarray]) -> list[np.ndarray]:
        return [(s * self.std + self.mean).astype(np.float32) for s in series]

    def state_dict(self) -> dict[str, list[float]]:
        """Plain lists, for a JSON sidecar or a checkpoint's extra state."""
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_state_dict(cls, state: dict[str, list[float]]) -> ChannelScaler:
        return cls(np.asarray(state["mean"], dtype=np.float64), np.asarray(state["std"], dtype=np.float64))
