"""Data the experiments share: a synthetic long-lag recall task and two real data sets that need no download.

- `recall_batch`: remember one marked symbol over `lag` distractor steps (a copy/recall task).
- `stdlib_text`: Python source code from CPython's own standard library, always present.
- `digits`: scikit-learn's bundled copy of the UCI handwritten digits (1,797 real 8x8 images).
"""

from __future__ import annotations

import pathlib
import sysconfig

import torch
from torch import Tensor

# Standard-library modules present in every CPython >= 3.11, read in this order.
STDLIB_FILES = ("textwrap.py", "shlex.py", "fnmatch.py", "glob.py", "netrc.py", "colorsys.py", "bisect.py",
                "heapq.py", "string.py", "getopt.py", "sched.py", "calendar.py", "csv.py", "difflib.py")


def recall_batch(
    gen: torch.Generator, batch: int, lag: int, symbols: int = 4, blank: bool = False,
) -> tuple[Tensor, Tensor]:
    """The recall task: x (B, lag+1, symbols+1), y (B,).

    Step 0 shows one of `symbols` symbols (one-hot) with the marker channel set; the next `lag` steps show
    random distractor symbols from the same alphabet without the marker (all-zero inputs with `blank`).
    The target, read after the last step, is the marked symbol: chance accuracy is 1/symbols, and the
    answer lies exactly `lag` steps back.
    """
    seq = torch.randint(symbols, (batch, lag + 1), generator=gen)
    x = torch.zeros(batch, lag + 1, symbols + 1)
    x.scatter_(2, seq.unsqueeze(-1), 1.0)
    if blank:
        x[:, 1:] = 0.0
    x[:, 0, symbols] = 1.0
    return x, seq[:, 0].clone()


def stdlib_text(max_chars: int) -> str:
    """Up to `max_chars` characters of CPython standard-library source (the files in `STDLIB_FILES`)."""
    root = pathlib.Path(sysconfig.get_paths()["stdlib"])
    parts, total = [], 0
    for name in STDLIB_FILES:
        path = root / name
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        parts.append(text)
        total += len(text)
        if total >= max_chars:
            break
    if not parts:
        raise FileNotFoundError(f"none of {STDLIB_FILES} found under {root}")
    return "".join(parts)[:max_chars]


def char_codes(text: str, vocab: str | None = None) -> tuple[Tensor, str]:
    """Encode text as indices into `vocab` (built from the text when None; unknown chars map to index 0)."""
    vocab = vocab if vocab is not None else "".join(sorted(set(text)))
    index = {ch: k for k, ch in enumerate(vocab)}
    return torch.tensor([index.get(ch, 0) for ch in text]), vocab


def char_batch(gen: torch.Generator, codes: Tensor, batch: int, length: int) -> tuple[Tensor, Tensor]:
    """Random windows for next-character prediction: inputs (B, length), targets (B, length)."""
    start = torch.randint(len(codes) - length - 1, (batch,), generator=gen)
    idx = start.unsqueeze(1) + torch.arange(length + 1)
    windows = codes[idx]
    return windows[:, :-1], windows[:, 1:]


def digits() -> tuple[Tensor, Tensor]:
    """The UCI digits from scikit-learn: images (1797, 8, 8) scaled to [0, 1], labels (1797,)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return torch.tensor(d.images, dtype=torch.float32) / 16.0, torch.tensor(d.target)
