"""Classification metrics (accuracy, macro-F1, confusion matrix) and the confusion-matrix plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from rnnkit.training.plots import save_figure


def classification_metrics(true: np.ndarray, pred: np.ndarray, num_classes: int) -> dict[str, float]:
    """accuracy and macro-F1 (the unweighted mean of the per-class F1 scores, so a minority class counts
    as much as a majority one); what metrics.json reports for each classifier."""
    labels = list(range(num_classes))
    return {"accuracy": float(accuracy_score(true, pred)),
            "macro_f1": float(f1_score(true, pred, labels=labels, average="macro", zero_division=0))}


def confusion(true: np.ndarray, pred: np.ndarray, num_classes: int) -> np.ndarray:
    """(K, K) counts: row = true class, column = predicted class."""
    return confusion_matrix(true, pred, labels=list(range(num_classes)))


def plot_confusion(matrix: np.ndarray, names: tuple[str, ...], path: str | Path, title: str) -> Path:
    """A heat map of row-normalised rates with the counts written in each cell, saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = matrix / np.maximum(matrix.sum(1, keepdims=True), 1)
    k = len(names)
    fig, ax = plt.subplots(figsize=(1.2 * k + 2.5, 1.1 * k + 1.8))
    im = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(k), names, rotation=45 if k > 3 else 0, ha="right" if k > 3 else "center")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{matrix[i, j]}\n{rates[i, j]:.0%}", ha="center", va="center",
                    color="white" if rates[i, j] > 0.5 else "black", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046, label="share of the true class")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path, tight=True)
