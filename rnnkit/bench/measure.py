"""Timing and memory measurement: interleaved rounds, the machine's GEMM peak, peak memory of a call."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import math
import statistics
import sys
import time
from collections.abc import Callable

import torch


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def interleaved(fns: dict[str, Callable[[], None]], rounds: int, min_time: float, device: torch.device,
                warmup: int = 2, clock: Callable[[], float] = time.perf_counter) -> dict[str, list[float]]:
    """Seconds per call of each function, one entry per round.

    All functions are warmed up, each gets a repeat count so that one measurement lasts at least
    `min_time`, then every round times each function once, rotating the order so that no contender
    always runs first (or right after a given other). `clock` is wall time by default;
    `time.thread_time` counts only this thread's CPU time, which other processes on a busy machine
    disturb much less (meaningful with one intra-op thread only).
    """
    names = list(fns)
    reps = {}
    for name, fn in fns.items():
        for _ in range(warmup):
            fn()
        _sync(device)
        t0 = clock()
        fn()
        _sync(device)
        reps[name] = max(1, math.ceil(min_time / max(clock() - t0, 1e-9)))
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            fn, n = fns[name], reps[name]
            _sync(device)
            t0 = clock()
            for _ in range(n):
                fn()
            _sync(device)
            times[name].append((clock() - t0) / n)
    return times


def median_ratio(times: list[float], base: list[float]) -> float:
    """Median over rounds of the per-round ratio (robust to rounds where the machine was busy)."""
    return statistics.median(t / b for t, b in zip(times, base, strict=True))


def spread(times: list[float]) -> float:
    """(max - min) / median of the rounds."""
    return (max(times) - min(times)) / statistics.median(times)


def gemm_peak(device: torch.device, dtype: torch.dtype, sizes: tuple[int, ...] = (512, 1024),
              clock: Callable[[], float] = time.perf_counter) -> float:
    """Measured FLOP/s of square torch.mm: the best median over `sizes`."""
    best = 0.0
    for n in sizes:
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        out = torch.empty(n, n, device=device, dtype=dtype)
        per_call = interleaved({"mm": lambda a=a, b=b, out=out: torch.mm(a, b, out=out)}, 5, 0.05, device,
                               clock=clock)["mm"]
        best = max(best, 2.0 * n**3 / statistics.median(per_call))
    return best


def _proc_status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def _malloc_trim() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def peak_memory_mb(fn: Callable[[], None], device: torch.device) -> float | None:
    """Peak memory one call of fn adds on top of what was in use before it, in MiB.

    CUDA: the caching allocator's peak. CPU (Linux): the process's peak resident set (VmHWM, reset
    through /proc/self/clear_refs after returning freed heap memory to the OS) minus the resident set
    before the call. None where neither is available. The fused engines' buffer pool is emptied first, so
    the call allocates (and is charged for) every buffer it needs.
    """
    from rnnkit.engines import workspace

    workspace.clear()
    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        fn()
        torch.cuda.synchronize(device)
        return (torch.cuda.max_memory_allocated(device) - base) / 2**20
    if not sys.platform.startswith("linux"):
        return None
    try:
        _malloc_trim()
        base = _proc_status_kb("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        fn()
        return max(0, _proc_status_kb("VmHWM") - base) / 1024
    except (OSError, KeyError):
        return None
