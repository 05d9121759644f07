"""Claim 7: a recurrent network's cost grows linearly with length because its steps run one after another."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import torch
from torch import nn

import rnnkit
from rnnkit.experiments.common import generator, seeded
from rnnkit.experiments.measure import cpu_seconds, linear_fit
from rnnkit.experiments.result import Check, ClaimResult, decide

ID = "sequential_cost"
TITLE = "Sequential computation: time linear in length"
STATEMENT = (
    "Running a recurrent network takes time proportional to the sequence length, because step t needs h_{t-1} "
    "through a nonlinearity, so the steps cannot run at the same time. An operation without that chain, a "
    "convolution over time, or a recurrence that is linear (which a parallel scan evaluates in about log2 T "
    "rounds), is much faster on the same input."
)
METHOD = (
    "Least CPU time of the calling thread over repeated calls (PyTorch on 1 thread, after a warm-up) of: an "
    "rnnkit.LSTM forward pass with the library's default engine (16 inputs, 64 units, batch 8, no "
    "gradient), and for reference the same with engine='reference' (the Python loop); two stacked Conv1d "
    "layers (kernel 3, 64 channels) over the same input; and the "
    "linear recurrence h_t = a_t * h_{t-1} + b_t (64 channels) computed by a step-by-step loop and by a "
    "Hillis-Steele parallel scan. Lengths double from 64 up to the maximum. The scan's result is checked "
    "against the loop in float64."
)
NOTES = [
    "Every timing here runs on one CPU thread, where a parallel operation can only gain from vector "
    "instructions and from fewer, larger operations; the Hillis-Steele scan also does about T log2 T work "
    "against the loop's T. This experiment does not measure multi-core or GPU execution, where steps that "
    "do not depend on each other can run at the same time.",
]
THRESHOLD = {
    "max_scan_diff": 1e-9,               # control: the parallel scan computes the same recurrence
    "min_linear_r2": 0.95,               # LSTM time vs T fits a straight line this well
    "min_growth_fraction": 0.5,          # time(T_max)/time(T_min) at least half of T_max/T_min
    "min_rnn_over_conv": 10.0,           # at the longest T, LSTM time / convolution time
    "min_loop_over_scan": 3.0,           # at the longest T, sequential loop / parallel scan (linear recurrence)
}
CONFIG = {True: {"lengths": [64, 128, 256, 512, 1024], "repeats": 3},
          False: {"lengths": [64, 128, 256, 512, 1024, 2048, 4096], "repeats": 5}}
B, I, H = 8, 16, 64


def linear_recurrence_loop(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """h_t = a_t * h_{t-1} + b_t with h_{-1} = 0, one step at a time. a, b: (B, T, C) -> (B, T, C)."""
    h, out = torch.zeros_like(b[:, 0]), []
    for t in range(b.shape[1]):
        h = a[:, t] * h + b[:, t]
        out.append(h)
    return torch.stack(out, 1)


def linear_recurrence_scan(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The same recurrence by a Hillis-Steele scan: ceil(log2 T) rounds, each one vectorised over all steps.

    Each element holds the map h -> A h + Bv of a block of steps; round k composes every block with the
    block 2^k steps before it: (A2, B2) after (A1, B1) = (A2 A1, A2 B1 + B2).
    """
    A, Bv = a.clone(), b.clone()
    shift = 1
    while shift < b.shape[1]:
        A_prev = torch.cat([torch.ones_like(A[:, :shift]), A[:, :-shift]], 1)
        B_prev = torch.cat([torch.zeros_like(Bv[:, :shift]), Bv[:, :-shift]], 1)
        A, Bv = A * A_prev, A * B_prev + Bv
        shift *= 2
    return Bv


