"""The container every video source fills: clips (N, T, C, H, W) with lengths and integer labels."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SPLITS = ("train", "valid", "test")


@dataclass
class ClipSet:
    """Clips padded with zero frames to a common T, their real lengths and their class ids."""

    clips: np.ndarray              # (N, T, C, H, W) float32 in [0, 1]
    labels: np.ndarray             # (N,) int64 class ids
    lengths: np.ndarray | None = None   # (N,) real frames per clip; None: every clip has all T
    names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.clips.ndim != 5:
            raise ValueError(f"clips must be (N, T, C, H, W), got shape {self.clips.shape}")
        if len(self.labels) != len(self.clips):
            raise ValueError(f"{len(self.clips)} clips but {len(self.labels)} labels")
        if self.lengths is None:
            self.lengths = np.full(len(self.clips), self.clips.shape[1], dtype=np.int64)
        if not self.names:
            self.names = [str(i) for i in range(len(self.clips))]

    def __len__(self) -> int:
        return len(self.clips)

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one frame."""
        return tuple(self.clips.shape[2:])

    @property
    def variable_length(self) -> bool:
        return bool((self.lengths != self.clips.shape[1]).any())


@dataclass
class VideoData:
    """The three splits, the class names (index = class id) and the one-line data credits."""

    train: ClipSet
    valid: ClipSet
    test: ClipSet
    classes: list[str]
    credits: list[str]
    description: str = ""

    def split(self, name: str) -> ClipSet:
        return {"train": self.train, "valid": self.valid, "test": self.test}[name]
