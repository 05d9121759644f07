"""Claim 12: one recurrent cell serves many-to-one, one-to-many and many-to-many mappings."""

from __future__ import annotations

import io
import tokenize

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

import rnnkit
from rnnkit.experiments.common import cross_entropy, fit, generator, seeded
from rnnkit.experiments.result import Check, ClaimResult, Table, decide
from rnnkit.experiments.tasks import STDLIB_FILES, char_codes, digits

ID = "architectures"
TITLE = "Many-to-one, one-to-many, many-to-many"
STATEMENT = (
    "The same recurrent machinery maps a sequence to one output (many-to-one), one input to a sequence "
    "(one-to-many), and a sequence to a sequence of the same length (many-to-many); each is shown working on "
    "real data."
)
METHOD = (
    "Many-to-one: an LSTM (64 units) reads each 8x8 UCI digit row by row (8 steps of 8 pixels) and "
    "classifies it from its last state. One-to-many: a GRU decoder (64 units) starts from a linear map of the "
    "whole digit image and spells the digit's English name one character at a time (trained with teacher "
    "forcing, tested by greedy decoding until an end mark; a word counts only if spelled exactly). "
    "Many-to-many: an LSTM (64 units) reads Python source from the standard library character by character "
    "and tags every character as code, string literal or comment (labels from Python's tokenize module). "
    "Every model is trained with Adam (lr 1e-2) and scored on held-out data: 360 digits never trained on, "
    "and the last tenth of the source text."
)
NOTES = [
    "These are small, fast demonstrations. The applications show each architecture at full size on real data, "
    "each against a baseline of the same run (README, Applications): many-to-one in `rnnkit train --task "
    "sentiment`, `seqclass` and `video`; one-to-many in `caption`; many-to-many in `charlm` and `asr`; the "
    "encoder-decoder with and without attention in `translate`.",
]
THRESHOLD = {
    "many_to_one_min_accuracy": 0.85,    # digit classification (chance 0.1)
    "one_to_many_min_exact": 0.8,        # share of test digits whose name is spelled exactly
    "many_to_many_min_accuracy": 0.9,    # per-character tag accuracy
    "many_to_many_min_gain": 0.05,       # and at least this much above always answering the commonest tag
}
CONFIG = {True: {"m2o_steps": 250, "o2m_steps": 300, "m2m_steps": 300, "m2m_len": 64, "text_chars": 150_000},
          False: {"m2o_steps": 800, "o2m_steps": 1000, "m2m_steps": 1500, "m2m_len": 128, "text_chars": 400_000}}
NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TAGS = ("code", "string", "comment")


def _digit_split(seed: int):
    x, y = digits()
    perm = torch.randperm(len(x), generator=generator(seed))
    return x[perm[360:]], y[perm[360:]], x[perm[:360]], y[perm[:360]]


def _sampler(gen: torch.Generator, *tensors: torch.Tensor, batch: int = 64):
    def draw():
        idx = torch.randint(len(tensors[0]), (batch,), generator=gen)
        return tuple(t[idx] for t in tensors)
    return draw


# ---- many-to-one ----------------------------------------------------------------------------------------
class RowClassifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = rnnkit.LSTM(8, 64, batch_first=True, forget_bias=1.0)
        self.head = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:     # (B, 8, 8) -> (B, 10)
        _, (h, _) = self.rnn(x)
        return self.head(h[-1])


def many_to_one(cfg: dict, seed: int) -> dict:
    xtr, ytr, xte, yte = _digit_split(seed)
    with seeded(seed):
        model = RowClassifier()
        fit(model, _sampler(generator(seed + 1), xtr, ytr), cfg["m2o_steps"], lr=1e-2)
        with torch.no_grad():
            acc = float((model(xte).argmax(-1) == yte).float().mean())
    return {"many_to_one_accuracy": acc, "many_to_one_test_size": len(yte)}


# ---- one-to-many ----------------------------------------------------------------------------------------
ALPHABET = "^$" + "".join(sorted(set("".join(NAMES))))    # ^ start mark, $ end mark
MAX_LEN = max(map(len, NAMES)) + 1


def _spell(labels: torch.Tensor) -> torch.Tensor:
    """Target characters (B, MAX_LEN): the name followed by '$', padded with '$'."""
    rows = [[ALPHABET.index(ch) for ch in (NAMES[int(k)] + "$").ljust(MAX_LEN, "$")] for k in labels]
    return torch.tensor(rows)


