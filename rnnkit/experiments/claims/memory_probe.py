"""Claim 5: the hidden state is the network's memory: past inputs can be read back out of h_t."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from rnnkit.experiments.common import CELL_COLORS, CELL_LABELS, CELLS, generator, make_layer, seeded
from rnnkit.experiments.result import Check, ClaimResult, decide

ID = "memory_probe"
TITLE = "The hidden state as memory"
STATEMENT = (
    "The hidden state h_t summarises the inputs seen so far: a linear read-out of h_t alone recovers the "
    "input from k steps earlier, well above chance for recent inputs, with accuracy fading as k grows; a "
    "network without recurrent connections keeps nothing."
)
METHOD = (
    "Each cell (hidden size 64, PyTorch's default initialisation, untrained) reads random sequences of 4 "
    "one-hot symbols. For each k, a ridge-regression probe (one-hot targets, argmax) is fitted to predict "
    "x_{t-k} from h_t on one set of sequences and scored on another; steps before max(20, largest k) are "
    "skipped so the state has warmed up (and x_{t-k} exists for every k). Control: an Elman network whose "
    "recurrent matrix is zero."
)
SYMBOLS = 4
CHANCE = 1 / SYMBOLS
HALFWAY = CHANCE + 0.5 * (1 - CHANCE)
THRESHOLD = {
    "remembers_min_accuracy": HALFWAY,     # probe accuracy at k = 2 at least halfway from chance to perfect
    "remember_k": 2,
    "control_max_accuracy": CHANCE + 0.1,  # no recurrence: probe at k = 1 no better than this
    "fades_below": HALFWAY,                # at the largest k, accuracy below halfway (the memory fades)
}
CONFIG = {True: {"ks": list(range(0, 13)), "train_seqs": 64, "test_seqs": 32, "T": 60},
          False: {"ks": list(range(0, 31)), "train_seqs": 256, "test_seqs": 128, "T": 100}}
HIDDEN = 64


def _sequences(gen: torch.Generator, n: int, T: int) -> tuple[torch.Tensor, torch.Tensor]:
    seq = torch.randint(SYMBOLS, (n, T), generator=gen)
    return nn.functional.one_hot(seq, SYMBOLS).float(), seq


def probe_accuracy(h_train, s_train, h_test, s_test, k: int, warmup: int, ridge: float = 1e-2) -> float:
    """Fit W minimising ||[h 1] W - onehot(s_{t-k})||^2 + ridge ||W||^2 over steps t >= warmup (>= k) of
    h_train (N, T, H) and symbols s_train (N, T); return the accuracy on the test pair."""
    if k > warmup:
        raise ValueError(f"k must be <= warmup so that x_(t-k) exists, got k={k}, warmup={warmup}")

    def design(h, s):
        T = h.shape[1]
        feats = h[:, warmup:T].reshape(-1, h.shape[-1])
        target = s[:, warmup - k:T - k].reshape(-1)
        return np.hstack([feats, np.ones((len(feats), 1))]), target

    a, y = design(h_train, s_train)
    w = np.linalg.solve(a.T @ a + ridge * np.eye(a.shape[1]), a.T @ np.eye(SYMBOLS)[y])
    b, y_test = design(h_test, s_test)
    return float(((b @ w).argmax(1) == y_test).mean())


def run(quick: bool, seed: int) -> ClaimResult:
    cfg = CONFIG[quick]
    warmup = max(20, max(cfg["ks"]))
    m: dict = {"ks": cfg["ks"], "chance": CHANCE}
    x_train, s_train = _sequences(generator(seed + 1), cfg["train_seqs"], cfg["T"])
    x_test, s_test = _sequences(generator(seed + 2), cfg["test_seqs"], cfg["T"])
    for name in (*CELLS, "no_recurrence"):
        with seeded(seed), torch.no_grad():
            layer = make_layer("elman" if name == "no_recurrence" else name, SYMBOLS, HIDDEN)
            if name == "no_recurrence":
                layer.weight_hh_l0.zero_()
            h_train, h_test = layer(x_train)[0].double().numpy(), layer(x_test)[0].double().numpy()
        m[f"accuracy_{name}"] = [probe_accuracy(h_train, s_train.numpy(), h_test, s_test.numpy(), k, warmup)
                                 for k in cfg["ks"]]
    return ClaimResult(m, _figure(m))


def checks(m: dict) -> tuple[list[Check], list[Check]]:
    t = THRESHOLD
    ks = m["ks"]
    k_rem, k_max = ks.index(t["remember_k"]), len(ks) - 1
    controls = [Check("no-recurrence network: probe accuracy at k = 1", m["accuracy_no_recurrence"][ks.index(1)],
                      "<=", t["control_max_accuracy"])]
    tests = [Check(f"{c}: probe accuracy at k = {t['remember_k']}", m[f"accuracy_{c}"][k_rem], ">=",
                   t["remembers_min_accuracy"]) for c in CELLS]
    tests += [Check(f"{c}: probe accuracy at k = {ks[-1]} (fading)", m[f"accuracy_{c}"][k_max], "<",
                    t["fades_below"]) for c in CELLS]
    return controls, tests


def verdict(m: dict) -> str:
    return decide(*checks(m))


def _figure(m: dict):
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for cell in CELLS:
        ax.plot(m["ks"], m[f"accuracy_{cell}"], "o-", ms=3, color=CELL_COLORS[cell], label=CELL_LABELS[cell])
    ax.plot(m["ks"], m["accuracy_no_recurrence"], "s--", ms=3, color="gray", label="no recurrence (control)")
    ax.axhline(m["chance"], color="gray", ls=":", label="chance")
    ax.axhline(HALFWAY, color="black", ls="--", lw=0.8, label="halfway threshold")
    ax.set_xlabel("k (steps back)")
    ax.set_ylabel("linear probe accuracy for x_{t-k}")
    ax.set_ylim(0, 1.05)
    ax.set_title("Decoding past inputs from h_t (untrained networks)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
