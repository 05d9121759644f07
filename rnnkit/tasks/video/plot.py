"""Plots of the video task: a few test clips frame by frame with the predictions, and the confusion matrix."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.training.plots import save_figure


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_clips(clips: np.ndarray, lengths: np.ndarray, captions: list[str], path: str | Path,
               max_frames: int = 12) -> Path:
    """One row per clip (N, T, C, H, W): its frames left to right, the caption above the row."""
    plt = _pyplot()
    n, T = len(clips), min(clips.shape[1], max_frames)
    height = n * 1.2 + 0.7
    fig, axes = plt.subplots(n, T, figsize=(max(T * 0.9, 6), height), squeeze=False)
    for i in range(n):
        for t in range(T):
            ax = axes[i, t]
            ax.axis("off")
            if t < lengths[i]:
                frame = clips[i, t]
                ax.imshow(frame[0] if frame.shape[0] == 1 else frame.transpose(1, 2, 0).clip(0, 1),
                          cmap="gray" if frame.shape[0] == 1 else None, vmin=0, vmax=1)
        axes[i, 0].text(0, 1.12, captions[i], transform=axes[i, 0].transAxes, fontsize=7, va="bottom")
    fig.suptitle("frames left to right", fontsize=9, y=1 - 0.12 / height)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=1 - 0.65 / height, hspace=0.45, wspace=0.05)
    return save_figure(fig, path)


def plot_confusion(matrix: np.ndarray, classes: list[str], path: str | Path, title: str = "") -> Path:
    """The confusion matrix (rows: true class, columns: predicted) with counts in the cells."""
    plt = _pyplot()
    k = len(classes)
    fig, ax = plt.subplots(figsize=(max(4.0, 1.8 + 0.6 * k), max(3.6, 1.6 + 0.6 * k)))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(k), classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k), classes, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)

