"""`rnnkit train --task NAME ...`: train a task's model, with its baselines, into a run folder."""

from __future__ import annotations

import argparse
import contextlib
import math
import time
from pathlib import Path

import torch

from rnnkit.cli import options as O
from rnnkit.cli.runs import (
    build_model,
    count_parameters,
    is_run_config,
    metrics_document,
    prepare_out,
    read_json,
    run_config,
    saved_task_meta,
    task_ref,
    write_json,
)
from rnnkit.tasks import get_task, task_names
from rnnkit.training import distributed, runlock
from rnnkit.training.callbacks import default_callbacks
from rnnkit.training.checkpoint import load_checkpoint, load_model_state
from rnnkit.training.config import TrainConfig
from rnnkit.training.errors import DataError
from rnnkit.training.runtime import Precision, resolve_device, seed_everything
from rnnkit.training.sharding import shard_source
from rnnkit.training.tbptt import TBPTT
from rnnkit.training.trainer import Trainer

EXAMPLES = """examples:
  rnnkit train --task charlm --quick                        # a one-minute run on four Shakespeare plays
  rnnkit train --task charlm --data corpus.txt --cell gru --bptt tbptt --k1 32 --k2 64 --out runs/mine
  rnnkit train --out runs/mine --resume                     # continue an interrupted run exactly
  rnnkit train --config run.toml --epochs 5                 # options from a TOML file, a flag on top
  torchrun --nproc_per_node 4 -m rnnkit train --task charlm  # data-parallel: 4 processes, rank 0 writes
"""


def add_parser(sub, task) -> None:
    p = sub.add_parser("train", help="train a task's model (with its baselines) into a run folder",
                       description="Train a task's model and measure its baselines in the same run. The output "
                       "folder gets checkpoints/{last,best}, logs/ (CSV, TensorBoard), plots/ and metrics.json.",
                       epilog=EXAMPLES + f"\ntasks: {', '.join(task_names())} (add --task NAME --help for a "
                       "task's own options)", formatter_class=argparse.RawDescriptionHelpFormatter)
    run_opts = p.add_argument_group("run")
    run_opts.add_argument("--task", help=f"what to train: {', '.join(task_names())}")
    run_opts.add_argument("--config", type=Path, metavar="FILE",
                          help="TOML file: top-level task/out/quick, a [train] table and a [TASK] table")
    run_opts.add_argument("--quick", action="store_true", default=None,
                          help="the task's small settings: about a minute on 2 CPU cores (for tests and demos)")
    run_opts.add_argument("--out", type=Path, metavar="DIR",
                          help="run folder (default: runs/TASK-YYYYmmdd-HHMMSS)")
    run_opts.add_argument("--resume", action="store_true",
                          help="continue the run in --out from its last checkpoint, exactly where it stopped")
    run_opts.add_argument("--overwrite", action="store_true", help="delete a previous run in --out first")
    defaults = task.train_defaults() if task is not None else {}
    O.add_config_flags(p.add_argument_group("training"), TrainConfig, defaults)
    if task is not None:
        O.add_config_flags(p.add_argument_group(f"task {task.name}: {task.description}"), task.config_class,
                           dest_prefix="task_")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with contextlib.ExitStack() as cleanup:
        return _run(args, cleanup)


