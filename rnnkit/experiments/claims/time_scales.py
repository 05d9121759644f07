"""Claim 4: trained LSTM units keep memories over different time scales, set by their forget gates."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch

from rnnkit.experiments.common import SeqModel, fit, generator, seeded
from rnnkit.experiments.result import Check, ClaimResult, decide

ID = "time_scales"
TITLE = "Different time scales from the forget gate"
STATEMENT = (
    "An LSTM trained on data that mixes fast and slow dynamics spreads its units over different memory time "
    "scales: a unit whose forget gate sits at f keeps a fraction f of its cell state per step, i.e. a time "
    "constant tau = -1/ln f steps, and training moves these constants apart."
)
METHOD = (
    "Input: one Gaussian noise channel. Targets at every step: three exponential moving averages of the "
    "input with time constants 2, 10 and 50 steps (normalised to unit variance). An LSTM with 16 units "
    "(forget-gate bias 1, so every unit starts near f = 0.73, tau = 3) is trained with Adam (lr 3e-3) on "
    "mean-squared error. Each unit's forget value is its median over fresh test sequences (second half of "
    "each sequence); its time constant is -1/ln f. The spread is the ratio of the 90th to the 10th "
    "percentile of tau over units, before and after training."
)
TARGET_TAUS = (2.0, 10.0, 50.0)
THRESHOLD = {
    "max_normalised_mse": 0.2,     # control: the trained model fits the targets (MSE / variance, averaged)
    "min_spread_ratio": 4.0,       # p90(tau) / p10(tau) after training at least this
    "min_spread_growth": 2.0,      # and at least this many times the spread at initialisation
    "min_slowest_tau": 25.0,       # the slowest unit's tau reaches half the slowest target's
}
CONFIG = {True: {"T": 100, "steps": 500, "hidden": 16}, False: {"T": 200, "steps": 2000, "hidden": 16}}


def ema_batch(gen: torch.Generator, batch: int, T: int) -> tuple[torch.Tensor, torch.Tensor]:
    """x (B, T, 1) Gaussian noise; y (B, T, 3): its moving averages y_t = (1 - 1/tau) y_{t-1} + x_t / tau,
    scaled to unit stationary variance."""
    x = torch.randn(batch, T, 1, generator=gen)
    ys = []
    for tau in TARGET_TAUS:
        a = 1.0 / tau
        y, out = torch.zeros(batch), []
        for t in range(T):
            y = (1 - a) * y + a * x[:, t, 0]
            out.append(y)
        var = a * a / (1 - (1 - a) ** 2)                 # stationary variance of the average
        ys.append(torch.stack(out, 1) / math.sqrt(var))
    return x, torch.stack(ys, -1)


def _mse(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return ((pred - y) ** 2).mean()


@torch.no_grad()
def _taus(model: SeqModel, x: torch.Tensor) -> np.ndarray:
    _, _, record = model.rnn(x, return_record=True)
    f = record.get("f")[:, x.shape[1] // 2:]            # (B, T/2, H): skip the start-up transient
    f_unit = f.reshape(-1, f.shape[-1]).median(0).values.clamp(1e-6, 1 - 1e-9).double()
    return (-1.0 / torch.log(f_unit)).numpy()


def run(quick: bool, seed: int) -> ClaimResult:
    cfg = CONFIG[quick]
    with seeded(seed):
        model = SeqModel("lstm", 1, cfg["hidden"], len(TARGET_TAUS), every_step=True, forget_bias=1.0)
        x_test, y_test = ema_batch(generator(seed + 2), 64, cfg["T"])
        tau_init = _taus(model, x_test)
        gen = generator(seed + 1)
        losses = fit(model, lambda: ema_batch(gen, 32, cfg["T"]), cfg["steps"], lr=3e-3, loss_fn=_mse)
        tau_trained = _taus(model, x_test)
        with torch.no_grad():
            pred = model(x_test)
        half = cfg["T"] // 2
        nmse = [float(_mse(pred[:, half:, k], y_test[:, half:, k]) / y_test[:, half:, k].var())
                for k in range(len(TARGET_TAUS))]
    m = {
        "target_taus": list(TARGET_TAUS), "tau_init": tau_init.tolist(), "tau_trained": tau_trained.tolist(),
        "normalised_mse_per_target": nmse, "normalised_mse_mean": float(np.mean(nmse)),
        "final_train_loss": float(np.mean(losses[-20:])),
        "spread_init": _spread(tau_init), "spread_trained": _spread(tau_trained),
        "slowest_tau_trained": float(tau_trained.max()), "fastest_tau_trained": float(tau_trained.min()),
    }
    return ClaimResult(m, _figure(m))


def _spread(tau: np.ndarray) -> float:
    return float(np.percentile(tau, 90) / np.percentile(tau, 10))


def checks(m: dict) -> tuple[list[Check], list[Check]]:
    t = THRESHOLD
    controls = [Check("mean normalised MSE of the trained model", m["normalised_mse_mean"], "<",
                      t["max_normalised_mse"])]
    tests = [
        Check("tau spread after training (p90 / p10)", m["spread_trained"], ">=", t["min_spread_ratio"]),
        Check("spread after / spread at initialisation", m["spread_trained"] / m["spread_init"], ">=",
              t["min_spread_growth"]),
        Check("slowest unit's tau after training", m["slowest_tau_trained"], ">=", t["min_slowest_tau"]),
    ]
    return controls, tests


def verdict(m: dict) -> str:
    return decide(*checks(m))


def _figure(m: dict):
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    taus = np.concatenate([m["tau_init"], m["tau_trained"]])
    bins = np.logspace(np.log10(max(taus.min(), 0.1)) - 0.1, np.log10(taus.max()) + 0.1, 30)
    ax.hist(m["tau_init"], bins=bins, alpha=0.6, color="tab:gray", label="at initialisation")
    ax.hist(m["tau_trained"], bins=bins, alpha=0.7, color="tab:blue", label="after training")
    for k, tau in enumerate(m["target_taus"]):
        ax.axvline(tau, color="tab:red", ls="--", lw=1, label="target time constants" if k == 0 else None)
    ax.set_xscale("log")
    ax.set_xlabel("unit time constant tau = -1 / ln(median forget value)  [steps]")
    ax.set_ylabel("units")
    ax.set_title(f"LSTM forget-gate time constants (spread p90/p10: {m['spread_init']:.1f} -> "
                 f"{m['spread_trained']:.1f})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
