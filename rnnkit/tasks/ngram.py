"""Count-based baselines for sequence models over a fixed vocabulary: unigram and interpolated Kneser-Ney.

Both are proper distributions over the whole vocabulary (every symbol gets probability > 0 and the
probabilities sum to 1 in every context), so their bits per symbol compare fairly with a network's.

Interpolated Kneser-Ney of order n (Chen & Goodman 1999, eq. 26), one absolute discount D_k per order:

    P_k(w | h) = max(c_k(h w) - D_k, 0) / c_k(h .)  +  D_k * N_k(h .) / c_k(h .) * P_{k-1}(w | h')

h' is h without its first symbol; c_n are raw counts; for k < n, c_k(h w) is the number of distinct
symbols seen before h w (its continuation count); c_k(h .) sums c_k(h w) over w and N_k(h .) counts the w
with c_k(h w) > 0; a context never seen uses P_{k-1} alone; P_0 is uniform over the vocabulary.
D_k = n1 / (n1 + 2 n2) from the number of k-grams with count 1 and 2. Contexts never cross a document
boundary: near a document's start the model uses the orders the available context allows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


class Unigram:
    """Add-alpha smoothed symbol frequencies."""

    def __init__(self, vocab_size: int, alpha: float = 1.0) -> None:
        self.vocab_size, self.alpha = vocab_size, alpha
        self.logp = np.full(vocab_size, -math.log2(vocab_size))

    def fit(self, docs: Sequence[np.ndarray]) -> Unigram:
        counts = np.bincount(np.concatenate(docs), minlength=self.vocab_size) + self.alpha
        self.logp = np.log2(counts / counts.sum())
        return self

    def log2prob(self, docs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """log2 P(symbol) for every position of every document."""
        return [self.logp[d] for d in docs]


class KneserNey:
    """Interpolated Kneser-Ney n-gram model (see the module docstring)."""

    def __init__(self, order: int, vocab_size: int) -> None:
        if order < 1:
            raise ValueError(f"order must be >= 1, got {order}")
        if vocab_size ** order >= 2**62:
            raise ValueError(f"a {order}-gram over {vocab_size} symbols does not fit 64-bit codes; use a lower order")
        self.order, self.V = order, vocab_size
        self.tables: list[dict] = []

    def fit(self, docs: Sequence[np.ndarray]) -> KneserNey:
        n, V = self.order, self.V
        grams = {k: np.unique(np.concatenate([_codes(d, k, V) for d in docs])) for k in range(2, n + 1)}
        self.tables = [{}]   # index k: order k; order 0 is the uniform distribution
        for k in range(1, n + 1):
            if k == n:   # raw counts
                codes, counts = np.unique(np.concatenate([_codes(d, n, V) for d in docs]), return_counts=True)
            else:        # continuation counts: distinct left neighbours of each k-gram
                codes, counts = np.unique(grams[k + 1] % V**k, return_counts=True)
            n1, n2 = int((counts == 1).sum()), int((counts == 2).sum())
            D = min(max(n1 / (n1 + 2 * n2), 0.05), 0.95) if n1 + 2 * n2 else 0.5
            ctx = codes // V                       # codes are sorted, so contexts are grouped
            uctx, first, types = np.unique(ctx, return_index=True, return_counts=True)
            total = np.add.reduceat(counts, first) if len(counts) else counts
            self.tables.append({"codes": codes, "counts": counts, "D": D, "ctx": uctx, "total": total,
                                "types": types})
        return self

    def log2prob(self, docs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """log2 P(symbol | up to order-1 preceding symbols of its document) for every position."""
        return [np.log2(self._prob(d)) for d in docs]

    def _prob(self, doc: np.ndarray) -> np.ndarray:
        V, N = self.V, len(doc)
        p = np.full(N, 1.0 / V)
        pos = np.arange(N)
        for k in range(1, self.order + 1):
            ok = pos >= k - 1                      # enough context in this document for order k
            if not ok.any():
                break
            tab = self.tables[k]
            code = np.zeros(N, dtype=np.int64)
            for j in range(k):                     # code of doc[i-k+1 .. i], most significant first
                shifted = np.zeros(N, dtype=np.int64)
                shifted[k - 1:] = doc[j:N - k + 1 + j]
                code = code * V + shifted
            c = _lookup(tab["codes"], tab["counts"], code)
            total = _lookup(tab["ctx"], tab["total"], code // V)
            types = _lookup(tab["ctx"], tab["types"], code // V)
            with np.errstate(divide="ignore", invalid="ignore"):
                mixed = (np.maximum(c - tab["D"], 0) + tab["D"] * types * p) / total
            p = np.where(ok & (total > 0), mixed, p)
        return p

    def distribution(self, context: Sequence[int]) -> np.ndarray:
        """P(w | context) for every symbol w (sums to 1); for checks and sampling."""
        ctx = np.asarray(context, dtype=np.int64)[-(self.order - 1):] if self.order > 1 else np.zeros(0, np.int64)
        docs = np.concatenate([np.repeat(ctx[None], self.V, 0), np.arange(self.V)[:, None]], axis=1)
        return np.array([self._prob(d)[-1] for d in docs])


def _codes(doc: np.ndarray, k: int, V: int) -> np.ndarray:
    """Integer codes of all k-grams of a document."""
    if len(doc) < k:
        return np.zeros(0, dtype=np.int64)
    code = np.zeros(len(doc) - k + 1, dtype=np.int64)
    for j in range(k):
        code = code * V + doc[j:len(doc) - k + 1 + j].astype(np.int64)
    return code


def _lookup(keys: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
    """values[keys == query], 0 where the query is absent (keys sorted)."""
    if len(keys) == 0:
        return np.zeros(len(query), dtype=np.float64)
    i = np.clip(np.searchsorted(keys, query), 0, len(keys) - 1)
    return np.where(keys[i] == query, values[i], 0).astype(np.float64)
