"""Steppers turn one batch into gradients. `FullBPTT` back-propagates through each whole batch.

The trainer is generic: it asks a stepper for the gradients of one update, then checks, clips and applies
them. A stepper leaves the gradients of the update's objective in `p.grad` (the trainer zeroes them
first) and reports the objective's value. `FullBPTT` (here) serves independent sequences; `TBPTT`
(`rnnkit.training.tbptt`) serves contiguous streams with a carried state.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Protocol

from torch import Tensor, nn

AutocastFactory = Callable[[], AbstractContextManager]


@dataclass(frozen=True)
class UpdateResult:
    """The objective of one update: `loss` is the mean over its `count` targets."""

    loss: float
    count: int
    state_finite: bool = True     # False when a carried recurrent state holds NaN/inf


class Stepper(Protocol):
    """Computes the gradients of one update; may carry state between updates (and checkpoints it)."""

    def update(self, model: nn.Module, batch: Any, *, grad_scale: float = 1.0,
               autocast: AutocastFactory = nullcontext) -> UpdateResult: ...

    def reset(self) -> None:
        """Start a new pass over the data: forget any carried state."""
        ...

    def drop_state(self) -> None:
        """Zero a carried state that went non-finite, keeping the place in the data."""
        ...

    def state_dict(self) -> tuple[dict[str, Tensor], dict[str, Any]]: ...

    def load_state_dict(self, model: nn.Module, tensors: dict[str, Tensor], meta: dict[str, Any], *,
                        autocast: AutocastFactory = nullcontext) -> None: ...

    def probe(self, model: nn.Module, batch: Any, *,
              autocast: AutocastFactory = nullcontext) -> tuple[Tensor, Tensor | None]:
        """Re-run `batch` with the graph for diagnostics: (objective, loss of the last step or None)."""
        ...


SequenceLoss = Callable[[nn.Module, Any], tuple[Tensor, Any]]


def loss_result(result: Any, who: str) -> tuple[Tensor, int]:
    """A loss function's `(loss_sum, count)`, checked: a scalar tensor that requires grad (the summed loss of
    the targets) and their number. A mean alone, or a loss of another shape, is a clear TypeError."""
    if not (isinstance(result, tuple) and len(result) == 2):
        raise TypeError(f"{who} must return (loss_sum, count): the loss summed over the targets and their number, "
                        f"got {type(result).__name__}")
    loss_sum, count = result
    if not isinstance(loss_sum, Tensor) or loss_sum.dim() != 0:
        shape = tuple(loss_sum.shape) if isinstance(loss_sum, Tensor) else type(loss_sum).__name__
        raise TypeError(f"{who}: loss_sum must be a scalar tensor (e.g. cross_entropy(..., reduction='sum')), "
                        f"got {shape}")
    try:
        count = int(count)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"{who}: count must be the number of targets (an int or a scalar tensor), got "
                        f"{type(count).__name__}") from None
    return loss_sum, count


class FullBPTT:
    """Back-propagation through time over each whole batch; nothing is carried between batches.

    `loss_fn(model, batch) -> (loss_sum, count)` runs the model on the batch and returns the summed loss
    and the number of targets; the update's objective is their ratio, the mean loss per target.
    """

    def __init__(self, loss_fn: SequenceLoss) -> None:
        self.loss_fn = loss_fn

    def update(self, model: nn.Module, batch: Any, *, grad_scale: float = 1.0,
               autocast: AutocastFactory = nullcontext) -> UpdateResult:
        with autocast():
            loss_sum, count = loss_result(self.loss_fn(model, batch), "FullBPTT's loss_fn(model, batch)")
        if count == 0:
            return UpdateResult(0.0, 0)
        (loss_sum * (grad_scale / count)).backward()
        return UpdateResult(float(loss_sum.detach()) / count, count)

    def reset(self) -> None:
        """Nothing carried."""

    def drop_state(self) -> None:
        """Nothing carried."""

    def state_dict(self) -> tuple[dict[str, Tensor], dict[str, Any]]:
        return {}, {"kind": "full"}

    def load_state_dict(self, model: nn.Module, tensors: dict[str, Tensor], meta: dict[str, Any], *,
                        autocast: AutocastFactory = nullcontext) -> None:
        """Nothing to restore."""

    def probe(self, model: nn.Module, batch: Any, *,
              autocast: AutocastFactory = nullcontext) -> tuple[Tensor, Tensor | None]:
        with autocast():
            loss_sum, count = loss_result(self.loss_fn(model, batch), "FullBPTT's loss_fn(model, batch)")
        return loss_sum / max(count, 1), None
