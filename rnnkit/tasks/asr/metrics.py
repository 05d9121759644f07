"""Character and word error rates over a whole split, computed by `jiwer` (Levenshtein alignments).

    CER = (substituted + deleted + inserted characters) / characters in the references
    WER = the same over words;   SER = share of utterances with any error

Both are corpus-level: the edit counts of all utterances summed, then divided once (long utterances
weigh more), as speech recognition papers report them. They can exceed 1 when a system inserts a lot.
"""

from __future__ import annotations

import jiwer


def error_rates(references: list[str], hypotheses: list[str]) -> dict[str, float]:
    if len(references) != len(hypotheses) or not references:
        raise ValueError(f"need as many hypotheses as references (> 0), got {len(hypotheses)} and {len(references)}")
    wrong = sum(r != h for r, h in zip(references, hypotheses, strict=True))
    return {"wer": float(jiwer.wer(references, hypotheses)), "cer": float(jiwer.cer(references, hypotheses)),
            "ser": wrong / len(references)}
