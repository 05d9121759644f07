"""Attention heat maps: for each output word, how much weight each source word received."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np

from rnnkit.tasks.translate.tokenizer import SPACE
from rnnkit.training.plots import save_figure


def plot_attention(examples: list[tuple[list[str], list[str], np.ndarray, str]], path: str | Path) -> Path:
    """Examples (source tokens, output tokens, weights (T, S), title) in a grid of heat maps, saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(examples)
    cols = min(2, n)
    rows = math.ceil(n / cols)
    widths = [max(len(src) for src, _, _, _ in examples[c::cols]) for c in range(cols)]
    heights = [max(len(out) for _, out, _, _ in examples[r * cols:(r + 1) * cols]) for r in range(rows)]
    fig, axes = plt.subplots(rows, cols, figsize=(sum(0.42 * w + 2.2 for w in widths),
                                                  sum(0.32 * h + 1.8 for h in heights)), squeeze=False)
    for k, (src, out, weights, title) in enumerate(examples):
        ax = axes[k // cols][k % cols]
        ax.imshow(weights, cmap="viridis", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(src)), [t.lstrip(SPACE) for t in src], rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(out)), [t.lstrip(SPACE) for t in out], fontsize=8)
        ax.set_title(title, fontsize=8)
    for k in range(n, rows * cols):
        axes[k // cols][k % cols].axis("off")
    fig.suptitle("attention weights: rows = output words, columns = source words", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path, tight=True)


def plot_length_accuracy(lengths: list[int], references: list[str], curves: dict[str, list[str]], score,
                         path: str | Path, bins: int = 6) -> Path:
    """Exact match of each model's outputs (`curves`: name -> texts) per source-length bin, saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lengths = np.asarray(lengths)
    edges = np.unique(np.quantile(lengths, np.linspace(0, 1, bins + 1)).round().astype(int))
    groups = [np.flatnonzero((lengths >= a) & ((lengths < b) if k < len(edges) - 2 else (lengths <= b)))
              for k, (a, b) in enumerate(itertools.pairwise(edges))]
    if len(edges) < 2:                                            # every source has the same length
        groups = [np.arange(len(lengths))]
    groups = [(g, f"{lengths[g].min()}-{lengths[g].max()}") for g in groups if len(g)]
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for name, texts in curves.items():
        values = [score([texts[i] for i in g], [references[i] for i in g]) for g, _ in groups]
        ax.plot(range(len(groups)), values, marker="o", label=f"{name} (all: {score(texts, references):.3f})")
    ax.set_xticks(range(len(groups)), [f"{label}\n(n={len(g)})" for g, label in groups], fontsize=8)
    ax.set_xlabel("source length (words and marks)")
    ax.set_ylabel("exact match")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path, tight=True)
