"""`rnnkit evaluate --checkpoint DIR`: recompute a run's held-out metrics and baselines."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rnnkit.cli.runs import load_trained, metrics_document, set_threads, write_json
from rnnkit.training.errors import ConfigError


def add_parser(sub, task) -> None:
    p = sub.add_parser("evaluate", help="recompute held-out metrics and baselines of a trained run",
                       description="Rebuild the run's data (or --data), load the checkpoint and print the "
                       "metrics.json document: the model's held-out metrics and every baseline's.")
    p.add_argument("--checkpoint", type=Path, required=True, metavar="DIR",
                   help="a run folder (uses checkpoints/best, else last) or a checkpoint folder")
    p.add_argument("--split", default="test", choices=("test", "valid"), help="held-out split (default: test)")
    p.add_argument("--data", type=Path, metavar="PATH",
                   help="evaluate on other data in the task's format (it must fit the model, e.g. its vocabulary)")
    p.add_argument("--no-baselines", action="store_true", help="skip the baselines")
    p.add_argument("--output", type=Path, metavar="FILE", help="also write the JSON document to FILE")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default: auto)")
    p.add_argument("--threads", type=int, metavar="N", help="torch CPU threads")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time

    started = time.perf_counter()
    set_threads(args.threads)
    t = load_trained(args.checkpoint, args.device)
    task_cfg = t.task_cfg
    if args.data is not None:
        if not hasattr(task_cfg, "data"):
            raise ConfigError(f"task {t.task.name} takes no --data")
        task_cfg = task_cfg.for_data(str(args.data))
    data = t.task.build_data(task_cfg, t.train_cfg, meta=t.meta)
    metrics = t.task.evaluate(t.model, data, args.split)
    baselines = {} if args.no_baselines else t.task.baselines(data, args.split)
    doc = metrics_document(t.task, metrics, baselines, time.perf_counter() - started)
    print(json.dumps(doc, indent=2, ensure_ascii=False))
    if args.output:
        write_json(args.output, doc)
    return 0
