"""Plots of a backtest: forecasts with their intervals against the actuals, and error by horizon step."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.tasks.forecast.metrics import mase
from rnnkit.training.plots import save_figure


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_forecasts(path: Path, time: np.ndarray, target: np.ndarray, origins: np.ndarray, horizon: int,
                   forecasts: dict[str, np.ndarray], scores: dict[str, float], interval: float, title: str) -> Path:
    """Actuals (with one horizon of history before the first origin) and, from non-overlapping origins,
    each forecaster's median; the first forecaster (the model) also gets its shaded interval."""
    plt = _pyplot()
    stride = max(1, -(-horizon // max(1, int(origins[1] - origins[0]) if len(origins) > 1 else horizon)))
    shown = np.arange(0, len(origins), stride)
    start = max(0, int(origins[0]) - 2 * horizon)
    fig, ax = plt.subplots(figsize=(11, 4.5))
    ax.plot(time[start:], target[start:], color="black", lw=1.2, label="actual")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, (name, q) in enumerate(forecasts.items()):
        color = colors[k % len(colors)]
        for j, i in enumerate(shown):
            o = int(origins[i])
            steps = time[o: o + horizon]
            label = f"{name} (MASE {scores[name]:.3f})" if j == 0 else None
            ax.plot(steps, q[i, :, 1], color=color, lw=1.4 if k == 0 else 1.0, ls="-" if k == 0 else "--",
                    label=label)
            if k == 0:
                ax.fill_between(steps, q[i, :, 0], q[i, :, 2], color=color, alpha=0.2, lw=0,
                                label=f"{name} {interval:.0%} interval" if j == 0 else None)
    ax.axvline(time[int(origins[0])], color="grey", lw=0.8, ls=":")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper left")
    fig.autofmt_xdate()
    fig.tight_layout()
    return save_figure(fig, path)


def plot_error_by_horizon(path: Path, actual: np.ndarray, forecasts: dict[str, np.ndarray], scale: float,
                          title: str) -> Path:
    """MASE of each forecaster at each horizon step h = 1 .. H (pooled over origins)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    h = np.arange(1, actual.shape[1] + 1)
    for name, q in forecasts.items():
        ax.plot(h, [mase(actual[:, j], q[:, j, 1], scale) for j in range(len(h))], marker="o", ms=3, label=name)
    ax.set_xlabel("horizon step")
    ax.set_ylabel("MASE")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)
