"""Translation metrics: exact match, corpus BLEU and chrF (sacrebleu), on detokenized text.

BLEU counts word n-grams up to 4, so a language that writes a number as one compound word gives BLEU 0
to all but exact outputs; chrF (character n-grams, Popovic 2015) still grades near misses there."""

from __future__ import annotations

import sacrebleu


def exact_match(hypotheses: list[str], references: list[str]) -> float:
    """Fraction of outputs identical to their reference (after whitespace normalisation)."""
    if len(hypotheses) != len(references) or not references:
        raise ValueError(f"expected equally many, non-zero hypotheses and references, got {len(hypotheses)} and "
                         f"{len(references)}")
    return sum(" ".join(h.split()) == " ".join(r.split()) for h, r in zip(hypotheses, references, strict=True)) \
        / len(references)


def bleu(hypotheses: list[str], references: list[str]) -> float:
    """Corpus BLEU in [0, 100] with sacrebleu's standard settings (13a tokenization, exponential smoothing)."""
    return float(sacrebleu.corpus_bleu(hypotheses, [references]).score)


def chrf(hypotheses: list[str], references: list[str]) -> float:
    """Corpus chrF in [0, 100] with sacrebleu's standard settings (character 6-grams, beta 2)."""
    return float(sacrebleu.corpus_chrf(hypotheses, [references]).score)


def translation_metrics(hypotheses: list[str], references: list[str], suffix: str = "") -> dict[str, float]:
    return {f"exact_match{suffix}": exact_match(hypotheses, references), f"bleu{suffix}": bleu(hypotheses, references),
            f"chrf{suffix}": chrf(hypotheses, references)}
