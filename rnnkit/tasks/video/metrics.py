"""Classification metrics: accuracy, macro-F1 and the confusion matrix."""

from __future__ import annotations

import numpy as np


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """(K, K) counts: row = true class, column = predicted class."""
    m = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(labels), np.asarray(predictions)), 1)
    return m


def classification_metrics(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> dict[str, float]:
    """{"accuracy", "macro_f1"} (F1 of a class with no true and no predicted member counts as 1)."""
    m = confusion_matrix(labels, predictions, num_classes)
    tp = np.diag(m).astype(float)
    denom = m.sum(0) + m.sum(1)
    f1 = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 1.0)
    return {"accuracy": float(tp.sum() / max(m.sum(), 1)), "macro_f1": float(f1.mean())}
