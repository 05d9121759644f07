"""CTC decoding: per-step log-probabilities (T, V) -> character ids.

Greedy (best path): the likeliest symbol at each step, repeats merged, blanks dropped:

    argmax per step  _ t t _ h _ r e e _ e     ->  merge repeats  _ t _ h _ r e _ e  ->  drop blanks  "three"

Prefix beam search (Hannun et al., 2014, without a language model) keeps the `beam` likeliest prefixes.
A prefix's probability sums over all its alignments, split into p_b (the alignment so far ends in a blank)
and p_nb (it ends in the prefix's last character), because the two extend differently:

    blank               p_b'(l)    += (p_b(l) + p_nb(l)) * y_t(blank)
    last character c    p_nb'(l)   += p_nb(l) * y_t(c)                    (a repeat merges into l)
                        p_nb'(l+c) += p_b(l) * y_t(c)                     (after a blank it is a new c)
    other character c   p_nb'(l+c) += (p_b(l) + p_nb(l)) * y_t(c)

With a wide beam it returns the likeliest labelling, which can differ from the greedy best path: several
weaker alignments of one text can outweigh the single best alignment of another. With beam 1 it keeps one
prefix, whose best extension is the greedy one whenever each step's likeliest symbol dominates (a trained
CTC model's posteriors are that peaked); the tests check both properties.
"""

from __future__ import annotations

import math

import numpy as np

from rnnkit.tasks.asr.alphabet import BLANK

NEG_INF = -math.inf


def greedy_decode(log_probs: np.ndarray, blank: int = BLANK) -> list[int]:
    """Best-path decoding of (T, V) log-probabilities."""
    best = np.asarray(log_probs).argmax(axis=-1)
    out, previous = [], blank
    for s in best.tolist():
        if s != previous and s != blank:
            out.append(s)
        previous = s
    return out


def _add(a: float, b: float) -> float:
    """log(exp(a) + exp(b)), exact at -inf."""
    if a == NEG_INF:
        return b
    if b == NEG_INF:
        return a
    return max(a, b) + math.log1p(math.exp(-abs(a - b)))


def _grow(beams: dict[tuple[int, ...], list[float]], prefix: tuple[int, ...], b: float, nb: float) -> None:
    """Add (log p_b, log p_nb) mass to a prefix of the next step."""
    slot = beams.setdefault(prefix, [NEG_INF, NEG_INF])
    slot[0], slot[1] = _add(slot[0], b), _add(slot[1], nb)


def prefix_beam_search(log_probs: np.ndarray, beam: int = 8, blank: int = BLANK,
                       prune: float = 1e-3) -> tuple[list[int], float]:
    """(ids, log-probability) of the best prefix found; see the module docstring.

    `prune`: at each step only characters with probability >= prune start new prefixes (0: all of them);
    a repeat always merges, whatever its probability.
    """
    if beam < 1:
        raise ValueError(f"beam must be >= 1, got {beam}")
    lp = np.asarray(log_probs, dtype=np.float64)
    floor = math.log(prune) if prune > 0 else NEG_INF
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, NEG_INF)}     # prefix -> (log p_b, log p_nb)
    for t in range(lp.shape[0]):
        row = lp[t]
        chars = [c for c in np.flatnonzero(row >= floor).tolist() if c != blank]
        nxt: dict[tuple[int, ...], list[float]] = {}
        for prefix, (pb, pnb) in beams.items():
            total = _add(pb, pnb)
            _grow(nxt, prefix, total + row[blank], NEG_INF)
            last = prefix[-1] if prefix else None
            if last is not None:
                _grow(nxt, prefix, NEG_INF, pnb + row[last])
            for c in chars:
                _grow(nxt, (*prefix, c), NEG_INF, (pb if c == last else total) + row[c])
        ranked = sorted(nxt.items(), key=lambda kv: _add(*kv[1]), reverse=True)[:beam]
        beams = {p: (b, nb) for p, (b, nb) in ranked}
    best, (pb, pnb) = max(beams.items(), key=lambda kv: _add(*kv[1]))
    return list(best), _add(pb, pnb)


def decode(log_probs: np.ndarray, beam: int = 1) -> list[int]:
    """Greedy for beam 1 (the best path: cheaper, and what beam 1 gives on peaked posteriors), else beam search."""
    return greedy_decode(log_probs) if beam == 1 else prefix_beam_search(log_probs, beam)[0]
