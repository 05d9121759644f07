"""Nearest-neighbour captioning: each test image gets the caption of its closest training image.

The classic retrieval baseline for captioning (Devlin et al., 2015, found it competitive on MS COCO).
Distances are Euclidean, either between raw pixels or between feature vectors (e.g. the trained
encoder's), computed in chunks so memory stays at chunk x train floats.
"""

from __future__ import annotations

import numpy as np


def nearest_neighbours(queries: np.ndarray, keys: np.ndarray, chunk: int = 512) -> np.ndarray:
    """Index of the closest row of keys (N, D) for every row of queries (M, D), by Euclidean distance."""
    q = queries.reshape(len(queries), -1).astype(np.float32)
    k = keys.reshape(len(keys), -1).astype(np.float32)
    k_sq = (k * k).sum(1)
    out = np.empty(len(q), dtype=np.int64)
    for s in range(0, len(q), chunk):
        block = q[s:s + chunk]
        d = k_sq[None, :] - 2.0 * block @ k.T          # |q|^2 is the same for every key: left out
        out[s:s + chunk] = d.argmin(1)
    return out


def nearest_neighbour_captions(train_vectors: np.ndarray, train_captions: list[str],
                               query_vectors: np.ndarray) -> list[str]:
    """The caption of each query's nearest training vector (first reference when there are several)."""
    idx = nearest_neighbours(query_vectors, train_vectors)
    return [train_captions[i] for i in idx]
