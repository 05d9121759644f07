"""Variable-length batches: validating lengths, step masks, length-aware reversal, PackedSequence I/O."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence


def as_lengths(lengths: object, batch: int, steps: int, device: torch.device) -> Tensor:
    """Turn user `lengths` (tensor on any device, list or tuple of ints) into a (B,) int64 tensor on `device`.

    Each length must lie in [0, T]. A zero-length row returns the initial state and zero outputs.
    """
    if isinstance(lengths, Tensor):
        t = lengths
    else:
        try:
            t = torch.as_tensor(lengths) if len(lengths) else torch.zeros(0, dtype=torch.long)
        except (TypeError, ValueError, RuntimeError) as e:
            raise TypeError(f"lengths must be a 1-D tensor or sequence of ints, got {type(lengths).__name__}") from e
    if t.dtype == torch.bool or t.is_floating_point() or t.is_complex():
        raise TypeError(f"lengths must hold integers, got dtype {t.dtype}")
    if t.dim() != 1 or t.shape[0] != batch:
        raise ValueError(f"lengths must have shape ({batch},) (one length per batch row), got {tuple(t.shape)}")
    t = t.to(device=device, dtype=torch.long)
    if batch:
        lo, hi = int(t.min()), int(t.max())
        if lo < 0:
            raise ValueError(f"lengths must be >= 0, got a length of {lo}")
        if hi > steps:
            raise ValueError(f"lengths must be <= the sequence length {steps}, got a length of {hi}")
    return t


def step_mask(lengths: Tensor, steps: int) -> Tensor:
    """(T, B) bool mask, True where step t is a real step of row b."""
    return torch.arange(steps, device=lengths.device).unsqueeze(1) < lengths.unsqueeze(0)


def reverse_index(lengths: Tensor, steps: int) -> Tensor:
    """(T, B) gather index that reverses each row's first `length` steps and leaves its padding in place.

    The map is its own inverse, so the same index un-reverses the outputs.
    """
    t = torch.arange(steps, device=lengths.device).unsqueeze(1)   # (T, 1)
    rev = lengths.unsqueeze(0) - 1 - t                              # (T, B)
    return torch.where(t < lengths.unsqueeze(0), rev, t.expand_as(rev))


def reverse_time(x: Tensor, index: Tensor | None) -> Tensor:
    """Reverse x: (T, B, F) in time, row by row when `index` (from `reverse_index`) is given."""
    if index is None:
        return x.flip(0)
    return x.gather(0, index.unsqueeze(-1).expand_as(x))


class PackInfo(NamedTuple):
    """What it takes to pack an output like the PackedSequence that came in."""

    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


def unpack(seq: PackedSequence, batch_first: bool) -> tuple[Tensor, Tensor, PackInfo]:
    """PackedSequence -> (padded input in the caller's original row order, lengths, PackInfo)."""
    padded, lengths = pad_packed_sequence(seq, batch_first=batch_first)
    return padded, lengths, PackInfo(seq.batch_sizes, seq.sorted_indices, seq.unsorted_indices)


def repack(padded: Tensor, lengths: Tensor, info: PackInfo, batch_first: bool) -> PackedSequence:
    """Pack an output (original row order) with the same batch_sizes and indices as the input."""
    order = info.sorted_indices
    if order is not None:
        padded = padded.index_select(0 if batch_first else 1, order.to(padded.device))
        lengths = lengths.index_select(0, order.to(lengths.device))
    packed = pack_padded_sequence(padded, lengths.cpu(), batch_first=batch_first, enforce_sorted=True)
    return PackedSequence(packed.data, info.batch_sizes, info.sorted_indices, info.unsorted_indices)
