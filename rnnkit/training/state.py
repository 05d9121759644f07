"""Recurrent states as small trees: a tensor, a (nested) tuple/list of tensors such as an LSTM's (h, c), or None.

Stateful models follow the `torch.nn` RNN convention: `model(x, state) -> (output, state)`, `state=None`
means zeros, and state tensors are laid out `(num_layers * num_directions, B, H)`, batch on dim 1.
A model with another layout defines `reset_state(state, keep)` (see `reset_rows`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

State = Any  # Tensor | tuple | list | None


def flatten(state: State) -> list[Tensor]:
    """The tensors of a state, depth first."""
    if state is None:
        return []
    if isinstance(state, Tensor):
        return [state]
    return [t for s in state for t in flatten(s)]


def structure(state: State) -> Any:
    """A JSON-able description of the tree: tensors become their index in `flatten(state)`."""
    counter = iter(range(1 << 30))

    def walk(s):
        if s is None:
            return None
        if isinstance(s, Tensor):
            return next(counter)
        return {"seq": [walk(x) for x in s], "list": isinstance(s, list)}

    return walk(state)


def size(spec: Any) -> int:
    """How many tensors a `structure` describes."""
    if spec is None:
        return 0
    if isinstance(spec, int):
        return 1
    return sum(size(s) for s in spec["seq"])


def rebuild(spec: Any, tensors: list[Tensor]) -> State:
    """Inverse of `structure` + `flatten`."""
    if spec is None:
        return None
    if isinstance(spec, int):
        return tensors[spec]
    seq = [rebuild(s, tensors) for s in spec["seq"]]
    return seq if spec["list"] else tuple(seq)


def map_state(fn: Callable[[Tensor], Tensor], state: State) -> State:
    """Apply `fn` to every tensor, keeping the tree."""
    if state is None:
        return None
    if isinstance(state, Tensor):
        return fn(state)
    mapped = [map_state(fn, s) for s in state]
    return mapped if isinstance(state, list) else tuple(mapped)


def detach(state: State) -> State:
    """Cut the graph: the values stay, no gradient flows further back."""
    return map_state(lambda t: t.detach(), state)


def leaf(state: State) -> State:
    """A detached copy whose tensors require grad, so dL/d(state) can be read and passed further back."""
    return map_state(lambda t: t.detach().requires_grad_(t.is_floating_point()), state)


def reset_rows(model: nn.Module, state: State, keep: Tensor) -> State:
    """Zero the state of every row where `keep` (B,) is False: those rows start a new sequence.

    Multiplying by the mask (rather than replacing) also stops gradients across the reset.
    """
    if state is None:
        return None
    custom = getattr(model, "reset_state", None)
    if callable(custom):
        return custom(state, keep)

    def zero(t: Tensor) -> Tensor:
        if t.dim() < 2 or t.shape[1] != keep.shape[0]:
            raise ValueError(f"cannot reset rows of a state tensor of shape {tuple(t.shape)}: expected the batch "
                             f"(size {keep.shape[0]}) on dim 1 as in torch.nn; define model.reset_state(state, "
                             "keep) for another layout")
        shape = [1] * t.dim()
        shape[1] = -1
        return t * keep.view(shape).to(t.dtype)

    return map_state(zero, state)


def is_finite(state: State) -> bool:
    return all(bool(torch.isfinite(t).all()) for t in flatten(state) if t.is_floating_point())


def to_dtype(state: State, dtype: torch.dtype) -> State:
    """Cast floating tensors (autocast can hand back lower-precision states)."""
    return map_state(lambda t: t.to(dtype) if t.is_floating_point() and t.dtype != dtype else t, state)
