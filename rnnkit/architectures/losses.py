"""Losses over padded batches of sequences: padded steps never contribute to the loss or its gradient."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.layers.lengths import as_lengths


def sequence_mask(lengths: Tensor | list[int], steps: int, device: torch.device | None = None) -> Tensor:
    """(B, T) bool mask, True at the real steps t < lengths[b]."""
    lens = as_lengths(lengths, len(lengths), steps, device or torch.device("cpu"))
    return torch.arange(steps, device=lens.device) < lens.unsqueeze(1)


def sequence_cross_entropy(
    logits: Tensor, targets: Tensor, lengths: Tensor | list[int] | None = None, *,
    ignore_index: int | None = None, reduction: str = "mean",
) -> Tensor:
    """Cross-entropy of per-step logits (B, T, C) against targets (B, T), over real steps only.

    A step counts when t < lengths[b] (if lengths are given) and its target is not `ignore_index`
    (if given). reduction: "mean" (per counted step; 0 when none counts), "sum", or "none" (B, T)
    with zeros at the steps that do not count.
    """
    if logits.dim() != 3 or targets.shape != logits.shape[:2]:
        raise ValueError(f"logits must be (B, T, C) and targets (B, T) with the same B and T, got "
                         f"logits {tuple(logits.shape)} and targets {tuple(targets.shape)}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    B, T, C = logits.shape
    mask = sequence_mask(lengths, T, logits.device) if lengths is not None else targets.new_ones(B, T, dtype=bool)
    if ignore_index is not None:
        mask = mask & (targets != ignore_index)
    safe = targets.masked_fill(~mask, 0)               # any valid class at the steps that do not count
    losses = F.cross_entropy(logits.reshape(B * T, C), safe.reshape(-1), reduction="none").view(B, T)
    losses = losses.masked_fill(~mask, 0.0)            # (B, T)
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / mask.sum().clamp(min=1)


def sequence_accuracy(logits: Tensor, targets: Tensor, lengths: Tensor | list[int] | None = None) -> Tensor:
    """Fraction of real steps whose argmax prediction equals the target (a 0-D tensor)."""
    hit = logits.argmax(-1) == targets                 # (B, T)
    if lengths is None:
        return hit.float().mean()
    mask = sequence_mask(lengths, targets.shape[1], targets.device)
    return (hit & mask).sum() / mask.sum().clamp(min=1)
