"""Measuring instruments: wall time, allocated memory, memory saved for backprop, process memory, fits.

- `cpu_seconds`: warm up, then the least CPU time of the calling thread over several calls; with PyTorch on
  one thread this is the compute time, barely affected by other processes competing for the cores.
- `peak_allocated_bytes`: the highest total of tensor memory allocated (minus freed) while a function runs,
  from PyTorch's profiler memory events; works on CPU, where there is no `max_memory_allocated`.
- `saved_tensor_bytes`: the bytes autograd keeps for the backward pass (distinct storages), counted with
  `torch.autograd.graph.saved_tensors_hooks`: the "stored activations" part of training memory.
- `rss_bytes`: the resident memory of this process (Linux), for long streaming runs.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch.autograd.graph import saved_tensors_hooks


def cpu_seconds(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    best = math.inf
    for _ in range(repeats):
        start = time.thread_time()
        fn()
        best = min(best, time.thread_time() - start)
    return float(best)


def peak_allocated_bytes(fn: Callable[[], object]) -> float:
    """Peak of (bytes allocated - bytes freed) by tensors while `fn` runs, relative to its start.

    Returns NaN if this PyTorch build does not expose the profiler's memory events. The fused engines'
    buffer pool is emptied first: a buffer reused from an earlier call would allocate nothing here.
    """
    from torch.profiler import ProfilerActivity, profile

    from rnnkit.engines import workspace

    workspace.clear()

    with _quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    try:
        events = prof.profiler.kineto_results.events()
        changes = sorted((e.start_ns(), e.nbytes()) for e in events if e.name() == "[memory]")
    except AttributeError:
        return math.nan
    current = peak = 0
    for _, nbytes in changes:
        current += nbytes
        peak = max(peak, current)
    return float(peak)


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 (the profiler's C++ start/stop log lines); Python errors still propagate."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def saved_tensor_bytes(fn: Callable[[], object]) -> float:
    """Bytes of the distinct tensor storages autograd saves for backward while `fn` runs its forward."""
    storages: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        s = t.untyped_storage()
        storages[s.data_ptr()] = s.nbytes()
        return t

    with saved_tensors_hooks(pack, lambda t: t):
        fn()
    return float(sum(storages.values()))


def rss_bytes() -> float:
    """Resident set size of this process in bytes (Linux /proc), or NaN where unavailable."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return float(pages * os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, IndexError):
        return math.nan


def linear_fit(x: list[float], y: list[float]) -> tuple[float, float, float]:
    """Least-squares line y = a x + b; returns (a, b, R^2)."""
    xs, ys = np.asarray(x, float), np.asarray(y, float)
    a, b = np.polyfit(xs, ys, 1)
    resid = ys - (a * xs + b)
    total = float(((ys - ys.mean()) ** 2).sum())
    r2 = 1.0 - float((resid**2).sum()) / total if total > 0 else 1.0
    return float(a), float(b), r2


def log_slope(distances: list[float], norms: list[float]) -> float:
    """Slope of log10(norm) against distance: the change in orders of magnitude per step."""
    d = np.asarray(distances, float)
    n = np.log10(np.maximum(np.asarray(norms, float), 1e-300))
    return float(np.polyfit(d, n, 1)[0])