def _run(args: argparse.Namespace, cleanup: contextlib.ExitStack) -> int:
    started = time.perf_counter()
    toml = O.read_toml(args.config) if args.config else {}
    name = args.task or toml.get("task")
    out_given = args.out or (Path(toml["out"]) if "out" in toml else None)
    saved = None
    if args.resume:   # the run's own config, read once: its task (if not given) and the settings to continue
        if out_given is None:
            raise O.ConfigError("--resume needs --out DIR, the folder of the run to continue")
        if not (out_given / "config.json").exists():
            raise O.ConfigError(f"nothing to resume in {out_given}: it holds no run (start it without --resume)")
        saved = read_json(out_given / "config.json", "run config")
        if not is_run_config(saved):
            raise O.ConfigError(f"nothing to resume in {out_given}: its config.json is not an rnnkit run's")
        name = name or task_ref(saved)
    if name is None:
        raise O.ConfigError(f"which task? pass --task NAME (available: {', '.join(task_names())})")
    task = get_task(name)
    if args.config:
        O.check_toml(toml, args.config, task.name)
    quick = bool(args.quick if args.quick is not None else toml.get("quick", False))
    task_cfg, train_cfg, explicit = O.assemble(task, args, toml, args.config, quick)
    out = out_given or Path("runs") / f"{task.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    if saved is not None:
        if saved.get("task") != task.name:
            raise O.ConfigError(f"{out} holds a {saved.get('task')!r} run, not {task.name!r}")
        task_cfg, train_cfg = O.resume_configs(task, saved, explicit, out)
    group = distributed.setup(train_cfg.device)    # under torchrun: rank 0 prepares, logs and reports
    main = group is None or group.is_main
    say = print if main else lambda *a, **k: None
    Precision(train_cfg.precision, group.device if group else resolve_device(train_cfg.device))  # fail early
    # the folder is this command's from the first check to metrics.json: a second train there is refused
    release = distributed.on_main(lambda: runlock.hold(out), f"lock {out}")
    if release is not None:
        cleanup.callback(release)
    if not args.overwrite:   # refuse a folder in use before any work; --overwrite deletes only once all is checked
        distributed.on_main(lambda: prepare_out(out, args.resume, False), f"prepare {out}")

    seed_everything(train_cfg.seed, train_cfg.deterministic)
    ranks = f" on {group.world_size} processes ({group.backend})" if group else ""
    say(f"rnnkit train: task {task.name} -> {out}{ranks}" + (" (resuming)" if args.resume else ""), flush=True)
    # a resumed run encodes its data with the vocabulary/classes/scalers it was trained with (refusing data
    # they cannot encode), so a changed --data file cannot shift ids or scales under the trained weights
    saved_meta = saved_task_meta(out) if args.resume else None
    try:
        data = task.build_data(task_cfg, train_cfg, meta=saved_meta)
    except DataError as e:
        if saved_meta is None:
            raise
        raise DataError(f"resuming {out}: {e} (did the data change since the run started?)") from None
    if group is not None:   # a batch layout the ranks cannot split fails now, before the baselines' minutes
        shard_source(data.train, group.rank, group.world_size)
    say(f"data: {data.summary}", flush=True)
    with torch.random.fork_rng():       # refuse settings that do not fit before the baselines' minutes,
        build_model(task, task_cfg, data.meta)   # without moving the random state the results come from
    if args.overwrite:
        distributed.on_main(lambda: prepare_out(out, args.resume, True), f"prepare {out}")
    baselines = task.baselines(data, "test") if main else {}
    model = build_model(task, task_cfg, data.meta)
    stepper = task.stepper(task_cfg, train_cfg)
    bptt = f"TBPTT(k1={stepper.k1}, k2={stepper.k2})" if isinstance(stepper, TBPTT) else "full BPTT"  # what runs
    say(f"model: {type(model).__name__}, {task_cfg.cell}, {count_parameters(model):,} parameters; {bptt}, "
        f"{len(data.train)} update{'s' if len(data.train) != 1 else ''} per epoch", flush=True)
    config = run_config(task, task_cfg, train_cfg, source=name)
    if not args.resume:
        distributed.on_main(lambda: write_json(out / "config.json", config), "write config.json")

    trainer = Trainer(model, train_cfg, data.train, stepper, evaluate=lambda m: task.evaluate(m, data, "valid"),
                      primary=task.primary, higher_is_better=task.higher_is_better, run_dir=out,
                      run_config=config, meta=data.meta, callbacks=default_callbacks(train_cfg, out))
    state = trainer.fit(resume=args.resume)
    distributed.shutdown(wait=True)     # (an error leaves the group in main(), after printing its line)
    if not main:
        return 0                                    # rank 0 evaluates on the test split and reports
    if state.stop_reason:
        print(state.stop_reason)

    best = out / "checkpoints" / "best"
    if best.exists():
        load_model_state(model, load_checkpoint(best).model, best)
    final = task.evaluate(model, data, "test")
    seconds = trainer.previous_seconds + time.perf_counter() - started   # earlier sessions' training + this one
    metrics = metrics_document(task, final, baselines, seconds)
    write_json(out / "metrics.json", metrics)
    _report(task, metrics, state, out)
    if train_cfg.plots and hasattr(task, "report"):    # the task's own figures (forecast, confusion matrix...)
        for path in task.report(model, data, "test", out):
            print(f"{'plot' if path.suffix in ('.png', '.svg', '.pdf') else 'table'}: {path}")
    if hasattr(task, "generate"):
        sample = task.generate(model, data.meta, length=400, temperature=0.8, top_k=0, seed=train_cfg.seed)
        (out / "samples.txt").write_text(sample + "\n", encoding="utf-8")
        print(f"\nsample (temperature 0.8):\n{sample[:400]}\n")
    return 0


def _report(task, metrics: dict, state, out: Path) -> None:
    primary = task.primary
    rows = [("model", metrics["model"].get(primary))] + [(n, m.get(primary)) for n, m in metrics["baselines"].items()]
    print(f"\nheld-out (test) {primary} ({'higher' if task.higher_is_better else 'lower'} is better), "
          f"{state.step} updates, {metrics['seconds']:.0f} s:")
    width = max(22, *(len(n) for n, _ in rows))
    for n, v in rows:
        print(f"  {n:<{width}} {v:.4f}" if isinstance(v, float) and math.isfinite(v) else f"  {n:<{width}} {v}")
    print(f"metrics: {out / 'metrics.json'}")
