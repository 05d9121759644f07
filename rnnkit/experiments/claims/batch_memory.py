"""Claim 9: training memory grows with batch size, because of the activations kept for backprop."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch

import rnnkit
from rnnkit.experiments.common import generator, seeded
from rnnkit.experiments.measure import linear_fit, peak_allocated_bytes, saved_tensor_bytes
from rnnkit.experiments.result import Check, ClaimResult, decide

ID = "batch_memory"
TITLE = "Training memory vs batch size"
STATEMENT = (
    "The memory a training step needs grows in proportion to the batch size, and the growth comes from the "
    "per-example activations that the forward pass must keep until backpropagation (and the activation "
    "gradients computed from them); the gradients of the parameters are the same size for any batch."
)
METHOD = (
    "One training step (forward, mean-squared-error loss, backward) of an rnnkit.LSTM (32 inputs, 128 "
    "units, 50 steps, default engine) with a linear read-out, for several batch sizes, parameter gradients "
    "freed before each step. Peak memory: the highest running total of tensor bytes allocated minus freed "
    "during the step, from PyTorch's profiler. Stored activations: the bytes of distinct storages autograd "
    "saves for backward, counted with saved-tensor hooks. Parameter gradients: the bytes of every .grad "
    "after the step."
)
THRESHOLD = {
    "min_linear_r2": 0.95,              # peak memory vs batch size fits a straight line this well
    "min_peak_growth": 2.0,             # peak at the largest batch / at the smallest batch
    "min_activation_share": 0.5,        # stored activations explain at least this share of the peak's growth
    "max_param_grad_change": 0,         # parameter-gradient bytes identical at every batch size
}
CONFIG = {True: {"batches": [8, 16, 32, 64, 128]}, False: {"batches": [8, 16, 32, 64, 128, 256, 512]}}
I, H, T = 32, 128, 50


def run(quick: bool, seed: int) -> ClaimResult:
    cfg = CONFIG[quick]
    m: dict = {"batches": cfg["batches"], "peak_bytes": [], "saved_activation_bytes": [], "param_grad_bytes": [],
               "input_bytes": []}
    with seeded(seed):
        lstm = rnnkit.LSTM(I, H, batch_first=True)
        head = torch.nn.Linear(H, 1)
        params = [*lstm.parameters(), *head.parameters()]

        def step(x, y):
            out, _ = lstm(x)
            ((head(out) - y) ** 2).mean().backward()

        for B in cfg["batches"]:
            x = torch.randn(B, T, I, generator=generator(seed + B))
            y = torch.randn(B, T, 1, generator=generator(seed + B + 1))
            step(x, y)                                            # warm-up (engine caches, allocator)
            for p in params:
                p.grad = None
            m["peak_bytes"].append(peak_allocated_bytes(lambda x=x, y=y: step(x, y)))
            m["param_grad_bytes"].append(float(sum(p.grad.numel() * p.grad.element_size() for p in params)))
            for p in params:
                p.grad = None
            m["saved_activation_bytes"].append(saved_tensor_bytes(lambda x=x: head(lstm(x)[0]).sum()))
            m["input_bytes"].append(float(x.numel() * x.element_size() + y.numel() * y.element_size()))
    Bs, peak, saved = m["batches"], m["peak_bytes"], m["saved_activation_bytes"]
    m["peak_slope_bytes_per_example"], _, m["peak_linear_r2"] = linear_fit(Bs, peak)
    m["activation_slope_bytes_per_example"] = linear_fit(Bs, saved)[0]
    m["peak_growth"] = peak[-1] / peak[0] if peak[0] > 0 else math.nan
    m["activation_share_of_growth"] = (saved[-1] - saved[0]) / (peak[-1] - peak[0]) if peak[-1] != peak[0] \
        else math.nan
    return ClaimResult(m, _figure(m))


def checks(m: dict) -> tuple[list[Check], list[Check]]:
    t = THRESHOLD
    controls = [Check("profiler memory events available (peak at the smallest batch, bytes)",
                      m["peak_bytes"][0], ">", 0)]
    tests = [
        Check("R^2 of a straight-line fit of peak memory vs batch size", m["peak_linear_r2"], ">=",
              t["min_linear_r2"]),
        Check("peak memory at the largest / smallest batch", m["peak_growth"], ">=", t["min_peak_growth"]),
        Check("stored activations' share of the peak's growth", m["activation_share_of_growth"], ">=",
              t["min_activation_share"]),
        Check("parameter-gradient bytes: max - min over batch sizes",
              max(m["param_grad_bytes"]) - min(m["param_grad_bytes"]), "<=", t["max_param_grad_change"]),
    ]
    return controls, tests


def verdict(m: dict) -> str:
    return decide(*checks(m))


def _figure(m: dict):
    fig, ax = plt.subplots(figsize=(7, 3.8))
    mib = 2**20
    B = m["batches"]
    peak, saved = np.asarray(m["peak_bytes"]) / mib, np.asarray(m["saved_activation_bytes"]) / mib
    grads = np.asarray(m["param_grad_bytes"]) / mib
    ax.plot(B, peak, "o-", color="black", label="peak during the training step")
    ax.plot(B, saved, "s-", color="tab:blue", label="stored activations (saved for backward)")
    ax.plot(B, grads, "^-", color="tab:green", label="parameter gradients")
    ax.fill_between(B, saved, peak, color="tab:gray", alpha=0.15, label="other (activation gradients, temporaries)")
    ax.set_xlabel("batch size")
    ax.set_ylabel("MiB")
    ax.set_title(f"LSTM 32 -> 128, {T} steps: memory of one training step")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
