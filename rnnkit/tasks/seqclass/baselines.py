"""Classical baselines measured in the same run: 1-nearest-neighbour with DTW or Euclidean distance.

1-NN with dynamic time warping is the standard reference classifier of the UCR/UEA archive. Here the
multivariate ("dependent") form is used: the cost of matching step i of one series with step j of the
other is the squared Euclidean distance between their channel vectors, and one warping path is shared
by all channels. No warping window: every alignment is allowed. The Euclidean baseline first resamples
every series to one common length (linear interpolation), so series of different lengths compare.
"""

from __future__ import annotations

import numpy as np

from rnnkit.tasks.seqclass.batches import pad


def dtw_distances(queries: list[np.ndarray], references: list[np.ndarray], chunk: int = 32) -> np.ndarray:
    """(Q, R) dependent-DTW distances (sum of squared step costs along the best warping path)."""
    ref, ref_len = (t.numpy().astype(np.float64) for t in pad(references))        # (R, Tr, C), (R,)
    out = np.empty((len(queries), len(references)))
    for start in range(0, len(queries), chunk):
        q, q_len = (t.numpy().astype(np.float64) for t in pad(queries[start: start + chunk]))  # (Q, Tq, C)
        cost = (np.einsum("qic,qic->qi", q, q)[:, None, :, None] + np.einsum("rjc,rjc->rj", ref, ref)[None, :, None, :]
                - 2 * np.einsum("qic,rjc->qrij", q, ref)).clip(min=0)              # (Q, R, Tq, Tr)
        acc = np.full(cost.shape, np.inf)
        for i in range(cost.shape[2]):
            for j in range(cost.shape[3]):
                if i == 0 and j == 0:
                    best = 0.0
                else:
                    up = acc[:, :, i - 1, j] if i else np.inf
                    left = acc[:, :, i, j - 1] if j else np.inf
                    diag = acc[:, :, i - 1, j - 1] if i and j else np.inf
                    best = np.minimum(np.minimum(up, left), diag)
                acc[:, :, i, j] = cost[:, :, i, j] + best
        qi, ri = q_len.astype(int) - 1, ref_len.astype(int) - 1
        out[start: start + len(q)] = acc[np.arange(len(q))[:, None], np.arange(len(ref))[None, :],
                                         qi[:, None], ri[None, :]]
    return out


def resample(series: list[np.ndarray], length: int) -> np.ndarray:
    """Each (T_i, C) series linearly interpolated to (length, C) -> (N, length, C)."""
    out = np.empty((len(series), length, series[0].shape[1]))
    grid = np.linspace(0.0, 1.0, length)
    for n, s in enumerate(series):
        t = np.linspace(0.0, 1.0, len(s)) if len(s) > 1 else np.zeros(1)
        for c in range(s.shape[1]):
            out[n, :, c] = np.interp(grid, t, s[:, c])
    return out


def euclidean_distances(queries: list[np.ndarray], references: list[np.ndarray], length: int) -> np.ndarray:
    """(Q, R) squared Euclidean distances between series resampled to `length` steps."""
    q = resample(queries, length).reshape(len(queries), -1)
    r = resample(references, length).reshape(len(references), -1)
    return ((q * q).sum(1)[:, None] + (r * r).sum(1)[None, :] - 2 * q @ r.T).clip(min=0)


def nearest_neighbour(distances: np.ndarray, reference_labels: np.ndarray) -> np.ndarray:
    """The label of each query's closest reference (ties: the first reference)."""
    return np.asarray(reference_labels)[distances.argmin(axis=1)]


def one_nn(train: list[np.ndarray], train_labels: np.ndarray, test: list[np.ndarray], metric: str
           ) -> np.ndarray:
    """Predicted labels of `test` by 1-NN over `train` with metric "dtw" or "euclidean"."""
    if metric == "dtw":
        d = dtw_distances(test, train)
    elif metric == "euclidean":
        d = euclidean_distances(test, train, round(np.mean([len(s) for s in train])))
    else:
        raise ValueError(f"metric must be dtw or euclidean, got {metric!r}")
    return nearest_neighbour(d, train_labels)