def run(quick: bool, seed: int) -> ClaimResult:
    cfg = CONFIG[quick]
    lengths = cfg["lengths"]
    m: dict = {"lengths": lengths, "scan_rounds": [math.ceil(math.log2(T)) for T in lengths]}
    with seeded(seed), torch.no_grad():
        lstm = rnnkit.LSTM(I, H, batch_first=True).eval()
        ref = rnnkit.LSTM(I, H, batch_first=True, engine="reference").eval()
        ref.load_state_dict(lstm.state_dict())
        conv = nn.Sequential(nn.Conv1d(I, H, 3, padding=1), nn.Tanh(), nn.Conv1d(H, H, 3, padding=1)).eval()
        times = {"lstm": [], "lstm_reference": [], "conv": [], "loop": [], "scan": []}
        for T in lengths:
            x = torch.randn(B, T, I, generator=generator(seed + T))
            a = torch.rand(B, T, H, generator=generator(seed + 1))
            b = torch.randn(B, T, H, generator=generator(seed + 2))
            r = cfg["repeats"]
            times["lstm"].append(cpu_seconds(lambda x=x: lstm(x), r))
            times["lstm_reference"].append(cpu_seconds(lambda x=x: ref(x), r))
            times["conv"].append(cpu_seconds(lambda x=x: conv(x.transpose(1, 2)), r))
            times["loop"].append(cpu_seconds(lambda a=a, b=b: linear_recurrence_loop(a, b), r))
            times["scan"].append(cpu_seconds(lambda a=a, b=b: linear_recurrence_scan(a, b), r))
        a64 = torch.rand(2, lengths[-1], 4, generator=generator(seed + 3), dtype=torch.float64)
        b64 = torch.randn(2, lengths[-1], 4, generator=generator(seed + 4), dtype=torch.float64)
        diff = linear_recurrence_scan(a64, b64) - linear_recurrence_loop(a64, b64)
        m["scan_max_abs_diff"] = float(diff.abs().max())
    for name, ts in times.items():
        m[f"seconds_{name}"] = ts
    slope, intercept, r2 = linear_fit(lengths, times["lstm"])
    m.update({"lstm_seconds_per_step": slope, "lstm_intercept_seconds": intercept, "lstm_linear_r2": r2,
              "lstm_growth": times["lstm"][-1] / times["lstm"][0], "length_growth": lengths[-1] / lengths[0],
              "lstm_over_conv_longest": times["lstm"][-1] / times["conv"][-1],
              "loop_over_scan_longest": times["loop"][-1] / times["scan"][-1]})
    return ClaimResult(m, _figure(m), notes=list(NOTES))


def checks(m: dict) -> tuple[list[Check], list[Check]]:
    t = THRESHOLD
    controls = [Check("parallel scan vs loop (max abs diff, float64)", m["scan_max_abs_diff"], "<=",
                      t["max_scan_diff"])]
    tests = [
        Check("R^2 of a straight-line fit of LSTM time vs length", m["lstm_linear_r2"], ">=", t["min_linear_r2"]),
        Check("LSTM time growth / length growth", m["lstm_growth"] / m["length_growth"], ">=",
              t["min_growth_fraction"]),
        Check("LSTM time / convolution time at the longest length", m["lstm_over_conv_longest"], ">=",
              t["min_rnn_over_conv"]),
        Check("sequential loop / parallel scan at the longest length", m["loop_over_scan_longest"], ">=",
              t["min_loop_over_scan"]),
    ]
    return controls, tests


def verdict(m: dict) -> str:
    return decide(*checks(m))


def _figure(m: dict):
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.8))
    L = m["lengths"]
    ms = lambda k: [1e3 * v for v in m[f"seconds_{k}"]]  # noqa: E731
    a1.plot(L, ms("lstm"), "o-", color="tab:blue", label="LSTM forward, default engine (sequential)")
    a1.plot(L, ms("lstm_reference"), "^-", color="tab:purple", label="LSTM forward, reference engine (Python loop)")
    fit = [1e3 * (m["lstm_seconds_per_step"] * T + m["lstm_intercept_seconds"]) for T in L]
    a1.plot(L, fit, ":", color="tab:blue", label=f"linear fit, R^2 = {m['lstm_linear_r2']:.3f}")
    a1.plot(L, ms("conv"), "s-", color="tab:orange", label="2 x Conv1d (parallel over time)")
    a1.set_xlabel("sequence length T")
    a1.set_ylabel("CPU ms per batch (1 thread)")
    a1.set_title("Nonlinear recurrence vs convolution")
    a1.legend(fontsize=8)
    a2.loglog(L, ms("loop"), "o-", color="tab:red", label="linear recurrence, step-by-step loop (T steps)")
    a2.loglog(L, ms("scan"), "s-", color="tab:green", label="same, parallel scan (ceil(log2 T) rounds)")
    a2.set_xlabel("sequence length T")
    a2.set_ylabel("CPU ms per batch (1 thread)")
    a2.set_title("Linear recurrence: step-by-step loop vs parallel scan")
    a2.legend(fontsize=8)
    fig.tight_layout()
    return fig
