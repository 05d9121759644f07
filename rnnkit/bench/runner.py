"""`rnnkit bench`: run the grid, print each case as it finishes, write JSON and markdown."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

from rnnkit.bench import cases as C
from rnnkit.bench import measure as M
from rnnkit.bench import report as R


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="rnnkit bench",
        description="rnnkit engines vs torch.nn, side by side in one process with interleaved rounds.")
    p.add_argument("--quick", action="store_true", help="tiny shapes, 2 rounds: a smoke test in seconds")
    p.add_argument("--cells", default=",".join(C.CELLS), help="comma list of lstm, gru, rnn (default: all)")
    p.add_argument("--engines", default=",".join(C.ENGINES),
                   help="comma list of rnnkit engines to run besides torch.nn (default: reference,fused,auto)")
    p.add_argument("--shapes", default=None,
                   help="comma list of BxTxIxH, e.g. 32x100x128x256 (default: the four baseline shapes)")
    p.add_argument("--cases", default=None,
                   help="only the cases whose label contains one of these comma-separated strings")
    p.add_argument("--modes", default="fwd,fwdbwd", help="fwd (inference_mode) and/or fwdbwd")
    p.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 7; 2 with --quick)")
    p.add_argument("--min-time", type=float, default=None,
                   help="seconds each measurement lasts at least (default 0.2; 0.005 with --quick)")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    p.add_argument("--cpu-time", action="store_true",
                   help="time with this thread's CPU time instead of wall time (needs --threads 1): much less "
                        "disturbed by other processes on a shared machine")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurement")
    p.add_argument("--out", default="bench-results", help="folder for results.json and results.md")
    p.add_argument("--name", default="results", help="file stem of the JSON and markdown outputs")
    return p.parse_args(argv)


def _shapes(text: str | None) -> tuple[tuple[int, int, int, int], ...] | None:
    if not text:
        return None
    shapes = []
    for item in text.split(","):
        parts = item.lower().split("x")
        if len(parts) != 4 or not all(p.isdigit() and int(p) > 0 for p in parts):
            raise SystemExit(f"--shapes: expected BxTxIxH with positive ints, got {item!r}")
        shapes.append(tuple(int(p) for p in parts))
    return tuple(shapes)


def _timing(case: C.Case, times: list[float], base: list[float] | None, backward: bool, peak: float) -> R.Timing:
    med = statistics.median(times)
    gflops = case.gemm_flops(backward) / med / 1e9
    return R.Timing(ms=med * 1e3, ratio=None if base is None else M.median_ratio(times, base),
                    tokens_per_s=case.B * case.T / med, gflops=gflops, peak_fraction=gflops * 1e9 / peak,
                    spread=M.spread(times), rounds_ms=[round(t * 1e3, 4) for t in times])


def run_case(case: C.Case, args: argparse.Namespace, engines: tuple[str, ...], modes: list[str],
             device: torch.device, peak: float) -> list[R.Row]:
    con = C.build(case, engines, device)
    rows = {name: R.Row(case, name) for name in con.modules}
    for mode in modes:
        backward = mode == "fwdbwd"
        fns = {name: (con.train_fn if backward else con.forward_fn)(name) for name in con.modules}
        times = M.interleaved(fns, args.rounds, args.min_time, device, clock=args.clock)
        for name, ts in times.items():
            base = None if name == C.NN else times[C.NN]
            setattr(rows[name], mode, _timing(case, ts, base, backward, peak))
    if "auto" in rows:
        rows["auto"].auto = " / ".join(C.auto_choice(con, train) for train in (False, True)
                                       if ("fwdbwd" if train else "fwd") in modes)
    if not args.no_memory and "fwdbwd" in modes:
        for name in con.modules:
            rows[name].peak_mb = M.peak_memory_mb(con.train_fn(name), device)
    return list(rows.values())


def _print_case(rows: list[R.Row]) -> None:
    print(f"\n{rows[0].case.label}", flush=True)
    for r in rows:
        parts = [f"  {r.contender + (f' ({r.auto})' if r.auto else ''):<28}"]
        for label, t in (("fwd", r.fwd), ("f+b", r.fwdbwd)):
            if t is not None:
                ratio = "" if t.ratio is None else f" x{t.ratio:.2f}"
                parts.append(f"{label} {t.ms:9.3f} ms{ratio:<7} {t.tokens_per_s:9.3g} tok/s {t.gflops:6.1f} GF/s "
                             f"{100 * t.peak_fraction:3.0f}%")
        if r.peak_mb is not None:
            parts.append(f"peak {r.peak_mb:.1f} MB")
        print(" | ".join(parts), flush=True)


def _load_average() -> str:
    """The machine's 1/5/15-minute load averages: other processes' demand for the cores."""
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except (OSError, AttributeError):
        return "n/a"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.rounds = args.rounds if args.rounds is not None else (2 if args.quick else 7)
    args.min_time = args.min_time if args.min_time is not None else (0.005 if args.quick else 0.2)
    cells = tuple(c.strip() for c in args.cells.split(",") if c.strip())
    engines = tuple(e.strip() for e in args.engines.split(",") if e.strip())
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for c in cells:
        if c not in C.CELLS:
            raise SystemExit(f"--cells: expected some of {C.CELLS}, got {c!r}")
    from rnnkit.engines import ENGINE_NAMES

    for e in engines:
        if e not in ENGINE_NAMES:
            raise SystemExit(f"--engines: expected some of {ENGINE_NAMES}, got {e!r}")
    for m in modes:
        if m not in ("fwd", "fwdbwd"):
            raise SystemExit(f"--modes: expected fwd and/or fwdbwd, got {m!r}")
    for flag, value in (("--threads", args.threads), ("--rounds", args.rounds)):
        if value < 1:
            raise SystemExit(f"{flag}: expected a positive integer, got {value}")
    if args.min_time < 0:
        raise SystemExit(f"--min-time: expected seconds >= 0, got {args.min_time}")
    from rnnkit.training.errors import ConfigError
    from rnnkit.training.runtime import resolve_device

    try:
        device = resolve_device(args.device)        # a clear error for cuda without CUDA, or a typo
    except (ConfigError, RuntimeError) as e:
        raise SystemExit(f"--device: {e}") from None
    if args.cpu_time and (args.threads != 1 or device.type != "cpu"):
        raise SystemExit("--cpu-time measures one thread's CPU time: use it with --threads 1 on cpu")
    args.clock = time.thread_time if args.cpu_time else time.perf_counter
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise SystemExit(f"--out: {out} is a file; give a folder for results.json and results.md")
    out.mkdir(parents=True, exist_ok=True)          # a folder that cannot be made fails now, not after the runs
    torch.set_num_threads(args.threads)
    grid = C.grid(cells, args.quick, _shapes(args.shapes))
    if args.cases:
        wanted = [w.strip() for w in args.cases.split(",")]
        grid = [c for c in grid if any(w in c.label for w in wanted)]
        if not grid:
            raise SystemExit(f"--cases: no case label contains any of {wanted}")
    peak = M.gemm_peak(device, torch.float32, (256,) if args.quick else (512, 1024), clock=args.clock)
    env = R.environment(device, peak / 1e9)
    config = {"rounds": args.rounds, "min_time_s": args.min_time, "modes": modes, "engines": list(engines),
              "clock": "thread CPU time" if args.cpu_time else "wall time",
              "load_average_before": _load_average(),
              "dtype": "float32", "command": " ".join(["rnnkit bench", *(sys.argv[1:] if argv is None else argv)])}
    print("environment: " + ", ".join(f"{k}={v}" for k, v in env.items()), flush=True)
    rows: list[R.Row] = []
    start = time.perf_counter()
    for case in grid:
        case_rows = run_case(case, args, engines, modes, device, peak)
        _print_case(case_rows)
        rows += case_rows
    config["wall_s"] = round(time.perf_counter() - start, 1)
    config["load_average_after"] = _load_average()
    R.write_json(out / f"{args.name}.json", env, config, rows)
    (out / f"{args.name}.md").write_text(R.markdown(env, config, rows))
    print(f"\nwrote {out / (args.name + '.json')} and {out / (args.name + '.md')} ({config['wall_s']} s)")
    return 0
