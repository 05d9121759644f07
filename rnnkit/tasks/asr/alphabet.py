"""The characters a CTC model writes, with the blank at index 0, and the transcript normalisation.

A transcript is lower-cased (when the alphabet has no upper-case letters), its runs of whitespace become
one space and its ends are stripped. Anything else outside the alphabet is an error, never silently
dropped: a model cannot learn to write a character it has no output for, and a wrong transcript would
quietly inflate the error rates.
"""

from __future__ import annotations

from collections.abc import Iterable

from rnnkit.training.errors import ConfigError, DataError

BLANK = 0                                   # CTC's "no new character here" symbol
DEFAULT_ALPHABET = "abcdefghijklmnopqrstuvwxyz' "


class Alphabet:
    """Characters <-> ids 1..len(chars); id 0 is the CTC blank."""

    def __init__(self, chars: str) -> None:
        if not chars:
            raise ConfigError("alphabet must hold at least one character")
        repeated = sorted({c for c in chars if chars.count(c) > 1})
        if repeated:
            raise ConfigError(f"alphabet lists {repeated[0]!r} more than once")
        bad = [c for c in chars if c.isspace() and c != " "]
        if bad:
            raise ConfigError(f"alphabet may hold a plain space but no other whitespace, got {bad[0]!r}")
        self.chars = chars
        self.index = {c: i + 1 for i, c in enumerate(chars)}
        self.lower = not any(c.isupper() for c in chars)

    @property
    def size(self) -> int:
        """Output symbols of the model: the characters and the blank."""
        return len(self.chars) + 1

    def normalise(self, text: str) -> str:
        text = " ".join(text.split())
        return text.lower() if self.lower else text

    def check(self, text: str, where: str) -> str:
        """The normalised transcript; DataError naming `where` if it is empty or has foreign characters."""
        norm = self.normalise(text)
        if not norm:
            raise DataError(f"{where}: empty transcript")
        unknown = sorted({c for c in norm if c not in self.index})
        if unknown:
            shown = ", ".join(repr(c) for c in unknown[:5])
            raise DataError(f"{where}: transcript {norm[:60]!r} has character(s) outside the alphabet: {shown} "
                            f"(allowed: {self.chars!r}; change it with --alphabet)")
        return norm

    def encode(self, text: str, where: str) -> list[int]:
        return [self.index[c] for c in self.check(text, where)]

    def decode(self, ids: Iterable[int]) -> str:
        """Ids of characters (no blanks) -> text."""
        return "".join(self.chars[i - 1] for i in ids)

    def symbol(self, i: int) -> str:
        """How id `i` is drawn in plots: the blank as "_", a space as "·"."""
        return "_" if i == BLANK else {" ": "·"}.get(self.chars[i - 1], self.chars[i - 1])
