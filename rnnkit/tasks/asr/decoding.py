"""CTC decoding: per-step log-probabilities (T, V) -> character ids.

Greedy (best path): the likeliest symbol at each step, repeats merged, blanks dropped:

    argmax per step  _ t t _ h _ r e e _ e     ->  merge repeats  _ t _ h _ r e _ e  ->  drop blanks  "three"

Prefix beam search (after Hannun et al., 2014, without a language model) sums a text's probability over
all its alignments. The beam holds alignment states: a prefix l together with whether the alignment so
far ends in a blank (b) or in l's last character (nb), because the two extend differently:

    blank               (l, b)    += p(l, b) * y_t(blank) + p(l, nb) * y_t(blank)
    last character c    (l, nb)   += p(l, nb) * y_t(c)                   (a repeat merges into l)
                        (l+c, nb) += p(l, b) * y_t(c)                    (after a blank it is a new c)
    other character c   (l+c, nb) += (p(l, b) + p(l, nb)) * y_t(c)

Alignments that reach the same state are merged (their probabilities add); the `beam` likeliest states
survive each step, and the answer is the prefix with the largest p(l, b) + p(l, nb). Keeping states rather
than whole prefixes (Hannun's variant keeps prefixes) makes beam width 1 exactly greedy decoding, whatever
the posteriors: one state has one successor per symbol, so keeping the likeliest successor is taking each
step's argmax. A wide beam returns the likeliest labelling, which can differ from the greedy best path:
several weaker alignments of one text can outweigh the single best alignment of another.
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


def _grow(states: dict[tuple[tuple[int, ...], bool], float], key: tuple[tuple[int, ...], bool],
          logp: float) -> None:
    """Merge an alignment's log-probability into a state of the next step."""
    states[key] = _add(states.get(key, NEG_INF), logp)


def prefix_beam_search(log_probs: np.ndarray, beam: int = 8, blank: int = BLANK,
                       prune: float = 1e-3) -> tuple[list[int], float]:
    """(ids, log-probability) of the best prefix found; see the module docstring.

    `prune`: at each step only symbols with probability >= prune extend the states (0: all of them); the
    step's likeliest symbol always does, so pruning never changes width 1.
    """
    if beam < 1:
        raise ValueError(f"beam must be >= 1, got {beam}")
    lp = np.asarray(log_probs, dtype=np.float64)
    floor = math.log(prune) if prune > 0 else NEG_INF
    states: dict[tuple[tuple[int, ...], bool], float] = {((), True): 0.0}   # (prefix, ends in blank) -> log p
    for t in range(lp.shape[0]):
        row = lp[t]
        best = int(row.argmax())
        symbols = [s for s in range(lp.shape[1]) if row[s] >= floor or s == best]   # in index order, as argmax
        nxt: dict[tuple[tuple[int, ...], bool], float] = {}
        for (prefix, ends_blank), p in states.items():
            last = prefix[-1] if prefix else None
            for s in symbols:
                if s == blank:
                    _grow(nxt, (prefix, True), p + row[s])
                elif s == last and not ends_blank:
                    _grow(nxt, (prefix, False), p + row[s])          # a repeat merges
                else:
                    _grow(nxt, ((*prefix, s), False), p + row[s])
        # sorted() is stable, so ties keep the argmax's order (the lowest symbol first)
        states = dict(sorted(nxt.items(), key=lambda kv: kv[1], reverse=True)[:beam])
    totals: dict[tuple[int, ...], float] = {}
    for (prefix, _), p in states.items():
        totals[prefix] = _add(totals.get(prefix, NEG_INF), p)
    ids, logp = max(totals.items(), key=lambda kv: kv[1])
    return list(ids), logp


def decode(log_probs: np.ndarray, beam: int = 1) -> list[int]:
    """Greedy for beam 1 (the same result as `prefix_beam_search` with width 1, but cheaper), else beam search."""
    return greedy_decode(log_probs) if beam == 1 else prefix_beam_search(log_probs, beam)[0]
