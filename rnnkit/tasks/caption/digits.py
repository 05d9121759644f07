"""Embedded default: real handwritten digits composed into numbers, captioned with num2words.

The 1,797 8x8 scans of scikit-learn's `load_digits` (UCI optical digits) are split into disjoint
train/valid/test pools, so no test image contains a digit scan seen in training. A number of 1 to
`max_digits` digits is drawn; its digits are pasted left to right from the left margin (0-2 pixels
in), with random gaps and vertical jitter, on a blank canvas; its caption is
`num2words(n, lang=...)`, e.g. 4021 -> "four thousand and twenty-one". Multi-digit numbers are
also split by value: the test (and valid) numbers never occur in training, so the decoder must
compose words it has seen in other combinations ("seven hundred", "and forty-two") instead of
recalling a caption. Single digits appear in every split (there are only ten), always with unseen
handwriting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.tasks.caption.data import CaptionData, CaptionSet
from rnnkit.tasks.caption.vocab import normalize

DIGIT = 8   # the scans are 8x8
GAP = 2     # at most this many blank columns between digits
ALIGN_JITTER = 2   # the first digit starts 0..2 columns from the left edge
CREDITS = [
    "Handwritten digits: UCI Optical Recognition of Handwritten Digits (Alpaydin & Kaynak, 1998), "
    "via scikit-learn's load_digits (CC BY 4.0)",
    "Captions: num2words (LGPL)",
]


@dataclass
class DigitCaptionsConfig:
    """How many composed images to make, and of which numbers."""

    max_digits: int = 3            # numbers have 1..max_digits digits (drawn uniformly by length)
    train_size: int = 12000        # composed training images
    valid_size: int = 1000
    test_size: int = 2000
    heldout: float = 0.2           # share of multi-digit numbers kept out of training (half valid, half test)
    lang: str = "en"               # num2words language of the captions, e.g. "fr", "de"
    seed: int = 0                  # the scans' split, the numbers' split and the compositions

    def __post_init__(self) -> None:
        if not isinstance(self.max_digits, int) or not 1 <= self.max_digits <= 4:
            raise ValueError(f"max_digits must be an int in 1..4, got {self.max_digits!r}")
        for name in ("train_size", "valid_size", "test_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be an int >= 1, got {getattr(self, name)!r}")
        if not 0 < self.heldout < 1:
            raise ValueError(f"heldout must be in (0, 1), got {self.heldout!r}")
        from num2words import CONVERTER_CLASSES
        if self.lang not in CONVERTER_CLASSES:
            raise ValueError(f"lang must be a num2words language such as en, fr, de, es; got {self.lang!r}")

    @property
    def canvas(self) -> tuple[int, int]:
        """(height, width) of the composed images."""
        return DIGIT + 4, self.max_digits * (DIGIT + GAP) + 2


def number_splits(max_digits: int, heldout: float, seed: int) -> dict[str, np.ndarray]:
    """The numbers each split draws from: single digits everywhere, multi-digit ones disjoint."""
    rng = np.random.default_rng(seed)
    multi = rng.permutation(np.arange(10, 10**max_digits))
    k = round(len(multi) * heldout / 2) if len(multi) else 0
    singles = np.arange(10)
    return {"valid": np.concatenate([singles, multi[:k]]), "test": np.concatenate([singles, multi[k:2 * k]]),
            "train": np.concatenate([singles, multi[2 * k:]])}


def scan_pools(labels: np.ndarray, seed: int, shares: tuple[float, float] = (0.7, 0.15)) -> dict[str, list]:
    """Per split, per digit class, the indices of the scans it may use (disjoint across splits)."""
    rng = np.random.default_rng(seed + 1)
    pools: dict[str, list] = {"train": [], "valid": [], "test": []}
    for d in range(10):
        idx = rng.permutation(np.flatnonzero(labels == d))
        a, b = int(len(idx) * shares[0]), int(len(idx) * (shares[0] + shares[1]))
        pools["train"].append(idx[:a])
        pools["valid"].append(idx[a:b])
        pools["test"].append(idx[b:])
    return pools


def compose(number: int, scans: list[np.ndarray], canvas: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Paste the scans (8x8, values 0..1) of the number's digits left to right: (H, W) float32.

    Numbers start near the left margin, as written numbers do: then the k-th digit is always near the
    same place, which let the decoder generalise to unseen numbers far better than free placement did
    (validation exact match 0.76 vs 0.62 after the same 1,128 updates).
    """
    H, W = canvas
    n = len(scans)
    gaps = rng.integers(0, GAP + 1, size=max(n - 1, 0))
    width = n * DIGIT + int(gaps.sum())
    x = int(rng.integers(0, min(W - width, ALIGN_JITTER) + 1))   # left-aligned, like written numbers
    img = np.zeros(canvas, np.float32)
    for k, scan in enumerate(scans):
        y = int(rng.integers(0, H - DIGIT + 1))
        img[y:y + DIGIT, x:x + DIGIT] = np.maximum(img[y:y + DIGIT, x:x + DIGIT], scan)
        x += DIGIT + (int(gaps[k]) if k < n - 1 else 0)
    return img


def _make_split(split: str, size: int, numbers: np.ndarray, pool: list, images: np.ndarray, cfg: DigitCaptionsConfig,
                rng: np.random.Generator) -> CaptionSet:
    from num2words import num2words

    by_length: dict[int, list[int]] = {}
    for n in numbers:
        by_length.setdefault(len(str(int(n))), []).append(int(n))
    lengths = sorted(by_length)
    out = np.zeros((size, 1, *cfg.canvas), np.float32)
    refs, names = [], []
    for i in range(size):
        group = by_length[lengths[int(rng.integers(len(lengths)))]]
        n = group[int(rng.integers(len(group)))]
        picks = [int(pool[int(c)][int(rng.integers(len(pool[int(c)])))]) for c in str(n)]
        out[i, 0] = compose(n, [images[p] for p in picks], cfg.canvas, rng)
        refs.append([normalize(num2words(n, lang=cfg.lang))])
        names.append(f"{split}:{n}:scans=" + "+".join(map(str, picks)))
    return CaptionSet(out, refs, names)


def load_digit_captions(cfg: DigitCaptionsConfig | None = None) -> CaptionData:
    """Train/valid/test composed-number images with their num2words captions (deterministic in cfg.seed)."""
    from sklearn.datasets import load_digits

    cfg = cfg or DigitCaptionsConfig()
    digits = load_digits()
    scans = (digits.images / 16.0).astype(np.float32)   # (1797, 8, 8)
    numbers = number_splits(cfg.max_digits, cfg.heldout, cfg.seed)
    pools = scan_pools(digits.target, cfg.seed)
    sizes = {"train": cfg.train_size, "valid": cfg.valid_size, "test": cfg.test_size}
    sets = {s: _make_split(s, sizes[s], numbers[s], pools[s], scans, cfg,
                           np.random.default_rng([cfg.seed, i])) for i, s in enumerate(sizes)}
    return CaptionData(**sets, credits=CREDITS,
                       description=f"handwritten digits composed into 1-{cfg.max_digits} digit numbers, "
                                   f"captioned in {cfg.lang!r} (test numbers and scans unseen in training)")
