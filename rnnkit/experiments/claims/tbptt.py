"""Claim 10: truncated BPTT bounds memory and time per update, but cannot learn dependencies longer than
its window."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from torch import nn

from rnnkit.experiments.common import SeqModel, chrono_init_, cross_entropy, generator, seeded
from rnnkit.experiments.measure import cpu_seconds, linear_fit, saved_tensor_bytes
from rnnkit.experiments.result import Check, ClaimResult, decide
from rnnkit.experiments.tasks import recall_batch

ID = "tbptt"
TITLE = "BPTT vs truncated BPTT"
STATEMENT = (
    "Backpropagation through the whole sequence (BPTT) needs memory and time per update that grow with the "
    "sequence length; truncated BPTT (TBPTT), which carries the state forward but cuts the gradient every k "
    "steps, needs a fixed amount per update, and in exchange cannot learn a dependency that spans more than "
    "its window."
)
METHOD = (
    "TBPTT(k) here: the sequence is cut into chunks of k steps (aligned so the last chunk ends at the last "
    "step); each chunk starts from the previous chunk's final state, detached, and every chunk with a "
    "scored step gets its own backward pass and Adam update. (a) Cost: an LSTM (8 inputs, 64 units, batch "
    "16) with a loss at every step; for each length T, the bytes autograd saves and the CPU time (1 thread) "
    "of one BPTT update (all T steps) and of one TBPTT update (one chunk of k = 25). (b) Learning: the recall "
    "task of claim 1 (LSTM, 32 units, chrono initialisation, Adam lr 3e-3, batch 128) with k = 20, at lag "
    "10 (inside the window) and lag 40 (twice the window), trained by BPTT and by TBPTT."
)
SYMBOLS = 4
CHANCE = 1 / SYMBOLS
THRESHOLD = {
    "solved_min_accuracy": 0.9,
    "failed_max_accuracy": CHANCE + 0.2,
    "min_bptt_memory_growth": 0.8,     # BPTT saved bytes grow at least 0.8 x as fast as T
    "max_tbptt_memory_growth": 1.2,    # TBPTT saved bytes per update at T_max / T_min at most this
    "min_bptt_time_growth": 0.5,       # BPTT time per update grows at least half as fast as T
    "max_tbptt_time_growth": 2.0,      # TBPTT time per update at T_max / T_min at most this
}
CONFIG = {True: {"lengths": [50, 100, 200, 400], "steps": 500},
          False: {"lengths": [50, 100, 200, 400, 800, 1600], "steps": 1200}}
COST_K, LEARN_K, LAGS = 25, 20, (10, 40)


def chunks(T: int, k: int | None) -> list[slice]:
    """Time slices of at most k steps, the last one ending at T (k=None: one slice, i.e. full BPTT)."""
    if k is None or k >= T:
        return [slice(0, T)]
    bounds = list(range(T, 0, -k))[::-1]
    starts = [0, *bounds[:-1]] if bounds[0] != 0 else bounds[:-1]
    return [slice(s, e) for s, e in zip(starts, bounds, strict=True)]


def train_recall(model: SeqModel, opt, x: torch.Tensor, y: torch.Tensor, k: int | None) -> float:
    """One sequence batch with (T)BPTT: the loss sits at the last step, so only the last chunk updates."""
    state = None
    pieces = chunks(x.shape[1], k)
    for n, sl in enumerate(pieces):
        out, state = model.rnn(x[:, sl], state)
        if n < len(pieces) - 1:
            state = tuple(s.detach() for s in state)      # cut the gradient at the chunk boundary
            continue
        loss = cross_entropy(model.head(out[:, -1]), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return float(loss.detach())


def _learn(lag: int, k: int | None, steps: int, seed: int) -> float:
    with seeded(seed):
        model = SeqModel("lstm", SYMBOLS + 1, 32, SYMBOLS)
        chrono_init_(model.rnn, lag + 1, generator(seed + 3))
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        gen, recent = generator(seed + 1), []
        for _ in range(steps):
            recent = [*recent[-19:], train_recall(model, opt, *recall_batch(gen, 128, lag, SYMBOLS), k)]
            if len(recent) == 20 and sum(recent) / 20 < 0.01:
                break
        x, y = recall_batch(generator(seed + 2), 512, lag, SYMBOLS)
        with torch.no_grad():
            return float((model(x).argmax(-1) == y).float().mean())


def _cost(lengths: list[int], seed: int) -> dict:
    out: dict = {"bptt_saved_bytes": [], "tbptt_saved_bytes": [], "bptt_seconds": [], "tbptt_seconds": []}
    with seeded(seed):
        model = SeqModel("lstm", 8, 64, 1, every_step=True)
        opt = torch.optim.SGD(model.parameters(), lr=1e-3)
        for T in lengths:
            x = torch.randn(16, T, 8, generator=generator(seed + T))
            y = torch.randn(16, T, 1, generator=generator(seed + T + 1))
            for name, k in (("bptt", None), ("tbptt", COST_K)):
                sl = chunks(T, k)[-1]                    # one update: its chunk (all of it for BPTT)
                state = None
                if sl.start > 0:
                    with torch.no_grad():
                        _, state = model.rnn(x[:, :sl.start])
                # The chunk's own copy of its data: a view would keep the whole sequence's storage alive.
                xc, yc = x[:, sl].clone(), y[:, sl].clone()

                def update(xc=xc, yc=yc, state=state):
                    out, _ = model.rnn(xc, state)
                    loss = ((model.head(out) - yc) ** 2).mean()
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()

                out[f"{name}_saved_bytes"].append(saved_tensor_bytes(
                    lambda xc=xc, state=state: model.head(model.rnn(xc, state)[0]).sum()))
                out[f"{name}_seconds"].append(cpu_seconds(update, repeats=3))
    return out


def run(quick: bool, seed: int) -> ClaimResult:
    cfg = CONFIG[quick]
    L = cfg["lengths"]
    m: dict = {"lengths": L, "cost_window": COST_K, "learn_window": LEARN_K, "lags": list(LAGS), "chance": CHANCE}
    m.update(_cost(L, seed))
    growth = L[-1] / L[0]
    for name in ("bptt", "tbptt"):
        m[f"{name}_memory_growth"] = m[f"{name}_saved_bytes"][-1] / m[f"{name}_saved_bytes"][0]
        m[f"{name}_time_growth"] = m[f"{name}_seconds"][-1] / m[f"{name}_seconds"][0]
    m["length_growth"] = growth
    m["bptt_seconds_per_step"] = linear_fit(L, m["bptt_seconds"])[0]
    for lag in LAGS:
        for name, k in (("bptt", None), ("tbptt", LEARN_K)):
            m[f"accuracy_{name}_lag{lag}"] = _learn(lag, k, cfg["steps"], seed + lag)
    return ClaimResult(m, _figure(m))


def checks(m: dict) -> tuple[list[Check], list[Check]]:
    t = THRESHOLD
    short, long = m["lags"]
    controls = [Check(f"BPTT accuracy at lag {lag}", m[f"accuracy_bptt_lag{lag}"], ">=", t["solved_min_accuracy"])
                for lag in (short, long)]
    controls.append(Check("long lag exceeds the TBPTT window", long, ">", m["learn_window"]))
    g = m["length_growth"]
    tests = [
        Check("BPTT saved bytes growth / length growth", m["bptt_memory_growth"] / g, ">=",
              t["min_bptt_memory_growth"]),
        Check("TBPTT saved bytes per update, longest / shortest T", m["tbptt_memory_growth"], "<=",
              t["max_tbptt_memory_growth"]),
        Check("BPTT time per update growth / length growth", m["bptt_time_growth"] / g, ">=",
              t["min_bptt_time_growth"]),
        Check("TBPTT time per update, longest / shortest T", m["tbptt_time_growth"], "<=",
              t["max_tbptt_time_growth"]),
        Check(f"TBPTT(k={m['learn_window']}) accuracy at lag {short}", m[f"accuracy_tbptt_lag{short}"], ">=",
              t["solved_min_accuracy"]),
        Check(f"TBPTT(k={m['learn_window']}) accuracy at lag {long}", m[f"accuracy_tbptt_lag{long}"], "<",
              t["failed_max_accuracy"]),
    ]
    return controls, tests


def verdict(m: dict) -> str:
    return decide(*checks(m))


def _figure(m: dict):
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    L, mib = m["lengths"], 2**20
    a = axes[0]
    a.plot(L, [v / mib for v in m["bptt_saved_bytes"]], "o-", color="tab:red", label="BPTT")
    a.plot(L, [v / mib for v in m["tbptt_saved_bytes"]], "s-", color="tab:blue", label=f"TBPTT (k={m['cost_window']})")
    a.set_xlabel("sequence length T")
    a.set_ylabel("MiB saved for backward, per update")
    a.set_title("Memory per update")
    a.legend(fontsize=8)
    a = axes[1]
    a.plot(L, [1e3 * v for v in m["bptt_seconds"]], "o-", color="tab:red", label="BPTT")
    a.plot(L, [1e3 * v for v in m["tbptt_seconds"]], "s-", color="tab:blue", label=f"TBPTT (k={m['cost_window']})")
    a.set_xlabel("sequence length T")
    a.set_ylabel("CPU ms per update (1 thread)")
    a.set_title("Time per update")
    a.legend(fontsize=8)
    a = axes[2]
    xs = range(len(m["lags"]))
    for off, (name, color) in zip((-0.18, 0.18), (("bptt", "tab:red"), ("tbptt", "tab:blue")), strict=True):
        label = "BPTT" if name == "bptt" else f"TBPTT (k={m['learn_window']})"
        a.bar([x + off for x in xs], [m[f"accuracy_{name}_lag{lag}"] for lag in m["lags"]], 0.36, color=color,
              label=label)
    a.axhline(m["chance"], color="gray", ls=":", label="chance")
    a.set_xticks(list(xs))
    a.set_xticklabels([f"lag {lag}" for lag in m["lags"]])
    a.set_ylim(0, 1.05)
    a.set_ylabel("held-out recall accuracy")
    a.set_title("Learning a dependency vs the window")
    a.legend(fontsize=8)
    fig.tight_layout()
    return fig
