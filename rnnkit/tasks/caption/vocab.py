"""Caption text <-> token ids: normalisation, a reversible word tokenizer and the vocabulary.

Captions are lower-cased and their whitespace collapsed (`normalize`). `tokenize` splits words from
punctuation, so "twenty-one" becomes ["twenty", "-", "one"] and "four thousand, three" becomes
["four", "thousand", ",", "three"]: the vocabulary stays small and a decoder learns "-" once.
`detokenize` glues the pieces back the way English writes them; for any normalised caption whose
hyphens and apostrophes join words, whose closing punctuation follows a word and whose brackets hug
their content, detokenize(tokenize(s)) == s (the tests check every embedded caption).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

PAD, START, END, UNK = "<pad>", "<s>", "</s>", "<unk>"
SPECIALS = (PAD, START, END, UNK)   # ids 0, 1, 2, 3: OneToManyConfig's default pad/start/end tokens

_TOKEN = re.compile(r"[^\W_]+|[^\w\s]|_")
_GLUE_BOTH = re.compile(r" ?([-'’/]) ?")        # "twenty - one" -> "twenty-one"
_GLUE_LEFT = re.compile(r" ([,.:;!?)\]])")      # "thousand ," -> "thousand,"
_GLUE_RIGHT = re.compile(r"([(\[]) ")           # "( blood" -> "(blood"


def normalize(text: str) -> str:
    """Lower-case, whitespace collapsed to single spaces, stripped."""
    return " ".join(text.lower().split())


def tokenize(text: str) -> list[str]:
    """Words and single punctuation marks of the normalised text."""
    return _TOKEN.findall(normalize(text))


def detokenize(tokens: Iterable[str]) -> str:
    """The caption text of tokens (the inverse of `tokenize` on normalised text, see the module doc)."""
    text = " ".join(tokens)
    text = _GLUE_BOTH.sub(r"\1", text)
    text = _GLUE_LEFT.sub(r"\1", text)
    return _GLUE_RIGHT.sub(r"\1", text)


class Vocabulary:
    """Tokens <-> ids; ids 0-3 are <pad>, <s>, </s>, <unk>, then the words by falling count."""

    def __init__(self, words: Sequence[str]) -> None:
        words = list(words)
        if words[: len(SPECIALS)] != list(SPECIALS):
            words = [*SPECIALS, *(w for w in words if w not in SPECIALS)]
        self.itos = words
        self.stoi = {w: i for i, w in enumerate(words)}
        if len(self.stoi) != len(words):
            raise ValueError("vocabulary words must be distinct")

    @classmethod
    def build(cls, captions: Iterable[str], min_count: int = 1) -> Vocabulary:
        """The vocabulary of the tokens occurring at least `min_count` times (ties sorted by token)."""
        counts = Counter(t for c in captions for t in tokenize(c))
        words = sorted((w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))
        return cls([*SPECIALS, *words])

    def __len__(self) -> int:
        return len(self.itos)

    @property
    def pad(self) -> int:
        return 0

    @property
    def start(self) -> int:
        return 1

    @property
    def end(self) -> int:
        return 2

    @property
    def unk(self) -> int:
        return 3

    def encode(self, caption: str) -> list[int]:
        """Token ids of a caption followed by </s> (unknown words map to <unk>)."""
        return [self.stoi.get(t, self.unk) for t in tokenize(caption)] + [self.end]

    def decode(self, ids: Iterable[int]) -> str:
        """Caption text of ids, stopping at </s> and skipping <pad> and <s>."""
        words = []
        for i in ids:
            i = int(i)
            if i == self.end:
                break
            if i not in (self.pad, self.start):
                words.append(self.itos[i] if 0 <= i < len(self.itos) else UNK)
        return detokenize(words)
