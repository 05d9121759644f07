"""Classification metrics: accuracy, the confusion matrix and macro-averaged F1."""

from __future__ import annotations

import numpy as np


def accuracy(true: np.ndarray, pred: np.ndarray) -> float:
    """Fraction of series whose predicted label equals the true one."""
    true, pred = np.asarray(true), np.asarray(pred)
    if true.shape != pred.shape or true.size == 0:
        raise ValueError(f"expected two equal, non-empty label arrays, got shapes {true.shape} and {pred.shape}")
    return float((true == pred).mean())


def confusion_matrix(true: np.ndarray, pred: np.ndarray, num_classes: int) -> np.ndarray:
    """(K, K) counts; row = true class, column = predicted class."""
    m = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(true), np.asarray(pred)), 1)
    return m


def macro_f1(true: np.ndarray, pred: np.ndarray, num_classes: int) -> float:
    """Mean over classes of F1 = 2 TP / (2 TP + FP + FN); a class absent from both sides counts as 1."""
    m = confusion_matrix(true, pred, num_classes)
    tp = np.diag(m).astype(float)
    denom = 2 * tp + (m.sum(0) - tp) + (m.sum(1) - tp)
    f1 = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 1.0)
    return float(f1.mean())


def summary(true: np.ndarray, pred: np.ndarray, num_classes: int) -> dict[str, float]:
    """The numbers metrics.json reports for one classifier."""
    return {"accuracy": accuracy(true, pred), "macro_f1": macro_f1(true, pred, num_classes),
            "errors": int((np.asarray(true) != np.asarray(pred)).sum())}
