"""Claim 11: in stacked RNNs the gradient reaching the first layer vanishes or explodes with depth."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

import rnnkit
from rnnkit.experiments.common import generator, seeded
from rnnkit.experiments.result import Check, ClaimResult, decide

ID = "deep_rnn"
TITLE = "Deep (stacked) RNNs: gradient vs depth"
STATEMENT = (
    "Stacking recurrent layers lengthens the path from the loss to the first layer: with the usual "
    "initialisation the gradient reaching the first layer shrinks as layers are added, residual (skip) "
    "connections between layers keep it from shrinking, and large initial weights make it grow instead."
)
METHOD = (
    "Stacks of 1 to N Elman (tanh) layers of 32 units read 20 steps of 8 Gaussian inputs; the loss is a "
    "fixed random read-out of the top layer's last output. Measured: the norm of the gradient with respect "
    "to the first layer's parameters, geometric mean over 3 seeds, relative to the 1-layer stack. Three "
    "variants: plain stack with PyTorch's default initialisation (uniform, variance 1/(3H)); the same with "
    "residual connections (each layer after the first adds its output to its input); a plain stack with "
    "large Gaussian weights (W_ih and W_hh ~ N(0, 9/fan_in))."
)
THRESHOLD = {
    "plain_max_ratio": 0.1,        # plain stack: first-layer gradient at max depth / at depth 1 below this
    "residual_min_ratio": 0.5,     # residual stack: the same ratio at least this
    "large_init_min_ratio": 10.0,  # plain stack, large init: the same ratio above this
}
CONFIG = {True: {"depths": [1, 2, 4, 8]}, False: {"depths": [1, 2, 3, 4, 6, 8, 12, 16]}}
I, H, T, B, SEEDS = 8, 32, 20, 16, 3
VARIANTS = ("plain", "residual", "large_init")


class Stack(nn.Module):
    """`depth` one-layer rnnkit.RNNs; with `residual`, layers after the first add their input to their output."""

    def __init__(self, depth: int, residual: bool) -> None:
        super().__init__()
        self.residual = residual
        self.layers = nn.ModuleList(rnnkit.RNN(I if k == 0 else H, H, batch_first=True) for k in range(depth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:     # (B, T, I) -> (B, T, H)
        for k, layer in enumerate(self.layers):
            out, _ = layer(x)
            x = x + out if (self.residual and k > 0) else out
        return x


def first_layer_grad(depth: int, variant: str, seed: int) -> float:
    with seeded(seed):
        net = Stack(depth, residual=variant == "residual").double()
        if variant == "large_init":
            gen = generator(seed + 7)
            with torch.no_grad():
                for layer in net.layers:
                    for w in (layer.weight_ih_l0, layer.weight_hh_l0):
                        w.copy_(torch.randn(w.shape, generator=gen, dtype=torch.float64) * 3 / w.shape[1] ** 0.5)
        x = torch.randn(B, T, I, generator=generator(seed + 1), dtype=torch.float64)
        readout = torch.randn(H, generator=generator(seed + 2), dtype=torch.float64)
        (net(x)[:, -1] @ readout).sum().backward()
        return float(torch.sqrt(sum(p.grad.pow(2).sum() for p in net.layers[0].parameters())))


def run(quick: bool, seed: int) -> ClaimResult:
    depths = CONFIG[quick]["depths"]
    m: dict = {"depths": depths, "seeds": SEEDS}
    for variant in VARIANTS:
        per_seed = np.array([[first_layer_grad(d, variant, seed + 100 * s) for d in depths] for s in range(SEEDS)])
        gmean = np.exp(np.log(np.maximum(per_seed, 1e-300)).mean(0))
        m[f"grad_{variant}"] = gmean.tolist()
        m[f"grad_{variant}_per_seed"] = per_seed.tolist()
        m[f"ratio_{variant}"] = float(gmean[-1] / gmean[0])
    return ClaimResult(m, _figure(m))


def checks(m: dict) -> tuple[list[Check], list[Check]]:
    t, d = THRESHOLD, m["depths"][-1]
    controls = [Check("deepest stack has at least 4 layers", d, ">=", 4)]
    tests = [
        Check(f"plain, default init: gradient at depth {d} / depth 1", m["ratio_plain"], "<", t["plain_max_ratio"]),
        Check(f"residual, default init: gradient at depth {d} / depth 1", m["ratio_residual"], ">=",
              t["residual_min_ratio"]),
        Check(f"plain, large init: gradient at depth {d} / depth 1", m["ratio_large_init"], ">",
              t["large_init_min_ratio"]),
    ]
    return controls, tests


def verdict(m: dict) -> str:
    return decide(*checks(m))


def _figure(m: dict):
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    styles = {"plain": ("tab:red", "plain stack, default init"),
              "residual": ("tab:blue", "residual stack, default init"),
              "large_init": ("tab:orange", "plain stack, large init (gain 3)")}
    for variant, (color, label) in styles.items():
        g = np.asarray(m[f"grad_{variant}"])
        ax.semilogy(m["depths"], g / g[0], "o-", color=color, label=label)
    ax.axhline(1.0, color="gray", ls=":")
    ax.set_xlabel("number of stacked layers")
    ax.set_ylabel("||dL/d(first-layer params)||, rel. to depth 1")
    ax.set_title("Gradient reaching the first layer")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
