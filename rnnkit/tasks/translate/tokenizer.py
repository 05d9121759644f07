"""Word-level tokens that decode back to the exact text, and the vocabulary that numbers them.

A text (whitespace collapsed to single spaces) splits into words (runs of letters and digits) and
single punctuation marks; a token that followed a space carries the mark "▁" in front, as in
SentencePiece, so joining the tokens and turning each "▁" back into a space restores the text:

    "quatre-vingt-dix mille, un"  ->  ▁quatre - vingt - dix ▁mille , ▁un
    detokenize(tokenize(text)) == " ".join(text.split())

Hyphens and commas become tokens of their own, so "quatre-vingt-dix" shares "vingt" and "dix" with
every other number instead of being one rare word. Languages that write a whole number as one compound
word ("viertausenddreihunderteinundzwanzig") leave nothing to share at word level: there `unit="char"`
makes every character a token (the first of each word carrying "▁"), and the same round trip holds.

The vocabulary keeps every training token (or those seen at least `min_count` times); others map to
<unk>. Ids 0-3 are <pad>, <s>, </s>, <unk>, the pad,
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


UNITS = ("word", "char")


def tokenize(text: str, unit: str = "word") -> list[str]:
    """Words and punctuation marks (or characters, unit="char"), each marked with "▁" when a space preceded
    it (see the module docstring)."""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, got {unit!r}")
    pieces = _TOKEN.finditer if unit == "word" else iter
    tokens = []
    for word in text.split():
        for i, m in enumerate(pieces(word)):
            piece = m if isinstance(m, str) else m.group()
            tokens.append(SPACE + piece if i == 0 else piece)
    return tokens


def detokenize(tokens: Iterable[str]) -> str:
    return "".join(tokens).replace(SPACE, " ").strip()


class Vocabulary:
    """Tokens <-> ids; ids 0-3 are the specials."""

    def __init__(self, tokens: list[str], unit: str = "word") -> None:
        if tuple(tokens[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"a vocabulary starts with {SPECIALS}, got {tokens[:4]}")
        self.tokens, self.unit = list(tokens), unit
        self.index = {t: i for i, t in enumerate(self.tokens)}

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 1, unit: str = "word") -> Vocabulary:
        """Every token of `texts` seen at least `min_count` times, most frequent first (ties alphabetical)."""
        counts = Counter(t for text in texts for t in tokenize(text, unit))
        kept = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
        return cls([*SPECIALS, *kept], unit)

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: str, end: bool = False) -> list[int]:
        """Token ids of `text` (unknown tokens -> UNK), followed by END when `end`."""
        ids = [self.index.get(t, UNK) for t in tokenize(text, self.unit)]
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
        return [t for t in tokenize(text, self.unit) if t not in self.index]
