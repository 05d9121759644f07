"""Subword tokenization with SentencePiece (Kudo & Richardson, 2018), trained on the training texts only.

A unigram-LM SentencePiece model splits text into pieces from a learned vocabulary: frequent words stay
whole ("▁film"), rare ones fall apart into known parts ("▁destin" "ed"), so no training word and few
test words become unknown. Id 0 is padding and id 1 the unknown piece. Normalization is NFKC
(with case folding when `lowercase`), and decoding returns the normalized text exactly:

    decode(encode(text)) == normalized(text)     e.g. "A  Gorgeous film" -> "a gorgeous film" (lowercase)

The trained model is a small protobuf; `to_meta` stores it as base64 text in a checkpoint's JSON meta.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable

import numpy as np

from rnnkit.training.errors import ConfigError

try:
    import sentencepiece as spm
except ImportError:  # pragma: no cover - exercised only where the dependency is missing
    spm = None

PAD, UNK = 0, 1


def _require() -> None:
    if spm is None:
        raise ConfigError("the sentiment task tokenizes with SentencePiece: pip install 'sentencepiece>=0.2'")


class SubwordTokenizer:
    """A trained SentencePiece model: text <-> piece ids (see the module docstring)."""

    def __init__(self, model_proto: bytes) -> None:
        _require()
        self.model_proto = model_proto
        self.sp = spm.SentencePieceProcessor(model_proto=model_proto)

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int = 8000, lowercase: bool = True,
              model_type: str = "unigram") -> SubwordTokenizer:
        """Learn at most `vocab_size` pieces from `texts` (fewer when the texts hold fewer)."""
        _require()
        out = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(list(texts)), model_writer=out, vocab_size=vocab_size, model_type=model_type,
            normalization_rule_name="nmt_nfkc_cf" if lowercase else "nmt_nfkc",
            pad_id=PAD, unk_id=UNK, bos_id=-1, eos_id=-1,   # no sentence markers: a classifier reads one sentence
            hard_vocab_limit=False,                         # small corpora get a smaller vocabulary, not an error
            character_coverage=1.0, num_threads=1,          # every training character; deterministic
            minloglevel=2)                                   # quiet
        return cls(out.getvalue())

    @property
    def vocab_size(self) -> int:
        return self.sp.get_piece_size()

    def encode(self, text: str) -> list[int]:
        return self.sp.encode(text)

    def encode_all(self, texts: list[str], max_length: int | None = None) -> list[np.ndarray]:
        """Piece ids (int64) per text, cut to the first `max_length` pieces; an empty result is one UNK."""
        out = []
        for ids in self.sp.encode(texts):
            ids = ids[:max_length] if max_length else ids
            out.append(np.asarray(ids or [UNK], dtype=np.int64))
        return out

    def decode(self, ids: list[int] | np.ndarray) -> str:
        return self.sp.decode([int(i) for i in ids])

    def pieces(self, text: str) -> list[str]:
        return self.sp.encode(text, out_type=str)

    def to_meta(self) -> str:
        return base64.b64encode(self.model_proto).decode("ascii")

    @classmethod
    def from_meta(cls, text: str) -> SubwordTokenizer:
        return cls(base64.b64decode(text.encode("ascii")))
