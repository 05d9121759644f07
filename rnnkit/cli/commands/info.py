"""`rnnkit info`: a model summary (parameters per module, memory estimate) from a checkpoint or task options."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch

from rnnkit.cli import options as O
from rnnkit.cli.runs import build_model, count_parameters, load_trained
from rnnkit.tasks import get_task, task_names
from rnnkit.training.config import TrainConfig
from rnnkit.training.errors import RnnkitError
from rnnkit.training.runtime import seed_everything

OPTIMIZER_STATES = {"adam": 2, "adamw": 2, "sgd": 1}   # tensors of optimizer state per parameter


def add_parser(sub, task) -> None:
    p = sub.add_parser("info", help="model summary: parameters per module and a training-memory estimate",
                       description="Summarise a trained model (--checkpoint) or the model a training command "
                       "would build (--task and the same options as rnnkit train).")
    p.add_argument("--checkpoint", type=Path, metavar="DIR", help="a run folder or a checkpoint folder")
    p.add_argument("--task", help=f"summarise a new model of this task: {', '.join(task_names())}")
    p.add_argument("--config", type=Path, metavar="FILE", help="TOML file, as for rnnkit train")
    p.add_argument("--quick", action="store_true", default=None, help="the task's --quick settings")
    O.add_config_flags(p.add_argument_group("training"), TrainConfig,
                       task.train_defaults() if task is not None else {})
    if task is not None:
        O.add_config_flags(p.add_argument_group(f"task {task.name}"), task.config_class, dest_prefix="task_")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.checkpoint is not None:
        t = load_trained(args.checkpoint, "cpu")
        task, task_cfg, train_cfg, model, meta = t.task, t.task_cfg, t.train_cfg, t.model, t.meta
        source = f"checkpoint {t.path}"
    else:
        toml = O.read_toml(args.config) if args.config else {}
        name = args.task or toml.get("task")
        if name is None:
            raise O.ConfigError("pass --checkpoint DIR, or --task NAME with the options of rnnkit train")
        task = get_task(name)
        task_cfg, train_cfg, _ = O.assemble(task, args, toml, args.config, bool(args.quick or toml.get("quick")))
        meta, source = None, "new model from options"
    try:
        seed_everything(train_cfg.seed)
        data = task.build_data(task_cfg, train_cfg, meta=meta)
        meta = data.meta
        activations = _activation_bytes(task, task_cfg, train_cfg, data, meta)
        note = ""
    except RnnkitError as e:
        if meta is None:
            raise                      # a new model needs what the data defines (e.g. its vocabulary)
        data, activations, note = None, None, f" (not measured: {e})"
    if args.checkpoint is None:
        model = build_model(task, task_cfg, meta)

    print(f"task {task.name} ({source})")
    print(model)
    print(f"\n{'module':<28}{'parameters':>14}")
    for name, child in model.named_children():
        print(f"{name:<28}{count_parameters(child):>14,}")
    n = count_parameters(model)
    size = sum(p.numel() * p.element_size() for p in model.parameters())
    print(f"{'total':<28}{n:>14,}   ({_mib(size)} of weights)")
    k = OPTIMIZER_STATES[train_cfg.optimizer]
    print(f"\ntraining memory estimate ({train_cfg.optimizer}, batch {train_cfg.batch_size}):")
    print(f"  weights + gradients + optimizer state   {_mib(size * (2 + k))}")
    if activations is not None:
        window = math.ceil(train_cfg.window / train_cfg.k1) if train_cfg.bptt == "tbptt" else 1
        print(f"  activations kept for backward          {_mib(activations * window)} "
              f"(measured on one update{f' x {window} blocks in the TBPTT window' if window > 1 else ''})")
    else:
        print(f"  activations kept for backward          ?{note}")
    if data is not None:
        print(f"data: {data.summary}")
    return 0


def _activation_bytes(task, task_cfg, train_cfg, data, meta) -> int:
    """Bytes of the tensors autograd saves for the backward pass of one update (each storage once)."""
    model = build_model(task, task_cfg, meta)
    stepper = task.stepper(task_cfg, train_cfg)
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor):
        storage = t.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
        return t

    batch = next(iter(data.train.epoch(0)))
    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        stepper.update(model, batch)
    return sum(b for ptr, b in seen.items() if ptr not in weights)


def _mib(n: float) -> str:
    return f"{n / 2**20:,.1f} MiB"
