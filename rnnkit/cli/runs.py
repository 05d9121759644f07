"""Run folders: what `rnnkit train` writes and what `evaluate`, `predict`, `generate` and `info` read.

    OUT/config.json          task name, task options, training options (the run's identity)
    OUT/checkpoints/last/    latest state (resume from here); OUT/checkpoints/best/: best held-out metric
    OUT/logs/                train.csv, eval.csv, state_grads.csv, gates.csv, tb/ (TensorBoard)
    OUT/plots/               training.png, state_grads.png, gates.png
    OUT/metrics.json         {"task", "primary", "higher_is_better", "model", "baselines", "seconds"}
"""

from __future__ import annotations

import contextlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

import rnnkit
from rnnkit.tasks import get_task
from rnnkit.training.checkpoint import MANIFEST, find_checkpoint, load_checkpoint, load_model_state, write_atomic
from rnnkit.training.config import TrainConfig
from rnnkit.training.errors import CheckpointError, ConfigError
from rnnkit.training.runtime import resolve_device

# What `train` writes into a run folder (glob patterns), and all that --overwrite deletes: a file of the
# user's in the same folders (logs/notes.txt, plots/mine.png) is left alone.
RUN_FILES = (
    "config.json", "metrics.json", "samples.txt", "forecasts_*.csv",
    "checkpoints/last", "checkpoints/best", "checkpoints/.tmp-*",
    "logs/train.csv", "logs/eval.csv", "logs/state_grads.csv", "logs/gates.csv", "logs/tb",
    "plots/training.png", "plots/state_grads.png", "plots/gates.png", "plots/captions.png", "plots/clips.png",
    "plots/confusion.png", "plots/confusion_*.png", "plots/alignment_*.png", "plots/forecast_*.png",
    "plots/mase_by_horizon_*.png", "plots/attention_*.png", "plots/exact_match_by_length_*.png",
    "examples/train_*.png", "examples/valid_*.png", "examples/test_*.png",
    "examples/train_*.npy", "examples/valid_*.npy", "examples/test_*.npy", ".tmp-*", "logs/.tmp-*",
)


