"""Scaling fitted on the training part only: an optional log, then standardisation of target and covariates.

`SeriesScaler.fit` is handed the training slice and nothing else, so no statistic of the validation or
test part can reach the model through scaling. The log makes a multiplicative seasonal pattern (like the
airline passengers') additive and is undone exactly by `inverse`; quantiles survive both maps unchanged,
because both are increasing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.training.errors import ConfigError, DataError

TRANSFORMS = ("auto", "log", "none")


def resolve_transform(transform: str, target: np.ndarray) -> str:
    """`auto` means log when every target value is positive, else none; `log` needs positive values."""
    if transform not in TRANSFORMS:
        raise ValueError(f"transform must be one of {TRANSFORMS}, got {transform!r}")
    positive = bool((np.asarray(target) > 0).all())
    if transform == "auto":
        return "log" if positive else "none"
    if transform == "log" and not positive:
        raise ConfigError(f"--transform log needs positive target values, got a minimum of {np.min(target):g}; "
                          "use --transform none")
    return transform


@dataclass
class SeriesScaler:
    """z = (g(y) - mean) / std for the target (g = log or identity), (x - mean) / std per covariate."""

    transform: str                       # "log" | "none"
    mean: float
    std: float
    cov_mean: np.ndarray                 # (C,)
    cov_std: np.ndarray                  # (C,)

    @classmethod
    def fit(cls, target: np.ndarray, covariates: np.ndarray, transform: str) -> SeriesScaler:
        """Statistics of the given (training) slice only: target (N,), covariates (N, C)."""
        if transform not in ("log", "none"):
            raise ValueError(f"transform must be log or none here (resolve 'auto' first), got {transform!r}")
        g = _forward(np.asarray(target, dtype=np.float64), transform)
        cov = np.asarray(covariates, dtype=np.float64).reshape(len(g), -1)
        cov_std = cov.std(axis=0) if len(cov) else np.ones(cov.shape[1])
        return cls(transform, float(g.mean()), _safe(float(g.std())), cov.mean(axis=0) if len(cov) else
                   np.zeros(cov.shape[1]), np.where(cov_std < 1e-8, 1.0, cov_std))

    def target(self, y: np.ndarray) -> np.ndarray:
        """Original units -> scaled."""
        return (_forward(np.asarray(y, dtype=np.float64), self.transform) - self.mean) / self.std

    def inverse(self, z: np.ndarray) -> np.ndarray:
        """Scaled -> original units (also for quantiles, which an increasing map preserves)."""
        g = np.asarray(z, dtype=np.float64) * self.std + self.mean
        return np.exp(g) if self.transform == "log" else g

    def transformed(self, y: np.ndarray) -> np.ndarray:
        """Only the log (or identity): the scale the classical baselines model."""
        return _forward(np.asarray(y, dtype=np.float64), self.transform)

    def untransformed(self, g: np.ndarray) -> np.ndarray:
        return np.exp(g) if self.transform == "log" else np.asarray(g, dtype=np.float64)

    def covariates(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=np.float64) - self.cov_mean) / self.cov_std

    def state_dict(self) -> dict:
        return {"transform": self.transform, "mean": self.mean, "std": self.std, "cov_mean": self.cov_mean.tolist(),
                "cov_std": self.cov_std.tolist()}

    @classmethod
    def from_state_dict(cls, s: dict) -> SeriesScaler:
        return cls(s["transform"], float(s["mean"]), float(s["std"]), np.asarray(s["cov_mean"], dtype=np.float64),
                   np.asarray(s["cov_std"], dtype=np.float64))


def _forward(y: np.ndarray, transform: str) -> np.ndarray:
    if transform == "log":
        if (y <= 0).any():
            raise DataError(f"the model forecasts the log of its target, which needs positive values; got "
                            f"{y.min():g}")
        return np.log(y)
    return y


def _safe(std: float) -> float:
    return std if std > 1e-12 else 1.0
