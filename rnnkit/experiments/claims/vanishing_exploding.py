"""Claim 2: gradients vanish or explode with distance; saturating activations shrink them; clipping helps."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from rnnkit.experiments.common import (
    CELL_COLORS,
    CELL_LABELS,
    CELLS,
    SeqModel,
    cross_entropy,
    generator,
    make_layer,
    seeded,
    smooth,
)
from rnnkit.experiments.gradients import set_recurrent_gaussian_, state_gradients, unroll
from rnnkit.experiments.measure import log_slope
from rnnkit.experiments.result import Check, ClaimResult, decide

ID = "vanishing_exploding"
TITLE = "Vanishing and exploding gradients"
STATEMENT = (
    "The error signal that backpropagation sends to a time step shrinks or grows geometrically with the "
    "step's distance from the loss: it vanishes when the recurrent weights are small and explodes when they "
    "are large; saturated tanh units shrink it further; and clipping the gradient norm lets a run train that "
    "diverges without clipping."
)
METHOD = (
    "Gradient norms ||dL/dh_t|| are measured in float64 by unrolling the layer with rnnkit's own step "
    "functions (loss: a fixed random read-out of the last hidden state; 16 random Gaussian input sequences, "
    "hidden size 64), and reported relative to step T. (a) Each cell at PyTorch's default initialisation. "
    "(b) Elman tanh with W_hh ~ N(0, g^2/H) for gains g = 0.5, 1 and 3. (c) Elman tanh with an orthogonal W_hh "
    "and input weights scaled so that units stay in tanh's linear range (scale 0.1) or saturate (scale 5). "
    "(d) A ReLU Elman network (W_hh gain 1.8) trained with plain SGD (lr 0.05, batch 32, sequences of 50 "
    "steps; 300 updates in quick mode, 600 in the full run) to output the previous symbol at every step, "
    "with and without clipping the gradient norm at 1, for 3 seeds."
)
NOTES = [
    "Set-up of (d) fixed after a pilot: a tanh Elman network in the expanding regime (gain 3, SGD) produced "
    "gradient norms above 1e4 but did not diverge without clipping (tanh bounds the state), so the diverging "
    "run uses ReLU units.",
]
THRESHOLD = {
    "distance": 50,                 # gradients compared at this distance from the loss
    "vanish_max_ratio": 1e-3,       # gain 0.5: ||dL/dh_{T-50}|| / ||dL/dh_T|| below this
    "explode_min_ratio": 1e3,       # gain 3: the same ratio above this
    "saturation_distance": 25,
    "saturation_max_ratio": 1e-2,   # (saturated ratio) / (linear-range ratio) at distance 25 below this
    "clip_min_fraction": 2 / 3,     # share of seeds in which the unclipped run diverges AND the clipped trains
    "clip_trained_loss_ratio": 0.5,  # "trains": final loss <= 0.5 x initial loss
}
CONFIG = {True: {"T": 80, "clip_steps": 300, "seeds": 3}, False: {"T": 200, "clip_steps": 600, "seeds": 3}}
GAINS = (0.5, 1.0, 3.0)
INPUT_SCALES = (0.1, 5.0)
B, I, H = 16, 8, 64


def run(quick: bool, seed: int) -> ClaimResult:
    cfg = CONFIG[quick]
    m: dict = {"T": cfg["T"], "distances": list(range(cfg["T"]))}
    with seeded(seed):
        x = torch.randn(B, cfg["T"], I, generator=generator(seed + 1), dtype=torch.float64)
        readout = torch.randn(H, generator=generator(seed + 2), dtype=torch.float64) / H**0.5
        for cell in CELLS:                                                   # (a)
            layer = make_layer(cell, I, H).double()
            m[f"grad_h_{cell}"] = _relative(state_gradients(layer, x, readout)["h"])
            m[f"log10_slope_{cell}"] = log_slope(m["distances"], m[f"grad_h_{cell}"])
        for gain in GAINS:                                                   # (b)
            layer = make_layer("elman", I, H).double()
            set_recurrent_gaussian_(layer, gain, generator(seed + 3))
            m[f"grad_h_gain_{gain}"] = _relative(state_gradients(layer, x, readout)["h"])
        for scale in INPUT_SCALES:                                           # (c)
            layer = make_layer("elman", I, H, recurrent_init="orthogonal").double()
            with torch.no_grad():
                w = torch.randn(H, I, generator=generator(seed + 4), dtype=torch.float64)
                layer.weight_ih_l0.copy_(w * scale / I**0.5)
                layer.bias_ih_l0.zero_()
                layer.bias_hh_l0.zero_()
            m[f"grad_h_input_{scale}"] = _relative(state_gradients(layer, x, readout)["h"])
            hs, _ = unroll(layer, x)
            m[f"mean_tanh_derivative_input_{scale}"] = float(torch.stack([1 - h.detach() ** 2 for h in hs]).mean())
    for k in range(cfg["seeds"]):                                            # (d)
        for clip in (None, 1.0):
            losses, max_norm, diverged = _clip_run(seed + 10 * k, clip, cfg["clip_steps"])
            name = "clipped" if clip else "unclipped"
            m[f"{name}_losses_seed{k}"] = losses
            m[f"{name}_max_grad_norm_seed{k}"] = max_norm
            m[f"{name}_diverged_seed{k}"] = diverged
    m["clip_seeds"] = cfg["seeds"]
    m.update(_clip_summary(m))
    return ClaimResult(m, _figure(m), notes=list(NOTES))


def _relative(norms: list[float]) -> list[float]:
    return [n / norms[0] for n in norms]


def _clip_run(seed: int, clip: float | None, steps: int) -> tuple[list[float], float, bool]:
    """SGD on 'output the previous symbol' with a ReLU Elman net in the expanding regime.

    Returns the losses, the largest gradient norm seen, and whether the run stopped on a non-finite
    loss or gradient norm."""
    T, K = 50, 4
    with seeded(seed):
        model = SeqModel("elman", K, H, K, every_step=True, nonlinearity="relu")
        set_recurrent_gaussian_(model.rnn, 1.8, generator(seed + 3))
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        gen, losses, max_norm = generator(seed + 1), [], 0.0
        for _ in range(steps):
            seq = torch.randint(K, (32, T), generator=gen)
            x, y = nn.functional.one_hot(seq, K).float(), torch.roll(seq, 1, 1)
            loss = cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            norm = nn.utils.clip_grad_norm_(model.parameters(), clip if clip else math.inf)
            max_norm = max(max_norm, float(norm))
            opt.step()
            losses.append(float(loss.detach()))
            if not math.isfinite(losses[-1]) or not math.isfinite(float(norm)):
                return losses, max_norm, True
    return losses, max_norm, False


def _final(losses: list[float], diverged: bool) -> float:
    """Mean of the last 20 losses, +inf if the run ended on a non-finite loss or gradient."""
    if diverged or not losses:
        return math.inf
    return float(np.mean(losses[-20:]))


def _clip_summary(m: dict) -> dict:
    out, rescued = {}, 0
    for k in range(m["clip_seeds"]):
        un, cl = m[f"unclipped_losses_seed{k}"], m[f"clipped_losses_seed{k}"]
        initial = float(np.mean(cl[:5]))
        out[f"initial_loss_seed{k}"] = initial
        out[f"unclipped_final_loss_seed{k}"] = _final(un, m[f"unclipped_diverged_seed{k}"])
        out[f"clipped_final_loss_seed{k}"] = _final(cl, m[f"clipped_diverged_seed{k}"])
        diverged = out[f"unclipped_final_loss_seed{k}"] >= initial
        trained = out[f"clipped_final_loss_seed{k}"] <= THRESHOLD["clip_trained_loss_ratio"] * initial
        rescued += diverged and trained
    out["clip_rescued_fraction"] = rescued / m["clip_seeds"]
    return out


def checks(m: dict) -> tuple[list[Check], list[Check]]:
    t = THRESHOLD
    d, ds = t["distance"], t["saturation_distance"]
    sat = m[f"grad_h_input_{INPUT_SCALES[1]}"][ds] / max(m[f"grad_h_input_{INPUT_SCALES[0]}"][ds], 1e-300)
    controls = [Check("sequence long enough for the distance compared", m["T"] - 1, ">=", d)]
    tests = [
        Check(f"gain 0.5: gradient at distance {d} relative to distance 0", m["grad_h_gain_0.5"][d], "<",
              t["vanish_max_ratio"]),
        Check(f"gain 3: gradient at distance {d} relative to distance 0", m["grad_h_gain_3.0"][d], ">",
              t["explode_min_ratio"]),
        Check(f"saturated / linear-range gradient at distance {ds}", sat, "<", t["saturation_max_ratio"]),
        Check("share of seeds: unclipped run diverges and clipped run trains", m["clip_rescued_fraction"], ">=",
              t["clip_min_fraction"]),
    ]
    return controls, tests


def verdict(m: dict) -> str:
    return decide(*checks(m))


def _figure(m: dict):
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.6))
    d = m["distances"]
    ax = axes[0, 0]
    for cell in CELLS:
        ax.semilogy(d, m[f"grad_h_{cell}"], color=CELL_COLORS[cell], label=CELL_LABELS[cell])
    ax.set_title("(a) default initialisation")
    ax = axes[0, 1]
    for gain, color in zip(GAINS, ("tab:blue", "tab:gray", "tab:red"), strict=True):
        ax.semilogy(d, m[f"grad_h_gain_{gain}"], color=color, label=f"Elman, W_hh gain {gain}")
    ax.set_title("(b) recurrent weight scale")
    ax = axes[1, 0]
    for scale, color in zip(INPUT_SCALES, ("tab:blue", "tab:orange"), strict=True):
        deriv = m[f"mean_tanh_derivative_input_{scale}"]
        ax.semilogy(d, m[f"grad_h_input_{scale}"], color=color,
                    label=f"input scale {scale} (mean tanh' = {deriv:.2f})")
    ax.set_title("(c) saturation (orthogonal W_hh)")
    for ax in (axes[0, 0], axes[0, 1], axes[1, 0]):
        ax.set_xlabel("distance from the loss (steps)")
        ax.set_ylabel("||dL/dh_t|| / ||dL/dh_T||")
        ax.legend(fontsize=7)
    ax = axes[1, 1]
    top = 10 * m["initial_loss_seed0"]
    for name, color in (("unclipped", "tab:red"), ("clipped", "tab:blue")):
        losses = m[f"{name}_losses_seed0"]
        finite = [min(v, top) for v in losses if math.isfinite(v)]
        ax.plot(smooth(finite, 5), color=color, label=f"{name} (max grad norm {m[f'{name}_max_grad_norm_seed0']:.1e})")
        if m[f"{name}_final_loss_seed0"] == math.inf:
            ax.plot(len(losses) - 1, top, "x", color=color, ms=10, label=f"{name}: diverged at update {len(losses)}")
    ax.set_ylim(0, top * 1.05)
    ax.set_xlabel("SGD update")
    ax.set_ylabel("training loss (capped at 10x initial)")
    ax.set_title("(d) ReLU Elman, W_hh gain 1.8 (seed 0)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
