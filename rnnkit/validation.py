"""Input checks at the library boundary: every message says what was expected and what was received.

A shape or dtype mistake must never surface as an error from inside a matrix multiply.
"""

from __future__ import annotations

import torch
from torch import Tensor


def check_tensor(name: str, value: object) -> Tensor:
    """Require a torch.Tensor."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    return value


def check_floating(name: str, t: Tensor, dtype: torch.dtype) -> None:
    """Require the floating dtype of the module's parameters."""
    if not t.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor of dtype {dtype}, got dtype {t.dtype}")
    if t.dtype != dtype:
        raise TypeError(
            f"{name} has dtype {t.dtype} but the module's parameters are {dtype}; "
            f"convert one of them (e.g. input.to({dtype}) or module.to({t.dtype}))"
        )


def check_device(name: str, t: Tensor, device: torch.device) -> None:
    """Require the device of the module's parameters."""
    if t.device != device:
        raise ValueError(
            f"{name} is on {t.device} but the module's parameters are on {device}; move one of them"
        )


def check_rank(name: str, t: Tensor, ranks: tuple[int, ...], layout: str) -> None:
    """Require one of the given numbers of dimensions; `layout` names them for the message."""
    if t.dim() not in ranks:
        want = " or ".join(f"{r}-D" for r in ranks)
        raise ValueError(f"{name} must be {want} {layout}, got a {t.dim()}-D tensor of shape {tuple(t.shape)}")


def check_shape(name: str, t: Tensor, expected: tuple[int, ...], layout: str) -> None:
    """Require an exact shape; `layout` names the dimensions for the message."""
    if tuple(t.shape) != tuple(expected):
        raise ValueError(f"{name} must have shape {tuple(expected)} {layout}, got {tuple(t.shape)}")


def check_finite(name: str, t: Tensor) -> None:
    """Reject NaN or infinite values (only called when a module's `check_finite` flag is on)."""
    bad = ~torch.isfinite(t)
    if bool(bad.any()):
        first = tuple(int(i) for i in bad.nonzero()[0])
        raise ValueError(f"{name} contains {int(bad.sum())} non-finite value(s), the first at index {first}")
