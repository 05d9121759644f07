"""Word-level tokens that decode back to the exact text, and the vocabulary that numbers them.

A text (whitespace collapsed to single spaces) splits into words (runs of letters and digits) and
single punctuation marks; a token that followed a space carries the mark "▁" in front, as in
SentencePiece, so joining the tokens and turning each "▁" back into a space restores the text:

    "quatre-vingt-dix mille, un"  ->  ▁quatre - vingt - dix ▁mille , ▁un
    detokenize(tokenize(text)) == " ".join(text.split())

Hyphens and commas become tokens of their own, so "quatre-vingt-dix" shares "vingt" and "dix" with
every other number instead of being one rare word. The vocabulary keeps every training token (or those
seen at least `min_count` times); others map to <unk>. Ids 0-3 are <pad>, <s>, </s>, <unk>, the pad,
start and end ids `rnnkit.architectures.Seq2Seq` uses by default.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

SPACE = "\u2581"                                     # "▁", marks a token that followed a space
SPECIALS = ("<pad>", "<s>", "</s>", "<unk>")
PAD, START, END, UNK = range(4)
_TOKEN = re.compile(r"\w+|[^\w\s]")


def tokenize(text: str) -> list[str]:
    """Words and punctuation marks, each marked with "▁" when a space preceded it (see the module docstring)."""
    tokens = []
    for word in text.split():
        for i, m in enumerate(_TOKEN.finditer(word)):
            tokens.append(SPACE + m.group() if i == 0 else m.group())
    return tokens


def detokenize(tokens: Iterable[str]) -> str:
    return "".join(tokens).replace(SPACE, " ").strip()


class Vocabulary:
    """Tokens <-> ids; ids 0-3 are the specials."""

    def __init__(self, tokens: list[str]) -> None:
        if tuple(tokens[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"a vocabulary starts with {SPECIALS}, got {tokens[:4]}")
        self.tokens = list(tokens)
        self.index = {t: i for i, t in enumerate(self.tokens)}

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 1) -> Vocabulary:
        """Every token of `texts` seen at least `min_count` times, most frequent first (ties alphabetical)."""
        counts = Counter(t for text in texts for t in tokenize(text))
        kept = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
        return cls([*SPECIALS, *kept])

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: str, end: bool = False) -> list[int]:
        """Token ids of `text` (unknown tokens -> UNK), followed by END when `end`."""
        ids = [self.index.get(t, UNK) for t in tokenize(text)]
        return [*ids, END] if end else ids

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ids up to the first END; PAD and START are skipped, UNK shows as <unk>."""
        out = []
        for i in ids:
            i = int(i)
            if i == END:
                break
            if i in (PAD, START):
                continue
            tok = self.tokens[i] if 0 <= i < len(self.tokens) else "<unk>"
            out.append(SPACE + tok if i == UNK else tok)
        return detokenize(out)

    def unknown(self, text: str) -> list[str]:
        """The tokens of `text` this vocabulary does not know."""
        return [t for t in tokenize(text) if t not in self.index]
