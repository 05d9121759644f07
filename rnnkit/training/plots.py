"""matplotlib figures from a run's CSV logs (`rnnkit.training.callbacks.CSVLogger`) into `run_dir/plots`.

* training.png: loss per update with held-out metrics, global gradient norm, peak memory per update.
* state_grads.png: ||dJ/dh_t|| and ||dl_T/dh_t|| against the step t, for the first and the last probe
  (vanishing gradients fall to the left; exploding ones rise).
* gates.png: share of saturated gate units over training, per gate.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from rnnkit.training.logging import read_csv


def plot_run(run_dir: str | Path) -> list[Path]:
    """Draw whatever the logs hold; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    logs, out = run_dir / "logs", run_dir / "plots"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if (logs / "train.csv").exists():
        written.append(_training(plt, read_csv(logs / "train.csv"), _maybe(logs / "eval.csv"), out))
    if (logs / "state_grads.csv").exists():
        written.append(_state_grads(plt, read_csv(logs / "state_grads.csv"), out))
    if (logs / "gates.csv").exists():
        written.append(_gates(plt, read_csv(logs / "gates.csv"), out))
    return written


def save_figure(fig, path: str | Path, dpi: int = 110, tight: bool = False) -> Path:
    """Write a matplotlib figure as PNG (making its folder), close it, and return the path."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, **({"bbox_inches": "tight"} if tight else {}))
    plt.close(fig)
    return path


def _maybe(path: Path) -> list[dict]:
    return read_csv(path) if path.exists() else []


def _col(rows: list[dict], key: str) -> list[float]:
    return [float(r[key]) if r.get(key) not in (None, "") else float("nan") for r in rows]


def _training(plt, rows, evals, out: Path) -> Path:
    steps = _col(rows, "step")
    fig, axes = plt.subplots(1, 4, figsize=(18, 4))
    loss = _col(rows, "loss")
    smooth, ema = [], None
    for v in loss:
        ema = v if ema is None or v != v else 0.95 * ema + 0.05 * v
        smooth.append(ema)
    axes[0].plot(steps, loss, lw=0.5, alpha=0.4, label="per update")
    axes[0].plot(steps, smooth, lw=1.2, label="moving average")
    axes[0].set(xlabel="update", ylabel="objective", title="training loss")
    axes[0].legend(fontsize=8)
    for key in [k for k in (evals[0] if evals else {}) if k not in ("step", "epoch")]:
        axes[1].plot(_col(evals, "step"), _col(evals, key), "o-", ms=3, label=key)
    axes[1].set(xlabel="update", title="held-out metrics")
    if evals:
        axes[1].legend(fontsize=8)
    axes[2].semilogy(steps, _col(rows, "grad_norm"), lw=0.6)
    axes[2].set(xlabel="update", ylabel="||g|| before clipping", title="global gradient norm")
    axes[3].plot(steps, _col(rows, "peak_mem_mb"), lw=0.8)
    axes[3].set(xlabel="update", ylabel="MiB", title=f"peak memory per update ({rows[0].get('mem', '')})")
    fig.tight_layout()
    return save_figure(fig, out / "training.png", dpi=100)


def _state_grads(plt, rows, out: Path) -> Path:
    by_probe: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_probe[r["step"]].append(r)
    probes = sorted(by_probe, key=int)
    picks = [probes[0], probes[-1]] if len(probes) > 1 else probes
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharex=True)
    for ax, key, title in ((axes[0], "grad_h", "||dJ/dh_t||: the update's objective J"),
                           (axes[1], "grad_h_last", "||dl_T/dh_t||: the last step's loss only")):
        for step in picks:
            series: dict[tuple, list] = defaultdict(list)
            for r in by_probe[step]:
                series[(r["module"], r["layer"])].append((int(r["t"]), r[key]))
            for (module, layer), pts in series.items():
                pts.sort()
                ys = [float(v) if v not in ("", None) else float("nan") for _, v in pts]
                ax.semilogy([t for t, _ in pts], ys, "o-", ms=2, label=f"update {step}, {module} layer {layer}")
        ax.set(xlabel="step t within the window", ylabel="gradient norm", title=title)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, out / "state_grads.png")


def _gates(plt, rows, out: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4))
    series: dict[str, list] = defaultdict(list)
    for r in rows:
        series[f"{r['module']}.{r['gate']}"].append((int(r["step"]), float(r["saturated"])))
    for name, pts in sorted(series.items()):
        ax.plot([s for s, _ in pts], [v for _, v in pts], "o-", ms=3, label=name)
    ax.set(xlabel="update", ylabel="share saturated (<0.05 or >0.95; tanh beyond ±0.95)",
           title="gate saturation")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, out / "gates.png")
