"""Caption metrics: corpus BLEU (sacrebleu) and exact match against any of an image's references.

BLEU-4 is 0 for every system when captions are shorter than 4 words (no 4-gram can match), so the task
picks the order from its training captions: `bleu_order` = their median length in words, at most 4.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from rnnkit.tasks.caption.vocab import normalize, tokenize


def bleu_order(captions: Iterable[str]) -> int:
    """The n-gram order BLEU can use on captions like these: their median length in words, 1 to 4."""
    lengths = [len(tokenize(c)) for c in captions]
    return int(min(4, max(1, np.floor(np.median(lengths))))) if lengths else 4


def bleu(hypotheses: Sequence[str], references: Sequence[Sequence[str]], order: int = 4) -> float:
    """Corpus BLEU-`order` in [0, 100] (sacrebleu: 13a tokenisation, no smoothing beyond its 'exp').

    Images may have different numbers of references; sacrebleu wants equally many reference streams,
    so shorter lists repeat their first reference (a duplicate reference changes no n-gram count).
    """
    import sacrebleu

    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference lists")
    if not hypotheses:
        return 0.0
    k = max(len(r) for r in references)
    streams = [[refs[j] if j < len(refs) else refs[0] for refs in references] for j in range(k)]
    return float(sacrebleu.metrics.BLEU(max_ngram_order=order).corpus_score(list(hypotheses), streams).score)


def exact_match(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Share of hypotheses equal (after normalisation) to one of their references."""
    if not hypotheses:
        return 0.0
    hits = sum(normalize(h) in {normalize(r) for r in refs} for h, refs in zip(hypotheses, references, strict=True))
    return hits / len(hypotheses)


def caption_metrics(hypotheses: Sequence[str], references: Sequence[Sequence[str]], order: int = 4
                    ) -> dict[str, float]:
    """{"bleu": 0..100 (BLEU-`order`), "exact_match": 0..1}."""
    return {"bleu": bleu(hypotheses, references, order), "exact_match": exact_match(hypotheses, references)}