def write_json(path: Path, obj: Any) -> None:
    write_atomic(path, (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no {what} there") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: corrupt {what} ({e})") from None


def run_config(task, task_cfg, train_cfg: TrainConfig, source: str | None = None) -> dict[str, Any]:
    """config.json; `source` is the task's import path when it was named by one (`--task mypkg.tasks:Mine`)."""
    doc = {"task": task.name, "task_config": task_cfg.to_dict(), "train": train_cfg.to_dict(),
           "rnnkit_version": rnnkit.__version__}
    if source is not None and source != task.name:
        doc["task_source"] = source
    return doc


def task_ref(run: dict[str, Any]) -> str | None:
    """How to find a run's task again: its import path if it was named by one, else its name."""
    return run.get("task_source", run.get("task"))


def prepare_out(out: Path, resume: bool, overwrite: bool) -> None:
    """Refuse to mix two runs in one folder unless asked to resume or to start over. (A run that has not
    checkpointed yet may still be running, so its folder is refused too, with a hint.) The caller holds
    the folder's run lock (`runlock.hold`): a run training there now has been refused already."""
    if (out / "config.json").exists() and not _is_run_config(out / "config.json"):
        raise ConfigError(f"{out} holds a config.json that is not an rnnkit run's; a run would write over it: "
                          "choose another --out")
    holds_run = (out / "config.json").exists() or (out / "checkpoints" / "last").exists()
    started = (out / "checkpoints" / "last").exists() or (out / "metrics.json").exists()
    if resume:
        if not (out / "checkpoints" / "last").exists():
            hint = "start it again with --overwrite" if holds_run else "start the run without --resume"
            raise ConfigError(f"nothing to resume in {out}: it has no checkpoints/last ({hint})")
        return
    if holds_run and not overwrite:
        if not started:
            raise ConfigError(f"{out} holds a run that has not saved a checkpoint (still starting, or it stopped "
                              "early): if none is running there, pass --overwrite to start over")
        raise ConfigError(f"{out} already holds a run; pass --resume to continue it, --overwrite to start over, "
                          "or choose another --out")
    if holds_run:
        delete_run_files(out)
    out.mkdir(parents=True, exist_ok=True)


def saved_task_meta(out: Path) -> dict[str, Any] | None:
    """The task meta (vocabulary, classes, scalers...) in `out`'s checkpoints/last, read from its manifest
    alone; None where there is none (the trainer then reports the checkpoint's problem)."""
    try:
        manifest = json.loads((out / "checkpoints" / "last" / MANIFEST).read_text(encoding="utf-8"))
        meta = manifest["meta"]["task_meta"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return meta if isinstance(meta, dict) else None


def delete_run_files(out: Path) -> None:
    """Delete what `train` wrote in `out` (RUN_FILES, and the audio examples/transcripts.tsv lists), then the
    folders that this leaves empty."""
    listing = out / "examples" / "transcripts.tsv"
    if listing.is_file():
        with contextlib.suppress(OSError, UnicodeDecodeError):
            for line in listing.read_text(encoding="utf-8").splitlines()[1:]:
                name = line.split("\t", 1)[0]
                if name.endswith(".wav") and "/" not in name and "\\" not in name:
                    (out / "examples" / name).unlink(missing_ok=True)
        listing.unlink(missing_ok=True)
    for pattern in RUN_FILES:
        for p in out.glob(pattern):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink(missing_ok=True)
    for folder in ("checkpoints", "logs", "plots", "examples"):
        with contextlib.suppress(OSError):     # not there, or still holding the user's files
            (out / folder).rmdir()


def is_run_config(doc: Any) -> bool:
    """Whether `doc` (a parsed config.json) is an rnnkit run's: a user's own config.json is not."""
    return isinstance(doc, dict) and "task" in doc and "train" in doc


def _is_run_config(path: Path) -> bool:
    try:
        return is_run_config(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return False


def metrics_document(task, model_metrics: dict[str, float], baselines: dict[str, dict[str, float]],
                     seconds: float) -> dict[str, Any]:
    return {"task": task.name, "primary": task.primary, "higher_is_better": task.higher_is_better,
            "model": model_metrics, "baselines": baselines, "seconds": round(seconds, 2)}


@dataclass
class Trained:
    """A trained model rebuilt from a checkpoint, with everything needed to use it."""

    task: Any
    task_cfg: Any
    train_cfg: TrainConfig
    model: nn.Module
    meta: dict[str, Any]
    path: Path


def load_trained(path: str | Path, device: str = "auto") -> Trained:
    """From a run folder (its best, else last checkpoint) or a checkpoint folder."""
    folder = find_checkpoint(path)
    ck = load_checkpoint(folder)
    run = ck.meta.get("run") or {}
    if "task" not in run:
        raise CheckpointError(f"{folder} was not written by `rnnkit train` (no task recorded); load it with "
                              "rnnkit.training.load_checkpoint instead")
    task = get_task(task_ref(run))
    task_cfg = task.config_class.from_dict(run["task_config"], str(folder))
    train_cfg = TrainConfig.from_dict(run["train"], str(folder))
    model = build_model(task, task_cfg, ck.meta["task_meta"])
    load_model_state(model, ck.model, folder)
    model.to(resolve_device(device)).eval()
    return Trained(task, task_cfg, train_cfg, model, ck.meta["task_meta"], folder)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def set_threads(n: int | None) -> None:
    if n:
        torch.set_num_threads(n)


def build_model(task, task_cfg, meta: dict[str, Any]) -> nn.Module:
    """`task.build_model`, with a model library's refusal of a setting (ValueError) as one clear line."""
    try:
        return task.build_model(task_cfg, meta)
    except ValueError as e:
        raise ConfigError(f"task {task.name}: these model settings do not fit together: {e}") from e
