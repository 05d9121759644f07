"""Initialisation schemes for recurrent weights, shared by cells and sequence layers."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

RECURRENT_INITS = ("uniform", "orthogonal")


def check_recurrent_init(scheme: str) -> None:
    if scheme not in RECURRENT_INITS:
        raise ValueError(f"recurrent_init must be one of {RECURRENT_INITS}, got {scheme!r}")


@torch.no_grad()
def uniform_(params: list[Tensor], hidden_size: int) -> None:
    """PyTorch's default: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H))."""
    bound = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
    for p in params:
        nn.init.uniform_(p, -bound, bound)


@torch.no_grad()
def orthogonal_recurrent_(weight_hh: Tensor, num_chunks: int) -> None:
    """Make each gate's (H, H) block of W_hh an orthogonal matrix.

    An orthogonal W_hh preserves the norm of h through the linear part of a step, so error signals
    neither shrink nor grow from the weights alone at initialisation (Saxe et al., 2014).
    """
    for block in weight_hh.chunk(num_chunks, dim=0):
        nn.init.orthogonal_(block)


@torch.no_grad()
def forget_bias_(b_ih: Tensor, b_hh: Tensor, hidden_size: int, value: float) -> None:
    """Set the forget gate's *total* bias to `value`.

    PyTorch's LSTM has two bias vectors whose sum enters the gate: b_ih[H:2H] + b_hh[H:2H].
    We put `value` in b_ih's forget slice and zero b_hh's, so the sum is exactly `value` and a
    state_dict still means the same thing to `torch.nn.LSTM`.
    """
    b_ih[hidden_size:2 * hidden_size].fill_(value)
    b_hh[hidden_size:2 * hidden_size].zero_()
