"""Each rank's share of the training data: its own rows of every global batch, without overlap.

Data-parallel training keeps the single-process meaning of a batch: `batch_size` is the global batch,
and rank r of W trains on rows [lo_r, hi_r) of each one, contiguous blocks that together cover every row
once. Every rank walks the same batch source in the same order (the sources' order depends only on the
seed and the epoch), so the ranks stay in step, a resumed run finds the same batches, and the update
equals the single-process update on the whole batch (`rnnkit.training.distributed` weights each rank's
gradient by its share of the targets).

    a source with `shard(rank, world)`     returns its own shard; `ContiguousStream.shard` keeps row i of
                                           every batch on the same rank, so each rank continues its own
                                           streams and the TBPTT state never leaves it
    any other source                       `RowShard`: each batch is cut by rows. A batch is a tensor, a
                                           tuple, list, dict or dataclass of tensors that all have the
                                           batch on dim 0 (other values are kept as they are)
    a source with `per_rank = True`        is already this rank's data and is used as it is

The world size must divide a source's `batch_size`; a final short batch of an epoch may split unevenly,
and a rank whose share is empty gets `EMPTY` (it contributes no targets to that update).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from torch import Tensor

from rnnkit.training.errors import ConfigError, DataError
from rnnkit.training.streams import BatchSource


class _Empty:
    """This rank's share of a batch with fewer rows than ranks: nothing to compute."""

    def __repr__(self) -> str:
        return "EMPTY"


EMPTY = _Empty()


def shard_source(source: BatchSource, rank: int, world: int) -> BatchSource:
    """Rank `rank`'s part of `source` (see the module docstring)."""
    if getattr(source, "per_rank", False) or world == 1:
        return source
    if callable(getattr(source, "shard", None)):
        return source.shard(rank, world)
    check_divides(getattr(source, "batch_size", None), world, "batch_size")
    return RowShard(source, rank, world)


def check_divides(batch_size: int | None, world: int, what: str) -> None:
    if isinstance(batch_size, int) and batch_size % world:
        raise ConfigError(f"world size {world} does not divide {what} {batch_size}: each rank trains on "
                          f"{what} / world size rows of every batch; use a multiple of {world} (e.g. "
                          f"{-(-batch_size // world) * world}) or launch {_divisors(batch_size)} processes")


def _divisors(n: int) -> str:
    ds = [d for d in range(2, min(n, 64) + 1) if n % d == 0]
    return " or ".join(map(str, ds[:4])) if ds else "1"


def rows_of(rank: int, world: int, rows: int) -> tuple[int, int]:
    """Rank `rank`'s rows [lo, hi) of `rows`: contiguous blocks, the first `rows % world` ranks one row more."""
    base, extra = divmod(rows, world)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (1 if rank < extra else 0)


class RowShard:
    """Rows [lo, hi) of every batch of a global batch source, for rank `rank` of `world`."""

    def __init__(self, source: BatchSource, rank: int, world: int) -> None:
        self.source, self.rank, self.world = source, rank, world

    def __len__(self) -> int:
        return len(self.source)

    def epoch(self, index: int, start: int = 0) -> Iterator[Any]:
        for batch in self.source.epoch(index, start):
            lo, hi = rows_of(self.rank, self.world, batch_rows(batch))
            yield EMPTY if lo == hi else take_rows(batch, lo, hi)


def batch_rows(batch: Any) -> int:
    """The batch size: the common dim-0 size of every tensor in the batch."""
    sizes = {t.shape[0] for t in _tensors(batch) if t.dim() > 0}
    if len(sizes) != 1:
        found = "no tensor" if not sizes else f"tensors with different leading sizes {sorted(sizes)}"
        raise DataError(f"cannot split a {type(batch).__name__} batch across ranks: expected tensors with the "
                        f"batch on dim 0, found {found}; give its source a shard(rank, world) method")
    return sizes.pop()


def take_rows(batch: Any, lo: int, hi: int) -> Any:
    """The same structure with every tensor cut to rows [lo, hi)."""
    if isinstance(batch, Tensor):
        return batch[lo:hi] if batch.dim() > 0 else batch
    if dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        fields = {f.name: take_rows(getattr(batch, f.name), lo, hi) for f in dataclasses.fields(batch) if f.init}
        return dataclasses.replace(batch, **fields)
    if isinstance(batch, dict):
        return {k: take_rows(v, lo, hi) for k, v in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):       # a namedtuple
        return type(batch)(*(take_rows(v, lo, hi) for v in batch))
    if isinstance(batch, (tuple, list)):
        return type(batch)(take_rows(v, lo, hi) for v in batch)
    return batch


def _tensors(batch: Any) -> Iterator[Tensor]:
    if isinstance(batch, Tensor):
        yield batch
    elif dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        for f in dataclasses.fields(batch):
            yield from _tensors(getattr(batch, f.name))
    elif isinstance(batch, dict):
        for v in batch.values():
            yield from _tensors(v)
    elif isinstance(batch, (tuple, list)):
        for v in batch:
            yield from _tensors(v)
