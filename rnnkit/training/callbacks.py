"""Trainer callbacks: progress bar, CSV and TensorBoard logs, plots. Each hook receives the trainer.

`default_callbacks(config, run_dir)` gives what `rnnkit train` uses, laid out as a run folder
(run_dir/logs/*.csv, run_dir/logs/tb, run_dir/plots) and switched by the config's `progress`,
`tensorboard` and `plots`; a `Trainer` runs only the callbacks it is given:
`Trainer(model, config, data, stepper, run_dir=run, callbacks=default_callbacks(config, run))`.

Hooks: `on_fit_start` (after a resume has restored the state), `on_update(row)` after every update,
`on_probe(result)` after a diagnostic probe, `on_eval(metrics)`, `on_fit_end` (training completed) and
`close` (always, also after an error or an interruption). Under torchrun only rank 0 runs the callbacks,
except those whose class sets `all_ranks = True`.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rnnkit.training.logging import CSVLog, TensorBoardLog

if TYPE_CHECKING:
    from rnnkit.training.diagnostics import ProbeResult
    from rnnkit.training.trainer import Trainer


class Callback:
    all_ranks: bool = False     # data-parallel runs: also run on ranks other than 0

    def on_fit_start(self, trainer: Trainer) -> None: ...

    def on_update(self, trainer: Trainer, row: dict[str, Any]) -> None: ...

    def on_probe(self, trainer: Trainer, result: ProbeResult) -> None: ...

    def on_eval(self, trainer: Trainer, metrics: dict[str, Any]) -> None: ...

    def on_fit_end(self, trainer: Trainer) -> None: ...

    def close(self) -> None: ...


class ProgressBar(Callback):
    """A tqdm bar over all updates: smoothed loss, learning rate, targets per second and ETA."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled, self.bar, self.smooth = enabled, None, None

    def on_fit_start(self, trainer: Trainer) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=trainer.total_steps, initial=trainer.state.step, unit="upd", dynamic_ncols=True,
                        disable=None if self.enabled else True, desc="train")

    def on_update(self, trainer: Trainer, row: dict[str, Any]) -> None:
        if self.bar is None:
            return
        if math.isfinite(row["loss"]):
            self.smooth = row["loss"] if self.smooth is None else 0.9 * self.smooth + 0.1 * row["loss"]
        self.bar.set_postfix(loss=f"{self.smooth:.4f}" if self.smooth is not None else "-",
                             lr=f"{row['lr']:.2e}", tok_s=f"{row['tokens_per_s']:.0f}", refresh=False)
        self.bar.update(1)

    def on_eval(self, trainer: Trainer, metrics: dict[str, Any]) -> None:
        if self.bar is not None:
            shown = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if isinstance(v, float))
            self.bar.write(f"update {trainer.state.step}: held-out {shown}", file=sys.stderr)

    def write(self, message: str) -> None:
        if self.bar is not None:
            self.bar.write(message, file=sys.stderr)   # stdout stays for results (e.g. JSON)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class CSVLogger(Callback):
    """folder/train.csv (one row per update), eval.csv, state_grads.csv (per step t) and gates.csv (a run
    folder's are in run_dir/logs)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        names = ("train", "eval", "state_grads", "gates")
        self.logs = {name: CSVLog(self.folder / f"{name}.csv") for name in names}

    def on_fit_start(self, trainer: Trainer) -> None:
        for log in self.logs.values():
            log.truncate_after(trainer.state.step)   # a resumed run redoes what came after its checkpoint

    def on_update(self, trainer: Trainer, row: dict[str, Any]) -> None:
        self.logs["train"].write(row)

    def on_eval(self, trainer: Trainer, metrics: dict[str, Any]) -> None:
        self.logs["eval"].write({"step": trainer.state.step, "epoch": trainer.epochs_done, **metrics})

    def on_probe(self, trainer: Trainer, result: ProbeResult) -> None:
        grads, gates = result.rows(trainer.state.step)
        for row in grads:
            self.logs["state_grads"].write(row)
        for row in gates:
            self.logs["gates"].write(row)


class TensorBoardLogger(Callback):
    """The same numbers as the CSV logs, as TensorBoard scalars in `folder` (a run folder's: run_dir/logs/tb)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder, self.tb = Path(folder), None

    def on_fit_start(self, trainer: Trainer) -> None:
        self.tb = TensorBoardLog(self.folder, purge_step=trainer.state.step + 1 if trainer.state.step else None)

    def on_update(self, trainer: Trainer, row: dict[str, Any]) -> None:
        keys = ("loss", "lr", "grad_norm", "tokens_per_s", "peak_mem_mb")
        self.tb.scalars("train", {k: row[k] for k in keys if k in row}, row["step"])

    def on_eval(self, trainer: Trainer, metrics: dict[str, Any]) -> None:
        self.tb.scalars("eval", metrics, trainer.state.step)

    def on_probe(self, trainer: Trainer, result: ProbeResult) -> None:
        step = trainer.state.step
        for name, layers in result.grad_h.items():
            for k, norms in enumerate(layers):
                if norms:
                    self.tb.scalars(f"grad_h/{name}.{k}", {"first_step": norms[0], "last_step": norms[-1]}, step)
        for name, gates in result.gates.items():
            self.tb.scalars(f"saturation/{name}", {g: s["saturated"] for g, s in gates.items()}, step)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


class Plotter(Callback):
    """matplotlib figures of run_dir/logs/*.csv (what CSVLogger(run_dir / "logs") writes) in run_dir/plots
    when training completes."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)

    def on_fit_end(self, trainer: Trainer) -> None:
        from rnnkit.training.plots import plot_run

        plot_run(self.run_dir)


def default_callbacks(config, run_dir: str | Path | None) -> list[Callback]:
    """The progress bar and, with a run folder, its CSV logs, TensorBoard logs and plots, as the config's
    `progress`, `tensorboard` and `plots` ask."""
    callbacks: list[Callback] = [ProgressBar(config.progress)]
    if run_dir is not None:
        run_dir = Path(run_dir)
        callbacks.append(CSVLogger(run_dir / "logs"))
        if config.tensorboard:
            callbacks.append(TensorBoardLogger(run_dir / "logs" / "tb"))
        if config.plots:
            callbacks.append(Plotter(run_dir))
    return callbacks
