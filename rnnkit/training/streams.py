"""The contiguous-stream batch layout that stateful training (TBPTT) needs.

A long sequence of N steps is cut into B rows of L = N // B contiguous steps (row i holds steps
[i*L, (i+1)*L)); batch b holds columns [b*T, (b+1)*T) of every row. So row i of batch b+1 continues
exactly where row i of batch b stopped, and the hidden state of row i can be carried from one batch to
the next. Each batch says which stream it comes from and at which column it starts, and the TBPTT runner
checks at run time that consecutive batches really continue each other.

Several documents can share one stream: `starts[j]` marks the first step of a new document, and the
batch's `reset` mask tells the runner to zero that row's state just before that step.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import torch
from torch import Tensor

from rnnkit.training.errors import ConfigError, DataError

IGNORE_INDEX = -100  # targets with this value carry no loss (as torch.nn.functional.cross_entropy)


@dataclass(frozen=True)
class StreamBatch:
    """Columns [offset, offset + T) of every row of one stream."""

    x: Tensor                 # (B, T, ...) inputs
    y: Tensor | None          # (B, T, ...) targets, IGNORE_INDEX where there is nothing to predict
    reset: Tensor | None      # (B, T) bool: this row starts a new sequence at this step; None if never
    stream: str               # which stream (e.g. "train"); batches of one stream must come in order
    offset: int               # column of x[:, 0] within the stream's rows

    @property
    def steps(self) -> int:
        return self.x.shape[1]

    def to(self, device: torch.device | str) -> StreamBatch:
        move = lambda t: None if t is None else t.to(device, non_blocking=True)  # noqa: E731
        return replace(self, x=move(self.x), y=move(self.y), reset=move(self.reset))


class BatchSource(Protocol):
    """What the trainer iterates: a fixed number of batches per epoch, restartable at any batch."""

    def __len__(self) -> int: ...

    def epoch(self, index: int, start: int = 0) -> Iterator: ...


class BatchList:
    """A fixed list of batches, served in the same order every epoch: the simplest BatchSource (the Trainer
    wraps a list or tuple of batches in one). Batches with a `.to(device)` method are moved to the device."""

    def __init__(self, batches: Sequence) -> None:
        self.batches = list(batches)

    def __len__(self) -> int:
        return len(self.batches)

    def epoch(self, index: int, start: int = 0) -> Iterator:
        return iter(self.batches[start:])


def as_source(data) -> BatchSource:
    """`data` as a BatchSource: itself, or a BatchList of a list/tuple; anything else is a clear TypeError."""
    if isinstance(data, (list, tuple)):
        return BatchList(data)
    if not (hasattr(data, "epoch") and hasattr(data, "__len__")):
        raise TypeError(f"data must be a list of batches or a BatchSource (len() and epoch(index, start) -> the "
                        f"batches of that epoch from `start`, so a resumed run continues mid-epoch), got "
                        f"{type(data).__name__}; see rnnkit.training.streams")
    return data


class ContiguousStream:
    """B contiguous rows of a stream, served as batches of T columns (see the module docstring).

    Args:
        inputs: (N, ...) the input at each step.
        targets: (N, ...) the target at each step, or None.
        starts: (N,) bool, True where a new document starts (its state is reset there), or None.
        batch_size: B, the number of rows.
        steps: T, columns per batch (for TBPTT: k1).
        name: the stream's identity, checked by the TBPTT runner.
        pad: keep every step by padding the last row (inputs 0, targets IGNORE_INDEX) instead of dropping
            the N - B*L steps that do not fill a row; used for evaluation so that every target counts.
        drop_last: drop a final batch shorter than T (TBPTT training needs exactly T = k1 columns).
    """

    def __init__(self, inputs: Tensor, targets: Tensor | None, batch_size: int, steps: int, *,
                 starts: Tensor | None = None, name: str = "stream", pad: bool = False,
                 drop_last: bool = False) -> None:
        n = inputs.shape[0]
        if batch_size < 1 or steps < 1:
            raise ValueError(f"batch_size and steps must be >= 1, got {batch_size} and {steps}")
        for what, t in (("targets", targets), ("starts", starts)):
            if t is not None and t.shape[0] != n:
                raise ValueError(f"{what} must have the same number of steps as inputs ({n}), got {t.shape[0]}")
        length = math.ceil(n / batch_size) if pad else n // batch_size
        if length < 1 or (drop_last and length < steps):
            raise DataError(f"stream {name!r} has {n} steps: too short for {batch_size} rows"
                            + (f" of at least {steps} steps (one batch)" if drop_last else "")
                            + "; use a smaller batch size or sequence length, or more data")
        self.name, self.batch_size, self.steps, self.length = name, batch_size, steps, length
        self.drop_last = drop_last
        self.x = _rows(inputs, batch_size, length, 0)
        self.y = None if targets is None else _rows(targets, batch_size, length, IGNORE_INDEX)
        self.reset = None if starts is None or not bool(starts.any()) else _rows(starts, batch_size, length, False)

    @classmethod
    def language_model(cls, tokens: Tensor, batch_size: int, steps: int, *, starts: Tensor | None = None,
                       **kwargs) -> ContiguousStream:
        """Next-token prediction: input token j, target token j+1, never across a document start."""
        targets = tokens[1:].clone()
        if starts is not None:
            targets[starts[1:]] = IGNORE_INDEX       # the first token of a document has no context
            starts = starts[:-1]
        return cls(tokens[:-1], targets, batch_size, steps, starts=starts, **kwargs)

    def shard(self, rank: int, world: int) -> ContiguousStream:
        """Rank `rank`'s rows [rank * B/W, (rank + 1) * B/W) of a data-parallel run of `world` processes.

        Row i of every batch stays on one rank, so each rank continues its own streams and carries their
        state; the batches keep their stream name and columns, so the TBPTT runner checks them as before.
        """
        if self.batch_size % world:
            raise ConfigError(f"world size {world} does not divide the stream layout: stream {self.name!r} has "
                              f"batch_size {self.batch_size} rows and each rank must continue whole rows; use a "
                              f"batch size that is a multiple of {world}")
        part = copy.copy(self)
        rows = slice(rank * self.batch_size // world, (rank + 1) * self.batch_size // world)
        part.batch_size = self.batch_size // world
        part.x = self.x[rows]
        part.y = None if self.y is None else self.y[rows]
        part.reset = None if self.reset is None else self.reset[rows]
        return part

    def __len__(self) -> int:
        full, rest = divmod(self.length, self.steps)
        return full + (1 if rest and not self.drop_last else 0)

    def batch(self, b: int) -> StreamBatch:
        lo = b * self.steps
        hi = min(lo + self.steps, self.length)
        y = None if self.y is None else self.y[:, lo:hi]
        reset = None if self.reset is None else self.reset[:, lo:hi]
        return StreamBatch(self.x[:, lo:hi], y, reset, self.name, lo)

    def epoch(self, index: int = 0, start: int = 0) -> Iterator[StreamBatch]:
        """The batches in stream order (the order never changes, so `index` only names the epoch)."""
        for b in range(start, len(self)):
            yield self.batch(b)

    def __iter__(self) -> Iterator[StreamBatch]:
        return self.epoch()

    @property
    def targets(self) -> int:
        """How many targets carry a loss."""
        return int((self.y != IGNORE_INDEX).sum()) if self.y is not None else 0


def _rows(t: Tensor, rows: int, length: int, fill) -> Tensor:
    """(N, ...) -> (rows, length, ...), truncating or padding the tail with `fill`."""
    need = rows * length
    if t.shape[0] >= need:
        t = t[:need]
    else:
        pad = torch.full((need - t.shape[0], *t.shape[1:]), fill, dtype=t.dtype, device=t.device)
        t = torch.cat([t, pad])
    return t.reshape(rows, length, *t.shape[1:])
