"""Data-parallel scaling: the trainer's throughput on 1 and 2 processes (torchrun, gloo, CPU) and its efficiency.

    .venv/bin/python benchmarks/ddp_scaling.py                   # 1 and 2 processes, weak scaling
    .venv/bin/python benchmarks/ddp_scaling.py --procs 1 2 4 --scaling strong --hidden 512

The workload is `rnnkit train --task charlm`'s: the charlm model (embedding, LSTM, linear over the
vocabulary) trained by the generic Trainer with TBPTT(k1) over contiguous streams, on random tokens. A
sequence is one row of one batch, k1 characters. Each process runs one thread (OMP_NUM_THREADS=1), so N
processes use N cores; the 1-process run is the baseline, launched the same way.

    weak scaling     each process keeps --rows rows: the global batch grows with N (ideal: N x the throughput)
    strong scaling   the global batch is --rows, split across the N processes (ideal: N x as well)
    efficiency       throughput(N) / (N * throughput(1))

Each configuration warms up (--warmup updates, after the compiled loops are built once here) and then
times --updates updates on rank 0; the ranks move in lockstep, since every update ends in an all-reduce.
On a shared machine other jobs take cores too: the load average is printed beside each result.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def options(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--procs", type=int, nargs="+", default=[1, 2], help="process counts to compare (default 1 2)")
    p.add_argument("--scaling", choices=("weak", "strong"), default="weak")
    p.add_argument("--rows", type=int, default=32, help="rows per process (weak) or in all (strong)")
    p.add_argument("--k1", type=int, default=64, help="TBPTT steps per update")
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--cell", choices=("elman", "lstm", "gru"), default="lstm")
    p.add_argument("--warmup", type=int, default=5, help="updates before timing")
    p.add_argument("--updates", type=int, default=30, help="timed updates")
    p.add_argument("--json", type=Path, help="also write the results here")
    p.add_argument("--worker", type=Path, help=argparse.SUPPRESS)     # internal: run one config, write JSON
    return p.parse_args(argv)


# ---- one configuration, under torchrun ------------------------------------------------------------
def worker(args: argparse.Namespace) -> None:
    from rnnkit.tasks.charlm import CharLMConfig, CharRNN, char_loss
    from rnnkit.training import TBPTT, Callback, ContiguousStream, TrainConfig, Trainer, distributed

    torch.set_num_threads(1)
    torch.manual_seed(0)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rows = args.rows * world if args.scaling == "weak" else args.rows
    steps = args.warmup + args.updates
    tokens = torch.randint(0, 65, (rows * args.k1 * steps + 1,))
    data = ContiguousStream.language_model(tokens, rows, args.k1, name="bench", drop_last=True)
    model = CharRNN(65, CharLMConfig(cell=args.cell, hidden=args.hidden, embed=64))
    cfg = TrainConfig(max_steps=steps, batch_size=rows, k1=args.k1, device="cpu", eval_every=0,
                      checkpoint_every=10**6, progress=False, tensorboard=False, plots=False)

    class Clock(Callback):
        def __init__(self) -> None:
            self.times: list[float] = []

        def on_update(self, trainer, row) -> None:
            self.times.append(time.perf_counter())

    clock = Clock()
    trainer = Trainer(model, cfg, data, TBPTT(args.k1, args.k1, char_loss), callbacks=[clock])
    trainer.fit()
    if trainer.dist is None or trainer.dist.is_main:
        seconds = clock.times[-1] - clock.times[args.warmup - 1]
        args.worker.write_text(json.dumps({"procs": world, "global_rows": rows, "updates": args.updates,
                                           "seconds": seconds}))
    distributed.shutdown()


# ---- the comparison --------------------------------------------------------------------------------
def warm_build() -> None:
    """Build (or load) the compiled loops once, so that no timed process compiles them."""
    import rnnkit

    lstm = rnnkit.LSTM(4, 8, batch_first=True)
    lstm(torch.zeros(2, 3, 4))[0].sum().backward()


def run(args: argparse.Namespace, procs: int, scratch: Path) -> dict:
    out = scratch / f"result-{procs}.json"
    flags = ["--scaling", args.scaling, "--rows", str(args.rows), "--k1", str(args.k1), "--hidden",
             str(args.hidden), "--cell", args.cell, "--warmup", str(args.warmup), "--updates", str(args.updates)]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={procs}",
           __file__, "--worker", str(out), *flags]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    load_before = os.getloadavg()[0]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{procs} process(es) failed:\n{done.stderr[-3000:]}")
    result = json.loads(out.read_text())
    seqs = result["global_rows"] * result["updates"]
    result.update(sequences_per_s=seqs / result["seconds"], tokens_per_s=seqs * args.k1 / result["seconds"],
                  load_before=load_before, load_after=os.getloadavg()[0])
    return result


def main(argv: list[str] | None = None) -> int:
    args = options(argv)
    if args.worker:
        worker(args)
        return 0
    warm_build()
    print(f"DDP scaling ({args.scaling}): charlm {args.cell} H={args.hidden}, TBPTT k1={args.k1}, {args.rows} rows "
          f"{'per process' if args.scaling == 'weak' else 'in all'}; gloo on CPU, 1 thread per process; "
          f"{os.cpu_count()} CPUs, torch {torch.__version__}")
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        for procs in args.procs:
            results.append(run(args, procs, Path(scratch)))
    base = next((r for r in results if r["procs"] == 1), None)
    print(f"{'procs':>5} {'batch':>6} {'seconds':>8} {'seq/s':>9} {'tokens/s':>10} {'speedup':>8} {'efficiency':>10}"
          f"  load avg (1 min) before/after")
    for r in results:
        speedup = r["sequences_per_s"] / base["sequences_per_s"] if base else float("nan")
        r.update(speedup=speedup, efficiency=speedup / r["procs"])
        print(f"{r['procs']:>5} {r['global_rows']:>6} {r['seconds']:>8.2f} {r['sequences_per_s']:>9.1f} "
              f"{r['tokens_per_s']:>10.0f} {speedup:>7.2f}x {r['efficiency']:>9.0%}  "
              f"{r['load_before']:.1f} / {r['load_after']:.1f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
