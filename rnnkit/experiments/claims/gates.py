"""Claim 3: gates control the flow of information, and the additive cell state carries the error back."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

import rnnkit
from rnnkit.experiments.common import SeqModel, accuracy, chrono_init_, cross_entropy, fit, generator, seeded
from rnnkit.experiments.gradients import unroll
from rnnkit.experiments.result import Check, ClaimResult, Table, decide
from rnnkit.experiments.tasks import char_batch, char_codes, recall_batch, stdlib_text

ID = "gates"
TITLE = "Gates and the additive cell state"
STATEMENT = (
    "An LSTM's gates decide, step by step and depending on the input, what is erased from, written to and "
    "read from its cell state; and because the cell state is updated by addition (c_t = f c_{t-1} + i g), "
    "error signals reach early steps mainly along c rather than through the recurrent matrix."
)
METHOD = (
    "(a) An LSTM (hidden 32, chrono initialisation) is trained on the recall task at a fixed lag; then the "
    "gradient of its loss with respect to every input step is measured three times with the same forward "
    "values: through all paths; through c only (h_{t-1} detached where it enters the gates); through h only "
    "(c_{t-1} detached in the cell update). (b) A character-level LSTM (hidden 64, forget bias 1) is trained "
    "on CPython standard-library source, and its input, forget and output gates are recorded over a held-out "
    "snippet. (c) One step of a 2-unit LSTM with weights rounded to one decimal is computed by hand in plain "
    "Python floats, in the four textbook stages, and compared with rnnkit's lstm_step and torch.nn.LSTMCell."
)
THRESHOLD = {
    "recall_min_accuracy": 0.9,          # control: the trained recall model must solve its task
    "c_over_h_min_ratio": 10.0,          # gradient at the marked step: c-only path / h-only path at least this
    "lm_max_loss_fraction": 0.8,         # control: char model's held-out loss below 0.8 x unigram entropy
    "gate_range": 0.5,                   # a unit "switches" when its gate spans at least this over the snippet
    "min_switching_fraction": 0.25,      # for each gate, at least this share of units switch
    "trace_max_abs_diff": 1e-9,          # hand computation vs rnnkit (float64)
}
CONFIG = {True: {"lag": 40, "recall_steps": 500, "lm_steps": 400, "lm_len": 64, "text_chars": 200_000},
          False: {"lag": 80, "recall_steps": 1000, "lm_steps": 1500, "lm_len": 100, "text_chars": 400_000}}
SNIPPET_CHARS = 72


def run(quick: bool, seed: int) -> ClaimResult:
    cfg = CONFIG[quick]
    m: dict = {"lag": cfg["lag"]}
    m.update(_gradient_paths(cfg, seed))
    gates, snippet = _gate_activity(cfg, seed, m)
    trace_rows = _trace(m)
    tables = [Table("(c) One LSTM step traced by hand (2 units; weights and inputs in the JSON)",
                    ["stage", "formula", "unit 1", "unit 2"], trace_rows)]
    return ClaimResult(m, _figure(m, gates, snippet), tables)


# ---- (a) gradient through c vs through h --------------------------------------------------------------
def _gradient_paths(cfg: dict, seed: int) -> dict:
    lag = cfg["lag"]
    with seeded(seed):
        model = SeqModel("lstm", 5, 32, 4)
        chrono_init_(model.rnn, lag + 1, generator(seed + 3))
        gen = generator(seed + 1)
        fit(model, lambda: recall_batch(gen, 128, lag), cfg["recall_steps"], lr=3e-3, stop_loss=0.01)
        test_gen = generator(seed + 2)
        acc = accuracy(model, lambda: recall_batch(test_gen, 128, lag))
        x, y = recall_batch(generator(seed + 4), 64, lag)
        x, model = x.double(), model.double()     # float64: the h-only gradient underflows float32
        out = {"recall_accuracy": acc}
        for cut, name in ((None, "all"), ("h", "c_only"), ("c", "h_only")):
            xg = x.clone().requires_grad_(True)
            hs, _ = unroll(model.rnn, xg, cut)
            cross_entropy(model.head(hs[-1]), y).backward()
            norms = xg.grad.norm(dim=-1).mean(0)                 # (T,) mean over the batch
            out[f"input_grad_{name}"] = [float(v) for v in norms.flip(0)]   # index = distance from the loss
    out["c_over_h_at_marker"] = out["input_grad_c_only"][lag] / max(out["input_grad_h_only"][lag], 1e-300)
    return out


# ---- (b) gate activations over real text --------------------------------------------------------------
def _gate_activity(cfg: dict, seed: int, m: dict) -> tuple[dict, str]:
    text = stdlib_text(cfg["text_chars"])
    split = int(0.9 * len(text))
    codes, vocab = char_codes(text)
    train, held = codes[:split], codes[split:]
    V = len(vocab)
    with seeded(seed):
        model = CharLSTM(V, 64)
        gen = generator(seed + 5)
        fit(model, lambda: char_batch(gen, train, 32, cfg["lm_len"]), cfg["lm_steps"], lr=1e-2)
        with torch.no_grad():
            xb, yb = char_batch(generator(seed + 6), held, 64, cfg["lm_len"])
            m["lm_heldout_loss"] = float(cross_entropy(model(xb), yb))
        counts = np.bincount(train.numpy(), minlength=V).astype(float)
        p = counts[counts > 0] / counts.sum()
        m["unigram_entropy"] = float(-(p * np.log(p)).sum())
        start = text.index("\n", split + 200) + 1
        snippet = text[start:start + SNIPPET_CHARS]
        _, _, record = model.rnn(nn.functional.one_hot(char_codes(snippet, vocab)[0], V).float()[None],
                                 return_record=True)
    gates = {g: record.get(g)[0].detach().numpy() for g in ("i", "f", "o")}    # (T, H)
    for g, a in gates.items():
        spans = a.max(0) - a.min(0)
        m[f"{g}_gate_switching_fraction"] = float((spans >= THRESHOLD["gate_range"]).mean())
        m[f"{g}_gate_mean"] = float(a.mean())
    m["snippet"] = snippet
    return gates, snippet


class CharLSTM(nn.Module):
    """Next-character model: one-hot characters -> LSTM -> logits over the vocabulary at every step."""

    def __init__(self, vocab: int, hidden: int) -> None:
        super().__init__()
        self.vocab = vocab
        self.rnn = rnnkit.LSTM(vocab, hidden, batch_first=True, forget_bias=1.0)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:     # (B, T) -> (B, T, V)
        out, _ = self.rnn(nn.functional.one_hot(codes, self.vocab).float())
        return self.head(out)


# ---- (c) one step by hand -----------------------------------------------------------------------------
def _trace(m: dict) -> list[list]:
    """One LSTM step, 2 inputs and 2 units, computed in plain floats and compared with rnnkit and torch."""
    g = torch.Generator().manual_seed(7)
    rnd = lambda *shape: (torch.rand(*shape, generator=g, dtype=torch.float64) * 2 - 1).mul(10).round().div(10)  # noqa: E731
    w_ih, w_hh, b = rnd(8, 2), rnd(8, 2), rnd(8)
    x, h0, c0 = [1.0, -0.5], [0.2, -0.1], [0.5, -0.3]
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731

    def pre(k: int) -> float:   # row k of W_ih x + W_hh h + b (bias_hh is zero)
        return sum(w_ih[k, j].item() * x[j] for j in range(2)) + sum(w_hh[k, j].item() * h0[j]
                                                                      for j in range(2)) + b[k].item()

    i = [sig(pre(u)) for u in range(2)]          # gate order i, f, g, o
    f = [sig(pre(2 + u)) for u in range(2)]
    gg = [math.tanh(pre(4 + u)) for u in range(2)]
    o = [sig(pre(6 + u)) for u in range(2)]
    c = [f[u] * c0[u] + i[u] * gg[u] for u in range(2)]
    h = [o[u] * math.tanh(c[u]) for u in range(2)]
    xs, hs, cs = (torch.tensor([v], dtype=torch.float64) for v in (x, h0, c0))
    ours = rnnkit.lstm_step(xs, hs, cs, w_ih, w_hh, b, torch.zeros(8, dtype=torch.float64))
    ref = nn.LSTMCell(2, 2, dtype=torch.float64)
    with torch.no_grad():
        ref.weight_ih.copy_(w_ih)
        ref.weight_hh.copy_(w_hh)
        ref.bias_ih.copy_(b)
        ref.bias_hh.zero_()
        th, tc = ref(xs, (hs, cs))
    hand = torch.tensor([h + c], dtype=torch.float64)
    m["trace_max_abs_diff_rnnkit"] = float((hand - torch.cat([ours.h, ours.c], 1)).abs().max())
    m["trace_max_abs_diff_torch"] = float((hand - torch.cat([th, tc], 1)).abs().max())
    m["trace_inputs"] = {"x": x, "h0": h0, "c0": c0, "w_ih": w_ih.tolist(), "w_hh": w_hh.tolist(), "b": b.tolist()}
    m["trace_values"] = {"i": i, "f": f, "g": gg, "o": o, "c": c, "h": h}
    r = lambda v: [round(v[0], 4), round(v[1], 4)]  # noqa: E731
    return [
        ["given", "x_t, h_{t-1}, c_{t-1}", f"x={x}, h={h0[0]}, c={c0[0]}", f"h={h0[1]}, c={c0[1]}"],
        ["1. forget", "f = sigmoid(W_if x + W_hf h + b_f)", *r(f)],
        ["   keep", "f * c_{t-1}", *r([f[u] * c0[u] for u in range(2)])],
        ["2. input", "i = sigmoid(W_ii x + W_hi h + b_i)", *r(i)],
        ["   candidate", "g = tanh(W_ig x + W_hg h + b_g)", *r(gg)],
        ["   write", "i * g", *r([i[u] * gg[u] for u in range(2)])],
        ["3. new cell state", "c_t = f * c_{t-1} + i * g", *r(c)],
        ["4. output gate", "o = sigmoid(W_io x + W_ho h + b_o)", *r(o)],
        ["   new hidden state", "h_t = o * tanh(c_t)", *r(h)],
        ["check", "max |hand - rnnkit.lstm_step|", f"{m['trace_max_abs_diff_rnnkit']:.1e}", ""],
        ["check", "max |hand - torch.nn.LSTMCell|", f"{m['trace_max_abs_diff_torch']:.1e}", ""],
    ]


def checks(m: dict) -> tuple[list[Check], list[Check]]:
    t = THRESHOLD
    controls = [
        Check("recall accuracy of the trained LSTM", m["recall_accuracy"], ">=", t["recall_min_accuracy"]),
        Check("char model held-out loss / unigram entropy", m["lm_heldout_loss"] / m["unigram_entropy"], "<",
              t["lm_max_loss_fraction"]),
    ]
    tests = [Check(f"gradient at the marked step (distance {m['lag']}): c-only / h-only", m["c_over_h_at_marker"],
                   ">=", t["c_over_h_min_ratio"])]
    tests += [Check(f"share of units whose {g} gate spans >= {t['gate_range']} on the snippet",
                    m[f"{g}_gate_switching_fraction"], ">=", t["min_switching_fraction"]) for g in ("i", "f", "o")]
    tests.append(Check("hand-computed step vs rnnkit.lstm_step (max abs diff)", m["trace_max_abs_diff_rnnkit"],
                       "<=", t["trace_max_abs_diff"]))
    return controls, tests


def verdict(m: dict) -> str:
    return decide(*checks(m))


def _figure(m: dict, gates: dict, snippet: str):
    fig = plt.figure(figsize=(11, 8.2))
    grid = fig.add_gridspec(4, 1, height_ratios=[1.3, 1, 1, 1])
    ax = fig.add_subplot(grid[0])
    d = np.arange(len(m["input_grad_all"]))
    for name, color, label in (("all", "black", "all paths"), ("c_only", "tab:blue", "through c only"),
                               ("h_only", "tab:red", "through h (W_hh) only")):
        ax.semilogy(d, np.maximum(m[f"input_grad_{name}"], 1e-30), color=color, label=label)
    ax.axvline(m["lag"], color="gray", ls=":", label="marked input")
    ax.set_xlabel("distance from the loss (steps)")
    ax.set_ylabel("||dL/dx_t||")
    ax.set_title(f"(a) error reaching each input of a trained LSTM (recall, lag {m['lag']})")
    ax.legend(fontsize=7)
    units = slice(0, 16)
    labels = [repr(ch)[1:-1] for ch in snippet]
    for k, g in enumerate(("i", "f", "o")):
        ax = fig.add_subplot(grid[k + 1])
        ax.imshow(gates[g][:, units].T, aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
        ax.set_ylabel(f"{g} gate\nunits 1-16", fontsize=8)
        ax.set_yticks([])
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, fontsize=6, family="monospace")
    fig.axes[1].set_title("(b) gate activations (0 = closed, 1 = open) over a held-out piece of Python source",
                          fontsize=10)
    fig.tight_layout()
    return fig
