"""Claim 6: one set of weights, shared by every step, serves sequences of any length."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch

import rnnkit
from rnnkit.experiments.common import generator, seeded
from rnnkit.experiments.measure import rss_bytes, saved_tensor_bytes
from rnnkit.experiments.result import Check, ClaimResult, decide

ID = "any_length"
TITLE = "Any length, fixed size, shared weights"
STATEMENT = (
    "A recurrent network has the same number of parameters whatever the sequence length, applies the same "
    "weight tensors at every step, and, streamed one step at a time, processes arbitrarily long inputs in "
    "constant memory."
)
METHOD = (
    "An rnnkit.LSTM (4 inputs, 32 units) is compared with a one-hidden-layer MLP that reads the whole "
    "flattened sequence (32 hidden units): parameter counts for lengths 1 to 100,000. The LSTM then streams "
    "one sequence step by step with step() (no gradient), and the process's resident memory is read at "
    "lengths 1, 10, ..., the longest; for contrast, the bytes autograd saves for a whole-sequence forward "
    "pass are measured at lengths up to 1,000. Weight sharing: in float64, the gradient of a loss with "
    "respect to the layer's W_ih, W_hh and biases equals the sum of the gradients with respect to per-step "
    "copies of them in an unrolled computation; and chaining step() equals one forward() call."
)
THRESHOLD = {
    "max_param_change": 0,                   # LSTM parameter count identical at every length
    "max_stream_growth_bytes": 8 * 2**20,    # resident memory after the longest stream minus after 1,000 steps
    "min_longest_stream": 100_000,
    "max_sharing_rel_diff": 1e-10,           # shared gradient vs sum of per-step-copy gradients
    "max_step_vs_forward_diff": 1e-5,
}
CONFIG = {True: {"stream": 100_000}, False: {"stream": 100_000}}
I, H = 4, 32


def run(quick: bool, seed: int) -> ClaimResult:
    cfg = CONFIG[quick]
    lengths = [10**k for k in range(int(math.log10(cfg["stream"])) + 1)]
    m: dict = {"lengths": lengths}
    with seeded(seed):
        lstm = rnnkit.LSTM(I, H, batch_first=True).eval()
        m["lstm_params"] = [sum(p.numel() for p in lstm.parameters()) for _ in lengths]
        m["lstm_param_tensors"] = len(list(lstm.parameters()))
        m["mlp_params"] = [T * I * H + H + H * 1 + 1 for T in lengths]
        m.update(_stream(lstm, lengths, seed))
        m.update(_autograd_growth(lstm, seed))
        m.update(_sharing(seed))
    return ClaimResult(m, _figure(m))


@torch.no_grad()
def _stream(lstm, lengths: list[int], seed: int) -> dict:
    gen = generator(seed + 1)
    x0 = torch.randn(1000, 1, I, generator=gen)
    whole, _ = lstm(x0.transpose(0, 1))                    # (1, 1000, H): one forward call
    state, ys, rss, states_bytes = None, [], [], []
    checkpoints = set(lengths)
    for t in range(1, lengths[-1] + 1):
        x_t = x0[t - 1] if t <= 1000 else torch.randn(1, I, generator=gen)
        y, state = lstm.step(x_t, state)
        if t <= 1000:
            ys.append(y)
        if t in checkpoints:
            rss.append(rss_bytes())
            states_bytes.append(sum(s.numel() * s.element_size() for s in state))
    diff = float((torch.cat(ys) - whole[0]).abs().max())
    base = rss[lengths.index(1000)] if 1000 in lengths else rss[0]
    return {"stream_rss_bytes": rss, "stream_state_bytes": states_bytes, "longest_stream": lengths[-1],
            "stream_final_state_finite": bool(all(torch.isfinite(s).all() for s in state)),
            "stream_rss_growth_bytes": rss[-1] - base, "step_vs_forward_max_diff": diff}


def _autograd_growth(lstm, seed: int) -> dict:
    lengths = [10, 100, 1000]
    out = []
    for T in lengths:
        x = torch.randn(1, T, I, generator=generator(seed + 2))
        out.append(saved_tensor_bytes(lambda x=x: lstm(x)))
    return {"autograd_lengths": lengths, "autograd_saved_bytes": out}


def _sharing(seed: int) -> dict:
    """Gradient w.r.t. shared weights == sum of gradients w.r.t. one copy of the weights per step."""
    T = 20
    lstm = rnnkit.LSTM(I, H, batch_first=True, dtype=torch.float64)
    x = torch.randn(3, T, I, generator=generator(seed + 3), dtype=torch.float64)
    out, _ = lstm(x)
    out.pow(2).sum().backward()
    w = lstm.direction_weights(0, 0)
    copies = [[p.detach().clone().requires_grad_(True) for p in (w.w_ih, w.w_hh, w.b_ih, w.b_hh)]
              for _ in range(T)]
    h = c = torch.zeros(3, H, dtype=torch.float64)
    loss = 0.0
    for t in range(T):
        s = rnnkit.lstm_step(x[:, t], h, c, *copies[t])
        h, c = s.h, s.c
        loss = loss + h.pow(2).sum()
    loss.backward()
    worst = 0.0
    for k, p in enumerate((lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0)):
        summed = sum(copies[t][k].grad for t in range(T))
        worst = max(worst, float((summed - p.grad).abs().max() / p.grad.abs().max()))
    return {"sharing_steps": T, "sharing_max_rel_diff": worst}


def checks(m: dict) -> tuple[list[Check], list[Check]]:
    t = THRESHOLD
    controls = [Check("longest streamed length", m["longest_stream"], ">=", t["min_longest_stream"]),
                Check("resident memory readable (1 = yes)", 0.0 if math.isnan(m["stream_rss_growth_bytes"]) else 1.0,
                      ">=", 1.0)]
    tests = [
        Check("LSTM parameter count: max - min over lengths", max(m["lstm_params"]) - min(m["lstm_params"]), "<=",
              t["max_param_change"]),
        Check("final streamed state finite (1 = yes)", float(m["stream_final_state_finite"]), ">=", 1.0),
        Check("resident memory growth from 1,000 steps to the longest stream (bytes)",
              m["stream_rss_growth_bytes"], "<=", t["max_stream_growth_bytes"]),
        Check("shared-weight gradient vs sum of per-step copies (max rel. diff)", m["sharing_max_rel_diff"], "<=",
              t["max_sharing_rel_diff"]),
        Check("step() chain vs one forward() (max abs diff)", m["step_vs_forward_max_diff"], "<=",
              t["max_step_vs_forward_diff"]),
    ]
    return controls, tests


def verdict(m: dict) -> str:
    return decide(*checks(m))


def _figure(m: dict):
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.8))
    a1.loglog(m["lengths"], m["lstm_params"], "o-", color="tab:blue", label="LSTM (4 -> 32)")
    a1.loglog(m["lengths"], m["mlp_params"], "s--", color="tab:orange", label="MLP over the flattened sequence")
    a1.set_xlabel("sequence length")
    a1.set_ylabel("parameters")
    a1.set_title("Model size vs sequence length")
    a1.legend(fontsize=8)
    mib = 2**20
    rss = np.asarray(m["stream_rss_bytes"]) / mib
    a2.semilogx(m["lengths"], rss - rss[0], "o-", color="tab:blue", label="streamed with step(): resident memory")
    a2.semilogx(m["autograd_lengths"], np.asarray(m["autograd_saved_bytes"]) / mib, "s--", color="tab:red",
                label="whole-sequence forward: bytes saved by autograd")
    a2.set_xlabel("sequence length (steps processed)")
    a2.set_ylabel("MiB (stream: change since length 1)")
    a2.set_title("Memory while processing longer inputs")
    a2.legend(fontsize=8)
    fig.tight_layout()
    return fig