class Speller(nn.Module):
    """One input (a whole image) -> a sequence of characters: the image sets h_0 of a GRU decoder."""

    def __init__(self) -> None:
        super().__init__()
        self.encode = nn.Linear(64, 64)
        self.rnn = rnnkit.GRU(len(ALPHABET), 64, batch_first=True)
        self.head = nn.Linear(64, len(ALPHABET))

    def forward(self, image: torch.Tensor, chars: torch.Tensor) -> torch.Tensor:   # teacher forcing
        h0 = torch.tanh(self.encode(image.flatten(1)))[None]                        # (1, B, 64)
        start = torch.zeros_like(chars[:, :1])                                      # '^' has index 0
        inp = nn.functional.one_hot(torch.cat([start, chars[:, :-1]], 1), len(ALPHABET)).float()
        out, _ = self.rnn(inp, h0)
        return self.head(out)                                                       # (B, L, V)

    @torch.no_grad()
    def generate(self, image: torch.Tensor) -> list[str]:
        h = torch.tanh(self.encode(image.flatten(1)))[None]
        prev = torch.zeros(len(image), dtype=torch.long)
        words = [""] * len(image)
        done = [False] * len(image)
        for _ in range(MAX_LEN):
            out, h = self.rnn(nn.functional.one_hot(prev, len(ALPHABET)).float()[:, None], h)
            prev = self.head(out[:, 0]).argmax(-1)
            for b, k in enumerate(prev.tolist()):
                if not done[b]:
                    done[b] = ALPHABET[k] == "$"
                    words[b] += "" if done[b] else ALPHABET[k]
        return words


def one_to_many(cfg: dict, seed: int) -> tuple[dict, list[list]]:
    xtr, ytr, xte, yte = _digit_split(seed)
    with seeded(seed):
        model = Speller()
        draw = _sampler(generator(seed + 2), xtr, ytr)

        def batch():
            img, lab = draw()
            return (img, _spell(lab)), _spell(lab)

        fit(model, batch, cfg["o2m_steps"], lr=1e-2, loss_fn=cross_entropy)
        words = model.generate(xte)
    exact = float(np.mean([w == NAMES[int(k)] for w, k in zip(words, yte, strict=True)]))
    examples = [[NAMES[int(k)], w] for w, k in list(zip(words, yte, strict=True))[:8]]
    return {"one_to_many_exact": exact}, examples


# ---- many-to-many ---------------------------------------------------------------------------------------
def tag_text(text: str) -> np.ndarray:
    """0 = code, 1 = inside a string literal, 2 = inside a comment, for every character of Python source."""
    lines = text.splitlines(keepends=True)
    offsets = np.cumsum([0, *map(len, lines)])
    tags = np.zeros(len(text), dtype=np.int64)
    string_types = {tokenize.STRING} | {getattr(tokenize, n) for n in ("FSTRING_START", "FSTRING_MIDDLE",
                                                                        "FSTRING_END") if hasattr(tokenize, n)}
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        kind = 1 if tok.type in string_types else 2 if tok.type == tokenize.COMMENT else 0
        if kind:
            start = offsets[tok.start[0] - 1] + tok.start[1]
            end = offsets[tok.end[0] - 1] + tok.end[1]
            tags[start:end] = kind
    return tags


def _tagged_source(max_chars: int) -> tuple[str, np.ndarray]:
    """Whole standard-library files (tokenize needs complete files), tagged, up to max_chars in total."""
    import pathlib
    import sysconfig

    root = pathlib.Path(sysconfig.get_paths()["stdlib"])
    texts, tags = [], []
    for name in STDLIB_FILES:
        path = root / name
        if path.exists():
            text = path.read_text(encoding="utf-8")
            texts.append(text)
            tags.append(tag_text(text))
        if sum(map(len, texts)) >= max_chars:
            break
    text = "".join(texts)[:max_chars]
    return text, np.concatenate(tags)[:max_chars]


class Tagger(nn.Module):
    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.vocab = vocab
        self.rnn = rnnkit.LSTM(vocab, 64, batch_first=True, forget_bias=1.0)
        self.head = nn.Linear(64, len(TAGS))

    def forward(self, codes: torch.Tensor) -> torch.Tensor:      # (B, T) -> (B, T, 3)
        out, _ = self.rnn(nn.functional.one_hot(codes, self.vocab).float())
        return self.head(out)


