"""The container every caption source fills: images with their reference captions, split three ways."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SPLITS = ("train", "valid", "test")


@dataclass
class CaptionSet:
    """Images (N, C, H, W) float32 in [0, 1] and, per image, one or more normalised reference captions."""

    images: np.ndarray
    references: list[list[str]]
    names: list[str] = field(default_factory=list)   # where each image came from (file, digit indices)

    def __post_init__(self) -> None:
        if self.images.ndim != 4:
            raise ValueError(f"images must be (N, C, H, W), got shape {self.images.shape}")
        if len(self.references) != len(self.images):
            raise ValueError(f"{len(self.images)} images but {len(self.references)} reference lists")
        if any(not refs for refs in self.references):
            raise ValueError("every image needs at least one reference caption")
        if not self.names:
            self.names = [str(i) for i in range(len(self.images))]

    def __len__(self) -> int:
        return len(self.images)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        return tuple(self.images.shape[1:])

    def pairs(self) -> tuple[np.ndarray, list[str]]:
        """One (image index, caption) pair per reference: what teacher forcing trains on."""
        index = [i for i, refs in enumerate(self.references) for _ in refs]
        return np.asarray(index, dtype=np.int64), [c for refs in self.references for c in refs]


@dataclass
class CaptionData:
    """The three splits plus the one-line credits of the data they came from."""

    train: CaptionSet
    valid: CaptionSet
    test: CaptionSet
    credits: list[str]
    description: str = ""

    def split(self, name: str) -> CaptionSet:
        return {"train": self.train, "valid": self.valid, "test": self.test}[name]
