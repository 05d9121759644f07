"""Caption metrics: corpus BLEU (sacrebleu) and exact match against any of an image's references."""

from __future__ import annotations

from collections.abc import Sequence

from rnnkit.tasks.caption.vocab import normalize


def bleu(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Corpus BLEU-4 in [0, 100] (sacrebleu defaults: 13a tokenisation, no smoothing beyond its 'exp').

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
    return float(sacrebleu.corpus_bleu(list(hypotheses), streams).score)


def exact_match(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Share of hypotheses equal (after normalisation) to one of their references."""
    if not hypotheses:
        return 0.0
    hits = sum(normalize(h) in {normalize(r) for r in refs} for h, refs in zip(hypotheses, references, strict=True))
    return hits / len(hypotheses)


def caption_metrics(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> dict[str, float]:
    """{"bleu": 0..100, "exact_match": 0..1}."""
    return {"bleu": bleu(hypotheses, references), "exact_match": exact_match(hypotheses, references)}