def many_to_many(cfg: dict, seed: int) -> tuple[dict, str, np.ndarray, np.ndarray]:
    text, tags = _tagged_source(cfg["text_chars"])
    codes, vocab = char_codes(text)
    tags_t = torch.from_numpy(tags)
    split = int(0.9 * len(text))
    L = cfg["m2m_len"]
    with seeded(seed):
        model = Tagger(len(vocab))
        gen = generator(seed + 3)

        def batch():
            start = torch.randint(split - L, (32,), generator=gen)
            idx = start[:, None] + torch.arange(L)
            return codes[idx], tags_t[idx]

        fit(model, batch, cfg["m2m_steps"], lr=1e-2)
        with torch.no_grad():                        # the held-out tail in one pass, from an empty state
            pred = model(codes[None, split:])[0].argmax(-1).numpy()
    truth = tags[split:]
    majority = float(np.bincount(truth, minlength=3).max() / len(truth))
    m = {"many_to_many_accuracy": float((pred == truth).mean()), "many_to_many_majority_baseline": majority,
         "many_to_many_test_chars": len(truth)}
    return m, text[split:], truth, pred


def run(quick: bool, seed: int) -> ClaimResult:
    cfg = CONFIG[quick]
    m: dict = {}
    m.update(many_to_one(cfg, seed))
    o2m, examples = one_to_many(cfg, seed)
    m.update(o2m)
    m2m, held_text, truth, pred = many_to_many(cfg, seed)
    m.update(m2m)
    tables = [Table("One-to-many: test digits and the names the decoder spelled", ["digit's name", "generated"],
                    examples)]
    return ClaimResult(m, _figure(m, held_text, truth, pred), tables, notes=list(NOTES))


def checks(m: dict) -> tuple[list[Check], list[Check]]:
    t = THRESHOLD
    tests = [
        Check("many-to-one: digit accuracy", m["many_to_one_accuracy"], ">=", t["many_to_one_min_accuracy"]),
        Check("one-to-many: names spelled exactly", m["one_to_many_exact"], ">=", t["one_to_many_min_exact"]),
        Check("many-to-many: per-character tag accuracy", m["many_to_many_accuracy"], ">=",
              t["many_to_many_min_accuracy"]),
        Check("many-to-many: accuracy minus majority-tag baseline",
              m["many_to_many_accuracy"] - m["many_to_many_majority_baseline"], ">=", t["many_to_many_min_gain"]),
    ]
    return [], tests


def verdict(m: dict) -> str:
    return decide(*checks(m))


def _busiest_window(tags: np.ndarray, n: int) -> int:
    """Start of the n-character window (at most 20,000 characters in) showing the most kinds of tag, then
    the most tag changes: the most informative strip to plot."""
    best, best_score = 0, (-1, -1)
    for start in range(0, max(min(len(tags) - n, 20_000), 1), 5):
        w = tags[start:start + n]
        score = (len(set(w.tolist())), int((w[1:] != w[:-1]).sum()))
        if score > best_score:
            best, best_score = start, score
    return best


def _figure(m: dict, text: str, truth: np.ndarray, pred: np.ndarray):
    fig = plt.figure(figsize=(11, 3.6))
    grid = fig.add_gridspec(2, 2, width_ratios=[1, 2.6])
    ax = fig.add_subplot(grid[:, 0])
    names = ["many-to-one\n(digit class)", "one-to-many\n(spelled name)", "many-to-many\n(char tags)"]
    vals = [m["many_to_one_accuracy"], m["one_to_many_exact"], m["many_to_many_accuracy"]]
    ax.bar(range(3), vals, color=["tab:blue", "tab:green", "tab:purple"])
    ax.plot([1.6, 2.4], [m["many_to_many_majority_baseline"]] * 2, "k:", label="commonest-tag baseline")
    ax.set_xticks(range(3))
    ax.set_xticklabels(names, fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("held-out accuracy")
    ax.legend(fontsize=7, loc="lower left")
    n = 90
    start = _busiest_window(truth, n)
    for row, (label, tags) in enumerate((("true tags", truth), ("predicted", pred))):
        a = fig.add_subplot(grid[row, 1])
        a.imshow(tags[None, start:start + n], aspect="auto", cmap="Set2", vmin=0, vmax=7, interpolation="nearest")
        a.set_xticks(range(n))
        a.set_xticklabels([repr(ch)[1:-1] for ch in text[start:start + n]], fontsize=5, family="monospace")
        a.set_yticks([])
        a.set_ylabel(label, fontsize=8)
    fig.axes[1].set_title("many-to-many on held-out source: code (green), string (orange), comment (blue)",
                          fontsize=9)
    fig.tight_layout()
    return fig
