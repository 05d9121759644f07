"""Reused CPU buffers for the fused engines' large per-call tensors (gates, cell states, outputs, dA).

On CPU, PyTorch hands big allocations to the C library, which maps fresh pages for each one and returns
them on free; the first write to every 4 KiB page then faults (measured: 23-27 ms for a fresh 105 MB
buffer against 2.5 ms for writing it again). A training step of a 512-unit LSTM over 200 steps x 64 rows
allocates ~300 MB of such buffers. `empty` keeps the last few buffers of each shape and hands one out
again once nothing else refers to its memory (the storage's use count says so: a view, a tensor saved
for backward or an output the caller still holds all count), so a buffer is never shared by two live
uses. Small buffers and other devices (CUDA has its own caching allocator) are not pooled.
`RNNKIT_WORKSPACE=0` turns the pool off.
"""

from __future__ import annotations

import math
import os
import threading

import torch
from torch import Tensor

MIN_BYTES = 1 << 20                # smaller buffers are cheap to fault in
PER_SHAPE = 8                      # buffers kept per (shape, dtype): layers x directions x roles in flight
_local = threading.local()
_use_count = getattr(torch._C, "_storage_Use_Count", None)
ENABLED = _use_count is not None and os.environ.get("RNNKIT_WORKSPACE", "1") != "0"


def _unused(t: Tensor) -> bool:
    """Only the pool refers to t's memory (the pool's tensor and the temporary storage object: 2)."""
    return _use_count(t.untyped_storage()._cdata) == 2


def empty(like: Tensor, *shape: int) -> Tensor:
    """An uninitialised tensor like `like.new_empty(shape)`, from the pool where possible."""
    if not ENABLED or like.device.type != "cpu" or like.element_size() * math.prod(shape) < MIN_BYTES:
        return like.new_empty(shape)
    pools = getattr(_local, "pools", None)
    if pools is None:
        pools = _local.pools = {}
    kept = pools.setdefault((tuple(shape), like.dtype), [])
    for t in kept:
        if _unused(t):
            return _alias(t)
    t = like.new_empty(shape)
    if len(kept) < PER_SHAPE:
        kept.append(t)
        return _alias(t)
    return t


def _alias(t: Tensor) -> Tensor:
    """A new tensor on t's memory that is not a view of t: what the caller does to it (autograd history,
    resize, requires_grad) never reaches the pooled tensor."""
    return t.new_empty(0).set_(t.untyped_storage(), 0, t.shape, t.stride())


def clear() -> None:
    """Drop this thread's pooled buffers (their memory goes back once nothing else holds them)."""
    _local.pools = {}
