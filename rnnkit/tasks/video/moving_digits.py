"""Embedded default: real handwritten digits animated into clips whose label only the order reveals.

Each clip shows one 8x8 scan from scikit-learn's `load_digits` moving over a blank canvas. Two motions:

    "rotation" (default, 2 classes): the digit circles the canvas centre, clockwise or
        counterclockwise (as seen on screen, y pointing down), with a random radius, angular speed
        and starting angle. A counterclockwise clip is generated as a clockwise clip played
        backwards (its starting angle is uniform too, so the two classes are the same distribution
        of *frame sets*). Anything that ignores frame order - the per-frame baseline averages frame
        features - sees identically distributed inputs in both classes and stays at chance; the
        label lives in the order alone.
    "direction" (4 classes: left, right, up, down): straight motion at constant speed. Left is
        right played backwards (likewise up/down), but a horizontal clip's frames are spread along x
        and a vertical one's along y, so an order-blind model can still tell the axis: it should
        reach about 50% (chance 25%), and the remaining half is the arrow of time.

The scans are split into disjoint train/valid/test pools (70/15/15 per digit class), so the test
clips show handwriting never seen in training. Everything is deterministic in the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.tasks.caption.digits import scan_pools
from rnnkit.tasks.video.data import ClipSet, VideoData

DIGIT = 8
MOTIONS = {"rotation": ["clockwise", "counterclockwise"], "direction": ["left", "right", "up", "down"]}
CREDITS = ["Handwritten digits: UCI Optical Recognition of Handwritten Digits (Alpaydin & Kaynak, 1998), "
           "via scikit-learn's load_digits (CC BY 4.0); animated by rnnkit"]


@dataclass
class MovingDigitsConfig:
    """Clip geometry and split sizes."""

    motion: str = "rotation"     # "rotation" (2 classes, order-only) | "direction" (4 classes, see module doc)
    frames: int = 10             # frames per clip
    size: int = 20               # canvas height and width in pixels
    train_size: int = 3000       # clips per split
    valid_size: int = 500
    test_size: int = 1000
    seed: int = 0

    def __post_init__(self) -> None:
        if self.motion not in MOTIONS:
            raise ValueError(f"motion must be one of {sorted(MOTIONS)}, got {self.motion!r}")
        if not isinstance(self.frames, int) or self.frames < 3:
            raise ValueError(f"frames must be an int >= 3, got {self.frames!r}")
        if not isinstance(self.size, int) or self.size < 16:
            raise ValueError(f"size must be an int >= 16 (the digit is 8x8 and must move), got {self.size!r}")
        for name in ("train_size", "valid_size", "test_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be an int >= 1, got {getattr(self, name)!r}")

    @property
    def classes(self) -> list[str]:
        return list(MOTIONS[self.motion])


def render(scan: np.ndarray, positions: np.ndarray, size: int) -> np.ndarray:
    """Frames (T, size, size) with the 8x8 scan's top-left corner at each rounded (y, x) position."""
    frames = np.zeros((len(positions), size, size), np.float32)
    for t, (y, x) in enumerate(np.rint(positions).astype(int)):
        frames[t, y:y + DIGIT, x:x + DIGIT] = scan
    return frames


def rotation_positions(frames: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Clockwise (on screen) circle positions (T, 2) around the canvas centre, random radius/speed/start."""
    room = (size - DIGIT) / 2                       # how far the digit's corner may move from the centre
    radius = rng.uniform(0.45, 0.95) * room
    step = np.deg2rad(rng.uniform(25, 45))          # angle per frame: clearly below 180, so no aliasing
    theta = rng.uniform(0, 2 * np.pi) + step * np.arange(frames)   # y grows downwards: increasing = clockwise
    return np.stack([room + radius * np.sin(theta), room + radius * np.cos(theta)], 1)


def rightward_positions(frames: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Positions (T, 2) moving right at constant speed from a random start that keeps the digit inside."""
    room = size - DIGIT
    speed = rng.uniform(0.6, 1.0) * room / (frames - 1)
    x0 = rng.uniform(0, room - speed * (frames - 1))
    y = rng.uniform(0, room)
    return np.stack([np.full(frames, y), x0 + speed * np.arange(frames)], 1)


def make_clip(scan: np.ndarray, label: int, cfg: MovingDigitsConfig, rng: np.random.Generator) -> np.ndarray:
    """One clip (T, H, W) of class `label`; the trajectory draws from rng the same way for every label.

    Every class is a transform of one base motion (clockwise, or rightward): counterclockwise and
    left are the base played backwards; down and up are the base transposed (and reversed for up).
    """
    if cfg.motion == "rotation":
        frames = render(scan, rotation_positions(cfg.frames, cfg.size, rng), cfg.size)
        return frames if label == 0 else frames[::-1].copy()
    pos = rightward_positions(cfg.frames, cfg.size, rng)
    name = MOTIONS["direction"][label]
    if name in ("up", "down"):
        pos = pos[:, ::-1]                          # transpose: x motion becomes y motion (down)
    frames = render(scan, pos, cfg.size)
    return frames[::-1].copy() if name in ("left", "up") else frames


def make_split(scans: np.ndarray, pool: np.ndarray, size: int, cfg: MovingDigitsConfig,
               rng: np.random.Generator, split: str = "") -> ClipSet:
    """`size` clips with balanced labels (a shuffled equal share of each class), scans drawn from pool."""
    k = len(cfg.classes)
    labels = rng.permutation(np.arange(size) % k).astype(np.int64)
    clips = np.zeros((size, cfg.frames, 1, cfg.size, cfg.size), np.float32)
    names = []
    for i in range(size):
        s = int(pool[int(rng.integers(len(pool)))])
        clips[i, :, 0] = make_clip(scans[s], int(labels[i]), cfg, rng)
        names.append(f"{split}:{i}:scan={s}")
    return ClipSet(clips, labels, names=names)


def load_moving_digits(cfg: MovingDigitsConfig | None = None) -> VideoData:
    """Train/valid/test moving-digit clips (deterministic in cfg.seed)."""
    from sklearn.datasets import load_digits

    cfg = cfg or MovingDigitsConfig()
    digits = load_digits()
    scans = (digits.images / 16.0).astype(np.float32)
    pools = {s: np.sort(np.concatenate(p)) for s, p in scan_pools(digits.target, cfg.seed).items()}
    sizes = {"train": cfg.train_size, "valid": cfg.valid_size, "test": cfg.test_size}
    sets = {s: make_split(scans, pools[s], n, cfg, np.random.default_rng([cfg.seed, i]), s)
            for i, (s, n) in enumerate(sizes.items())}
    what = {"rotation": "circling clockwise or counterclockwise",
            "direction": "moving left, right, up or down"}[cfg.motion]
    return VideoData(**sets, classes=cfg.classes, credits=CREDITS,
                     description=f"real handwritten digits {what} ({cfg.frames} frames of {cfg.size}x{cfg.size}; "
                                 "test handwriting unseen in training)")
